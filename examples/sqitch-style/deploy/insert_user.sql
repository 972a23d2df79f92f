-- Deploy flipr:insert_user
-- requires: users
CREATE OR REPLACE FUNCTION flipr.insert_user(nickname text, password text)
RETURNS void LANGUAGE sql SECURITY DEFINER AS $$
    INSERT INTO flipr.users (nickname, password) VALUES ($1, md5($2));
$$;
