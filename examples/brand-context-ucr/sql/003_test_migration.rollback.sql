-- 003_test_migration.rollback.sql: forget the recorded checks.
DROP TABLE IF EXISTS migration_checks;
