-- Verify shelf:loans on pg

BEGIN;

SELECT id, book_id, member_id, lent_on, due_on, returned
  FROM shelf.loans
 WHERE false;

ROLLBACK;
