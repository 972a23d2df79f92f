ALTER TABLE shop.orders DROP COLUMN notes;
