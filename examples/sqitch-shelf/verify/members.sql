-- Verify shelf:members on pg

BEGIN;

SELECT id, name, email, joined
  FROM shelf.members
 WHERE false;

ROLLBACK;
