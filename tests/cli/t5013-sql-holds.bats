#!/usr/bin/env bats
# t5013-sql-holds — a SQL step that holds: the registry says it is applied, and the hold is
# still the journal's to end: a rerun after orch was killed continues it, and a rollback
# of its phase undoes it.

load lib

psql_db() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$DB" "$@"; }

setup() {
	TEST_DIR=$(mktemp -d "${BATS_TMPDIR:-/tmp}/orch-cli.XXXXXX")
	cd "$TEST_DIR" || return 1
	unset DATABASE_URL ORCH_LOG_LEVEL LOG_LEVEL NO_COLOR ORCH_LOCK_TIMEOUT ORCH_TARGET
	if [ -z "${PGHOST:-}" ]; then
		[ "${CI:-}" != true ] || { echo "CI: no PostgreSQL test server (PGHOST unset)"; return 1; }
		skip "no PostgreSQL test server (PGHOST unset; tests/run-all starts one)"
	fi
	DB=orch_t5013_$$_${BATS_TEST_NUMBER}
	psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" 2>/dev/null
}

teardown() {
	[ -z "${pid-}" ] || kill "$pid" 2>/dev/null || true
	cd / && rm -rf "$TEST_DIR"
	[ -z "${DB:-}" ] || psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" 2>/dev/null || true
}

@test "a holding SQL step killed mid-hold holds on (the registry does not end it), then its check rolls it back" {
	mkdir sql
	echo "CREATE TABLE flags (pct int); INSERT INTO flags VALUES (5);" > sql/rollout.sql
	echo "DROP TABLE flags;" > sql/rollout.rollback.sql
	cat > Orchfile <<-EOF
	[orch]
	name = flags
	database = dbname=$DB

	[phase deployment]
	number = 1

	[step rollout-5]
	phase = deployment
	sql = sql/rollout.sql
	sql_rollback = sql/rollout.rollback.sql
	hold = 30s
	check = test ! -e bad || { echo "error_rate=0.2" >> "\$ORCH_METRICS"; echo "errors"; exit 1; }
	check_every = 300ms
	check_failures = 1
	on_fail = rollback deployment
	EOF
	setsid "$ORCH" > run1.out 2>&1 3>&- &
	pid=$!
	for _ in $(seq 100); do grep -q "check ok rollout-5" run1.out && break; sleep 0.1; done
	kill -9 -- "-$pid"
	wait "$pid" || true
	pid=
	[ "$(psql_db -c 'SELECT pct FROM flags')" = 5 ]
	run_orch --status
	expect_contains stdout "$output" "rollout-5 holding:"
	touch bad
	run_orch
	expect_status 1
	expect_contains stdout "$output" "holding rollout-5:"
	! expect_contains stdout "$output" "applied according to the database registry" >/dev/null
	expect_contains stdout "$output" "check FAILED rollout-5: exit 1: errors (1 of 1 in a row)"
	expect_contains stdout "$output" "rolled back rollout-5"
	[ "$(psql_db -c "SELECT count(*) FROM pg_tables WHERE tablename = 'flags'")" = 0 ]
}
