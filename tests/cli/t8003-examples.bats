#!/usr/bin/env bats
# t8003-examples — the example plans run end to end (the SQL ones on the test
# PostgreSQL), are up to date on a second run, and roll back completely.

load lib

# copy_example NAME: a copy of examples/NAME in the test directory, away from any
# journal or output in the repository
copy_example() {
	cp -R "$TOP/examples/$1" ex
	rm -rf ex/.orch ex/out ex/_build ex/_public
	cd ex || return 1
}

use_test_db() {
	if [ -z "${PGHOST:-}" ]; then
		[ "${CI:-}" != true ] || { echo "CI: no PostgreSQL test server"; return 1; }
		skip "no PostgreSQL test server (PGHOST unset)"
	fi
	DB=orch_t8003_$$_${BATS_TEST_NUMBER}
	psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
	export DATABASE_URL="postgresql:///$DB"
}

teardown() {
	cd / && rm -rf "$TEST_DIR"
	[ -z "${DB:-}" ] || psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" 2>/dev/null || true
}

# approve_and_run: run the plan, approving each gate it stops at, until it is done
approve_and_run() {
	local gate
	for _ in 1 2 3 4 5; do
		run_orch -j2 < /dev/null
		[ "$status" -eq 0 ] && return 0
		gate=$(sed -n 's/^orch: gate \([^ ]*\) waits for approval.*/\1/p' <<<"$stderr" | head -n 1)
		[ -n "$gate" ] || { show_run; return 1; }
		run_orch --approve "$gate"
		expect_status 0 || return 1
	done
	return 1
}

@test "examples/shell-only runs, is then up to date, and rolls back" {
	copy_example shell-only
	approve_and_run
	run_orch -n
	expect_status 0
	expect_contains stdout "$output" "0 steps would run"
	# check-html changes nothing and has no rollback: refused, then forgotten with --force
	run_orch --rollback all --yes
	expect_status 2
	run_orch --rollback all --yes --force
	expect_status 0
	expect_contains stdout "$output" "forgot check-html"
	run_orch -n
	expect_contains stdout "$output" "would run"
	! expect_contains stdout "$output" "0 steps would run" >/dev/null || false
}

@test "examples/sqitch-style deploys on PostgreSQL and reverts completely" {
	use_test_db
	copy_example sqitch-style
	approve_and_run
	run psql -X -At -d "$DB" -c "SELECT count(*) FROM orch.registry"
	[ "$output" -gt 0 ]
	run_orch
	expect_status 0
	expect_contains stdout "$output" "nothing to do"
	run_orch --rollback all --yes
	expect_status 0
	run psql -X -At -d "$DB" -c "SELECT count(*) FROM orch.registry"
	[ "$output" -eq 0 ]
	# the schema is empty again, but for orch's own
	run psql -X -At -d "$DB" -c "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema', 'orch', 'orch_backup')"
	[ "$output" -eq 0 ]
}

@test "examples/every-feature runs end to end and rolls back" {
	use_test_db
	copy_example every-feature
	approve_and_run
	run_orch
	expect_status 0
	run_orch --rollback all --yes
	expect_status 0
	run_orch -n
	expect_status 0
	expect_contains stdout "$output" "would run"
}
