DROP TABLE shop.customers;
DROP SCHEMA shop;
