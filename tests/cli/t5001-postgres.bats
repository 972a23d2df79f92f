#!/usr/bin/env bats
# t5001-postgres — SQL steps run by orch on the test PostgreSQL server (PGHOST from
# tests/run-all): transactions, errors with their place in the file, the registry,
# rollback and backups, the database lock, parallel steps, timeouts, masked passwords.

load lib

psql_db() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$DB" "$@"; }

dump_db() {
	pg_dump --no-owner -N orch -N orch_backup -d "$DB" | grep -v -e '^--' -e '^$' -e '^.restrict' -e '^.unrestrict'
}

setup() { pg_setup t5001; }
teardown() { pg_teardown; }

brands_plan() {
	cat > Orchfile <<-'EOF'
	[orch]
	name = brands

	[step tables]
	sql          = sql/1.sql
	sql_verify   = sql/1.verify.sql
	sql_rollback = sql/1.rollback.sql

	[step data]
	needs  = tables
	sql    = sql/2.sql
	backup = brands contexts
	EOF
	mkdir -p sql
	cat > sql/1.sql <<-'EOF'
	CREATE TABLE brands (id int PRIMARY KEY, name text NOT NULL);
	CREATE TABLE contexts (id int PRIMARY KEY, brand_id int REFERENCES brands, name text);
	INSERT INTO brands SELECT i, 'brand ' || i FROM generate_series(1, 50) i;
	INSERT INTO contexts SELECT i, 1 + i % 50, 'context ' || i FROM generate_series(1, 200) i;
	EOF
	echo 'SELECT 1/(SELECT count(*) FROM brands);' > sql/1.verify.sql
	echo 'DROP TABLE contexts; DROP TABLE brands;' > sql/1.rollback.sql
	cat > sql/2.sql <<-'EOF'
	-- move every context to the first brand; drop the others
	UPDATE contexts SET brand_id = 1;
	DELETE FROM brands WHERE id > 1;
	EOF
}

@test "SQL steps apply in one transaction each, are recorded in the registry, then up to date" {
	brands_plan
	run_orch
	expect_status 0
	expect_contains stdout "$output" "ok tables"
	expect_contains stdout "$output" "backup: brands -> orch_backup.\"brands__data__brands\" (50 rows)"
	expect_contains stdout "$output" "backup: contexts -> orch_backup.\"brands__data__contexts\" (200 rows)"
	# the journal records where the backups went
	jq -e 'select(.ev == "ok" and .step == "data") | .msg | test("backup: brands -> orch_backup.\"brands__data__brands\"; contexts -> ")' \
		.orch/journal.jsonl
	run psql_db -c "SELECT count(*) FROM brands" -c "SELECT count(DISTINCT brand_id) FROM contexts" \
		-c "SELECT step FROM orch.registry WHERE plan = 'brands' ORDER BY step" \
		-c "SELECT count(*) FROM orch_backup.\"brands__data__brands\""
	expect_status 0
	expect_stdout <<-'EOF'
	1
	1
	data
	tables
	50
	EOF
	run_orch
	expect_status 0
	expect_contains stdout "$output" "up to date"
	grep -q 'UPDATE 200' .orch/logs/data.log
}

@test "a failing statement leaves the database as it was; the step resumes once fixed" {
	brands_plan
	run_orch tables
	expect_status 0
	before=$(dump_db)
	cat > sql/2.sql <<-'EOF'
	UPDATE contexts SET brand_id = 1;
	DELETE FROM brands WHERE id > 1;
	INSERT INTO brands
	  VALUES (1, 'again');
	EOF
	run_orch
	expect_status 1
	expect_contains stderr "$stderr" 'sql/2.sql:3: ERROR 23505: duplicate key value violates unique constraint "brands_pkey"'
	expect_contains stdout "$output" "DETAIL: Key (id)=(1) already exists."
	expect_contains stdout "$output" "STATEMENT: INSERT INTO brands ..."
	expect_contains stdout "$output" "ROLLBACK"
	expect_same dump "$before" "$(dump_db)"
	run psql_db -c "SELECT count(*) FROM orch.registry WHERE step = 'data'"
	expect_stdout <<<0

	sed -i '3,4d' sql/2.sql
	run_orch
	expect_status 0
	expect_contains stdout "$output" "ok data"
	run psql_db -c "SELECT count(*) FROM brands"
	expect_stdout <<<1
}

@test "an error the server points at is reported as file:line:column" {
	mkdir sql
	printf 'CREATE TABLE t (id int);\n\nSELECT id,\n       missing FROM t;\n' > sql/p.sql
	cat > Orchfile <<-'EOF'
	[orch]
	name = t5001
	[step p]
	sql = sql/p.sql
	EOF
	run_orch
	expect_status 1
	expect_contains stderr "$stderr" 'sql/p.sql:4:8: ERROR 42703: column "missing" does not exist'
	expect_contains stdout "$output" "$(printf '    4 |        missing FROM t;\n      |        ^')"
	run psql_db -c "SELECT to_regclass('t') IS NULL"
	expect_stdout <<<t
}

@test "a failing verify rolls the step back" {
	mkdir sql
	echo 'CREATE TABLE t (id int);' > sql/v.sql
	echo 'SELECT 1/count(*) FROM t;' > sql/v.verify.sql
	cat > Orchfile <<-'EOF'
	[orch]
	name = t5001
	[step v]
	sql = sql/v.sql
	sql_verify = sql/v.verify.sql
	EOF
	run_orch
	expect_status 1
	expect_contains stderr "$stderr" 'sql/v.verify.sql:1: ERROR 22012: division by zero'
	run psql_db -c "SELECT to_regclass('t') IS NULL"
	expect_stdout <<<t
}

@test "rollback restores the backups or runs sql_rollback, newest first, and forgets the steps" {
	brands_plan
	run_orch
	expect_status 0
	run_orch --rollback data
	expect_status 0
	expect_contains stdout "$output" "restore: brands <- orch_backup.\"brands__data__brands\" (50 rows)"
	expect_contains stdout "$output" "restore: contexts <- orch_backup.\"brands__data__contexts\" (200 rows)"
	run psql_db -c "SELECT count(*) FROM brands" -c "SELECT count(DISTINCT brand_id) FROM contexts" \
		-c "SELECT step FROM orch.registry"
	expect_stdout <<-'EOF'
	50
	50
	tables
	EOF
	run_orch --rollback tables
	expect_status 0
	run psql_db -c "SELECT to_regclass('brands') IS NULL" -c "SELECT count(*) FROM orch.registry"
	expect_stdout <<-'EOF'
	t
	0
	EOF
	# and everything runs again
	run_orch
	expect_status 0
	run psql_db -c "SELECT count(*) FROM orch.registry"
	expect_stdout <<<2
}

@test "transaction = no runs CREATE INDEX CONCURRENTLY, which a transaction refuses" {
	mkdir sql
	echo 'CREATE TABLE t (id int, v text);' > sql/t.sql
	printf 'CREATE INDEX CONCURRENTLY t_v ON t (v);\nCREATE INDEX CONCURRENTLY t_id ON t (id);\n' > sql/ix.sql
	cat > Orchfile <<-'EOF'
	[orch]
	name = t5001
	[step t]
	sql = sql/t.sql
	[step ix]
	needs = t
	sql = sql/ix.sql
	EOF
	run_orch
	expect_status 1
	expect_contains stderr "$stderr" "CREATE INDEX CONCURRENTLY cannot run inside a transaction block"
	echo 'transaction = no' >> Orchfile
	run_orch
	expect_status 0
	run psql_db -c "SELECT string_agg(indexname, ' ' ORDER BY indexname) FROM pg_indexes WHERE tablename = 't'"
	expect_stdout <<<"t_id t_v"
}

@test "a second orch on the same database waits for the lock, then exits 3" {
	mkdir one two
	for d in one two; do
		cat > $d/Orchfile <<-'EOF'
		[orch]
		name = shared
		[step slow]
		sql = slow.sql
		EOF
		echo 'SELECT pg_sleep(4);' > $d/slow.sql
	done
	"$ORCH" -C one > one.out 2>&1 3>&- &
	first=$!
	# until the first orch holds the lock (on this database: pg_locks is the server's,
	# and other test files run plans on it at the same time)
	for i in $(seq 50); do
		n=$(psql_db -c "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted
			AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")
		[ "$n" -gt 0 ] && break
		sleep 0.1
	done
	ORCH_LOCK_TIMEOUT=1 run_orch -C two
	expect_status 3
	expect_contains stderr "$stderr" "waiting for the lock on database \"$DB\""
	expect_contains output "$output$stderr" "is locked by another orch migrating it (pid "
	wait $first
	[ $? -eq 0 ] || { cat one.out; false; }
	run_orch -C two
	expect_status 0
}

@test "SQL steps run in parallel on their own connections" {
	psql_db -c "CREATE TABLE stamps (step text, at timestamptz)"
	for s in a b; do
		printf "INSERT INTO stamps VALUES ('%s start', clock_timestamp());\nSELECT pg_sleep(1);\nINSERT INTO stamps VALUES ('%s end', clock_timestamp());\n" $s $s > $s.sql
	done
	cat > Orchfile <<-'EOF'
	[orch]
	name = t5001
	[step a]
	sql = a.sql
	[step b]
	sql = b.sql
	EOF
	run_orch -j2
	expect_status 0
	run psql_db -c "SELECT (SELECT at FROM stamps WHERE step = 'a start') < (SELECT at FROM stamps WHERE step = 'b end')
		AND (SELECT at FROM stamps WHERE step = 'b start') < (SELECT at FROM stamps WHERE step = 'a end')"
	expect_stdout <<<t
}

@test "a SQL step past its timeout is canceled and rolled back" {
	printf 'CREATE TABLE t (id int);\nSELECT pg_sleep(30);\n' > slow.sql
	cat > Orchfile <<-'EOF'
	[orch]
	name = t5001
	[step slow]
	sql = slow.sql
	timeout = 1s
	EOF
	SECONDS=0
	run_orch
	expect_status 1
	[ "$SECONDS" -lt 10 ]
	expect_contains stderr "$stderr" "57014"
	run psql_db -c "SELECT to_regclass('t') IS NULL"
	expect_stdout <<<t
}

@test "an unreachable database: a clear error naming host and database, the password nowhere" {
	echo 'SELECT 1;' > s.sql
	cat > Orchfile <<-'EOF'
	[orch]
	name = t5001
	[step s]
	sql = s.sql
	EOF
	DATABASE_URL='postgresql://migrator:Pa55-secret@127.0.0.1:1/appdb?connect_timeout=2' run_orch
	expect_status 1
	expect_contains stderr "$stderr" 'cannot connect to database "appdb" on host 127.0.0.1 port 1'
	! grep -r -q 'Pa55-secret' .orch || false
	case "$output$stderr" in *Pa55-secret*) echo "password printed"; show_run; false ;; esac
	DATABASE_URL='host=127.0.0.1 port=1 dbname=appdb password=Pa55-secret connect_timeout=2' run_orch --status
	case "$output$stderr" in *Pa55-secret*) echo "password printed"; show_run; false ;; esac
	! grep -r -q 'Pa55-secret' .orch || false
	# not done: it runs again once the database is reachable
	run_orch
	expect_status 0
	expect_contains stdout "$output" "ok s"
}

@test "the registry wins: a migration committed but not journalled is never applied twice" {
	cat > Orchfile <<-'EOF'
	[orch]
	name = t5001
	[step counter]
	sql = count.sql
	[step after]
	needs = counter
	run = touch after
	EOF
	echo 'CREATE TABLE IF NOT EXISTS hits (n int); INSERT INTO hits VALUES (1);' > count.sql
	run_orch
	expect_status 0
	# a crash between COMMIT and the journal write: drop the step's ok line
	grep -v '"ev":"ok","step":"counter"' .orch/journal.jsonl > j.tmp && mv j.tmp .orch/journal.jsonl
	rm -f .orch/journal.idx
	run_orch
	expect_status 0
	expect_contains stderr "$stderr" "counter: applied according to the database registry; recorded as done"
	run psql_db -c "SELECT count(*) FROM hits"
	expect_stdout <<<1
	# the journal forgotten altogether: still not applied again
	run_orch --reset --yes
	expect_status 0
	run_orch
	expect_status 0
	run psql_db -c "SELECT count(*) FROM hits"
	expect_stdout <<<1
}

@test "the registry wins: a migration the database lost runs again" {
	cat > Orchfile <<-'EOF'
	[orch]
	name = t5001
	[step table]
	sql = t.sql
	EOF
	echo 'CREATE TABLE t (n int);' > t.sql
	run_orch
	expect_status 0
	# the database restored from before the migration
	psql_db -c "DROP TABLE t" -c "DELETE FROM orch.registry"
	run_orch
	expect_status 0
	expect_contains stdout "$output" "ok table"
	run psql_db -c "SELECT count(*) FROM t"
	expect_stdout <<<0
}

@test "a changed applied migration is refused at run time; nothing runs" {
	cat > Orchfile <<-'EOF'
	[orch]
	name = t5001
	[step table]
	sql = t.sql
	[step later]
	run = touch later
	EOF
	echo 'CREATE TABLE t (n int);' > t.sql
	run_orch table
	expect_status 0
	echo 'CREATE TABLE t2 (n int);' > t.sql
	run_orch
	expect_status 1
	expect_contains stderr "$stderr" "step table was applied and has changed since (t.sql changed since it was applied to database \"$DB\""
	expect_contains stderr "$stderr" "on_change = error, so it is not applied again"
	expect_contains stderr "$stderr" "+CREATE TABLE t2 (n int);"
	[ ! -e later ]
	run psql_db -c "SELECT count(*) FROM pg_tables WHERE tablename = 't2'"
	expect_stdout <<<0
	# --force takes responsibility: it is applied again
	run_orch --force table
	expect_status 0
	run_orch
	expect_status 0
	run psql_db -c "SELECT count(*) FROM pg_tables WHERE tablename = 't2'"
	expect_stdout <<<1
}

# wait_gone PID SECONDS: until process PID (a child of this shell) has exited, at most
# SECONDS; fails if it has not.
wait_gone() {
	local i
	for i in $(seq $(($2 * 10))); do
		kill -0 "$1" 2>/dev/null || return 0
		grep -q '^[0-9]* ([^)]*) Z' "/proc/$1/stat" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# lock_holder_start: two plans named "shared" (one/ and two/) whose SQL step takes 20 s;
# starts orch on one/ in the background ($first) and waits until it holds the lock.
lock_holder_start() {
	mkdir one two
	for d in one two; do
		cat > $d/Orchfile <<-'EOF'
		[orch]
		name = shared
		[step slow]
		sql = slow.sql
		[step after]
		needs = slow
		run = touch after
		EOF
		echo 'SELECT pg_sleep(20);' > $d/slow.sql
	done
	"$ORCH" -C one > one.out 2>&1 3>&- &
	first=$!
	for i in $(seq 100); do
		n=$(psql_db -c "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted")
		[ "$n" -gt 0 ] && return 0
		sleep 0.1
	done
	echo "the first orch never took the lock"; cat one.out
	return 1
}

signal_cleanup() {
	kill -KILL $second
	wait $second 2>/dev/null || true
	kill -TERM $first
	wait $first || true
}

# signal_waiting SIG: start a second orch on two/ that waits for the lock (up to 60 s),
# send it SIG once it says it waits; it must be gone within 5 s.
signal_waiting() {
	ORCH_LOCK_TIMEOUT=60 "$ORCH" -C two "$@" > two.out 2> two.err 3>&- &
	second=$!
	for i in $(seq 100); do
		grep -q 'waiting for the lock' two.err && break
		sleep 0.1
	done
	if ! grep -q 'waiting for the lock' two.err; then
		echo "never waited"; cat two.err
		signal_cleanup
		return 1
	fi
	kill -"$SIG" $second
	if ! wait_gone $second 5; then
		echo "still waiting for the lock after SIG$SIG"
		signal_cleanup
		return 1
	fi
	rc=0
	wait $second || rc=$?
}

@test "Ctrl-C while waiting for another orch's database lock ends the run at once: 130, nothing done" {
	lock_holder_start
	SIG=INT signal_waiting
	[ "$rc" -eq 130 ] || { echo "exit status $rc"; cat two.out two.err; false; }
	# nothing recorded as done, nothing run
	! grep -q '"ev":"ok"' two/.orch/journal.jsonl 2>/dev/null || { cat two/.orch/journal.jsonl; false; }
	[ ! -e two/after ]
	run psql_db -c "SELECT count(*) FROM orch.registry"
	expect_stdout <<<0
	kill -TERM $first
	wait $first || true
}

@test "SIGTERM while a SQL step waits for the lock (taken when it starts) ends the run at once: 130" {
	lock_holder_start
	# forced: the lock is not taken before the run, but by the step when it starts
	"$ORCH" -C two --force slow
	SIG=TERM signal_waiting
	[ "$rc" -eq 130 ] || { echo "exit status $rc"; cat two.out two.err; false; }
	! grep -q '"ev":"ok"' two/.orch/journal.jsonl || { cat two/.orch/journal.jsonl; false; }
	[ ! -e two/after ]
	run psql_db -c "SELECT count(*) FROM orch.registry"
	expect_stdout <<<0
	kill -TERM $first
	wait $first || true
}

@test "a wrong password, even one letter long, masks nothing but itself; it is never printed or kept" {
	role=orch_nologin_$$_${BATS_TEST_NUMBER}
	psql -X -q -d postgres -c "SET client_min_messages = warning" -c "DROP ROLE IF EXISTS $role" -c "CREATE ROLE $role NOLOGIN PASSWORD 'o'"
	echo 'SELECT 1;' > s.sql
	cat > Orchfile <<-'EOF'
	[orch]
	name = t5001
	[step s]
	sql = s.sql
	EOF
	DATABASE_URL="postgresql://$role:o@/$DB?host=$PGHOST" run_orch
	expect_status 1
	# the message as libpq and the server wrote it: no "cann***t c***nnect"
	expect_contains stderr "$stderr" "step s failed: cannot connect to database \"$DB\" on host $PGHOST port $PGPORT: "
	expect_contains stdout "$output" "FATAL: role \"$role\" is not permitted to log in"
	case "$output$stderr$(cat .orch/journal.jsonl .orch/logs/*)" in *'***'*) echo "masked text"; show_run; false ;; esac
	# a longer wrong password: nowhere in what orch prints or keeps
	DATABASE_URL="postgresql://$role:Wr0ng-pa55@/$DB?host=$PGHOST" run_orch
	expect_status 1
	expect_contains stdout "$output" "FATAL: role \"$role\" is not permitted to log in"
	case "$output$stderr" in *Wr0ng-pa55*) echo "password printed"; show_run; false ;; esac
	! grep -r -q 'Wr0ng-pa55' .orch || false
	# a connection string libpq cannot parse: libpq would repeat the password
	DATABASE_URL="postgresql://$role:Wr0ng%zzpa55@/$DB?host=$PGHOST" run_orch
	expect_status 1
	expect_contains stdout "$output" "cannot connect: bad connection string 'postgresql://$role:***@/$DB?host=$PGHOST': invalid percent-encoded token: \"***\""
	case "$output$stderr" in *Wr0ng*) echo "password printed"; show_run; false ;; esac
	! grep -r -q 'Wr0ng' .orch || false
	psql -X -q -d postgres -c "DROP ROLE $role"
}
