-- Which type an organization was, when (issue 13: incentives are decided by the organization's
-- standing at the time of the activity; a not-for-profit that becomes a for-profit on the 15th
-- earns for the 1st to the 14th only). Every change of partner_organizations.org_type, by
-- whatever means, is dated here by a trigger; nothing else writes it.
CREATE TABLE partner_org_types (
    organization_id uuid NOT NULL REFERENCES organizations(id),
    org_type        text NOT NULL,
    since           timestamptz NOT NULL,
    PRIMARY KEY (organization_id, since)
);

INSERT INTO partner_org_types (organization_id, org_type, since)
SELECT organization_id, org_type, approved_at FROM partner_organizations;

CREATE FUNCTION partner_org_type_dated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO partner_org_types VALUES (NEW.organization_id, NEW.org_type, NEW.approved_at)
        ON CONFLICT DO NOTHING;
    ELSIF OLD.org_type IS DISTINCT FROM NEW.org_type THEN
        INSERT INTO partner_org_types VALUES (NEW.organization_id, NEW.org_type, clock_timestamp())
        ON CONFLICT (organization_id, since) DO UPDATE SET org_type = excluded.org_type;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER partner_org_type_dated AFTER INSERT OR UPDATE OF org_type ON partner_organizations
    FOR EACH ROW EXECUTE FUNCTION partner_org_type_dated();
