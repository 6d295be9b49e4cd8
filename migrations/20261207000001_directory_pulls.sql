-- Pulls of a 211's HSDS 3.0 API (Leptos.toml [[directory.pulls]]): one row per attempt, what it
-- asked for and how it ended. The import itself is an import_runs row like any file import.
CREATE TABLE directory_pulls (
    id              bigserial PRIMARY KEY,
    source          text NOT NULL,
    url             text NOT NULL,
    -- A full pull lists everything (and makes inactive what is gone); an incremental one asks
    -- for what changed on or after `modified_after`.
    full_pull       boolean NOT NULL,
    modified_after  timestamptz,
    started_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz,
    status          text NOT NULL DEFAULT 'running'
                    CHECK (status IN ('running', 'succeeded', 'failed')),
    pages           integer NOT NULL DEFAULT 0,
    records         integer NOT NULL DEFAULT 0,
    -- Requests that failed and were tried again.
    retries         integer NOT NULL DEFAULT 0,
    import_run_id   bigint REFERENCES import_runs(id),
    error           text
);
CREATE INDEX directory_pulls_source_idx ON directory_pulls (source, started_at DESC);
