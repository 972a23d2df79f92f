-- fill.verify.sql: the three rows are there.
DO $$
BEGIN
    IF (SELECT count(*) FROM ef_items WHERE name IN ('anchor', 'buoy', 'cleat')) <> 3 THEN
        RAISE EXCEPTION 'fill: expected 3 rows in ef_items';
    END IF;
END $$;
