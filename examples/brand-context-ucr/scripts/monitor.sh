#!/bin/sh
# monitor.sh OUT (step monitor-production)
#
# The production health check after full rollout, run at the end of the
# watch period: the flag is on for everyone, the migration checks still hold
# on live data (no context without a brand, the report adds up), and no
# brand lost all its contexts. Writes what it saw to OUT; fails if unhealthy.
set -eu
out=${1:?usage: monitor.sh OUT}
trap 'rm -f "$out.tmp"' EXIT
. "$(dirname "$0")/tap.sh"

mkdir -p "$(dirname "$out")"
sql -F ' ' >"$out.tmp" <<'SQL'
SELECT 'flag:', audience, percent FROM feature_flags WHERE key = 'brand-context-ucr';
SELECT 'brands:', count(*) FROM brands;
SELECT 'contexts:', count(*) FROM contexts;
SELECT 'orphan contexts:', count(*) FROM contexts c LEFT JOIN brands b ON b.id = c.brand_id WHERE b.id IS NULL;
SELECT 'report contexts:', coalesce(sum(contexts), 0) FROM brand_context_report;
SELECT 'migrated brands without contexts:', count(*) FROM brand_context_report r
    JOIN brands b ON b.id = r.brand_id WHERE b.legacy_ids <> '{}' AND r.contexts = 0;
SQL
cat "$out.tmp"

value() { sed -n "s/^$1: //p" "$out.tmp"; }
status=0
[ "$(value flag)" = "everyone 100" ] || { echo "monitor: the flag is not on for everyone" >&2; status=1; }
[ "$(value 'orphan contexts')" = 0 ] || { echo "monitor: contexts without a brand" >&2; status=1; }
[ "$(value 'report contexts')" = "$(value contexts)" ] || { echo "monitor: the report does not add up" >&2; status=1; }
[ "$(value 'migrated brands without contexts')" = 0 ] || { echo "monitor: brands lost their contexts" >&2; status=1; }
[ "$status" -eq 0 ] || exit 1
mv "$out.tmp" "$out"
echo "monitor: healthy"
