-- 013_rollout_100.sql (step full-rollout)
--
-- Switch the brand-context-ucr flag on for everyone. Refuses to skip a stage:
-- the flag must be at 25 % or already at 100 %.
DO $$
DECLARE
    f feature_flags%ROWTYPE;
BEGIN
    SELECT * INTO f FROM feature_flags WHERE key = 'brand-context-ucr' FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'full-rollout: flag brand-context-ucr is missing';
    END IF;
    IF f.percent NOT IN (25, 100) THEN
        RAISE EXCEPTION 'full-rollout: flag is at % %%, expected 25 %% before going to 100 %%', f.percent;
    END IF;
END $$;

UPDATE feature_flags
SET audience = 'everyone', percent = 100, updated_at = now()
WHERE key = 'brand-context-ucr';
