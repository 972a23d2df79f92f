-- 010_feature_flags.verify.sql: the flag exists and is off for customers.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM feature_flags WHERE key = 'brand-context-ucr') THEN
        RAISE EXCEPTION 'feature-flags: flag brand-context-ucr is missing';
    END IF;
END $$;
