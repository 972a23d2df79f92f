-- Verify flipr:appschema (fails with "schema does not exist")
SELECT pg_catalog.has_schema_privilege('flipr', 'usage');
