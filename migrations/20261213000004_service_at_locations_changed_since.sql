-- no-transaction
-- An incremental HSDS API pull (`modified_after`) asks which service_at_locations changed since a time; the
-- answer is a union of the few changed rows of each table, found through this index, not a
-- test of every row (2 s a page at national scale). Built CONCURRENTLY, one statement per file.
CREATE INDEX CONCURRENTLY IF NOT EXISTS service_at_locations_updated_at_idx ON service_at_locations (updated_at);
