-- Deploy shelf:books to pg
-- requires: authors

BEGIN;

CREATE TABLE shelf.books (
    id        integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    title     text    NOT NULL,
    author_id integer NOT NULL REFERENCES shelf.authors (id),
    isbn      text    UNIQUE CHECK (isbn ~ '^[0-9]{9}[0-9X]$|^[0-9]{13}$'),
    copies    integer NOT NULL DEFAULT 1 CHECK (copies >= 0)
);

CREATE INDEX books_author_id ON shelf.books (author_id);

COMMIT;
