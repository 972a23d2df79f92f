-- 011_rollout_5.sql (step rollout-5)
--
-- Widen the brand-context-ucr flag from the internal team to 5 % of customers.
-- Refuses to skip a stage: the flag must be at 0 % (team only) or already at 5 %.
DO $$
DECLARE
    f feature_flags%ROWTYPE;
BEGIN
    SELECT * INTO f FROM feature_flags WHERE key = 'brand-context-ucr' FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'rollout-5: flag brand-context-ucr is missing';
    END IF;
    IF f.percent NOT IN (0, 5) THEN
        RAISE EXCEPTION 'rollout-5: flag is at % %%, expected 0 %% before going to 5 %%', f.percent;
    END IF;
END $$;

UPDATE feature_flags
SET audience = 'percent', percent = 5, updated_at = now()
WHERE key = 'brand-context-ucr';
