-- 012_rollout_25.verify.sql: the flag is at 25 %.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM feature_flags
                   WHERE key = 'brand-context-ucr' AND audience = 'percent' AND percent = 25) THEN
        RAISE EXCEPTION 'rollout-25: flag brand-context-ucr is not at 25 %%';
    END IF;
END $$;
