#!/usr/bin/env bats
# t5012-psql-scripts — SQL files written for psql: \set and :var, :'var', :"var" from
# [vars], \set and -D; \i and \ir includes; \echo; \gexec; COPY ... FROM stdin with
# inline rows; errors mapped to the file and line the user wrote (included files
# too); any other backslash command refused by --check before anything runs; secret
# variables never in the output, the log or the journal.

load lib

psql_db() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$DB" "$@"; }

setup() { pg_setup t5012; }
teardown() { pg_teardown; }

one_step() { # one_step [KEY = VALUE lines for the step]
	mkdir -p sql
	cat > Orchfile <<-EOF
	[orch]
	name = psql

	[vars]
	schema = app
	owner  = app owner

	[step deploy]
	sql = sql/deploy.sql
	$*
	EOF
}

@test "variables from [vars], -D and \\set; :'literal', :\"identifier\"; \\i and \\ir; \\echo" {
	one_step
	mkdir -p sql/lib
	cat > sql/deploy.sql <<-'EOF'
	\set ON_ERROR_STOP on
	\set tbl brands
	CREATE SCHEMA :"schema";
	\echo 'creating' :schema.:tbl for :'owner'
	CREATE TABLE :"schema".:tbl (id int PRIMARY KEY, note text DEFAULT :'owner', n int DEFAULT :count);
	\i sql/lib/data.sql
	EOF
	cat > sql/lib/data.sql <<-'EOF'
	INSERT INTO :"schema".:tbl (id) VALUES (1);
	\ir more.sql
	EOF
	echo 'INSERT INTO :"schema".:tbl (id, note) VALUES (2, :'"'"'tbl'"'"' || '"'"'::'"'"');' > sql/lib/more.sql
	run_orch -D count=7
	expect_status 0
	expect_contains stdout "$output" "creating app.brands for 'app owner'"
	run psql_db -c "SELECT id, note, n FROM app.brands ORDER BY id"
	expect_status 0
	expect_stdout <<-'EOF'
	1|app owner|7
	2|brands::|7
	EOF
	# -D overrides [vars]
	run_orch --check -D schema=other
	expect_status 0
}

@test "an error maps to the line and column of the file that holds it, included or not, past variables" {
	one_step
	mkdir -p sql/lib
	printf '\\set t brands\nCREATE TABLE :t (id int);\n\\ir lib/bad.sql\n' > sql/deploy.sql
	printf '\n  INSERT INTO :t (nmae)\n  VALUES (1);\n' > sql/lib/bad.sql
	run_orch
	expect_status 1
	expect_contains stdout "$output" "FAILED deploy (sql/lib/bad.sql:2:19: ERROR 42703: column \"nmae\" of relation \"brands\" does not exist"
	expect_contains stdout "$output" "    2 |   INSERT INTO :t (nmae)
      |                   ^"
	printf 'SELECT :"schema".nofunc(:x);\n' > sql/deploy.sql
	run_orch -D x=1
	expect_status 1
	expect_contains stdout "$output" "FAILED deploy (sql/deploy.sql:1:8: ERROR 3F000: schema \"app\" does not exist"
}

@test "a psql command orch does not run is an error of --check and of a run, naming FILE:LINE; nothing runs" {
	one_step
	printf 'CREATE TABLE t (x int);\n\\pset format unaligned\nSELECT 1;\n' > sql/deploy.sql
	run_orch --check
	expect_status 2
	expect_same stderr "sql/deploy.sql:2: \\pset is a psql command orch does not run (it runs \\set, \\unset, \\i, \\ir, \\echo, \\gexec, \\g): remove it, or run psql in a run step
orch: error: Orchfile: 1 error; nothing was run" "$stderr"
	run_orch
	expect_status 2
	run psql_db -c "SELECT to_regclass('t') IS NULL"
	expect_stdout <<<"t"
	# a missing include, an include cycle
	printf 'SELECT 1;\n\\i sql/none.sql\n' > sql/deploy.sql
	run_orch --check
	expect_status 2
	expect_contains stderr "$stderr" "sql/deploy.sql:2: \\i sql/none.sql: cannot read sql/none.sql: No such file or directory"
	printf '\\ir deploy.sql\n' > sql/deploy.sql
	run_orch --check
	expect_status 2
	expect_contains stderr "$stderr" "sql/deploy.sql:1: \\ir deploy.sql: sql/deploy.sql includes itself (through sql/deploy.sql)"
	printf '\\copy t FROM data.csv\n' > sql/deploy.sql
	run_orch --check
	expect_status 2
	expect_contains stderr "$stderr" "sql/deploy.sql:1: \\copy reads a file where psql runs"
}

@test "\\gexec runs each value of its query's result; COPY FROM stdin loads the inline rows" {
	one_step
	cat > sql/deploy.sql <<-'EOF'
	CREATE TABLE brands (id int PRIMARY KEY, name text);
	COPY brands (id, name) FROM stdin;
	1	one
	2	two
	3	three
	\.
	SELECT format('CREATE TABLE brand_%s (x int)', name) FROM brands ORDER BY id \gexec
	SELECT 'CREATE INDEX ON brand_one (x)';
	\gexec
	EOF
	run_orch
	expect_status 0
	expect_contains stdout "$output" "COPY 3"
	run psql_db -c "SELECT string_agg(tablename, ' ' ORDER BY tablename) FROM pg_tables WHERE tablename LIKE 'brand%'" \
		-c "SELECT count(*) FROM pg_indexes WHERE tablename = 'brand_one'"
	expect_stdout <<-'EOF'
	brand_one brand_three brand_two brands
	1
	EOF
}

@test "a bad row of inline COPY data is reported at its line in the file" {
	one_step
	printf 'CREATE TABLE n (x int);\nCOPY n FROM stdin;\n1\n2\nthree\n\\.\n' > sql/deploy.sql
	run_orch
	expect_status 1
	expect_contains stdout "$output" 'FAILED deploy (sql/deploy.sql:5: ERROR 22P02: invalid input syntax for type integer: "three"'
	run psql_db -c "SELECT to_regclass('n') IS NULL"
	expect_stdout <<<"t"
}

@test "transaction = no: statements one at a time, with variables, \\echo and \\gexec" {
	one_step "transaction = no"
	printf '\\set n 3\n\\echo making :n\nCREATE TABLE t (x int);\nSELECT format($$INSERT INTO t VALUES (%%s)$$, i) FROM generate_series(1, :n) i \\gexec\n' > sql/deploy.sql
	run_orch
	expect_status 0
	expect_contains stdout "$output" "making 3"
	run psql_db -c "SELECT sum(x) FROM t"
	expect_stdout <<<"6"
}

@test "a secret variable never reaches the output, the log or the journal" {
	one_step
	cat > sql/deploy.sql <<-'EOF'
	\echo password is :'APP_PASSWORD'
	CREATE ROLE orch_t5012_app LOGIN PASSWORD :'APP_PASSWORD';
	SELECT :'APP_PASSWORD'::int;
	EOF
	psql -X -q -d postgres -c "DROP ROLE IF EXISTS orch_t5012_app" 2>/dev/null
	run_orch -D APP_PASSWORD=Sup3rS3cret
	expect_status 1
	expect_contains stdout "$output" "password is '***'"
	expect_contains stdout "$output" 'invalid input syntax for type integer: "***"'
	[[ $output$stderr != *Sup3rS3cret* ]] || { show_run; false; }
	! grep -r Sup3rS3cret .orch
	run_orch -n --sql -D APP_PASSWORD=Sup3rS3cret
	[[ $output$stderr != *Sup3rS3cret* ]] || { show_run; false; }
}
