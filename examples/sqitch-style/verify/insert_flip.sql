-- Verify flipr:insert_flip: the function exists and stores a flip. Runs in
-- the change's transaction; the probe rows are deleted again.
DO $$
DECLARE
    new_id bigint;
BEGIN
    PERFORM flipr.insert_user('verify-probe', 'secret');
    new_id := flipr.insert_flip('verify-probe', 'hello');
    IF NOT EXISTS (SELECT 1 FROM flipr.flips WHERE id = new_id AND body = 'hello') THEN
        RAISE EXCEPTION 'insert_flip did not store the flip';
    END IF;
    DELETE FROM flipr.flips WHERE nickname = 'verify-probe';
    DELETE FROM flipr.users WHERE nickname = 'verify-probe';
END $$;
