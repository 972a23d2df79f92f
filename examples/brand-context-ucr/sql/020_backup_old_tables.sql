-- 020_backup_old_tables.sql (step backup-old-tables)
--
-- Keeps the legacy tables, with their keys and every row, in schema archive
-- before remove-old-tables drops them. (orch's own `backup =` on
-- remove-old-tables keeps a second copy in schema orch_backup.)
-- Safe to run again: the copies are refreshed.

CREATE SCHEMA IF NOT EXISTS archive;

CREATE TABLE IF NOT EXISTS archive.old_brands (LIKE public.old_brands INCLUDING ALL);
CREATE TABLE IF NOT EXISTS archive.old_contexts (LIKE public.old_contexts INCLUDING ALL);

TRUNCATE archive.old_brands, archive.old_contexts;
INSERT INTO archive.old_brands SELECT * FROM public.old_brands;
INSERT INTO archive.old_contexts SELECT * FROM public.old_contexts;

COMMENT ON SCHEMA archive IS 'Legacy UCR tables, kept after the brand-context-ucr migration';
