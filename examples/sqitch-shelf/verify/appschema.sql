-- Verify shelf:appschema on pg

BEGIN;

SELECT pg_catalog.has_schema_privilege('shelf', 'usage');

ROLLBACK;
