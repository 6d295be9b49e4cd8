-- The dashboard and the inbox tabs count an organization's referrals, thousands of rows for a
-- busy one. With the columns they count carried in the index, Postgres answers from the index
-- alone (an index-only scan) instead of visiting every row in the table.
DROP INDEX referrals_inbox_idx;
CREATE INDEX referrals_inbox_idx ON referrals (to_organization, status, created_at)
    INCLUDE (from_organization, need, closed_at, outcome_reason);
DROP INDEX referrals_sent_idx;
CREATE INDEX referrals_sent_idx ON referrals (from_organization, created_at DESC)
    INCLUDE (to_organization, status, need, closed_at, outcome_reason);
