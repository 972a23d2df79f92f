DROP INDEX shop.orders_by_customer;
