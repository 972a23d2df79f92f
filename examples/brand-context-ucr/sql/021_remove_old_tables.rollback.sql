-- 021_remove_old_tables.rollback.sql: bring the legacy tables back from the
-- archive, keys included.
CREATE TABLE IF NOT EXISTS public.old_brands (LIKE archive.old_brands INCLUDING ALL);
CREATE TABLE IF NOT EXISTS public.old_contexts (LIKE archive.old_contexts INCLUDING ALL);
INSERT INTO public.old_brands SELECT * FROM archive.old_brands ON CONFLICT DO NOTHING;
INSERT INTO public.old_contexts SELECT * FROM archive.old_contexts ON CONFLICT DO NOTHING;
