-- schema.rollback.sql
DROP TABLE IF EXISTS ef_items;
