-- Residents own their data (issue 11): one statewide record per person, a consent ledger the
-- resident controls, households, notes, resident accounts, saved programs, self-referrals,
-- merges that can be undone, sealed sensitive needs. The residents module (app/src/residents/)
-- is the only code that reads or writes these tables.

-- One record per person, whoever met them first. Retired records (merged into another) stay.
ALTER TABLE residents
    ADD COLUMN preferred_name text,
    ADD COLUMN address text,
    -- At risk from someone (domestic violence): the address is hidden on every partner screen
    -- and printout.
    ADD COLUMN at_risk boolean NOT NULL DEFAULT false,
    ADD COLUMN merged_into uuid REFERENCES residents(id),
    ADD COLUMN retired_at timestamptz,
    ADD COLUMN phone_digits text GENERATED ALWAYS AS (nullif(regexp_replace(coalesce(phone, ''), '[^0-9]', '', 'g'), '')) STORED;
CREATE INDEX residents_name_trgm_idx ON residents USING gin (lower(name) gin_trgm_ops) WHERE retired_at IS NULL;
CREATE INDEX residents_dob_idx ON residents (date_of_birth) WHERE retired_at IS NULL;
CREATE INDEX residents_phone_idx ON residents (phone_digits) WHERE retired_at IS NULL;
CREATE INDEX residents_email_idx ON residents (lower(email)) WHERE retired_at IS NULL;

-- The consent ledger: one row per grant or revoke, never updated, never deleted. Access is
-- decided from the latest row per (resident, organization, scope) alone.
CREATE TABLE consent_events (
    id                   bigserial PRIMARY KEY,
    resident_id          uuid NOT NULL REFERENCES residents(id),
    organization_id      uuid NOT NULL REFERENCES organizations(id),
    granted              boolean NOT NULL,
    -- 'profile' (the full profile) or 'sensitive' (sealed needs: substance use, mental health,
    -- intimate-partner violence, HIV), each given separately.
    scope                text NOT NULL CHECK (scope IN ('profile', 'sensitive')),
    channel              text NOT NULL CHECK (channel IN ('self', 'at_referral', 'in_person', 'phone', 'text', 'email')),
    -- A partner who recorded it (in person, by phone, at referral), or NULL when the resident
    -- gave it themselves (signed in, or through a consent request's link and code).
    recorded_by          uuid REFERENCES users(id),
    -- The version of the consent text the resident was shown or read.
    text_version         text NOT NULL,
    -- Given by a parent or guardian for the resident.
    proxy_name           text,
    proxy_relationship   text,
    request_id           uuid,
    at                   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX consent_events_lookup_idx ON consent_events (resident_id, organization_id, scope, id DESC);
CREATE INDEX consent_events_org_idx ON consent_events (organization_id, resident_id);

CREATE FUNCTION append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END $$;
CREATE TRIGGER consent_events_append_only BEFORE UPDATE OR DELETE ON consent_events
    FOR EACH ROW EXECUTE FUNCTION append_only();

-- What the old table held becomes the ledger's first rows.
INSERT INTO consent_events (resident_id, organization_id, granted, scope, channel, recorded_by, text_version, at)
SELECT resident_id, organization_id, true, 'profile', channel, recorded_by, '2026-11', granted_at FROM consents;
INSERT INTO consent_events (resident_id, organization_id, granted, scope, channel, recorded_by, text_version, at)
SELECT resident_id, organization_id, false, 'profile', channel, recorded_by, '2026-11', revoked_at
  FROM consents WHERE revoked_at IS NOT NULL;
DROP TABLE consents;

-- A partner asks the resident for consent by text or e-mail: a one-time link to a page where the
-- resident reads the text and answers, confirming with a one-time code sent to the same phone
-- or address. Only hashes of the token and the code are kept.
CREATE TABLE consent_requests (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    resident_id      uuid NOT NULL REFERENCES residents(id),
    organization_id  uuid NOT NULL REFERENCES organizations(id),
    requested_by     uuid NOT NULL REFERENCES users(id),
    channel          text NOT NULL CHECK (channel IN ('text', 'email')),
    scope            text NOT NULL CHECK (scope IN ('profile', 'sensitive')),
    token_hash       bytea NOT NULL UNIQUE,
    code_hash        bytea,
    code_sent_at     timestamptz,
    code_attempts    integer NOT NULL DEFAULT 0,
    status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'granted', 'declined')),
    created_at       timestamptz NOT NULL DEFAULT now(),
    expires_at       timestamptz NOT NULL,
    answered_at      timestamptz
);
CREATE INDEX consent_requests_resident_idx ON consent_requests (resident_id, created_at DESC);

-- Household members, linked to the resident. Removing one is recorded, not deleted.
CREATE TABLE household_members (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    resident_id      uuid NOT NULL REFERENCES residents(id),
    name             text NOT NULL,
    date_of_birth    date,
    relationship     text NOT NULL,
    added_by         uuid REFERENCES users(id),
    organization_id  uuid REFERENCES organizations(id),
    added_at         timestamptz NOT NULL DEFAULT now(),
    removed_at       timestamptz,
    removed_by       uuid REFERENCES users(id)
);
CREATE INDEX household_members_resident_idx ON household_members (resident_id);

-- Notes about a resident: typed, never edited (a correction is a new note pointing at the old),
-- private to the writing organization or shared with the resident's consented partners.
CREATE TABLE resident_notes (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    resident_id      uuid NOT NULL REFERENCES residents(id),
    organization_id  uuid NOT NULL REFERENCES organizations(id),
    author           uuid NOT NULL REFERENCES users(id),
    kind             text NOT NULL CHECK (kind IN ('note', 'contact_attempt', 'in_person', 'phone', 'text')),
    shared           boolean NOT NULL DEFAULT false,
    body             text NOT NULL,
    corrects         uuid REFERENCES resident_notes(id),
    at               timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX resident_notes_resident_idx ON resident_notes (resident_id, at DESC);
CREATE TRIGGER resident_notes_append_only BEFORE UPDATE OR DELETE ON resident_notes
    FOR EACH ROW EXECUTE FUNCTION append_only();

-- A resident's account (signed in with the state identity provider) is linked to their record
-- only after they prove control of a phone or e-mail on it, with a one-time code.
ALTER TABLE users ADD COLUMN resident_id uuid REFERENCES residents(id);
CREATE UNIQUE INDEX users_resident_idx ON users (resident_id) WHERE resident_id IS NOT NULL;
CREATE TABLE resident_link_codes (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id      uuid NOT NULL REFERENCES users(id),
    resident_id  uuid NOT NULL REFERENCES residents(id),
    sent_to      text NOT NULL,
    code_hash    bytea NOT NULL,
    attempts     integer NOT NULL DEFAULT 0,
    expires_at   timestamptz NOT NULL,
    used_at      timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX resident_link_codes_user_idx ON resident_link_codes (user_id, created_at DESC);

-- Programs a resident saved to their plan.
CREATE TABLE saved_programs (
    resident_user  uuid NOT NULL REFERENCES users(id),
    program_id     uuid NOT NULL,
    saved_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (resident_user, program_id)
);

-- Self-referrals: a resident "connects" to a program themselves; no sending organization.
ALTER TABLE referrals ALTER COLUMN from_organization DROP NOT NULL;
ALTER TABLE referrals ADD CONSTRAINT referrals_sender CHECK (from_organization IS NOT NULL OR from_user IS NOT NULL);

-- Merges of duplicate records, undoable: what moved, so undoing moves exactly that back.
CREATE TABLE resident_merges (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    survivor     uuid NOT NULL REFERENCES residents(id),
    retired      uuid NOT NULL REFERENCES residents(id),
    merged_by    uuid NOT NULL REFERENCES users(id),
    reason       text NOT NULL,
    moved        jsonb NOT NULL,
    merged_at    timestamptz NOT NULL DEFAULT now(),
    undone_at    timestamptz,
    undone_by    uuid REFERENCES users(id)
);

-- Breaking the seal on a resident's sensitive needs: who, when, why. Shown to the resident.
CREATE TABLE seal_breaks (
    id               bigserial PRIMARY KEY,
    resident_id      uuid NOT NULL REFERENCES residents(id),
    organization_id  uuid NOT NULL REFERENCES organizations(id),
    user_id          uuid NOT NULL REFERENCES users(id),
    reason           text NOT NULL,
    at               timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX seal_breaks_lookup_idx ON seal_breaks (resident_id, user_id, at DESC);

-- "Who opened my data": the audit trail, found by the resident it is about.
CREATE INDEX audit_log_subject_idx ON audit_log (subject, seq DESC) WHERE subject LIKE 'resident:%';
-- ... and in the lists and searches that showed them.
CREATE INDEX audit_log_shown_idx ON audit_log USING gin ((details -> 'shown') jsonb_path_ops)
    WHERE action IN ('resident.list', 'resident.search');

-- Residents sign in only with the state identity provider (found by issuer and subject); their
-- e-mail need not be unique (a partner may also be a resident, a family may share an address).
DROP INDEX users_email_idx;
CREATE UNIQUE INDEX users_email_idx ON users (lower(email)) WHERE role <> 'resident';
