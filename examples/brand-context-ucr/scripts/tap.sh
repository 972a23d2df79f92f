# tap.sh: helpers for the check scripts (sourced, not run): TAP output and psql.
#
#   tap_ok "description" command [args...]   one test: ok when the command succeeds
#   tap_done                                  print the plan; fails if a test failed
#
# What a test prints is kept in the report as "# " comment lines.
tap_n=0
tap_failed=0

tap_ok() {
	tap_desc=$1
	shift
	tap_n=$((tap_n + 1))
	if tap_out=$("$@" 2>&1); then
		echo "ok $tap_n - $tap_desc"
	else
		tap_failed=$((tap_failed + 1))
		echo "not ok $tap_n - $tap_desc"
	fi
	if [ -n "$tap_out" ]; then
		printf "%s\n" "$tap_out" | sed "s/^/# /"
	fi
}

tap_done() {
	echo "1..$tap_n"
	if [ "$tap_failed" -ne 0 ]; then
		echo "# $tap_failed of $tap_n tests failed"
		return 1
	fi
}

# tap_report OUT FUNCTION: run FUNCTION, write its TAP to OUT and to stdout,
# and exit with its status (a failing report is kept, for reading).
tap_report() {
	tap_status=0
	mkdir -p "$(dirname "$1")"
	"$2" >"$1.tmp" || tap_status=$?
	mv "$1.tmp" "$1"
	cat "$1"
	# run by orch: the counts as metrics ($ORCH_METRICS, see docs/rollouts.md)
	if [ -n "${ORCH_METRICS:-}" ]; then
		echo "tests=$(grep -c '^\(not \)\{0,1\}ok ' "$1" || true)" >>"$ORCH_METRICS"
		echo "tests_failed=$(grep -c '^not ok ' "$1" || true)" >>"$ORCH_METRICS"
	fi
	exit "$tap_status"
}

# psql on $DATABASE_URL with the settings every check wants: no psqlrc, stop on
# the first error, unaligned tuples only. An empty or unset DATABASE_URL means
# libpq's defaults (PGHOST, PGDATABASE, ...).
DATABASE_URL=${DATABASE_URL-}
sql() {
	psql -X -q -At -v ON_ERROR_STOP=1 "$DATABASE_URL" "$@"
}
