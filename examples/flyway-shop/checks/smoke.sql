-- An order placed and read back through the view, then taken away: nothing stays.
SAVEPOINT smoke;
INSERT INTO shop.customers (email, name) VALUES ('smoke@example.org', 'Smoke Test');
INSERT INTO shop.orders (customer_id, status)
    SELECT id, 'paid' FROM shop.customers WHERE email = 'smoke@example.org';
INSERT INTO shop.order_lines (order_id, sku, quantity, unit_price_cents)
    SELECT o.id, 'BOOK-1', 2, 1250 FROM shop.orders o
      JOIN shop.customers c ON c.id = o.customer_id WHERE c.email = 'smoke@example.org';
SELECT 1 / (total_cents = 2500)::int FROM shop.order_totals t
  JOIN shop.customers c ON c.id = t.customer_id WHERE c.email = 'smoke@example.org';
ROLLBACK TO SAVEPOINT smoke;
