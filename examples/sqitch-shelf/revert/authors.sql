-- Revert shelf:authors from pg

BEGIN;

DROP TABLE shelf.authors;

COMMIT;
