-- no-transaction
-- An incremental HSDS API pull (`modified_after`) asks which services changed since a time; the
-- answer is a union of the few changed rows of each table, found through this index, not a
-- test of every row (2 s a page at national scale). Built CONCURRENTLY, one statement per file.
CREATE INDEX CONCURRENTLY IF NOT EXISTS services_updated_at_idx ON services (updated_at);
