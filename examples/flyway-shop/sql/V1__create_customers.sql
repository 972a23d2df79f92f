CREATE SCHEMA shop;

CREATE TABLE shop.customers (
    id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email    text NOT NULL UNIQUE,
    name     text NOT NULL,
    created  timestamptz NOT NULL DEFAULT now()
);
