-- Deploy shelf:appschema to pg

BEGIN;

CREATE SCHEMA shelf;

COMMIT;
