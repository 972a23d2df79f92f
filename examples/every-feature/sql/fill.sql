-- fill.sql (step fill): rows for ef_items. The step has no rollback file: it
-- has `backup = ef_items`, so orch copies the table to schema orch_backup
-- before this runs, and a rollback restores that copy.
INSERT INTO ef_items (name, size) VALUES
    ('anchor', 3),
    ('buoy', 5),
    ('cleat', 1)
ON CONFLICT (name) DO UPDATE SET size = EXCLUDED.size;
