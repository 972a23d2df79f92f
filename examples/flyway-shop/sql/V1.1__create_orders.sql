CREATE TABLE shop.orders (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id bigint NOT NULL REFERENCES shop.customers (id),
    placed      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE shop.order_lines (
    order_id         bigint  NOT NULL REFERENCES shop.orders (id) ON DELETE CASCADE,
    sku              text    NOT NULL,
    quantity         integer NOT NULL CHECK (quantity > 0),
    unit_price_cents integer NOT NULL CHECK (unit_price_cents >= 0),
    PRIMARY KEY (order_id, sku)
);
