-- Revert flipr:flips_timeline_idx (also outside a transaction, one statement)
DROP INDEX CONCURRENTLY IF EXISTS flipr.flips_timeline_idx;
