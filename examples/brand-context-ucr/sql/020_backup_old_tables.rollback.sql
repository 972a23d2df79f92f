-- 020_backup_old_tables.rollback.sql: drop the archive copies, but never the
-- only copy: refuse while the legacy tables are gone (roll back
-- remove-old-tables first, which orch does, newest first).
DO $$
BEGIN
    IF to_regclass('public.old_brands') IS NULL OR to_regclass('public.old_contexts') IS NULL THEN
        RAISE EXCEPTION 'backup-old-tables: the legacy tables are gone, the archive is the only copy';
    END IF;
END $$;
DROP TABLE IF EXISTS archive.old_contexts;
DROP TABLE IF EXISTS archive.old_brands;
-- RESTRICT: anything else someone put in archive keeps the schema
DROP SCHEMA IF EXISTS archive RESTRICT;
