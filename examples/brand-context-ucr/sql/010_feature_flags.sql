-- 010_feature_flags.sql (step feature-flags)
--
-- The flag that switches the application from the legacy tables to the new
-- ones. It starts with the internal team only; the rollout steps widen it.
--   audience  team      staff accounts only
--             percent   staff plus `percent` % of customers (by account hash)
--             everyone  all accounts

CREATE TABLE IF NOT EXISTS feature_flags (
    key         text PRIMARY KEY,
    audience    text NOT NULL DEFAULT 'team',
    percent     smallint NOT NULL DEFAULT 0,
    description text NOT NULL DEFAULT '',
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT feature_flags_audience_known CHECK (audience IN ('team', 'percent', 'everyone')),
    CONSTRAINT feature_flags_percent_range CHECK (percent BETWEEN 0 AND 100),
    CONSTRAINT feature_flags_everyone_is_100 CHECK ((audience = 'everyone') = (percent = 100))
);

INSERT INTO feature_flags (key, audience, percent, description)
VALUES ('brand-context-ucr', 'team', 0, 'Read brands and contexts from the new tables')
ON CONFLICT (key) DO NOTHING;
