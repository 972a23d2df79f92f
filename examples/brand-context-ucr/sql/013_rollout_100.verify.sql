-- 013_rollout_100.verify.sql: the flag is at 100 %.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM feature_flags
                   WHERE key = 'brand-context-ucr' AND audience = 'everyone' AND percent = 100) THEN
        RAISE EXCEPTION 'full-rollout: flag brand-context-ucr is not at 100 %%';
    END IF;
END $$;
