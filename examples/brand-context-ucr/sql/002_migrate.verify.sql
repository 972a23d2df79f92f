-- 002_migrate.verify.sql: every legacy row arrived, exactly once.
DO $$
DECLARE
    n bigint;
BEGIN
    SELECT count(*) INTO n
    FROM old_brands o
    WHERE (SELECT count(*) FROM brands b WHERE o.id = ANY (b.legacy_ids)) <> 1;
    IF n <> 0 THEN
        RAISE EXCEPTION 'migration: % legacy brands not mapped to exactly one brand', n;
    END IF;

    IF (SELECT count(*) FROM contexts WHERE legacy_id IS NOT NULL)
       <> (SELECT count(*) FROM old_contexts) THEN
        RAISE EXCEPTION 'migration: count mismatch, % contexts from % legacy contexts',
            (SELECT count(*) FROM contexts WHERE legacy_id IS NOT NULL),
            (SELECT count(*) FROM old_contexts);
    END IF;
END $$;
