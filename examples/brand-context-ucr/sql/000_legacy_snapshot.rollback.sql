-- 000_legacy_snapshot.rollback.sql: remove the legacy snapshot.
--
-- Only for the development database this plan seeded itself: on a database
-- where the legacy tables are real, take setup-env out of the plan instead.
DROP TABLE IF EXISTS old_contexts;
DROP TABLE IF EXISTS old_brands;
