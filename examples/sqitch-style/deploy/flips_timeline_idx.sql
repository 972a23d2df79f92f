-- Deploy flipr:flips_timeline_idx
-- requires: flips
--
-- CREATE INDEX CONCURRENTLY builds the index without blocking writes to
-- flipr.flips, and cannot run inside a transaction block: the step says
-- transaction = no. Keep it the only statement in this file, because several
-- statements sent in one go also form a transaction block. If the build fails
-- half way it leaves an INVALID index behind; the verify file catches that,
-- and the revert drops it.
CREATE INDEX CONCURRENTLY IF NOT EXISTS flips_timeline_idx
    ON flipr.flips (nickname, created_at DESC);
