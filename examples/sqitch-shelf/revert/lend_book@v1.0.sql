-- Revert shelf:lend_book from pg

BEGIN;

DROP FUNCTION shelf.lend_book(integer, integer);

COMMIT;
