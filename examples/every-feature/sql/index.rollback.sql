-- index.rollback.sql (outside a transaction too: one statement)
DROP INDEX CONCURRENTLY IF EXISTS ef_items_size_idx;
