-- Revert flipr:insert_flip
DROP FUNCTION flipr.insert_flip(text, text);
