-- 002_migrate.sql (step migration-script)
--
-- Moves the legacy rows into the new tables, normalising on the way:
--   brands    one row per slug: the same brand typed twice ("Acme Corp",
--             "acme  corp") becomes one brand that remembers every legacy id
--             in legacy_ids; the lowest legacy id gives name, website and
--             status; whitespace squeezed; ALL CAPS / all lower names get
--             initial capitals; websites get a scheme; status words mapped to
--             active / inactive / archived (an unknown word fails the step
--             on the CHECK constraint instead of being guessed).
--   contexts  one row per legacy context, attached to the merged brand; kind
--             lower-cased (missing: general); title squeezed (missing: the
--             kind's name); priority parsed (blank or not a number: 0,
--             capped at 100); empty bodies become ''.
-- Safe to run again: rows already migrated are kept (ON CONFLICT).

WITH cleaned AS (
    SELECT o.id,
           btrim(regexp_replace(lower(o.name), '[^a-z0-9]+', '-', 'g'), '-') AS slug,
           CASE WHEN n.name = lower(n.name) OR n.name = upper(n.name)
                THEN initcap(n.name) ELSE n.name END AS name,
           CASE WHEN NULLIF(btrim(o.website), '') IS NULL THEN NULL
                WHEN lower(btrim(o.website)) ~ '^https?://' THEN rtrim(lower(btrim(o.website)), '/')
                ELSE 'https://' || rtrim(lower(btrim(o.website)), '/') END AS website,
           CASE lower(btrim(coalesce(o.status, '')))
                WHEN '' THEN 'active'
                WHEN 'active' THEN 'active'
                WHEN 'enabled' THEN 'active'
                WHEN 'live' THEN 'active'
                WHEN 'inactive' THEN 'inactive'
                WHEN 'disabled' THEN 'inactive'
                WHEN 'paused' THEN 'inactive'
                WHEN 'archived' THEN 'archived'
                WHEN 'deleted' THEN 'archived'
                ELSE lower(btrim(o.status)) END AS status,
           NULLIF(btrim(o.created_on), '')::timestamptz AS created_at
    FROM old_brands o,
         LATERAL (SELECT btrim(regexp_replace(o.name, '\s+', ' ', 'g')) AS name) n
),
merged AS (
    SELECT DISTINCT ON (slug)
           slug, name, website, status,
           array_agg(id) OVER w AS legacy_ids,
           min(created_at) OVER w AS created_at
    FROM cleaned
    WINDOW w AS (PARTITION BY slug ORDER BY id
                 ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
    ORDER BY slug, id
)
INSERT INTO brands (slug, name, website, status, legacy_ids, created_at)
SELECT slug, name, website, status, legacy_ids, coalesce(created_at, now())
FROM merged
ORDER BY legacy_ids[1]
ON CONFLICT (slug) DO NOTHING;

INSERT INTO contexts (brand_id, kind, title, body, priority, legacy_id, created_at, updated_at)
SELECT b.id,
       k.kind,
       coalesce(NULLIF(btrim(regexp_replace(c.title, '\s+', ' ', 'g')), ''),
                initcap(k.kind) || ' context'),
       coalesce(btrim(c.content), ''),
       CASE WHEN btrim(c.priority) ~ '^[0-9]+$' THEN least(btrim(c.priority)::integer, 100) ELSE 0 END,
       c.id,
       coalesce(NULLIF(btrim(c.updated), '')::timestamptz, now()),
       coalesce(NULLIF(btrim(c.updated), '')::timestamptz, now())
FROM old_contexts c
JOIN brands b ON c.brand_id = ANY (b.legacy_ids),
     LATERAL (SELECT coalesce(NULLIF(lower(btrim(c.ctx_type)), ''), 'general') AS kind) k
ORDER BY c.id
ON CONFLICT (legacy_id) DO NOTHING;
