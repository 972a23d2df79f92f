#!/bin/sh
# performance-tests.sh APIDIR OUT.tap (step performance-tests)
#
# Times the two hot paths on the migrated database: loading a brand's
# contexts for a module run, and one brand's report row. Each is run
# $PERF_LOOPS times (default 2000) inside the server, and must stay under
# $PERF_BUDGET_MS in total (default 2000). The module query must be able to
# use contexts_brand_kind_idx (checked with sequential scans disabled).
set -eu
api=${1:?usage: performance-tests.sh APIDIR OUT.tap}
out=${2:?usage: performance-tests.sh APIDIR OUT.tap}
loops=${PERF_LOOPS:-2000}
budget=${PERF_BUDGET_MS:-2000}
. "$(dirname "$0")/tap.sh"

context_query=$(sed -n 's/^  "\(SELECT .* FROM contexts WHERE brand_id = .*\)";$/\1/p' "$api/module-execution.js")
report_query=$(sed -n 's/^  brand: "\(.*\)",$/\1/p' "$api/reports.js")

uses_index() {
	plan=$(sql <<SQL
BEGIN;
SET LOCAL enable_seqscan = off;
PREPARE q AS $context_query;
EXPLAIN EXECUTE q(1);
ROLLBACK;
SQL
	)
	printf "%s\n" "$plan" | grep -q contexts_brand_kind_idx || {
		printf "%s\n" "$plan"
		return 1
	}
}

# timed NAME QUERY ARGEXPR: run QUERY $loops times with the argument ARGEXPR
# (an expression of i) and fail if it takes more than $budget ms
timed() {
	ms=$(sql <<SQL | tail -n 1
BEGIN;
CREATE TEMPORARY TABLE timing (ms numeric) ON COMMIT DROP;
DO \$perf\$
DECLARE
    ids bigint[] := ARRAY(SELECT id FROM brands ORDER BY id);
    slugs text[] := ARRAY(SELECT slug FROM brands ORDER BY id);
    started timestamptz := clock_timestamp();
BEGIN
    IF cardinality(ids) = 0 THEN
        RAISE EXCEPTION 'no brands to test with';
    END IF;
    FOR i IN 0 .. $loops - 1 LOOP
        EXECUTE 'SELECT count(*) FROM ($2) AS q' USING $3;
    END LOOP;
    INSERT INTO timing
    VALUES (round(extract(epoch FROM clock_timestamp() - started) * 1000, 1));
END
\$perf\$;
SELECT ms FROM timing;
ROLLBACK;
SQL
	)
	echo "$1: $loops runs in $ms ms (budget $budget ms)"
	awk -v ms="$ms" -v budget="$budget" 'BEGIN { exit !(ms <= budget) }'
}

tests() {
	tap_ok "module context query can use contexts_brand_kind_idx" uses_index
	tap_ok "module context load x$loops under ${budget}ms" \
		timed "module context" "$context_query" 'ids[1 + i % cardinality(ids)]'
	tap_ok "brand report row x$loops under ${budget}ms" \
		timed "brand report" "$report_query" 'slugs[1 + i % cardinality(slugs)]'
	tap_done
}

tap_report "$out" tests
