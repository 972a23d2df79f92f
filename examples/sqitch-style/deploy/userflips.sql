-- Deploy flipr:userflips
-- requires: users flips
CREATE OR REPLACE VIEW flipr.userflips AS
SELECT u.nickname, f.id AS flip_id, f.body, f.created_at
FROM flipr.users u
JOIN flipr.flips f ON f.nickname = u.nickname;
