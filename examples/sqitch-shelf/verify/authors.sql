-- Verify shelf:authors on pg

BEGIN;

SELECT id, name, born
  FROM shelf.authors
 WHERE false;

ROLLBACK;
