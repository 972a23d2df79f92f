-- schema.verify.sql: fails with "relation does not exist" or "column does not exist".
SELECT id, name, size FROM ef_items WHERE false;
