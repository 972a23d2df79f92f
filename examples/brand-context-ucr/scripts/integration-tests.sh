#!/bin/sh
# integration-tests.sh APIDIR OUT.tap (step integration-tests)
#
# Runs the queries the generated API would send, exactly as generated, on the
# migrated database ($DATABASE_URL). Every test runs in a transaction that is
# rolled back: the data is left as it was.
set -eu
api=${1:?usage: integration-tests.sh APIDIR OUT.tap}
out=${2:?usage: integration-tests.sh APIDIR OUT.tap}
. "$(dirname "$0")/tap.sh"

# query FILE GROUP NAME: the SQL text of one generated query
# (GROUP is the table in storage.js, "-" for a file with one flat set)
query() {
	if [ "$2" = - ]; then
		sed -n "s/^  $3: \"\(.*\)\",\$/\1/p" "$1"
	else
		sed -n "/^  $2: {/,/^  },/s/^    $3: \"\(.*\)\",\$/\1/p" "$1"
	fi
}

# returns QUERY PARAMS EXPECTED: the query, run with PARAMS (a SQL list),
# returns EXPECTED rows
returns() {
	args=${2:+"($2)"}
	n=$(sql <<SQL | tail -n 1
BEGIN;
PREPARE q AS $1;
CREATE TEMPORARY TABLE result ON COMMIT DROP AS EXECUTE q$args;
SELECT count(*) FROM result;
ROLLBACK;
SQL
	)
	[ "$n" = "$3" ] || { echo "expected $3 rows, got $n"; return 1; }
}

# in_transaction PLPGSQL: run a DO block in a transaction that is rolled back
in_transaction() {
	sql <<SQL
BEGIN;
DO \$it\$
$1
\$it\$;
ROLLBACK;
SQL
}

crud() {
	in_transaction "
DECLARE
    b bigint;
    c bigint;
    n bigint;
BEGIN
    EXECUTE '$(query "$api/storage.js" brands insert)'
        INTO b USING 'integration-test', 'Integration Test', 'https://it.example', 'active', '{}'::integer[];
    EXECUTE '$(query "$api/storage.js" contexts insert)'
        INTO c USING b, 'tone', 'Voice and tone', 'Plain words.', 50, NULL::integer;
    EXECUTE '$(query "$api/storage.js" contexts get)' USING c;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n <> 1 THEN RAISE EXCEPTION 'new context % not found', c; END IF;
    EXECUTE '$(query "$api/storage.js" brands remove)' USING b;
    EXECUTE '$(query "$api/storage.js" contexts get)' USING c;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n <> 0 THEN RAISE EXCEPTION 'context % outlived its brand', c; END IF;
END"
}

rejects_bad_rows() {
	in_transaction "
BEGIN
    BEGIN
        EXECUTE '$(query "$api/storage.js" brands insert)'
            USING 'Not A Slug', 'x', NULL::text, 'active', '{}'::integer[];
        RAISE EXCEPTION 'a bad slug was accepted';
    EXCEPTION WHEN check_violation THEN NULL;
    END;
    BEGIN
        EXECUTE '$(query "$api/storage.js" contexts insert)'
            USING -1::bigint, 'tone', 't', '', 0, NULL::integer;
        RAISE EXCEPTION 'a context without a brand was accepted';
    EXCEPTION WHEN foreign_key_violation THEN NULL;
    END;
END"
}

tests() {
	nbrands=$(sql -c 'SELECT count(*) FROM brands')
	ncontexts=$(sql -c 'SELECT count(*) FROM contexts')
	first=$(sql -c 'SELECT min(id) FROM brands')
	slug=$(sql -c "SELECT slug FROM brands WHERE id = $first")

	tap_ok "GET /api/brands returns a page" returns "$(query "$api/storage.js" brands list)" "5, 0" 5
	tap_ok "GET /api/brands pages to the end" returns "$(query "$api/storage.js" brands list)" "1000, 0" "$nbrands"
	tap_ok "GET /api/brands/:id finds brand $first" returns "$(query "$api/storage.js" brands get)" "$first" 1
	tap_ok "GET /api/brands/:id of no brand is empty" returns "$(query "$api/storage.js" brands get)" "-1" 0
	tap_ok "GET /api/contexts returns a page" returns "$(query "$api/storage.js" contexts list)" "10, 0" 10
	tap_ok "POST, GET and DELETE round trip" crud
	tap_ok "the schema rejects bad rows" rejects_bad_rows
	tap_ok "GET /api/reports/brands has every brand" returns "$(query "$api/reports.js" - list)" "" "$nbrands"
	tap_ok "GET /api/reports/brands/:slug finds $slug" returns "$(query "$api/reports.js" - brand)" "'$slug'" 1
	tap_ok "report totals add up to $ncontexts contexts" test \
		"$(sql -c "$(query "$api/reports.js" - totals)")" = "$nbrands|$ncontexts"
	tap_done
}

tap_report "$out" tests
