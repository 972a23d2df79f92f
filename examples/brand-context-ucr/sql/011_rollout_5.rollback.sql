-- 011_rollout_5.rollback.sql: back to the internal team only (0 %).
UPDATE feature_flags
SET audience = 'team', percent = 0, updated_at = now()
WHERE key = 'brand-context-ucr';
