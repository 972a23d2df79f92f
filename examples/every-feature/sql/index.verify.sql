-- index.verify.sql: the index exists and is valid.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_index
                   WHERE indexrelid = to_regclass('ef_items_size_idx') AND indisvalid) THEN
        RAISE EXCEPTION 'index: ef_items_size_idx is missing or invalid';
    END IF;
END $$;
