-- 012_rollout_25.sql (step rollout-25)
--
-- Widen the brand-context-ucr flag from 5 % to 25 % of customers. Refuses to
-- skip a stage: the flag must be at 5 % or already at 25 %.
DO $$
DECLARE
    f feature_flags%ROWTYPE;
BEGIN
    SELECT * INTO f FROM feature_flags WHERE key = 'brand-context-ucr' FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'rollout-25: flag brand-context-ucr is missing';
    END IF;
    IF f.percent NOT IN (5, 25) THEN
        RAISE EXCEPTION 'rollout-25: flag is at % %%, expected 5 %% before going to 25 %%', f.percent;
    END IF;
END $$;

UPDATE feature_flags
SET audience = 'percent', percent = 25, updated_at = now()
WHERE key = 'brand-context-ucr';
