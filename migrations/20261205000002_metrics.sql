-- Statewide metrics (issue 13): every referral knows the county of the program it was sent to,
-- so a chapter's or a county's figures are one indexed filter. Filled from the search index at
-- insert (a program without a place, e.g. statewide, has none) and back-filled here.
ALTER TABLE referrals ADD COLUMN county_fips text;
UPDATE referrals r SET county_fips = s.county_fips FROM search_entries s WHERE s.id = r.program_id;

CREATE FUNCTION referral_county() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.county_fips IS NULL THEN
        SELECT s.county_fips INTO NEW.county_fips FROM search_entries s WHERE s.id = NEW.program_id;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER referrals_county BEFORE INSERT ON referrals
    FOR EACH ROW EXECUTE FUNCTION referral_county();

CREATE INDEX referrals_county_idx ON referrals (county_fips, created_at);
CREATE INDEX referrals_created_idx ON referrals (created_at);
CREATE INDEX referrals_closed_idx ON referrals (closed_at) WHERE closed_at IS NOT NULL;
