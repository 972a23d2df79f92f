-- Revert flipr:users
DROP TABLE flipr.users;
