-- Deploy flipr:insert_flip
-- requires: flips
CREATE OR REPLACE FUNCTION flipr.insert_flip(nickname text, body text)
RETURNS bigint LANGUAGE sql SECURITY DEFINER AS $$
    INSERT INTO flipr.flips (nickname, body) VALUES ($1, $2) RETURNING id;
$$;
