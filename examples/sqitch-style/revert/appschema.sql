-- Revert flipr:appschema
DROP SCHEMA flipr;
