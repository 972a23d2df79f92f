#!/usr/bin/env bats
# t3005's kill -9 campaign with the plan's state in PostgreSQL ([orch] state = database):
# orch runs a plan of shell and SQL steps at -j4 and is killed at random moments, alone,
# with its process group, or with its whole tree, until a run finishes. Each shell step
# first looks at the rows: one that starts while its success is recorded has been applied
# twice; one that starts beside a copy of itself a killed orch left runs twice at once.
# Each SQL step inserts its name into a table with a primary key: applied twice, it
# fails. After each kill the server has dropped the plan's advisory lock, and --status
# shows no holder. At the end no step was applied twice and none is lost. 30 steps and 10
# kills by default, 300 and 100 under ORCH_TEST_LONG=1; the seed is fixed and printed.

load lib
load campaign

STEPS=30
[ "${ORCH_TEST_LONG:-}" = 1 ] && STEPS=300
SEED=${ORCH_TEST_SEED:-5016}

setup() { pg_setup kills; }
teardown() { pg_teardown; }

rows() { psql -X -At -d "$DB" -c "$1"; }

# plan N: step i needs up to two earlier steps, chosen from the seed; every third is SQL
campaign_plan() {
	local twice
	twice=$(cat <<-'EOF'
	n=$(psql -X -At -d "$DATABASE_URL" -c "SELECT count(*) FROM orch.events WHERE plan = 'camp' AND event LIKE '%\"ev\":\"ok\",\"step\":\"$ORCH_STEP\"%'")
	[ "$n" = 0 ] || echo "TWICE $ORCH_STEP" >> ledger
	EOF
	)
	campaign_step_script "$twice" 0.2
	awk -v n="$1" -v seed="$SEED" 'BEGIN {
		srand(seed)
		print "[orch]\nname = camp\nstate = database"
		for (i = 1; i <= n; i++) {
			if (i % 3 == 0) {
				printf "[step s%d]\nsql = s%d.sql\n", i, i
				printf "INSERT INTO applied VALUES (%c%s%d%c); SELECT pg_sleep(0.2);\n", 39, "s", i, 39 > ("s" i ".sql")
			} else
				printf "[step s%d]\nrun = . ./step.sh\n", i
			if (i > 1) {'"$campaign_needs"'
			}
		}
	}' > Orchfile
}

campaign_progress() { echo $(($(grep -c '^done ' ledger || true) + $(rows "SELECT count(*) FROM applied"))); }

# the server drops a dead orch's session lock; its holder row is not shown as one
campaign_after_round() {
	for i in $(seq 50); do
		[ "$(rows "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")" = 0 ] && break
		sleep 0.1
	done
	[ "$i" -lt 50 ] || { echo "round $round: the advisory lock outlived orch"; return 1; }
	[ "$rc" -eq 137 ] || return 0
	# (called as `campaign_after_round || return 1`, where a failure does not stop it)
	run_orch --status --json
	expect_status 0 &&
		expect_same holder null "$(jq -r .state.holder <<<"$output")" &&
		expect_same "live run" null "$(jq -r .live_run <<<"$output")"
}

@test "state = database: kill -9 at random moments: no step applied twice, none lost, the lock gone with each orch" {
	rows "CREATE TABLE applied (step text PRIMARY KEY)" > /dev/null
	campaign_plan "$STEPS"
	echo "# $STEPS steps, seed $SEED" >&3
	campaign_rounds $((STEPS / 3))
	run_orch
	expect_status 0
	expect_contains stdout "$output" "nothing to do"
	campaign_clean
	run_orch --status --json
	expect_status 0
	expect_same done "$STEPS" "$(jq -r .summary.done <<<"$output")"
	local sql=$((STEPS / 3))
	expect_same "shell steps finished" $((STEPS - sql)) "$(grep '^done ' ledger | sort -u | wc -l)"
	expect_same "SQL steps applied" "$sql" "$(rows "SELECT count(*) FROM applied")"
	expect_same recorded "$STEPS" "$(rows "SELECT count(DISTINCT event::jsonb->>'step') FROM orch.events WHERE event::jsonb->>'ev' = 'ok'")"
	expect_same "holder rows" 0 "$(rows "SELECT count(*) FROM orch.holders")"
	[ "$kills" -gt 0 ]
}
