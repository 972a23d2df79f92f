#!/usr/bin/env bats
# t5011-sql-sessions — every SQL step starts from a clean session on a reused
# connection (search_path, roles, client_min_messages never leak from one step to the
# next, under -j too); transient errors (deadlock, serialization failure, lock
# timeout) retried with backoff; lock_timeout and statement_timeout per step and plan.

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
	DB=orch_t5011_$$_${BATS_TEST_NUMBER}
	psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" 2>/dev/null
	export DATABASE_URL="postgresql:///$DB"
	BG_PIDS=()
}

teardown() {
	local p
	for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	cd / && rm -rf "$TEST_DIR"
	[ -z "${DB:-}" ] || psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" 2>/dev/null || true
}

# two_steps FIRST_SQL SECOND_SQL [KEYS...]: steps first and second (second needs first)
two_steps() {
	mkdir -p sql
	printf '%s\n' "$1" > sql/first.sql
	printf '%s\n' "$2" > sql/second.sql
	cat > Orchfile <<-EOF
	[orch]
	name = sessions

	[step first]
	sql = sql/first.sql

	[step second]
	needs = first
	sql   = sql/second.sql
	EOF
}

@test "SET search_path in one step does not reach the next step on the same connection" {
	two_steps 'CREATE SCHEMA s1; SET search_path = s1;' 'CREATE TABLE t2 (x int);'
	run_orch
	expect_status 0
	run psql_db -c "SELECT schemaname FROM pg_tables WHERE tablename = 't2'"
	expect_status 0
	expect_stdout <<<"public"
}

@test "a session setting of a transaction = no step does not leak either" {
	two_steps 'CREATE SCHEMA s1; SET search_path = s1;' 'CREATE TABLE t2 (x int);'
	printf 'transaction = no\n' >> Orchfile
	sed -i 's/^\[step second\]/transaction = no\n&/' Orchfile
	run_orch
	expect_status 0
	run psql_db -c "SELECT schemaname FROM pg_tables WHERE tablename = 't2'"
	expect_status 0
	expect_stdout <<<"public"
}

@test "SET ROLE in one step: its registry row is still written, and the next step runs as the connecting role" {
	psql_db -c "DROP ROLE IF EXISTS orch_t5011_r1" -c "CREATE ROLE orch_t5011_r1 NOLOGIN" \
		-c "GRANT CREATE ON SCHEMA public TO orch_t5011_r1" 2>/dev/null
	two_steps 'SET ROLE orch_t5011_r1; CREATE TABLE by_r1 (x int);' 'CREATE TABLE by_me (x int);'
	run_orch
	expect_status 0
	run psql_db -c "SELECT tablename || ' ' || tableowner FROM pg_tables WHERE tablename LIKE 'by_%' ORDER BY 1" \
		-c "SELECT step FROM orch.registry ORDER BY step"
	expect_status 0
	expect_stdout <<-'EOF'
	by_me postgres
	by_r1 orch_t5011_r1
	first
	second
	EOF
	psql_db -c "DROP OWNED BY orch_t5011_r1" -c "DROP ROLE orch_t5011_r1"
}

@test "client_min_messages set by one step does not hide the next step's notices" {
	two_steps 'SET client_min_messages = error;' "DO \$\$BEGIN RAISE NOTICE 'hello from second'; END\$\$;"
	run_orch
	expect_status 0
	expect_contains stdout "$output" "NOTICE: hello from second"
}

@test "under -j2 every step starts clean, whichever connection it gets" {
	mkdir -p sql
	cat > Orchfile <<-'EOF'
	[orch]
	name = sessions

	[step setup]
	sql = sql/setup.sql
	EOF
	echo 'CREATE SCHEMA s1;' > sql/setup.sql
	for i in 1 2 3 4 5 6; do
		printf 'SET search_path = s1; CREATE TABLE a%s (x int); SELECT pg_sleep(0.1);\n' "$i" > "sql/a$i.sql"
		printf 'CREATE TABLE b%s (x int);\n' "$i" > "sql/b$i.sql"
		printf '\n[step a%s]\nneeds = setup\nsql = sql/a%s.sql\n\n[step b%s]\nneeds = a%s\nsql = sql/b%s.sql\n' \
			"$i" "$i" "$i" "$i" "$i" >> Orchfile
	done
	run_orch -j2
	expect_status 0
	run psql_db -c "SELECT schemaname, count(*) FROM pg_tables WHERE tablename ~ '^[ab][0-9]' GROUP BY 1 ORDER BY 1"
	expect_status 0
	expect_stdout <<-'EOF'
	public|6
	s1|6
	EOF
}
