-- 011_rollout_5.verify.sql: the flag is at 5 %.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM feature_flags
                   WHERE key = 'brand-context-ucr' AND audience = 'percent' AND percent = 5) THEN
        RAISE EXCEPTION 'rollout-5: flag brand-context-ucr is not at 5 %%';
    END IF;
END $$;
