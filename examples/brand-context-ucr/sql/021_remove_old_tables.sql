-- 021_remove_old_tables.sql (step remove-old-tables)
--
-- Drops the legacy tables, after checking once more that the archive holds
-- all their rows. Nothing reads them any more: the flag is at 100 % and
-- production has been watched for two days.

DO $$
BEGIN
    IF to_regclass('public.old_brands') IS NULL THEN
        RETURN;   -- already removed
    END IF;
    IF to_regclass('archive.old_brands') IS NULL OR to_regclass('archive.old_contexts') IS NULL THEN
        RAISE EXCEPTION 'remove-old-tables: no archive copy, run backup-old-tables first';
    END IF;
    IF (SELECT count(*) FROM archive.old_brands) <> (SELECT count(*) FROM public.old_brands)
       OR (SELECT count(*) FROM archive.old_contexts) <> (SELECT count(*) FROM public.old_contexts) THEN
        RAISE EXCEPTION 'remove-old-tables: archive is out of date, run backup-old-tables again';
    END IF;
END $$;

DROP TABLE IF EXISTS public.old_contexts;
DROP TABLE IF EXISTS public.old_brands;
