CREATE TYPE shop.order_status AS ENUM ('open', 'paid', 'shipped', 'cancelled');

ALTER TABLE shop.orders ADD COLUMN status shop.order_status NOT NULL DEFAULT 'open';
