-- Deploy flipr:users
-- requires: appschema
CREATE TABLE flipr.users (
    nickname   text PRIMARY KEY,
    password   text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
