-- no-transaction
-- The same for the organizations list (`WHERE o.active ORDER BY o.name, o.id`).
CREATE INDEX CONCURRENTLY IF NOT EXISTS organizations_active_name_idx ON organizations (name, id) WHERE active;
