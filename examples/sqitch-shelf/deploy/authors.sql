-- Deploy shelf:authors to pg
-- requires: appschema

BEGIN;

CREATE TABLE shelf.authors (
    id      integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name    text NOT NULL,
    born    date
);

COMMIT;
