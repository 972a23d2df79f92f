-- 003_test_migration.verify.sql: every recorded check passed.
DO $$
DECLARE
    failed text;
BEGIN
    IF (SELECT count(*) FROM migration_checks) = 0 THEN
        RAISE EXCEPTION 'test-migration: no checks were recorded';
    END IF;
    SELECT string_agg(format('%s (expected %s, found %s)', check_name, expected, actual), '; '
                      ORDER BY check_name)
    INTO failed
    FROM migration_checks
    WHERE NOT passed;
    IF failed IS NOT NULL THEN
        RAISE EXCEPTION 'test-migration: count mismatch: %', failed;
    END IF;
END $$;
