-- Revert shelf:books from pg

BEGIN;

DROP TABLE shelf.books;

COMMIT;
