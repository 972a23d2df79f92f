-- Verify flipr:users (fails with "column does not exist" or "relation does not exist")
SELECT nickname, password, created_at
FROM flipr.users
WHERE false;
