#!/usr/bin/env bats
# t5005-transactions — SQL files that manage their own transaction, as sqitch's do: a
# BEGIN ... COMMIT wrapper folded into orch's transaction, a BEGIN ... ROLLBACK verify
# run in a savepoint and rolled back, other transaction control refused with its line,
# and under transaction = no a file that leaves a transaction open fails the step.

load lib

psql_db() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$DB" "$@"; }

setup() { pg_setup t5005; }
teardown() { pg_teardown; }

# wrapped_plan: a step whose deploy, verify and revert are wrapped as sqitch writes them
wrapped_plan() {
	cat > Orchfile <<-'EOF'
	[orch]
	name = wrapped
	[step users]
	sql          = deploy/users.sql
	sql_verify   = verify/users.sql
	sql_rollback = revert/users.sql
	EOF
	mkdir -p deploy verify revert
	cat > deploy/users.sql <<-'EOF'
	-- Deploy wrapped:users
	BEGIN;

	CREATE TABLE users (id int PRIMARY KEY, name text NOT NULL);
	INSERT INTO users VALUES (1, 'ada');

	COMMIT;
	EOF
	cat > verify/users.sql <<-'EOF'
	-- Verify wrapped:users
	BEGIN;
	SELECT id, name FROM users WHERE false;
	INSERT INTO users VALUES (2, 'left by the verify');
	ROLLBACK;
	EOF
	cat > revert/users.sql <<-'EOF'
	BEGIN;
	DROP TABLE users;
	COMMIT;
	EOF
}

@test "a deploy wrapped in BEGIN ... COMMIT runs in orch's transaction; a BEGIN ... ROLLBACK verify leaves nothing" {
	wrapped_plan
	run_orch
	expect_status 0
	expect_contains stdout "$output" "ok users"
	run psql_db -c "SELECT string_agg(name, ',' ORDER BY id) FROM users" \
		-c "SELECT step FROM orch.registry WHERE plan = 'wrapped'"
	expect_status 0
	expect_stdout <<-'EOF'
	ada
	users
	EOF
	# the log: the statements of each file, the verify rolled back to a savepoint
	grep -q '^ROLLBACK TO SAVEPOINT' .orch/logs/users.log
	# and the wrapped revert
	run_orch --rollback users --yes
	expect_status 0
	run psql_db -c "SELECT to_regclass('users') IS NULL" -c "SELECT count(*) FROM orch.registry"
	expect_stdout <<-'EOF'
	t
	0
	EOF
}

@test "a wrapped deploy stays atomic: a failure in it or in the verify leaves nothing, nor the registry row" {
	wrapped_plan
	cat > deploy/users.sql <<-'EOF'
	BEGIN;
	CREATE TABLE users (id int PRIMARY KEY, name text NOT NULL);
	INSERT INTO users VALUES (1, 'ada');
	INSERT INTO users VALUES (1, 'again');
	COMMIT;
	EOF
	run_orch
	expect_status 1
	# the failing statement's line in the file, though the wrapper was not sent
	expect_contains stderr "$stderr" "deploy/users.sql:4: ERROR 23505: duplicate key value violates unique constraint"
	run psql_db -c "SELECT to_regclass('users') IS NULL" -c "SELECT count(*) FROM orch.registry"
	expect_stdout <<-'EOF'
	t
	0
	EOF
	# a failing wrapped verify rolls the whole step back
	sed -i '4d' deploy/users.sql
	printf 'BEGIN;\nSELECT 1/(count(*) - 1) FROM users;\nROLLBACK;\n' > verify/users.sql
	run_orch
	expect_status 1
	expect_contains stderr "$stderr" "verify/users.sql:2: ERROR 22012: division by zero"
	run psql_db -c "SELECT to_regclass('users') IS NULL" -c "SELECT count(*) FROM orch.registry"
	expect_stdout <<-'EOF'
	t
	0
	EOF
	# an error the server points at: line and column in the file
	printf 'BEGIN;\nSELECT nmae\n  FROM users;\nROLLBACK;\n' > verify/users.sql
	run_orch
	expect_status 1
	expect_contains stderr "$stderr" 'verify/users.sql:2:8: ERROR 42703: column "nmae" does not exist'
}

@test "other transaction control in a transactional file is refused with its line; nothing runs" {
	wrapped_plan
	cat > deploy/users.sql <<-'EOF'
	BEGIN;
	CREATE TABLE users (id int PRIMARY KEY, name text NOT NULL);
	COMMIT;
	BEGIN;
	INSERT INTO users VALUES (1, 'ada');
	COMMIT;
	EOF
	# --check says it too, before any run, without a database
	DATABASE_URL= run_orch --check
	expect_status 2
	expect_stderr <<<"orch: error: deploy/users.sql:3: commit ends orch's transaction: remove it, or set transaction = no (step users)"
	run_orch
	expect_status 1
	expect_contains stderr "$stderr" "deploy/users.sql:3: commit ends orch's transaction"
	printf 'CREATE TABLE users (id int);\nCOMMIT;\n' > deploy/users.sql
	run_orch
	expect_status 1
	expect_contains stderr "$stderr" "deploy/users.sql:2: commit ends orch's transaction"
	printf 'BEGIN ISOLATION LEVEL SERIALIZABLE;\nCREATE TABLE users (id int);\nCOMMIT;\n' > deploy/users.sql
	run_orch
	expect_status 1
	expect_contains stderr "$stderr" "deploy/users.sql:1: begin ends orch's transaction"
	# refused before anything is sent: not even the registry was created
	run psql_db -c "SELECT to_regclass('users') IS NULL" -c "SELECT to_regclass('orch.registry') IS NULL"
	expect_stdout <<-'EOF'
	t
	t
	EOF
}

@test "--check passes the wrappers sqitch writes, and a file under transaction = no" {
	wrapped_plan
	run_orch --check
	expect_status 0
	expect_stdout <<<"Orchfile: ok: 1 step, 0 phases, 0 milestones, 0 pools"
	printf 'BEGIN;\nSELECT 1;\nCOMMIT;\nCOMMIT;\n' > deploy/users.sql
	run_orch --check
	expect_status 2
	echo 'transaction = no' >> Orchfile
	run_orch --check
	expect_status 0
}

@test "transaction = no: a file that leaves a transaction open fails the step, rolled back, not done" {
	cat > Orchfile <<-'EOF'
	[orch]
	name = open
	[step c1]
	sql = c1.sql
	transaction = no
	[step after]
	needs = c1
	run = touch after
	EOF
	printf 'BEGIN;\nCREATE TABLE c1 (x int);\n' > c1.sql
	run_orch
	expect_status 1
	expect_contains stderr "$stderr" "c1.sql: leaves a transaction open (BEGIN without COMMIT)"
	[ ! -e after ]
	run psql_db -c "SELECT to_regclass('c1') IS NULL" -c "SELECT count(*) FROM orch.registry"
	expect_stdout <<-'EOF'
	t
	0
	EOF
	run jq -r 'select(.step == "c1") | .ev' .orch/journal.jsonl
	expect_stdout <<-'EOF'
	start
	fail
	EOF
	# with its COMMIT the file runs as it says, statement by statement
	echo 'COMMIT;' >> c1.sql
	run_orch
	expect_status 0
	[ -e after ]
	run psql_db -c "SELECT to_regclass('c1') IS NOT NULL" -c "SELECT step FROM orch.registry"
	expect_stdout <<-'EOF'
	t
	c1
	EOF
}
