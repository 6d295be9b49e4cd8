-- Community Partners: people, their organizations, how they got in, and the record of it.
-- Accounts, claims and invitations are ours; the directory tables stay the importer's.

-- An organization in the directory that has (or is being) onboarded as a Community Partner.
-- Kept apart from `organizations` so a 211 re-import never touches partner state.
CREATE TABLE partner_organizations (
    organization_id  uuid PRIMARY KEY REFERENCES organizations(id),
    -- nonprofit | state_agency | for_profit | hospital: decides incentives and the hospital role.
    org_type         text NOT NULL CHECK (org_type IN ('nonprofit', 'state_agency', 'for_profit', 'hospital')),
    -- The United Way chapter (deployment configuration id) that approved it.
    chapter          text NOT NULL,
    approved_at      timestamptz NOT NULL DEFAULT now(),
    -- Set when the first person finishes final onboarding; incentives count from this date.
    onboarded_at     timestamptz
);

-- Organizations that earn incentives (approved not-for-profits); the monthly report reads it.
CREATE TABLE incentive_enrollments (
    organization_id  uuid PRIMARY KEY REFERENCES organizations(id),
    enrolled_at      timestamptz NOT NULL DEFAULT now(),
    reason           text NOT NULL
);

CREATE TABLE users (
    id                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email                 text NOT NULL,
    name                  text NOT NULL,
    phone                 text,
    -- partner_staff | partner_admin | hospital_staff | chapter_reviewer | referral_specialist |
    -- state_admin | resident. What the role may do is in app/src/policy.rs, nowhere else.
    role                  text NOT NULL CHECK (role IN ('resident', 'partner_staff', 'partner_admin',
                              'hospital_staff', 'chapter_reviewer', 'referral_specialist', 'state_admin')),
    organization_id       uuid REFERENCES organizations(id),
    chapter               text,
    -- argon2id PHC string; NULL for people who sign in only through the identity provider.
    password_hash         text,
    oidc_issuer           text,
    oidc_subject          text,
    -- TOTP secret (base32) once MFA is enrolled; the last accepted time step stops replays.
    totp_secret           text,
    mfa_enrolled_at       timestamptz,
    last_totp_step        bigint,
    training_passed_at    timestamptz,
    active                boolean NOT NULL DEFAULT true,
    deactivated_at        timestamptz,
    -- Changing it signs the person out everywhere (password change, deactivation, MFA reset).
    security_stamp        uuid NOT NULL DEFAULT gen_random_uuid(),
    failed_sign_ins       integer NOT NULL DEFAULT 0,
    locked_until          timestamptz,
    created_at            timestamptz NOT NULL DEFAULT now(),
    CHECK (role NOT IN ('partner_staff', 'partner_admin', 'hospital_staff') OR organization_id IS NOT NULL),
    CHECK (role <> 'chapter_reviewer' OR chapter IS NOT NULL),
    UNIQUE (oidc_issuer, oidc_subject)
);
CREATE UNIQUE INDEX users_email_idx ON users (lower(email));
CREATE INDEX users_organization_idx ON users (organization_id);

-- One-time recovery codes, stored as SHA-256 of the code (they are random, not passwords).
CREATE TABLE recovery_codes (
    user_id    uuid NOT NULL REFERENCES users(id),
    code_hash  bytea NOT NULL,
    used_at    timestamptz,
    PRIMARY KEY (user_id, code_hash)
);

-- Who accepted which version of the user agreement, and when.
CREATE TABLE agreement_acceptances (
    user_id      uuid NOT NULL REFERENCES users(id),
    version      text NOT NULL,
    accepted_at  timestamptz NOT NULL DEFAULT now(),
    ip           text,
    PRIMARY KEY (user_id, version)
);

-- "Claim this site": someone asks to run an organization's listing as a Community Partner.
CREATE TABLE claims (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id  uuid NOT NULL REFERENCES organizations(id),
    claimant_name    text NOT NULL,
    email            text NOT NULL,
    phone            text NOT NULL,
    job_title        text NOT NULL,
    org_type         text NOT NULL CHECK (org_type IN ('nonprofit', 'state_agency', 'for_profit', 'hospital')),
    county           text,
    chapter          text NOT NULL,
    status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'denied')),
    decided_by       uuid REFERENCES users(id),
    decided_at       timestamptz,
    decision_reason  text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'pending') = (decided_at IS NULL))
);
-- A double-clicked form or a second tab files one claim, not two.
CREATE UNIQUE INDEX claims_one_pending_idx ON claims (organization_id, lower(email)) WHERE status = 'pending';
CREATE INDEX claims_queue_idx ON claims (chapter, status, created_at);

-- A single-use, expiring link to create an account. Only a hash of the token is stored.
CREATE TABLE invitations (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    token_hash       bytea NOT NULL UNIQUE,
    email            text NOT NULL,
    name             text NOT NULL,
    role             text NOT NULL,
    organization_id  uuid REFERENCES organizations(id),
    chapter          text,
    claim_id         uuid REFERENCES claims(id),
    invited_by       uuid REFERENCES users(id),
    expires_at       timestamptz NOT NULL,
    used_at          timestamptz,
    used_by          uuid REFERENCES users(id),
    created_at       timestamptz NOT NULL DEFAULT now()
);

-- Fixed-window counters for rate limits (per IP, per account). Shared by every app server.
CREATE TABLE rate_limits (
    key           text NOT NULL,
    window_start  timestamptz NOT NULL,
    hits          integer NOT NULL,
    PRIMARY KEY (key, window_start)
);

-- Durable e-mail outbox: a message is committed with the change that caused it and sent by the
-- background worker (server/src/mail.rs). Nothing is deleted; sent_at says it went.
CREATE TABLE outbox (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    to_address    text NOT NULL,
    subject       text NOT NULL,
    body          text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    send_after    timestamptz NOT NULL DEFAULT now(),
    attempts      integer NOT NULL DEFAULT 0,
    last_error    text,
    sent_at       timestamptz,
    -- 'smtp' or 'dev-mailbox'
    delivered_by  text
);
CREATE INDEX outbox_due_idx ON outbox (send_after) WHERE sent_at IS NULL;

-- The audit trail: append-only and hash-chained. Each entry's hash covers its content and the
-- previous entry's hash, so editing or deleting any entry breaks every later link
-- (`server audit verify` finds the first break). The trigger assigns the sequence number under
-- a lock, so the chain order is the commit order even with many app servers.
CREATE TABLE audit_log (
    seq              bigint PRIMARY KEY,
    at               timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor_id         uuid,
    actor_email      text,
    actor_role       text,
    organization_id  uuid,
    action           text NOT NULL,
    subject          text,
    outcome          text NOT NULL CHECK (outcome IN ('ok', 'denied', 'failed')),
    ip               text,
    details          jsonb NOT NULL DEFAULT '{}',
    prev_hash        bytea NOT NULL,
    hash             bytea NOT NULL
);
CREATE SEQUENCE audit_log_seq;
CREATE INDEX audit_log_at_idx ON audit_log (at DESC);
CREATE INDEX audit_log_actor_idx ON audit_log (lower(actor_email), at DESC);
CREATE INDEX audit_log_action_idx ON audit_log (action, at DESC);

CREATE FUNCTION audit_entry_hash(prev bytea, e audit_log) RETURNS bytea
LANGUAGE sql IMMUTABLE AS $$
    SELECT sha256(prev || convert_to(concat_ws('|',
        e.seq, (extract(epoch FROM e.at) * 1000000)::bigint, e.actor_id, e.actor_email, e.actor_role,
        e.organization_id, e.action, e.subject, e.outcome, e.ip, e.details::text), 'UTF8'))
$$;

CREATE FUNCTION audit_log_chain() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        RAISE EXCEPTION 'the audit log is append-only';
    END IF;
    -- One writer at a time until commit: the entry before this one is committed and final.
    PERFORM pg_advisory_xact_lock(7220431);
    NEW.seq := nextval('audit_log_seq');
    NEW.at := clock_timestamp();
    NEW.prev_hash := coalesce((SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1), '\x'::bytea);
    NEW.hash := audit_entry_hash(NEW.prev_hash, NEW);
    RETURN NEW;
END $$;

CREATE TRIGGER audit_log_chain BEFORE INSERT OR UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_chain();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_chain();

-- Sessions (tower-sessions' Postgres store reads and writes this table; created here so the
-- schema has one source of truth). Expired rows are deleted by the server.
CREATE SCHEMA IF NOT EXISTS tower_sessions;
CREATE TABLE IF NOT EXISTS tower_sessions.session (
    id           text PRIMARY KEY NOT NULL,
    data         bytea NOT NULL,
    expiry_date  timestamptz NOT NULL
);
