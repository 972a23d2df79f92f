-- Revert shelf:members from pg

BEGIN;

DROP TABLE shelf.members;

COMMIT;
