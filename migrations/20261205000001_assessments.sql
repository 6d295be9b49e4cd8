-- Assessments and SDoH indicators (issue 12). The assessments module (app/src/assessments/) is
-- the only code that reads or writes these tables, and only after the residents gate has opened
-- the resident for it.

-- One response to an instrument: answers stored coded (item code → answer codes, as the
-- instrument file names them) with the instrument's id and version, so the FHIR interface can
-- emit a QuestionnaireResponse and SDOHCC Observations without loss.
CREATE TABLE assessments (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- On a resident's record (partner, hospital, or a signed-in resident with a linked record)...
    resident_id uuid REFERENCES residents(id),
    -- ...or kept on a resident's own account until they link their record.
    user_id uuid REFERENCES users(id),
    instrument text NOT NULL,
    instrument_version text NOT NULL,
    -- Where it came from: taken in Wraparound; later the health information exchange and the
    -- Medicaid application.
    source text NOT NULL DEFAULT 'wraparound'
        CHECK (source IN ('wraparound', 'health_exchange', 'medicaid')),
    -- Who answered: the resident alone, with a partner, or screened by a hospital.
    mode text NOT NULL CHECK (mode IN ('self', 'partner', 'hospital')),
    administered_by uuid REFERENCES users(id),
    organization_id uuid REFERENCES organizations(id),
    answers jsonb NOT NULL DEFAULT '{}'::jsonb,
    -- Where the person stopped (resume there).
    current_page text,
    -- Only completed assessments count (indicators, incentives).
    status text NOT NULL CHECK (status IN ('in_progress', 'completed')),
    started_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz,
    CHECK (resident_id IS NOT NULL OR user_id IS NOT NULL),
    CHECK ((status = 'completed') = (completed_at IS NOT NULL)),
    CHECK (mode = 'self' OR organization_id IS NOT NULL)
);
CREATE INDEX assessments_resident_idx ON assessments (resident_id, started_at DESC) WHERE resident_id IS NOT NULL;
CREATE INDEX assessments_user_idx ON assessments (user_id, started_at DESC) WHERE user_id IS NOT NULL;
CREATE INDEX assessments_completed_idx ON assessments (organization_id, completed_at) WHERE status = 'completed';

-- One SDoH indicator per resident and need, from the newest completed assessment that decided
-- on it. A newer one supersedes it (superseded_at set); history is kept, never deleted.
CREATE TABLE sdoh_indicators (
    id bigserial PRIMARY KEY,
    resident_id uuid NOT NULL REFERENCES residents(id),
    -- The need, stable across instruments ("food", "safety").
    need text NOT NULL CHECK (need ~ '^[a-z][a-z0-9-]{0,62}$'),
    -- The SDOHCC 2.3.0 SDOH category code.
    domain text NOT NULL,
    interpretation text NOT NULL CHECK (interpretation IN ('positive', 'negative', 'not-answered')),
    -- Why it could not be decided: missing, dont-know, declined.
    absent_reason text CHECK ((interpretation = 'not-answered') = (absent_reason IS NOT NULL)),
    sensitive boolean NOT NULL,
    categories text[] NOT NULL DEFAULT '{}',
    source text NOT NULL,
    assessment_id uuid REFERENCES assessments(id),
    organization_id uuid REFERENCES organizations(id),
    observed_at timestamptz NOT NULL,
    superseded_at timestamptz
);
CREATE UNIQUE INDEX sdoh_indicators_current_idx ON sdoh_indicators (resident_id, need) WHERE superseded_at IS NULL;
CREATE INDEX sdoh_indicators_assessment_idx ON sdoh_indicators (assessment_id);
