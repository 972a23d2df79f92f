-- 013_rollout_100.rollback.sql: back to 25 % of customers.
UPDATE feature_flags
SET audience = 'percent', percent = 25, updated_at = now()
WHERE key = 'brand-context-ucr';
