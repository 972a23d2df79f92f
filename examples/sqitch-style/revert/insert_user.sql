-- Revert flipr:insert_user
DROP FUNCTION flipr.insert_user(text, text);
