-- Revert shelf:appschema from pg

BEGIN;

DROP SCHEMA shelf;

COMMIT;
