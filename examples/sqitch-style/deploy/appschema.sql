-- Deploy flipr:appschema
CREATE SCHEMA flipr;
