-- 1.2.10 comes after 1.2.9: versions compare part by part, as numbers
CREATE INDEX orders_by_customer ON shop.orders (customer_id, placed DESC);
