-- 003_test_migration.sql (step test-migration)
--
-- Checks the migrated data against the legacy tables and records every check,
-- with what was expected and what was found, in migration_checks, so the
-- result stays in the database for the people signing off the migration.
-- The verify file fails the step if any check did not pass. Run it on staging
-- by giving the step `database = <staging url>` in the Orchfile.

CREATE TABLE IF NOT EXISTS migration_checks (
    check_name  text PRIMARY KEY,
    expected    bigint NOT NULL,
    actual      bigint NOT NULL,
    passed      boolean GENERATED ALWAYS AS (expected = actual) STORED,
    checked_at  timestamptz NOT NULL DEFAULT now()
);

INSERT INTO migration_checks (check_name, expected, actual) VALUES
    ('brands: one per distinct legacy brand',
        (SELECT count(DISTINCT btrim(regexp_replace(lower(name), '[^a-z0-9]+', '-', 'g'), '-'))
         FROM old_brands),
        (SELECT count(*) FROM brands WHERE legacy_ids <> '{}')),
    ('brands: every legacy id mapped once',
        (SELECT count(*) FROM old_brands),
        (SELECT coalesce(sum(cardinality(legacy_ids)), 0) FROM brands)),
    ('contexts: one per legacy context',
        (SELECT count(*) FROM old_contexts),
        (SELECT count(*) FROM contexts WHERE legacy_id IS NOT NULL)),
    ('contexts: none without a brand',
        0,
        (SELECT count(*) FROM contexts c LEFT JOIN brands b ON b.id = c.brand_id WHERE b.id IS NULL)),
    ('contexts: legacy brand kept',
        0,
        (SELECT count(*) FROM contexts c
         JOIN old_contexts o ON o.id = c.legacy_id
         JOIN brands b ON b.id = c.brand_id
         WHERE NOT o.brand_id = ANY (b.legacy_ids))),
    ('contexts: bodies carried over',
        (SELECT count(*) FROM old_contexts WHERE btrim(content) <> ''),
        (SELECT count(*) FROM contexts WHERE legacy_id IS NOT NULL AND body <> '')),
    ('report: adds up to all contexts',
        (SELECT count(*) FROM contexts),
        (SELECT coalesce(sum(contexts), 0) FROM brand_context_report))
ON CONFLICT (check_name) DO UPDATE
    SET expected = EXCLUDED.expected, actual = EXCLUDED.actual, checked_at = now();
