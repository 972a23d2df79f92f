#!/usr/bin/env bats
# t5002-targets-and-registry — the database is the truth: target environments with their
# own state, a plan's identity that does not follow its directory, views that ask the
# registry, a lost registry refused, changed applied files, --accept, --baseline, --reset.

load lib

psql_db() { local db=$1; shift; psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" "$@"; }

setup() {
	TEST_DIR=$(mktemp -d "${BATS_TMPDIR:-/tmp}/orch-cli.XXXXXX")
	cd "$TEST_DIR" || return 1
	unset DATABASE_URL ORCH_LOG_LEVEL LOG_LEVEL NO_COLOR ORCH_LOCK_TIMEOUT ORCH_TARGET
	if [ -z "${PGHOST:-}" ]; then
		[ "${CI:-}" != true ] || { echo "CI: no PostgreSQL test server (PGHOST unset)"; return 1; }
		skip "no PostgreSQL test server (PGHOST unset; tests/run-all starts one)"
	fi
	DB1=orch_t5002_$$_${BATS_TEST_NUMBER}_a
	DB2=orch_t5002_$$_${BATS_TEST_NUMBER}_b
	for db in "$DB1" "$DB2"; do
		psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" 2>/dev/null
	done
	mkdir -p plan/sql
	cd plan || return 1
}

teardown() {
	cd / && rm -rf "$TEST_DIR"
	for db in "${DB1:-}" "${DB2:-}"; do
		[ -z "$db" ] || psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" 2>/dev/null || true
	done
}

# A bank plan on two targets: a shell backup, two migrations around a gate, a deposit.
# The balance tells how often the deposit was applied.
bank_plan() {
	cat > Orchfile <<-EOF
	[orch]
	name = ${1:-bank}

	[target staging]
	database = postgresql:///$DB1
	amount   = 100

	[target production]
	database = postgresql:///$DB2
	amount   = 7

	[step backup]
	run = echo "backup of \${target} \${amount} \$ORCH_TARGET" > backup-\${target}.txt

	[step accounts]
	sql   = sql/1_accounts.sql
	needs = backup

	[step deposit]
	sql   = sql/2_deposit.sql
	needs = accounts

	[step report]
	sql   = sql/3_report.sql
	needs = deposit
	EOF
	cat > sql/1_accounts.sql <<-'EOF'
	CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL);
	INSERT INTO accounts VALUES (1, 0);
	EOF
	echo 'UPDATE accounts SET balance = balance + 100;' > sql/2_deposit.sql
	echo 'CREATE VIEW report AS SELECT sum(balance) AS total FROM accounts;' > sql/3_report.sql
}

balance() { psql_db "$1" -c 'SELECT balance FROM accounts'; }

@test "two targets on two databases from one checkout: independent state, status and dry runs" {
	bank_plan
	run_orch -T staging
	expect_status 0
	expect_contains stdout "$output" "[4/4] ok report"
	[ "$(balance "$DB1")" = 100 ] || { echo "staging balance: $(balance "$DB1")"; false; }
	expect_same backup "backup of staging 100 staging" "$(cat backup-staging.txt)"
	[ -f .orch/staging/journal.jsonl ] && [ ! -e .orch/production ] && [ ! -e .orch/journal.jsonl ]

	# production: nothing done there, whatever staging did
	run_orch -T production -n
	expect_status 0
	expect_same "production -n" "backup accounts deposit report" "$(echo "$output" | dry_run_steps | xargs)"
	run_orch --status --target production
	expect_status 0
	expect_contains stdout "$output" "Plan bank, target production: 0 of 4 steps done (0%)"
	ORCH_TARGET=staging run_orch --status
	expect_contains stdout "$output" "Plan bank, target staging: 4 of 4 steps done (100%)"
	expect_contains stdout "$output" "3 of 3 SQL steps applied"

	ORCH_TARGET=production run_orch
	expect_status 0
	[ "$(balance "$DB2")" = 100 ] && [ "$(balance "$DB1")" = 100 ]
	expect_same backup "backup of production 7 production" "$(cat backup-production.txt)"
	[ -f .orch/production/journal.jsonl ]
	run_orch -T production --status --json
	expect_status 0
	[ "$(echo "$output" | jq -r '.target + " " + (.steps | map(select(.database == "applied")) | length | tostring)')" = "production 3" ]
}

@test "a plan with targets needs one chosen; an unknown one is an error naming the others" {
	bank_plan
	run_orch -n
	expect_status 2
	expect_contains stderr "$stderr" "Orchfile:4: the plan has targets (staging, production) and none is chosen: use --target NAME, ORCH_TARGET=NAME or [orch] target = NAME"
	run_orch -T prod -n
	expect_status 2
	expect_contains stderr "$stderr" "--target names target 'prod', which the plan does not have (its targets: staging, production)"
	sed -i 's/^name = bank$/name = bank\ntarget = staging/' Orchfile
	run_orch -n
	expect_status 0
	expect_contains stdout "$output" "4 steps would run"
}

@test "a plan with SQL steps needs an explicit name: the directory is no identity" {
	bank_plan
	sed -i '/^name = bank$/d' Orchfile
	run_orch -T staging -n
	expect_status 2
	expect_contains stderr "$stderr" "Orchfile:14: step 'accounts' is a SQL step, and the plan has no [orch] name: the name is the plan's identity in the database (its registry rows and lock) and must not change with the directory; add 'name = plan' to [orch]"
}

@test "a renamed plan directory applies nothing again" {
	bank_plan
	run_orch -T staging
	expect_status 0
	cd .. && mv plan renamed && cd renamed
	run_orch -T staging
	expect_status 0
	expect_contains stdout "$output" "nothing to do"
	# a fresh copy elsewhere, without the journal: the registry knows
	cp -R . ../elsewhere && cd ../elsewhere && rm -rf .orch
	run_orch -T staging -n
	expect_status 0
	expect_same "-n" "backup" "$(echo "$output" | dry_run_steps | xargs)"
	run_orch -T staging
	expect_status 0
	expect_same "stdout" "[1/1] ok backup" "$(echo "$output" | head -1 | sed 's/ (.*//')"
	[ "$(balance "$DB1")" = 100 ]
}

@test "a plan renamed in the Orchfile is refused, never applied twice" {
	bank_plan
	run_orch -T staging
	expect_status 0
	sed -i 's/^name = bank$/name = bank2/' Orchfile
	rm -rf .orch
	run_orch -T staging
	expect_status 1
	expect_contains stderr "$stderr" "step deposit: its SQL (sql/2_deposit.sql) was applied to database \"$DB1\""
	expect_contains stderr "$stderr" "as step 'deposit' of plan 'bank'"
	expect_contains stderr "$stderr" "'orch --baseline deposit' records it as applied under plan 'bank2'"
	[ "$(balance "$DB1")" = 100 ]
	# adopting the history under the new name
	run_orch -T staging --baseline all --yes --reason "renamed from bank"
	expect_status 0
	run_orch -T staging
	expect_status 0
	expect_contains stdout "$output" "nothing to do"
	[ "$(balance "$DB1")" = 100 ]
	[ "$(psql_db "$DB1" -c "SELECT count(*) FROM orch.registry WHERE plan = 'bank2'")" = 3 ]
}

@test "a renamed plan with two steps of the same SQL: neither is applied again" {
	bank_plan
	cat >> Orchfile <<-'EOF'

	[step tip]
	sql   = sql/tip.sql
	needs = backup

	[step tip-again]
	sql   = sql/tip_again.sql
	needs = backup
	EOF
	echo 'CREATE TABLE IF NOT EXISTS tips (n int); INSERT INTO tips VALUES (1);' > sql/tip.sql
	cp sql/tip.sql sql/tip_again.sql
	run_orch -T staging
	expect_status 0
	[ "$(psql_db "$DB1" -c 'SELECT count(*) FROM tips')" = 2 ]
	sed -i 's/^name = bank$/name = bank2/' Orchfile
	rm -rf .orch
	run_orch -T staging --status --json
	expect_same "tip" "applied under another plan" "$(jq -r '.steps[] | select(.name == "tip") | .database' <<<"$output")"
	expect_same "tip-again" "applied under another plan" "$(jq -r '.steps[] | select(.name == "tip-again") | .database' <<<"$output")"
	run_orch -T staging tip-again
	expect_status 1
	expect_contains stderr "$stderr" "step tip-again: its SQL (sql/tip_again.sql) was applied"
	[ "$(psql_db "$DB1" -c 'SELECT count(*) FROM tips')" = 2 ] || { echo "tip-again was applied again"; false; }
}

@test "two plans never migrate one database at once, unless they say they share it" {
	bank_plan
	sed -i 's/^name = bank$/name = other/' Orchfile
	psql -X -q -d "$DB1" -c "SELECT pg_advisory_lock(('x' || left(md5('unused'), 16))::bit(64)::bigint)" >/dev/null
	# hold the database's lock from a first orch that waits at a gate-free slow step
	cat > ../slow.orch <<-EOF
	[orch]
	name = first
	database = postgresql:///$DB1

	[step hold]
	sql = hold.sql
	EOF
	echo 'SELECT pg_sleep(3);' > ../hold.sql
	(cd .. && "$ORCH" -f slow.orch >/dev/null 2>&1) &
	first=$!
	for _ in $(seq 50); do
		psql_db "$DB1" -c "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted" | grep -q '^[1-9]' && break
		sleep 0.1
	done
	ORCH_LOCK_TIMEOUT=0 run_orch -T staging
	expect_status 3
	expect_contains stderr "$stderr" "is locked by another orch migrating it"
	wait "$first"
	# a plan that shares the database takes a lock of its own
	sed -i 's/^name = other$/name = other\nshare_database = yes/' Orchfile
	(cd .. && "$ORCH" -f slow.orch --force hold >/dev/null && "$ORCH" -f slow.orch >/dev/null 2>&1) &
	first=$!
	sleep 1
	ORCH_LOCK_TIMEOUT=0 run_orch -T staging
	expect_status 0
	wait "$first"
}

@test "a dropped registry is refused by the run, -n, --check and --status" {
	bank_plan
	run_orch -T staging
	expect_status 0
	psql_db "$DB1" -c 'DROP SCHEMA orch CASCADE'
	run_orch -T staging
	expect_status 1
	expect_contains stderr "$stderr" "the registry (schema orch) is gone from database \"$DB1\""
	expect_contains stderr "$stderr" "but the journal records 3 applied steps; orch will not apply them again. Restore the registry, or run 'orch --baseline TARGET' (the database has them) or 'orch --reset' (it does not)"
	[ "$(balance "$DB1")" = 100 ]
	run_orch -T staging -n
	expect_status 1
	run_orch -T staging --check
	expect_status 1
	run_orch -T staging --status
	expect_status 0
	expect_contains stdout "$output" "deposit: journal: applied; database \"$DB1\""
	expect_contains stdout "$output" "no registry (schema orch)"
	# the database has them: baseline, and nothing runs again
	run_orch -T staging --baseline all --yes
	expect_status 0
	run_orch -T staging
	expect_status 0
	[ "$(balance "$DB1")" = 100 ]
}

@test "a registry gone from another database: -n and -q of a target that does not use it agree with its run" {
	cat > Orchfile <<-EOF
	[orch]
	name = two

	[step one]
	sql      = sql/one.sql
	database = postgresql:///$DB1

	[step two]
	sql      = sql/two.sql
	database = postgresql:///$DB2
	EOF
	echo 'CREATE TABLE one (n int);' > sql/one.sql
	echo 'CREATE TABLE two (n int);' > sql/two.sql
	run_orch
	expect_status 0
	psql_db "$DB2" -c 'DROP SCHEMA orch CASCADE'
	echo 'INSERT INTO one VALUES (1);' > sql/one_more.sql
	cat >> Orchfile <<-EOF

	[step one-more]
	sql      = sql/one_more.sql
	database = postgresql:///$DB1
	needs    = one
	EOF
	run_orch -n one-more
	expect_status 0
	expect_same "-n" "one-more" "$(echo "$output" | dry_run_steps | xargs)"
	run_orch -q one-more
	expect_status 1
	run_orch one-more
	expect_status 0
	run_orch -q one-more
	expect_status 0
	run_orch two
	expect_status 1
	expect_contains stderr "$stderr" "the registry (schema orch) is gone from database \"$DB2\""
}

@test "-n on a fresh database lists exactly what the run does, in order" {
	bank_plan
	cat >> Orchfile <<-'EOF'

	[step approve]
	manual = yes
	needs  = backup
	EOF
	sed -i 's/^needs = backup$/needs = approve/' Orchfile
	run_orch -T staging --approve approve
	expect_status 1 # its dependency is not done yet
	run_orch -T staging
	run_orch -T staging --approve approve
	run_orch -T staging
	expect_status 0
	# production is fresh: -n, then the run
	run_orch -T production -n
	expect_status 0
	want=$(echo "$output" | dry_run_steps | xargs)
	run_orch -T production --approve approve
	expect_status 1
	run_orch -T production
	expect_status 1 # the gate waits
	run_orch -T production --approve approve
	run_orch -T production
	expect_status 0
	got=$(jq -r 'select(.ev == "ok" or .ev == "approve") | .step' .orch/production/journal.jsonl | xargs)
	expect_same "-n on production" "backup approve accounts deposit report" "$want"
	expect_same "steps run on production" "$want" "$got"
	[ "$(balance "$DB2")" = 100 ]
}

@test "a fresh checkout against a migrated database: views and run agree that the SQL is applied" {
	bank_plan
	run_orch -T staging
	rm -rf .orch
	run_orch -T staging -n
	expect_status 0
	expect_same "-n" "backup" "$(echo "$output" | dry_run_steps | xargs)"
	run_orch -T staging --why deposit
	expect_contains stdout "$output" "deposit is up to date: journal: not applied; database \"$DB1\""
	run_orch -T staging --status --json
	[ "$(echo "$output" | jq -r '.steps[] | select(.name == "deposit") | .disagreement' | grep -c 'journal: not applied')" = 1 ]
	run_orch -T staging -q
	expect_status 1 # the backup would run
	run_orch -T staging
	expect_status 0
	[ "$(balance "$DB1")" = 100 ]
	run_orch -T staging -q
	expect_status 0
}

@test "a row the registry lost runs again, and the views say so first" {
	bank_plan
	run_orch -T staging
	psql_db "$DB1" -c "DELETE FROM orch.registry WHERE step = 'report'" -c 'DROP VIEW report'
	run_orch -T staging -n
	expect_same "-n" "report" "$(echo "$output" | dry_run_steps | xargs)"
	expect_contains stdout "$output" "journal: applied; database \"$DB1\""
	run_orch -T staging
	expect_status 0
	expect_contains stdout "$output" "ok report"
	[ "$(balance "$DB1")" = 100 ]
}

@test "an edited applied file: one error with the diff, one line for the rest; --check in any checkout; --accept" {
	bank_plan
	run_orch -T staging
	cp -R . ../fresh && cd ../fresh && rm -rf .orch
	printf 'CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL); -- reviewed\nINSERT INTO accounts VALUES (1, 0);\n' > sql/1_accounts.sql
	run_orch -T staging --check
	expect_status 1
	expect_contains stderr "$stderr" "Orchfile:15: step 'accounts' was applied and has changed since (sql/1_accounts.sql changed since it was applied to database \"$DB1\""
	expect_contains stderr "$stderr" "+CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL); -- reviewed"
	expect_contains stderr "$stderr" "-CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL);"
	[ "$(grep -c 'has changed since' <<< "$stderr")" = 1 ]
	expect_contains stderr "$stderr" "orch: 2 more steps are held back, as they depend on a changed step: deposit, report"
	# in the checkout that ran it, with its journal: the same one error, and its dependents in one line
	cp sql/1_accounts.sql ../plan/sql/ && cd ../plan
	run_orch -T staging
	expect_status 1
	[ "$(grep -c 'has changed since' <<< "$stderr")" = 1 ]
	expect_contains stderr "$stderr" "checksum applied "
	expect_contains stderr "$stderr" "--- sql/1_accounts.sql (applied)"
	[ "$(balance "$DB1")" = 100 ]
	run_orch -T staging --accept accounts --reason "comment only"
	expect_status 0
	expect_same stdout "accepted accounts as applied, as it is now: comment only" "$output"
	[ "$(psql_db "$DB1" -c "SELECT script LIKE '%reviewed%' FROM orch.registry WHERE step = 'accounts'")" = t ]
	tail -1 .orch/staging/journal.jsonl | jq -e 'select(.ev == "ok" and .step == "accounts" and .msg == "comment only" and (.by | test("@")))' >/dev/null
	run_orch -T staging
	expect_status 0
	expect_contains stdout "$output" "nothing to do"
	[ "$(balance "$DB1")" = 100 ]
	cd ../fresh
	run_orch -T staging --check
	expect_status 0
	run_orch -T staging --accept deposit
	expect_status 1
	expect_contains stderr "$stderr" "deposit has not changed since it was applied"
}

@test "--baseline records an existing database's schema as applied; -n lists it first" {
	bank_plan
	psql_db "$DB2" -f sql/1_accounts.sql -f sql/2_deposit.sql
	run_orch -T production --baseline deposit -n
	expect_status 0
	expect_same stdout "would record 3 steps as applied, without running them:
  backup                   run
  accounts                 sql in database \"$DB2\" on host $PGHOST port ${PGPORT:-5432}
  deposit                  sql in database \"$DB2\" on host $PGHOST port ${PGPORT:-5432}" "$output"
	run_orch -T production --baseline deposit
	expect_status 2 # not on a terminal, and no --yes
	run_orch -T production --baseline deposit --yes --reason "made by hand in 2024"
	expect_status 0
	expect_contains stdout "$output" "baseline: deposit recorded as applied, not run"
	[ ! -e backup-production.txt ]
	run_orch -T production -n
	expect_same "-n" "report" "$(echo "$output" | dry_run_steps | xargs)"
	run_orch -T production
	expect_status 0
	[ "$(balance "$DB2")" = 100 ]
	[ "$(psql_db "$DB2" -c "SELECT string_agg(step, ' ' ORDER BY step) FROM orch.registry WHERE checksum IS NOT NULL")" = "accounts deposit report" ]
}

@test "--reset says what stays in the database; --reset --database forgets it too" {
	bank_plan
	run_orch -T staging
	run_orch -T staging --reset --yes
	expect_status 0
	expect_contains stdout "$output" "the registry of database \"$DB1\""
	expect_contains stdout "$output" "still records 3 applied steps of plan bank: the next run counts them as applied ('orch --reset --database' forgets them too)"
	run_orch -T staging -n
	expect_same "-n" "backup" "$(echo "$output" | dry_run_steps | xargs)"
	run_orch -T staging --reset --database
	expect_status 2
	run_orch -T staging --reset --database --yes
	expect_status 0
	expect_contains stdout "$output" "forgot the 3 registry rows of plan bank in database \"$DB1\""
	[ "$(psql_db "$DB1" -c 'SELECT count(*) FROM orch.registry')" = 0 ]
	run_orch -T staging -n
	expect_same "-n" "backup accounts deposit report" "$(echo "$output" | dry_run_steps | xargs)"
}

@test "--reset --database on a database without a registry leaves it without one" {
	bank_plan
	run_orch -T staging --reset --database --yes
	expect_status 0
	expect_contains stdout "$output" "forgot the 0 registry rows of plan bank in database \"$DB1\""
	[ "$(psql_db "$DB1" -c "SELECT count(*) FROM pg_namespace WHERE nspname = 'orch'")" = 0 ] ||
		{ echo "--reset --database made schema orch"; false; }
}

@test "a database that cannot be reached: the views say so and show the journal's" {
	bank_plan
	run_orch -T staging
	sed -i "s|postgresql:///$DB1|postgresql://localhost:1/$DB1|" Orchfile
	run_orch -T staging --status
	expect_status 0
	expect_contains stderr "$stderr" "cannot read the registry of database \"$DB1\" on host localhost port 1"
	expect_contains stdout "$output" "cannot be reached: its 3 SQL steps as the journal has them (journal)"
	expect_contains stdout "$output" "4 of 4 steps done"
}

@test "a registry made before checksums is upgraded on first use and keeps its rows" {
	bank_plan
	psql_db "$DB1" -c "CREATE SCHEMA orch" -c "CREATE TABLE orch.registry (plan text NOT NULL, step text NOT NULL, signature text, applied_at timestamptz NOT NULL DEFAULT now(), applied_by text, backup text, PRIMARY KEY (plan, step))"
	run_orch -T staging
	expect_status 0
	[ "$(psql_db "$DB1" -c "SELECT count(*) FROM orch.registry WHERE checksum IS NOT NULL AND script IS NOT NULL")" = 3 ]
}
