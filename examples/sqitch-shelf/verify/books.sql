-- Verify shelf:books on pg

BEGIN;

SELECT id, title, author_id, isbn, copies
  FROM shelf.books
 WHERE false;

ROLLBACK;
