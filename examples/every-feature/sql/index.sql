-- index.sql (step index, transaction = no): CREATE INDEX CONCURRENTLY cannot
-- run in a transaction block, so it is the only statement in this file.
CREATE INDEX CONCURRENTLY IF NOT EXISTS ef_items_size_idx ON ef_items (size);
