DROP VIEW IF EXISTS shop.order_totals;
ALTER TABLE shop.orders DROP COLUMN status;
DROP TYPE shop.order_status;
