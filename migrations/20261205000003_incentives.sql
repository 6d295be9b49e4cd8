-- The Community Partner Incentive Initiative (issue 13): the monthly report to United Way.
-- Where the check goes: filled from the organization's first located address, editable later;
-- none means the payment is held (the organization is still listed).
ALTER TABLE partner_organizations ADD COLUMN mailing_address text;
UPDATE partner_organizations p SET mailing_address = a.line
  FROM (SELECT DISTINCT ON (l.organization_id) l.organization_id,
               concat_ws(', ', l.address_1, l.city, concat_ws(' ', l.state_province, l.postal_code)) AS line
          FROM locations l WHERE l.address_1 IS NOT NULL AND l.city IS NOT NULL
         ORDER BY l.organization_id, l.id) a
 WHERE a.organization_id = p.organization_id AND p.mailing_address IS NULL;

-- A state administrator's decision that one organization is (or is not) eligible, whatever its
-- type says. The newest per organization counts; kept, never changed.
CREATE TABLE incentive_overrides (
    id               bigserial PRIMARY KEY,
    organization_id  uuid NOT NULL REFERENCES organizations(id),
    eligible         boolean NOT NULL,
    reason           text NOT NULL,
    set_by           uuid REFERENCES users(id),
    at               timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX incentive_overrides_org_idx ON incentive_overrides (organization_id, id DESC);

-- A month's report, as sent: immutable, with the SHA-256 of its content.
CREATE TABLE incentive_reports (
    month         date PRIMARY KEY CHECK (extract(day FROM month) = 1),
    generated_at  timestamptz NOT NULL DEFAULT now(),
    report        jsonb NOT NULL,
    sha256        text NOT NULL
);
-- Everything a report paid for: a referral, an assessment or an onboarding pays once, ever.
CREATE TABLE incentive_paid_items (
    kind             text NOT NULL CHECK (kind IN ('onboarding', 'assessment', 'closure')),
    item_id          uuid NOT NULL,
    month            date NOT NULL REFERENCES incentive_reports(month),
    organization_id  uuid NOT NULL REFERENCES organizations(id),
    PRIMARY KEY (kind, item_id)
);
CREATE FUNCTION incentive_reports_are_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'incentive reports are immutable: corrections go in a later month';
END $$;
CREATE TRIGGER incentive_reports_immutable BEFORE UPDATE OR DELETE ON incentive_reports
    FOR EACH ROW EXECUTE FUNCTION incentive_reports_are_immutable();
CREATE TRIGGER incentive_paid_items_immutable BEFORE UPDATE OR DELETE ON incentive_paid_items
    FOR EACH ROW EXECUTE FUNCTION incentive_reports_are_immutable();

INSERT INTO jobs (name) VALUES ('incentive_report') ON CONFLICT DO NOTHING;
