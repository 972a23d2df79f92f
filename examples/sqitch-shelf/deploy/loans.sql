-- Deploy shelf:loans to pg
-- requires: books, members

BEGIN;

CREATE TABLE shelf.loans (
    id        integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    book_id   integer NOT NULL REFERENCES shelf.books (id),
    member_id integer NOT NULL REFERENCES shelf.members (id),
    lent_on   date    NOT NULL DEFAULT current_date,
    due_on    date    NOT NULL DEFAULT current_date + 21,
    returned  date,
    CHECK (due_on >= lent_on)
);

CREATE INDEX loans_open ON shelf.loans (member_id) WHERE returned IS NULL;

COMMIT;
