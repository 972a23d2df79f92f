-- Revert shelf:loans from pg

BEGIN;

DROP TABLE shelf.loans;

COMMIT;
