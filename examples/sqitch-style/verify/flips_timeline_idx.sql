-- Verify flipr:flips_timeline_idx: the index exists and is valid (a failed
-- concurrent build leaves an invalid one).
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_index
                   WHERE indexrelid = to_regclass('flipr.flips_timeline_idx')
                     AND indisvalid) THEN
        RAISE EXCEPTION 'flipr.flips_timeline_idx is missing or invalid';
    END IF;
END $$;
