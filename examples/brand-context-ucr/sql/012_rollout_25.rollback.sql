-- 012_rollout_25.rollback.sql: back to 5 % of customers.
UPDATE feature_flags
SET audience = 'percent', percent = 5, updated_at = now()
WHERE key = 'brand-context-ucr';
