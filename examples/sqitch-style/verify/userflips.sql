-- Verify flipr:userflips
SELECT nickname, flip_id, body, created_at
FROM flipr.userflips
WHERE false;
