-- 000_legacy_snapshot.sql (step setup-env)
--
-- Loads a snapshot of the legacy UCR data into the development database: the
-- two loosely typed tables the old code wrote to, with the mess they really
-- hold (stray and doubled whitespace, mixed case, NULLs, empty strings, the
-- same brand entered twice under different spellings, numbers kept as text).
--
-- 50 brand rows (47 distinct brands once normalised) and 200 contexts, four
-- per brand row. The contexts are generated from the brand list, so the
-- snapshot is the same on every run: no random().
--
-- Safe to run again: the tables are created only if missing and rows that
-- are already there are kept. Plain SQL only (no psql \commands): orch sends
-- the file through libpq.

CREATE TABLE IF NOT EXISTS old_brands (
    id          integer PRIMARY KEY,
    name        text,
    website     text,
    status      text,
    created_on  text,
    notes       text
);

CREATE TABLE IF NOT EXISTS old_contexts (
    id          integer PRIMARY KEY,
    brand_id    integer,          -- old_brands.id, never enforced by a foreign key
    ctx_type    text,
    title       text,
    content     text,
    priority    text,
    updated     text
);

INSERT INTO old_brands (id, name, website, status, created_on, notes) VALUES
    ( 1, 'Acme Corp',              'https://acme.example',          'active',    '2019-04-12',          NULL),
    ( 2, 'Northwind Traders',      'northwind.example',             'Active',    '2019-05-02 09:30:00', 'key account'),
    ( 3, 'Blue Harbor Coffee',     'https://blueharbor.example',    'ACTIVE ',   '2019-06-17',          ''),
    ( 4, 'globex   corporation',   ' HTTP://Globex.example ',       ' inactive', '2019-07-01',          'paused by sales'),
    ( 5, 'Initech',                'initech.example',               'active',    NULL,                  NULL),
    ( 6, ' Umbrella Health ',      NULL,                            'Active',    '2019-08-23',          NULL),
    ( 7, 'Stark Outdoor',          'https://stark-outdoor.example', 'live',      '2019-09-09',          NULL),
    ( 8, 'WAYNE FOODS',            'WayneFoods.example',            'active',    '',                    'upper case in CRM'),
    ( 9, 'Tyrell Robotics',        'https://tyrell.example',        'Disabled',  '2019-10-30',          NULL),
    (10, 'Soylent Kitchen',        '',                              'active',    '2019-11-04',          NULL),
    (11, 'Hooli',                  'https://hooli.example',         NULL,        '2020-01-15',          'status never set'),
    (12, 'Pied Piper',             'piedpiper.example',             'active',    '2020-01-20',          NULL),
    (13, 'Vandelay Imports',       'https://vandelay.example',      'enabled',   '2020-02-11',          NULL),
    (14, 'Oceanic Airlines',       'https://oceanic.example',       'archived',  '2020-02-29',          'brand retired'),
    (15, 'Cyberdyne Systems',      'cyberdyne.example',             'active',    '2020-03-14',          NULL),
    (16, 'Gringotts Bank',         'https://gringotts.example',     'Active',    '2020-04-01',          NULL),
    (17, 'Monarch  Paper',         'monarch-paper.example',         'active',    '2020-04-18',          NULL),
    (18, 'Dunder Mifflin',         'https://dundermifflin.example', 'ACTIVE',    '2020-05-05',          NULL),
    (19, 'Wonka Confectionery',    'https://wonka.example',         'active',    '2020-05-21 14:00:00', NULL),
    (20, 'Bluth Company',          'bluth.example',                 'paused',    '2020-06-06',          'legal hold'),
    (21, 'Prestige Worldwide',     'https://prestige.example',      'active',    '2020-06-30',          NULL),
    (22, 'Sterling Cooper',        'https://sterlingcooper.example','active',    '2020-07-07',          NULL),
    (23, 'Massive Dynamic',        'massivedynamic.example',        ' Active',   '2020-08-12',          NULL),
    (24, 'Aperture Labs',          'https://aperture.example',      'active',    '2020-09-03',          NULL),
    (25, 'Black Mesa Energy',      'https://blackmesa.example',     'deleted',   '2020-09-19',          'merged into Aperture'),
    (26, 'Duff Beverages',         'duff.example',                  'active',    '2020-10-10',          NULL),
    (27, 'Krusty Foods',           'https://krusty.example',        'active',    '',                    NULL),
    (28, 'Los Pollos Hermanos',    'https://lospollos.example',     'Active',    '2020-11-02',          NULL),
    (29, 'Gekko & Co',             'gekko.example',                 'active',    '2020-11-25',          NULL),
    (30, 'Vance Refrigeration',    NULL,                            'inactive',  '2020-12-08',          NULL),
    (31, 'Bubba Gump Shrimp',      'https://bubbagump.example',     'active',    '2021-01-13',          NULL),
    (32, 'Nakatomi Trading',       'nakatomi.example',              'ACTIVE',    '2021-02-02',          NULL),
    (33, 'Rekall Travel',          'https://rekall.example',        'active',    '2021-02-27',          NULL),
    (34, 'Virtucon',               'https://virtucon.example',      '',          '2021-03-15',          'status blank'),
    (35, 'Paper Street Soap',      'paperstreet.example',           'active',    '2021-04-04',          NULL),
    (36, 'Big Kahuna Burger',      'https://bigkahuna.example',     'Active ',   '2021-05-09',          NULL),
    (37, 'Mooby''s Toys',          'https://moobys.example',        'active',    '2021-06-01',          NULL),
    (38, 'Ollivanders',            'ollivanders.example',           'active',    '2021-06-22',          NULL),
    (39, 'Spacely Sprockets',      'https://spacely.example',       'disabled',  '2021-07-15',          NULL),
    (40, 'Cogswell Cogs',          'https://cogswell.example',      'active',    '2021-08-08',          NULL),
    (41, 'Planet Express',         'planetexpress.example',         'active',    '2021-09-01 08:00:00', NULL),
    (42, 'Slate Rock & Gravel',    'https://slaterock.example',     'Active',    '2021-10-12',          NULL),
    (43, 'Zorg Industries',        'https://zorg.example',          'active',    '2021-11-11',          NULL),
    (44, E'Weyland\tYutani',       'weyland-yutani.example',        'active',    '2021-12-24',          'tab in the name'),
    (45, 'Oscorp',                 'https://oscorp.example',        'ACTIVE',    '2022-01-30',          NULL),
    (46, 'Lacuna Inc',             'https://lacuna.example',        'active',    '2022-03-03',          NULL),
    (47, 'Genco Olive Oil',        'genco.example',                 'live',      '2022-04-18',          NULL),
    -- the same brands entered again by another team
    (48, 'acme  corp',             'acme.example',                  'active',    '2022-05-05',          'duplicate of 1'),
    (49, '  NORTHWIND   TRADERS ', NULL,                            NULL,        '2022-06-06',          'duplicate of 2'),
    (50, 'Blue Harbor coffee',     'blueharbor.example/',           'Active',    '2022-07-07',          'duplicate of 3')
ON CONFLICT (id) DO NOTHING;

-- Four contexts per brand row: audience, tone, product, campaign; the old UI
-- let people type the kind, the title and the priority freely.
INSERT INTO old_contexts (id, brand_id, ctx_type, title, content, priority, updated)
SELECT (b.id - 1) * 4 + k.n AS id,
       b.id AS brand_id,
       CASE
           WHEN k.n = 4 AND b.id % 10 = 4 THEN NULL            -- kind never chosen
           WHEN b.id % 5 = 0 THEN initcap(k.kind)
           WHEN b.id % 5 = 1 THEN upper(k.kind) || ' '
           WHEN b.id % 5 = 2 THEN ' ' || k.kind
           ELSE k.kind
       END AS ctx_type,
       CASE
           WHEN b.id % 13 = 0 AND k.n = 2 THEN NULL           -- no title typed
           WHEN b.id % 3 = 0 THEN '  ' || k.label || ' '
           WHEN b.id % 7 = 0 THEN replace(k.label, ' ', '   ')
           ELSE k.label
       END AS title,
       CASE
           WHEN (b.id + k.n) % 11 = 0 THEN NULL
           ELSE format(k.body, regexp_replace(btrim(b.name), '\s+', ' ', 'g'))
       END AS content,
       CASE (b.id * k.n) % 6
           WHEN 0 THEN NULL
           WHEN 1 THEN ''
           WHEN 2 THEN ' 10'
           ELSE ((b.id * k.n) % 100)::text
       END AS priority,
       CASE
           WHEN (b.id * k.n) % 17 = 0 THEN NULL
           ELSE to_char(timestamp '2023-01-01 09:00' + ((b.id - 1) * 4 + k.n) * interval '1 day 3 hours',
                        'YYYY-MM-DD HH24:MI:SS')
       END AS updated
FROM old_brands b
CROSS JOIN (VALUES
    (1, 'audience', 'Primary audience',  '%s speaks to busy professionals who buy on their phones.'),
    (2, 'tone',     'Voice and tone',    '%s is warm, direct and never uses jargon.'),
    (3, 'product',  'Product catalogue', 'What %s sells, in the words customers use.'),
    (4, 'campaign', 'Spring campaign',   'Seasonal messages %s may use from March to May.')
) AS k (n, kind, label, body)
ON CONFLICT (id) DO NOTHING;
