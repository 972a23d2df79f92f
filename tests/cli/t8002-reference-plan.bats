#!/usr/bin/env bats
# t8002-reference-plan — the top-level orchfile (Brand-Context-UCR, issue 8) run end to end
# on the test PostgreSQL server (PGHOST from tests/run-all): the gates wait and are
# approved, the database is checked afterwards (new tables filled, old tables backed up,
# then removed), the migration phase is rolled back and the database checked again, and
# the plan runs through once more.

load lib

psql_db() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$DB" "$@"; }

setup() {
	TEST_DIR=$(mktemp -d "${BATS_TMPDIR:-/tmp}/orch-cli.XXXXXX")
	cd "$TEST_DIR" || return 1
	unset ORCH_LOG_LEVEL NO_COLOR
	if [ -z "${PGHOST:-}" ]; then
		[ -z "${CI:-}" ] || { echo "CI: no PostgreSQL test server (PGHOST unset)"; return 1; }
		skip "no PostgreSQL test server (PGHOST unset; tests/run-all starts one)"
	fi
	DB=orch_ref_$$_${BATS_TEST_NUMBER}
	PGOPTIONS='-c client_min_messages=warning' \
		psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
	export DATABASE_URL="postgresql:///$DB"
	# the rollout's holds (hours in the plan) of a second, checked every 300 ms
	export ROLLOUT_HOLD=1s ROLLOUT_CHECK_EVERY=300ms
	# the plan's performance budget (2,000 queries in 2 s) is the plan's; on a test
	# machine shared with other suites it is a minute, so the suite asserts no timing
	export PERF_BUDGET_MS=60000
	# the plan and what it names, away from the repository (it writes out/ and .orch/)
	copy_plans .
}

teardown() {
	cd / && rm -rf "$TEST_DIR"
	[ -z "${DB:-}" ] || psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" 2>/dev/null || true
}

# run_plan GATE...: orch -j4 all until it is done, approving the gates named when the
# run stops for them; fails on anything else. $plan_out: the stdout of every round.
run_plan() {
	local round gate
	plan_out=
	for round in 1 2 3 4 5; do
		run_orch -j4 all
		plan_out+=$output$'\n'
		[ "$status" -eq 0 ] && return 0
		expect_status 1 || return 1
		waiting=$(sed -n 's/^orch: gate \([^ ]*\) waits for approval.*/\1/p' <<<"$stderr")
		[ -n "$waiting" ] || { echo "the run failed, and no gate waits"; show_run; return 1; }
		for gate in $waiting; do
			case " $* " in
			*" $gate "*) ;;
			*) echo "unexpected gate $gate waits"; show_run; return 1 ;;
			esac
			run_orch --approve "$gate"
			expect_status 0 || return 1
		done
	done
	echo "still not done after $round rounds"
	show_run
	return 1
}

@test "the reference plan runs end to end, checks out, and rolls back the migration" {
	# review-workflows needs nothing: approved up front, as make demo does;
	# rollout-team is approved when the run stops for it
	run_orch --approve review-workflows
	expect_status 0
	run_plan rollout-team
	expect_contains stdout "$output" "orch: done: "
	for m in M1 M2 M3 M4 M5 M6 M7; do
		expect_contains stdout "$plan_out" "Milestone $m reached"
	done
	# the rollout held, its checks asked the database, the tests reported metrics
	for s in rollout-5 rollout-25 full-rollout monitor-production; do
		expect_contains stdout "$plan_out" "holding $s for 1s"
		expect_contains stdout "$plan_out" "check ok $s: orphan contexts: 0, error rate: 0"
	done
	run_orch --status
	expect_contains stdout "$output" "tests_failed=0  (unit-tests, component tests)"
	expect_contains stdout "$output" "orphan_contexts=0, error_rate=0  (monitor-production, component ops)"

	# the database: new tables filled, flag on for everyone, old tables archived, then gone
	run psql_db -c "SELECT count(*) FROM brands" -c "SELECT count(*) FROM contexts" \
		-c "SELECT audience || ' ' || percent FROM feature_flags WHERE key = 'brand-context-ucr'" \
		-c "SELECT count(*) FROM archive.old_brands" -c "SELECT count(*) FROM archive.old_contexts" \
		-c "SELECT to_regclass('public.old_brands') IS NULL AND to_regclass('public.old_contexts') IS NULL" \
		-c "SELECT count(*) FROM migration_checks WHERE NOT passed"
	expect_status 0
	expect_stdout <<-'EOF'
	47
	200
	everyone 100
	50
	200
	t
	0
	EOF
	# orch's own copy (backup =) of the tables remove-old-tables dropped
	run psql_db -c "SELECT count(*) >= 2 FROM pg_tables WHERE schemaname = 'orch_backup'"
	expect_same "orch_backup tables" "t" "$output"
	for f in out/branch.env out/api/brands.js out/web/navigation.json out/reports/unit-tests.tap \
		out/deploy/staging/MANIFEST out/docs/brand-context-ucr.md; do
		[ -s "$f" ] || { echo "$f is missing or empty"; return 1; }
	done

	# again: nothing to do
	run_orch -j4 all
	expect_status 0
	expect_contains stdout "$output$stderr" "nothing to do"

	# roll back the migration phase, and everything that depends on it
	run_orch --rollback migration --yes
	expect_status 0
	run psql_db -c "SELECT to_regclass('public.brands') IS NULL AND to_regclass('public.contexts') IS NULL
	                     AND to_regclass('public.feature_flags') IS NULL" \
		-c "SELECT count(*) FROM old_brands" -c "SELECT count(*) FROM old_contexts"
	expect_status 0
	expect_stdout <<-'EOF'
	t
	50
	200
	EOF
	[ -s out/branch.env ]              # preparation is not part of the rollback
	[ ! -e out/api/brands.js ] && [ ! -e out/docs/brand-context-ucr.md ]
	run_orch -n
	expect_status 0
	expect_contains stdout "$output" "29 steps would run"

	# and forward again: the plan can be run after its own rollback
	run_plan rollout-team
	run psql_db -c "SELECT count(*) FROM brands" -c "SELECT count(*) FROM archive.old_brands" \
		-c "SELECT to_regclass('public.old_brands') IS NULL"
	expect_stdout <<-'EOF'
	47
	50
	t
	EOF
}
