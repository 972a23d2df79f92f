#!/bin/sh
# predeploy-validation.sh BUILD OUT (step predeploy-validation)
#
# The last look before anything ships: every test report is there, complete
# and green; the migration checks recorded by test-migration all passed; the
# database has the new tables filled. Writes a summary to OUT.
set -eu
build=${1:?usage: predeploy-validation.sh BUILD OUT}
out=${2:?usage: predeploy-validation.sh BUILD OUT}
trap 'rm -f "$out.tmp"' EXIT
. "$(dirname "$0")/tap.sh"

fail=0
problem() {
	echo "predeploy-validation: $*" >&2
	fail=1
}

mkdir -p "$(dirname "$out")"
{
	echo "Pre-deployment validation, run ${ORCH_RUN_ID:-by hand}, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo
	for r in unit-tests integration-tests e2e-tests performance-tests; do
		f=$build/reports/$r.tap
		if [ ! -s "$f" ]; then
			problem "$f is missing"
			continue
		fi
		plan=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$f")
		passed=$(grep -c '^ok ' "$f" || true)
		echo "$r: $passed of ${plan:-?} passed"
		[ -n "$plan" ] || problem "$f has no plan line (the run was cut short)"
		[ "$passed" = "$plan" ] || problem "$f: $passed of ${plan:-?} passed"
	done
	echo
	checks=$(sql -F ' ' -c "SELECT check_name, CASE WHEN passed THEN 'passed' ELSE 'FAILED' END FROM migration_checks ORDER BY check_name")
	printf '%s\n' "$checks" | sed 's/^/migration check: /'
	if printf '%s\n' "$checks" | grep -q 'FAILED$'; then
		problem "a migration check failed"
	fi
	sql -F ' ' -c "SELECT 'brands:', count(*) FROM brands" -c "SELECT 'contexts:', count(*) FROM contexts"
} >"$out.tmp"
cat "$out.tmp"
[ "$fail" -eq 0 ] || exit 1
mv "$out.tmp" "$out"
