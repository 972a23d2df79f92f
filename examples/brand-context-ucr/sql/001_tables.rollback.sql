-- 001_tables.rollback.sql: drop the new schema (the data goes with it).
DROP VIEW IF EXISTS brand_context_report;
DROP TABLE IF EXISTS contexts;
DROP TABLE IF EXISTS brands;
DROP FUNCTION IF EXISTS touch_updated_at();
