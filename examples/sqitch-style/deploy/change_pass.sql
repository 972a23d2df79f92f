-- Deploy flipr:change_pass
-- requires: users
CREATE OR REPLACE FUNCTION flipr.change_pass(nick text, oldpass text, newpass text)
RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    UPDATE flipr.users
    SET password = md5($3)
    WHERE nickname = $1 AND password = md5($2);
    RETURN FOUND;
END;
$$;
