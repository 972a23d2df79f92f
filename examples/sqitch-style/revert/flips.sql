-- Revert flipr:flips
DROP TABLE flipr.flips;
