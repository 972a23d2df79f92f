-- 000_legacy_snapshot.verify.sql: the legacy snapshot is complete.
DO $$
DECLARE
    nbrands   bigint := (SELECT count(*) FROM old_brands);
    ncontexts bigint := (SELECT count(*) FROM old_contexts);
BEGIN
    IF nbrands < 50 THEN
        RAISE EXCEPTION 'legacy snapshot: % rows in old_brands, expected at least 50', nbrands;
    END IF;
    IF ncontexts < 200 THEN
        RAISE EXCEPTION 'legacy snapshot: % rows in old_contexts, expected at least 200', ncontexts;
    END IF;
END $$;
