-- 001_tables.verify.sql: the new tables, their key constraints and the view exist.
DO $$
DECLARE
    missing text;
BEGIN
    SELECT string_agg(name, ', ') INTO missing
    FROM unnest(ARRAY['public.brands', 'public.contexts', 'public.brand_context_report',
                      'public.contexts_brand_kind_idx']) AS name
    WHERE to_regclass(name) IS NULL;
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'create-tables: missing %', missing;
    END IF;

    SELECT string_agg(name, ', ') INTO missing
    FROM unnest(ARRAY['brands_slug_key', 'brands_status_known', 'contexts_brand_fk',
                      'contexts_legacy_id_key', 'contexts_kind_known']) AS name
    WHERE NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = name);
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'create-tables: missing constraint %', missing;
    END IF;
END $$;
