-- 021_remove_old_tables.verify.sql: the legacy tables are gone, the archive stays.
DO $$
BEGIN
    IF to_regclass('public.old_brands') IS NOT NULL OR to_regclass('public.old_contexts') IS NOT NULL THEN
        RAISE EXCEPTION 'remove-old-tables: legacy tables still exist';
    END IF;
    IF to_regclass('archive.old_brands') IS NULL OR to_regclass('archive.old_contexts') IS NULL THEN
        RAISE EXCEPTION 'remove-old-tables: archive copies are missing';
    END IF;
END $$;
