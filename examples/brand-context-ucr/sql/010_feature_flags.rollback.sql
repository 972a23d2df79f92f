-- 010_feature_flags.rollback.sql: remove the flag; drop the table if it is
-- now empty (it was created for this flag; other flags keep it alive).
DELETE FROM feature_flags WHERE key = 'brand-context-ucr';
DO $$
BEGIN
    IF to_regclass('public.feature_flags') IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM feature_flags) THEN
        DROP TABLE feature_flags;
    END IF;
END $$;
