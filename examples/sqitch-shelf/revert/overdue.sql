-- Revert shelf:overdue from pg

BEGIN;

DROP VIEW shelf.overdue;

COMMIT;
