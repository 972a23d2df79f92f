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

# wait_for COMMAND...: until COMMAND succeeds, up to 20 s
wait_for() {
	local i
	for i in $(seq 200); do
		"$@" && return 0
		sleep 0.1
	done
	echo "timed out waiting for: $*"
	return 1
}

# hold_lock TABLE: a background psql holds an ACCESS EXCLUSIVE lock on TABLE until
# killed ($HOLDER is its pid; its server process sees it gone within 0.1 s)
hold_lock() {
	psql -X -q -d "$DB" -c "SET client_connection_check_interval = 100" -c BEGIN -c "LOCK TABLE $1" -c "SELECT pg_sleep(60)" >/dev/null 2>&1 &
	HOLDER=$!
	BG_PIDS+=("$HOLDER")
	wait_for lock_held "$1"
}

lock_held() {
	[ "$(psql_db -c "SELECT count(*) FROM pg_locks WHERE relation = '$1'::regclass AND granted AND pid <> pg_backend_pid()")" = 1 ]
}

@test "two steps that deadlock under -j2: the victim is retried and both apply" {
	psql_db -c "CREATE TABLE a (x int)" -c "CREATE TABLE b (x int)"
	mkdir -p sql
	cat > Orchfile <<-'EOF'
	[orch]
	name = deadlock

	[step ab]
	sql = sql/ab.sql

	[step ba]
	sql = sql/ba.sql
	EOF
	printf 'LOCK TABLE a;\nSELECT pg_sleep(0.5);\nLOCK TABLE b;\nINSERT INTO a VALUES (1);\n' > sql/ab.sql
	printf 'LOCK TABLE b;\nSELECT pg_sleep(0.5);\nLOCK TABLE a;\nINSERT INTO b VALUES (1);\n' > sql/ba.sql
	run_orch -j2
	expect_status 0
	[[ $output =~ ERROR\ 40P01:\ deadlock\ detected ]] || { show_run; false; }
	[[ $output =~ deadlock\ detected\;\ retrying\ \(2/3\)\ in\ 0\.[23]s ]] || { show_run; false; }
	cat .orch/logs/ab.log .orch/logs/ba.log | grep -q 'deadlock detected; retrying (2/3)'
	run psql_db -c "SELECT (SELECT count(*) FROM a) + (SELECT count(*) FROM b)" -c "SELECT count(*) FROM orch.registry"
	expect_status 0
	expect_stdout <<-'EOF'
	2
	2
	EOF
}

@test "lock_timeout: a lock held by another session is retried 3 times, then the step fails" {
	psql_db -c "CREATE TABLE t (x int)"
	hold_lock t
	mkdir -p sql
	cat > Orchfile <<-'EOF'
	[orch]
	name = locks

	[step insert]
	sql          = sql/insert.sql
	lock_timeout = 200ms
	EOF
	echo 'INSERT INTO t VALUES (1);' > sql/insert.sql
	run_orch
	expect_status 1
	expect_contains stdout "$output" "ERROR 55P03: canceling statement due to lock timeout"
	expect_contains stdout "$output" "canceling statement due to lock timeout; retrying (2/3) in"
	expect_contains stdout "$output" "canceling statement due to lock timeout; retrying (3/3) in"
	expect_contains stdout "$output" "FAILED insert (sql/insert.sql:1:13: ERROR 55P03: canceling statement due to lock timeout (3 attempts)"
	kill "$HOLDER"
	wait_for eval '! lock_held t'
	run psql_db -c "SELECT count(*) FROM t"
	expect_stdout <<<"0"
	run_orch
	expect_status 0
}

@test "[orch] lock_timeout: the lock is released while the step waits to retry, and the retry applies it" {
	psql_db -c "CREATE TABLE t (x int)"
	hold_lock t
	mkdir -p sql
	cat > Orchfile <<-'EOF'
	[orch]
	name         = locks
	lock_timeout = 1s

	[step insert]
	sql = sql/insert.sql
	EOF
	echo 'INSERT INTO t VALUES (1);' > sql/insert.sql
	"$ORCH" > out.txt 2>&1 &
	BG_PIDS+=($!)
	local orch=$!
	wait_for grep -qs 'retrying (2/3)' .orch/logs/insert.log
	kill "$HOLDER"
	status=0
	wait "$orch" || status=$?
	output=$(cat out.txt)
	expect_status 0
	expect_contains stdout "$output" "ok insert"
	run psql_db -c "SELECT count(*) FROM t"
	expect_stdout <<<"1"
}

@test "statement_timeout per step cancels a slow statement (not retried) and does not reach the next step" {
	mkdir -p sql
	cat > Orchfile <<-'EOF'
	[orch]
	name = slow
	statement_timeout = 10m

	[step fast]
	sql = sql/fast.sql
	statement_timeout = 300ms

	[step slow]
	needs = fast
	sql   = sql/slow.sql
	EOF
	echo 'SHOW statement_timeout;' > sql/fast.sql
	echo 'SELECT pg_sleep(1); SHOW statement_timeout;' > sql/slow.sql
	run_orch
	expect_status 0
	run psql_db -c "SELECT count(*) FROM orch.registry"
	expect_stdout <<<"2"
	mkdir two && cd two && mkdir sql
	printf '[orch]\nname = slow2\n\n[step limited]\nsql = sql/limited.sql\nstatement_timeout = 300ms\n' > Orchfile
	echo 'SELECT pg_sleep(2);' > sql/limited.sql
	run_orch
	expect_status 1
	expect_contains stdout "$output" "FAILED limited (sql/limited.sql:1: ERROR 57014: canceling statement due to statement timeout"
	[[ $output != *retrying* ]] || { show_run; false; }
}

@test "lock_timeout and statement_timeout: bad durations and steps without sql are Orchfile errors" {
	cat > Orchfile <<-'EOF'
	[orch]
	name = bad
	lock_timeout = soon

	[step a]
	run = true
	statement_timeout = 5s

	[step b]
	sql = b.sql
	lock_timeout = 5x
	EOF
	expect_bad_orchfile <<-'EOF'
	Orchfile:3: bad duration 'soon' for lock_timeout (use e.g. 5s, 2m, 500ms)
	Orchfile:5: step 'a' has statement_timeout but no sql
	Orchfile:11: bad duration '5x' for lock_timeout (use e.g. 90s, 45m, 1h30m, 2d)
	orch: error: Orchfile: 3 errors; nothing was run
	EOF
}
