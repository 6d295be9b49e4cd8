-- no-transaction
-- The HSDS API lists services by name (`ORDER BY s.name, s.id`, active ones unless
-- `modified_after` asks for changes too). Without an index in that order every page sorted the
-- whole table: 1.7-2.8 s a page at national scale (1.1 M services). Built CONCURRENTLY, so a
-- running directory keeps taking imports while it builds; one statement per file, as
-- CONCURRENTLY runs outside any transaction.
CREATE INDEX CONCURRENTLY IF NOT EXISTS services_active_name_idx ON services (name, id) WHERE active;
