-- 002_migrate.rollback.sql: remove the migrated rows, and only those
-- (rows written by the new code since have no legacy id and stay).
DELETE FROM contexts WHERE legacy_id IS NOT NULL;
DELETE FROM brands
WHERE legacy_ids <> '{}'
  AND NOT EXISTS (SELECT 1 FROM contexts c WHERE c.brand_id = brands.id);
