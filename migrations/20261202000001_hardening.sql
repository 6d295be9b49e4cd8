-- Hardening found from outside (issue 9): an unambiguous audit hash, sign-in backoff instead of
-- account lockout, claims confirmed by their claimant, secrets kept out of sent mail, and
-- idempotency keys for create forms.

-- 1. The audit hash. Version 1 hashed `concat_ws('|', ...)`, which drops NULLs and does not
-- escape '|': moving text between two fields kept the hash. Version 2 hashes a JSON array of the
-- fields (NULLs kept, text escaped). Existing entries keep version 1 and still verify.
ALTER TABLE audit_log ADD COLUMN hash_version smallint NOT NULL DEFAULT 1;

CREATE OR REPLACE FUNCTION audit_entry_hash(prev bytea, e audit_log) RETURNS bytea
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN e.hash_version = 1 THEN
        sha256(prev || convert_to(concat_ws('|',
            e.seq, (extract(epoch FROM e.at) * 1000000)::bigint, e.actor_id, e.actor_email, e.actor_role,
            e.organization_id, e.action, e.subject, e.outcome, e.ip, e.details::text), 'UTF8'))
    ELSE
        sha256(prev || convert_to(jsonb_build_array(
            e.hash_version, e.seq, (extract(epoch FROM e.at) * 1000000)::bigint, e.actor_id,
            e.actor_email, e.actor_role, e.organization_id, e.action, e.subject, e.outcome, e.ip,
            e.details)::text, 'UTF8'))
    END
$$;

CREATE OR REPLACE FUNCTION audit_log_chain() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        RAISE EXCEPTION 'the audit log is append-only';
    END IF;
    -- One writer at a time until commit: the entry before this one is committed and final.
    PERFORM pg_advisory_xact_lock(7220431);
    NEW.seq := nextval('audit_log_seq');
    NEW.at := clock_timestamp();
    NEW.hash_version := 2;
    NEW.prev_hash := coalesce((SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1), '\x'::bytea);
    NEW.hash := audit_entry_hash(NEW.prev_hash, NEW);
    RETURN NEW;
END $$;

-- 2. Sign-in backoff. Failures are counted per e-mail address typed and client address (known
-- account or not, so the answer never tells which accounts exist), and per e-mail address
-- overall with a much higher ceiling. Nobody can lock someone else out for long from one place.
CREATE TABLE sign_in_backoff (
    key            text PRIMARY KEY,
    failures       integer NOT NULL DEFAULT 0,
    blocked_until  timestamptz,
    updated_at     timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE users DROP COLUMN failed_sign_ins, DROP COLUMN locked_until;

-- 3. A claim goes to the chapter only after its claimant confirms their e-mail address.
ALTER TABLE claims DROP CONSTRAINT claims_status_check;
ALTER TABLE claims DROP CONSTRAINT claims_check;
ALTER TABLE claims
    ADD CONSTRAINT claims_status_check CHECK (status IN ('unconfirmed', 'pending', 'approved', 'denied')),
    ADD CONSTRAINT claims_decided_check CHECK ((status IN ('unconfirmed', 'pending')) = (decided_at IS NULL)),
    ADD COLUMN confirm_token_hash bytea UNIQUE,
    ADD COLUMN confirmed_at timestamptz;
DROP INDEX claims_one_pending_idx;
CREATE UNIQUE INDEX claims_one_open_idx ON claims (organization_id, lower(email))
    WHERE status IN ('unconfirmed', 'pending');

-- 4. Links that sign someone in (invitations, claim confirmations) are kept apart from the
-- message body and dropped once the message is delivered: the outbox keeps no usable token.
ALTER TABLE outbox ADD COLUMN secret text;

-- 5. A create form carries a key made when it was shown: a double submission finds the key
-- taken and goes where the first one went, creating nothing twice.
CREATE TABLE idempotency_keys (
    key         uuid PRIMARY KEY,
    user_id     uuid REFERENCES users(id),
    action      text NOT NULL,
    result      text,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
