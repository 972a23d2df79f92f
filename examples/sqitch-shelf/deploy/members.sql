-- Deploy shelf:members to pg
-- requires: appschema

BEGIN;

CREATE TABLE shelf.members (
    id      integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name    text NOT NULL,
    email   text NOT NULL,
    joined  timestamptz NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX members_email ON shelf.members (lower(email));

COMMIT;
