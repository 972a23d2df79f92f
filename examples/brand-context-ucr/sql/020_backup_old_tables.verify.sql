-- 020_backup_old_tables.verify.sql: the archive holds every legacy row.
DO $$
BEGIN
    IF (SELECT count(*) FROM archive.old_brands) <> (SELECT count(*) FROM public.old_brands)
       OR (SELECT count(*) FROM archive.old_contexts) <> (SELECT count(*) FROM public.old_contexts) THEN
        RAISE EXCEPTION 'backup-old-tables: count mismatch between archive and public';
    END IF;
    IF EXISTS (SELECT * FROM public.old_brands EXCEPT SELECT * FROM archive.old_brands)
       OR EXISTS (SELECT * FROM public.old_contexts EXCEPT SELECT * FROM archive.old_contexts) THEN
        RAISE EXCEPTION 'backup-old-tables: archive differs from the legacy tables';
    END IF;
END $$;
