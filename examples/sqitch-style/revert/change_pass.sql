-- Revert flipr:change_pass
DROP FUNCTION flipr.change_pass(text, text, text);
