-- the smoke test leaves nothing to undo
SELECT 1;
