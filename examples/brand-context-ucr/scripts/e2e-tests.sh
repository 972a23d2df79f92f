#!/bin/sh
# e2e-tests.sh BUILD OUT.tap (step e2e-tests)
#
# Walks the product the way a user does: every page in the navigation has its
# component and an API behind it, then one journey through the API routes
# (resolved from the generated route tables to the SQL they run) on the
# migrated database: create a brand, give it a context, see it in the report
# and in what a module receives, delete it. Rolled back at the end.
set -eu
build=${1:?usage: e2e-tests.sh BUILD OUT.tap}
out=${2:?usage: e2e-tests.sh BUILD OUT.tap}
api=$build/api
. "$(dirname "$0")/tap.sh"

# route METHOD PATH: the SQL the API runs for that route
route() {
	for f in "$api"/*.js; do
		q=$(sed -n "s|^  \[\"$1\", \"$2\", \"\([a-z]*\)\"\],\$|\1|p" "$f")
		[ -n "$q" ] || continue
		if grep -q '^import { queries } from "./storage.js";$' "$f"; then
			table=$(basename "$f" .js)
			sed -n "/^  $table: {/,/^  },/s/^    $q: \"\(.*\)\",\$/\1/p" "$api/storage.js"
		else
			sed -n "s/^  $q: \"\(.*\)\",\$/\1/p" "$f"
		fi
		return 0
	done
	echo "e2e-tests: no route $1 $2" >&2
	return 1
}

page_has_api() { # PATH: the page's list route resolves to SQL
	case $1 in
	/brands) route GET /api/brands ;;
	/brands/:id/contexts) route GET /api/contexts ;;
	/reports) route GET /api/reports/brands ;;
	*) echo "no API known for page $1"; return 1 ;;
	esac | grep -q '^SELECT '
}

journey() {
	context_query=$(sed -n 's/^  "\(SELECT .* FROM contexts WHERE brand_id = .*\)";$/\1/p' "$api/module-execution.js")
	sql <<SQL
BEGIN;
DO \$e2e\$
DECLARE
    b bigint;
    c bigint;
    r record;
    n bigint;
BEGIN
    EXECUTE '$(route POST /api/brands)'
        INTO b USING 'e2e-journey', 'E2E Journey', 'https://e2e.example', 'active', '{}'::integer[];
    EXECUTE '$(route POST /api/contexts)'
        INTO c USING b, 'tone', 'Voice and tone', 'Short sentences, no jargon.', 80, NULL::integer;
    EXECUTE '$(route GET /api/reports/brands/:slug)' INTO r USING 'e2e-journey';
    IF r.contexts <> 1 OR r.tone <> 1 THEN
        RAISE EXCEPTION 'the report shows % contexts, % tone for the new brand', r.contexts, r.tone;
    END IF;
    EXECUTE 'SELECT count(*) FROM ($context_query) AS m' INTO n USING b;
    IF n <> 1 THEN
        RAISE EXCEPTION 'a module would receive % contexts, expected 1', n;
    END IF;
    EXECUTE '$(route DELETE /api/brands/:id)' USING b;
    EXECUTE '$(route GET /api/reports/brands/:slug)' USING 'e2e-journey';
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n <> 0 THEN
        RAISE EXCEPTION 'the deleted brand is still in the report';
    END IF;
END
\$e2e\$;
ROLLBACK;
SQL
}

tests() {
	pages=$(sed -n 's/.*"path": "\([^"]*\)", "component": "\([A-Za-z]*\)".*/\1 \2/p' "$build/web/navigation.json")
	[ -n "$pages" ] || { echo "not ok 1 - navigation lists no pages"; return 1; }
	while read -r path component; do
		tap_ok "page $path renders $component" test -s "$build/web/components/$component.tsx"
		tap_ok "page $path has an API" page_has_api "$path"
	done <<PAGES
$pages
PAGES
	tap_ok "journey: create brand, add context, report, module, delete" journey
	tap_done
}

tap_report "$out" tests
