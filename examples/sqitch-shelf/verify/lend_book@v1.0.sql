-- Verify shelf:lend_book on pg

BEGIN;

SELECT has_function_privilege('shelf.lend_book(integer, integer)', 'execute');

ROLLBACK;
