-- A repeatable migration: run after every versioned one, and again when this file changes.
CREATE OR REPLACE VIEW shop.order_totals AS
    SELECT o.id AS order_id, o.customer_id, o.status,
           coalesce(sum(l.quantity * l.unit_price_cents), 0) AS total_cents
      FROM shop.orders o
      LEFT JOIN shop.order_lines l ON l.order_id = o.id
     GROUP BY o.id, o.customer_id, o.status;
