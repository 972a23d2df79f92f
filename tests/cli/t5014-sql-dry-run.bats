#!/usr/bin/env bats
# t5014-sql-dry-run — orch -n --sql prints the exact SQL a run would send (variables
# expanded, secrets masked, nothing connected to); orch --test-rollback deploys, rolls
# back and deploys again on ORCH_SCRATCH_URL (never the plan's own database), comparing
# a schema dump of each pass, and leaves the plan's own progress alone.

load lib

psql_db() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$1" "${@:2}"; }

setup() {
	TEST_DIR=$(mktemp -d "${BATS_TMPDIR:-/tmp}/orch-cli.XXXXXX")
	cd "$TEST_DIR" || return 1
	unset DATABASE_URL ORCH_LOG_LEVEL LOG_LEVEL NO_COLOR ORCH_LOCK_TIMEOUT ORCH_TARGET ORCH_SCRATCH_URL
	if [ -z "${PGHOST:-}" ]; then
		[ "${CI:-}" != true ] || { echo "CI: no PostgreSQL test server (PGHOST unset)"; return 1; }
		skip "no PostgreSQL test server (PGHOST unset; tests/run-all starts one)"
	fi
	DB=orch_t5014_$$_${BATS_TEST_NUMBER}
	SCRATCH=${DB}_scratch
	psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" \
		-c "DROP DATABASE IF EXISTS $SCRATCH" -c "CREATE DATABASE $SCRATCH" 2>/dev/null
	export DATABASE_URL="postgresql:///$DB"
	mkdir sql
	cat > Orchfile <<-'EOF'
	[orch]
	name = shop

	[vars]
	schema = shop

	[step tables]
	sql          = sql/1.sql
	sql_rollback = sql/1.down.sql
	lock_timeout = 5s

	[step more]
	needs        = tables
	sql          = sql/2.sql
	sql_rollback = sql/2.down.sql
	EOF
	printf 'CREATE SCHEMA :"schema";\nCREATE TABLE :"schema".items (id serial PRIMARY KEY, name text);\n' > sql/1.sql
	printf 'DROP SCHEMA :"schema" CASCADE;\n' > sql/1.down.sql
	printf 'ALTER TABLE :"schema".items ADD COLUMN price numeric;\nCREATE INDEX ON :"schema".items (price);\n' > sql/2.sql
	printf 'ALTER TABLE :"schema".items DROP COLUMN price;\n' > sql/2.down.sql
}

teardown() {
	cd / && rm -rf "$TEST_DIR"
	rm -rf "${TRB_DIR:-/nonexistent}"
	[ -z "${DB:-}" ] || psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" \
		-c "DROP DATABASE IF EXISTS $SCRATCH WITH (FORCE)" 2>/dev/null || true
}

@test "-n --sql: the exact SQL of each step that would run, in order, variables expanded, secrets masked" {
	printf '\\echo key :API_TOKEN\nSELECT :'"'"'API_TOKEN'"'"' AS k;\n' > sql/2.sql
	# no server is asked anything
	DATABASE_URL="postgresql://u:pw@nowhere.invalid/db" run_orch -n --sql -D API_TOKEN=t0k3n-value
	expect_status 0
	expect_contains stdout "$output" "-- step tables: apply on postgresql://u:***@nowhere.invalid/db"
	expect_contains stdout "$output" 'BEGIN;
SET LOCAL lock_timeout = 5000;
-- sql/1.sql
CREATE SCHEMA "shop";
CREATE TABLE "shop".items (id serial PRIMARY KEY, name text);
RESET SESSION AUTHORIZATION;'
	expect_contains stdout "$output" "--   \$2 = 'tables'"
	expect_contains stdout "$output" "-- \\echo key ***
SELECT '***' AS k;"
	[[ $output$stderr != *t0k3n* ]] || { show_run; false; }
	[ ! -e .orch ]
	run_orch --sql
	expect_status 2
	expect_contains stderr "$stderr" "--sql goes with -n"
}

@test "--test-rollback needs a scratch database that is not the plan's, and SQL steps only" {
	run_orch --test-rollback
	expect_status 2
	expect_contains stderr "$stderr" "--test-rollback needs ORCH_SCRATCH_URL"
	ORCH_SCRATCH_URL=$DATABASE_URL run_orch --test-rollback
	expect_status 2
	expect_contains stderr "$stderr" "ORCH_SCRATCH_URL is the database of step tables, which it would change"
	printf '\n[step shell]\nrun = touch x\n' >> Orchfile
	ORCH_SCRATCH_URL=postgresql:///$SCRATCH run_orch --test-rollback
	expect_status 2
	expect_contains stderr "$stderr" "--test-rollback runs SQL steps only: step shell (Orchfile:17) runs a shell command"
	# a target without the shell step is fine
	ORCH_SCRATCH_URL=postgresql:///$SCRATCH run_orch --test-rollback more
	TRB_DIR=$(sed -n 's/.*schema dumps in \(.*\))$/\1/p' <<<"$output")
	expect_status 0
}

@test "--test-rollback: deploy, roll back, deploy again on the scratch database; the plan's own is untouched" {
	ORCH_SCRATCH_URL=postgresql:///$SCRATCH run_orch --test-rollback
	TRB_DIR=$(sed -n 's/.*schema dumps in \(.*\))$/\1/p' <<<"$output")
	expect_status 0
	expect_contains stdout "$output" "== schema after the rollback against before the deploy
same"
	expect_contains stdout "$output" "== schema after the second deploy against after the first
same"
	expect_contains stdout "$output" "orch: test-rollback passed"
	[ -s "$TRB_DIR/1-deployed.sql" ]
	grep -q 'CREATE TABLE shop.items' "$TRB_DIR/3-deployed-again.sql"
	# the plan's database and its progress: untouched
	[ ! -e .orch ]
	run psql_db "$DB" -c "SELECT to_regnamespace('shop') IS NULL AND to_regnamespace('orch') IS NULL"
	expect_stdout <<<"t"
	run psql_db "$SCRATCH" -c "SELECT count(*) FROM orch.registry"
	expect_stdout <<<"2"
}

@test "--test-rollback reports a rollback that leaves something behind, with the difference" {
	printf 'DROP INDEX shop.items_price_idx;\n' > sql/2.down.sql
	printf 'DROP TABLE shop.items;\n' > sql/1.down.sql
	ORCH_SCRATCH_URL=postgresql:///$SCRATCH run_orch --test-rollback
	TRB_DIR=$(sed -n 's/.*schema dumps in \(.*\))$/\1/p' <<<"$output")
	expect_status 1
	expect_contains stdout "$output" "+CREATE SCHEMA shop;"
	expect_contains stdout "$output" "DIFFERENT: the rollback does not undo the deploy (above)"
	expect_contains stderr "$stderr" "test-rollback stopped; the journal and logs are in $TRB_DIR"
}
