-- Verify flipr:flips
SELECT id, nickname, body, created_at
FROM flipr.flips
WHERE false;
