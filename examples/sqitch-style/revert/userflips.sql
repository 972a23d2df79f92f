-- Revert flipr:userflips
DROP VIEW flipr.userflips;
