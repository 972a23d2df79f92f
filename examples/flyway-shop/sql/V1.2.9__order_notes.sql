ALTER TABLE shop.orders ADD COLUMN notes text;
