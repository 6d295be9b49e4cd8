-- Closed-loop referrals: residents (a minimal record), their consent to share with an
-- organization, referrals and everything that happens to them.

CREATE TABLE residents (
    id                       uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name                     text NOT NULL,
    date_of_birth            date,
    phone                    text,
    email                    text,
    preferred_contact        text NOT NULL CHECK (preferred_contact IN ('phone', 'text', 'email')),
    preferred_language       text NOT NULL DEFAULT 'en',
    created_by_organization  uuid REFERENCES organizations(id),
    created_by               uuid REFERENCES users(id),
    created_at               timestamptz NOT NULL DEFAULT now(),
    CHECK (phone IS NOT NULL OR email IS NOT NULL)
);
CREATE INDEX residents_organization_idx ON residents (created_by_organization, lower(name));

-- A resident's permission for one organization to see their profile. Revoking keeps the row.
CREATE TABLE consents (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    resident_id      uuid NOT NULL REFERENCES residents(id),
    organization_id  uuid NOT NULL REFERENCES organizations(id),
    channel          text NOT NULL CHECK (channel IN ('at_referral', 'in_person', 'phone', 'text', 'email', 'self')),
    recorded_by      uuid REFERENCES users(id),
    granted_at       timestamptz NOT NULL DEFAULT now(),
    revoked_at       timestamptz
);
CREATE INDEX consents_lookup_idx ON consents (resident_id, organization_id) WHERE revoked_at IS NULL;

CREATE TABLE referrals (
    id                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- Referrals made together for one resident share a batch (and one printed summary).
    batch_id              uuid NOT NULL,
    resident_id           uuid NOT NULL REFERENCES residents(id),
    from_organization     uuid NOT NULL REFERENCES organizations(id),
    from_user             uuid NOT NULL REFERENCES users(id),
    service_id            uuid NOT NULL REFERENCES services(id),
    -- The program page referred to (a service at a location, or a service without one).
    program_id            uuid NOT NULL,
    to_organization       uuid NOT NULL REFERENCES organizations(id),
    need                  text NOT NULL,
    note                  text,
    -- app/src/referrals/status.rs is the state machine; this is its current state.
    status                text NOT NULL DEFAULT 'sent' CHECK (status IN ('sent', 'accepted', 'in_progress',
                              'declined', 'resource_provided', 'resource_not_provided', 'cancelled')),
    outcome_reason        text,
    outcome_note          text,
    closed_by             uuid REFERENCES users(id),
    closed_by_united_way  boolean NOT NULL DEFAULT false,
    -- Optimistic concurrency: every change must name the version it saw.
    version               integer NOT NULL DEFAULT 1,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    closed_at             timestamptz
);
CREATE INDEX referrals_inbox_idx ON referrals (to_organization, status, created_at);
CREATE INDEX referrals_sent_idx ON referrals (from_organization, created_at DESC);
CREATE INDEX referrals_resident_idx ON referrals (resident_id, created_at);
CREATE INDEX referrals_open_idx ON referrals (created_at) WHERE status IN ('sent', 'accepted', 'in_progress');

CREATE TABLE referral_events (
    id               bigserial PRIMARY KEY,
    referral_id      uuid NOT NULL REFERENCES referrals(id),
    at               timestamptz NOT NULL DEFAULT now(),
    user_id          uuid REFERENCES users(id),
    organization_id  uuid REFERENCES organizations(id),
    -- created | accepted | declined | contact | note | closed | cancelled | outreach
    kind             text NOT NULL,
    detail           jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX referral_events_referral_idx ON referral_events (referral_id, at);

-- United Way referral support: what a specialist did about a referral (outreach to the partner
-- that holds it, or to the resident to confirm the need was met).
CREATE TABLE outreach (
    id           bigserial PRIMARY KEY,
    referral_id  uuid NOT NULL REFERENCES referrals(id),
    queue        text NOT NULL CHECK (queue IN ('stale_partner', 'resident_follow_up')),
    by_user      uuid NOT NULL REFERENCES users(id),
    at           timestamptz NOT NULL DEFAULT now(),
    method       text NOT NULL CHECK (method IN ('phone', 'email', 'text', 'in_person')),
    result       text NOT NULL,
    note         text
);
CREATE INDEX outreach_referral_idx ON outreach (referral_id, queue);

-- Scheduled jobs. Each row is one job; a server takes it with FOR UPDATE SKIP LOCKED, so several
-- servers never run the same job at once.
CREATE TABLE jobs (
    name         text PRIMARY KEY,
    run_after    timestamptz NOT NULL DEFAULT now(),
    last_run_at  timestamptz,
    last_result  text
);
INSERT INTO jobs (name) VALUES ('referral_reminders'), ('paired_services');

-- At most one reminder digest per organization per day.
CREATE TABLE reminder_digests (
    organization_id  uuid NOT NULL REFERENCES organizations(id),
    day              date NOT NULL,
    referrals        integer NOT NULL,
    sent_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, day)
);

-- "Frequently paired together": services referred for the same resident within 30 days.
CREATE TABLE paired_services (
    service_id         uuid NOT NULL REFERENCES services(id),
    paired_service_id  uuid NOT NULL REFERENCES services(id),
    residents          integer NOT NULL,
    PRIMARY KEY (service_id, paired_service_id)
);
