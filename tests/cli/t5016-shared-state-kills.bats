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

STEPS=30
[ "${ORCH_TEST_LONG:-}" = 1 ] && STEPS=300
SEED=${ORCH_TEST_SEED:-5016}

setup() { pg_setup kills; }
teardown() { pg_teardown; }

rows() { psql -X -At -d "$DB" -c "$1"; }

# plan N: step i needs up to two earlier steps, chosen from the seed; every third is SQL
campaign_plan() {
	cat > step.sh <<-'EOF'
	n=$(psql -X -At -d "$DATABASE_URL" -c "SELECT count(*) FROM orch.events WHERE plan = 'camp' AND event LIKE '%\"ev\":\"ok\",\"step\":\"$ORCH_STEP\"%'")
	[ "$n" = 0 ] || echo "TWICE $ORCH_STEP" >> ledger
	# a copy still running (left by a killed orch): its shell, by pid and start time
	m=running.$ORCH_STEP
	if [ -e "$m" ] && read -r pid since < "$m" &&
	   stat=$(cat "/proc/$pid/stat" 2>/dev/null) && stat=${stat##*) } &&
	   [ "$(echo "$stat" | cut -d' ' -f20)" = "$since" ] && [ "${stat%% *}" != Z ]; then
		echo "OVERLAP $ORCH_STEP $pid" >> ledger
	fi
	stat=$(cat /proc/$$/stat) && stat=${stat##*) }
	echo "$$ $(echo "$stat" | cut -d' ' -f20)" > "$m"
	echo "start $ORCH_STEP $$" >> ledger
	sleep 0.2
	echo "done $ORCH_STEP" >> ledger
	rm -f "$m"
	EOF
	awk -v n="$1" -v seed="$SEED" 'BEGIN {
		srand(seed)
		print "[orch]\nname = camp\nstate = database"
		for (i = 1; i <= n; i++) {
			if (i % 3 == 0) {
				printf "[step s%d]\nsql = s%d.sql\n", i, i
				printf "INSERT INTO applied VALUES (%c%s%d%c); SELECT pg_sleep(0.2);\n", 39, "s", i, 39 > ("s" i ".sql")
			} else
				printf "[step s%d]\nrun = . ./step.sh\n", i
			if (i > 1) {
				needs = "s" int(1 + rand() * (i - 1))
				if (i > 2 && rand() < 0.5) needs = needs " s" int(1 + rand() * (i - 1))
				printf "needs = %s\n", needs
			}
		}
	}' > Orchfile
}

# kill_tree PID: stop orch, then kill every step's process group and orch itself
kill_tree() {
	local pid=$1 child
	kill -STOP "$pid" 2>/dev/null || return 0
	for child in $(ps -o pid= --ppid "$pid"); do
		kill -9 -- "-$child" 2>/dev/null || true
	done
	kill -9 "$pid" 2>/dev/null || true
}

ended() { echo $(($(grep -c '^done ' ledger || true) + $(rows "SELECT count(*) FROM applied"))); }

@test "state = database: kill -9 at random moments: no step applied twice, none lost, the lock gone with each orch" {
	rows "CREATE TABLE applied (step text PRIMARY KEY)" > /dev/null
	campaign_plan "$STEPS"
	echo "# $STEPS steps, seed $SEED" >&3
	RANDOM=$SEED
	local round=0 rc=1 kills=0 maxkills=$((STEPS / 3)) pid before
	touch ledger
	while [ "$rc" -ne 0 ] && [ "$round" -lt $((maxkills + 20)) ]; do
		round=$((round + 1))
		before=$(ended)
		setsid "$ORCH" -j4 $([ $((round % 2)) -eq 0 ] && echo --kill-orphans) > round.out 2>&1 &
		pid=$!
		if [ "$kills" -lt "$maxkills" ]; then
			for i in $(seq 500); do
				[ "$(ended)" -gt "$before" ] && break
				kill -0 "$pid" 2>/dev/null || break
				sleep 0.02
			done
			sleep "0.$((RANDOM % 3))$((RANDOM % 10))"
		fi
		if [ "$kills" -lt "$maxkills" ] && kill -0 "$pid" 2>/dev/null; then
			case $((round % 3)) in
			0) kill -9 "$pid" 2>/dev/null || true ;;
			1) kill -9 -- "-$pid" 2>/dev/null || true ;;
			2) kill_tree "$pid" ;;
			esac
			kills=$((kills + 1))
		fi
		rc=0
		wait "$pid" || rc=$?
		if [ "$rc" -ne 0 ] && [ "$rc" -ne 137 ]; then
			echo "round $round: orch exited $rc"
			cat round.out
			return 1
		fi
		# the server drops a dead orch's session lock; its holder row is not shown as one
		for i in $(seq 50); do
			[ "$(rows "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")" = 0 ] && break
			sleep 0.1
		done
		[ "$i" -lt 50 ] || { echo "round $round: the advisory lock outlived orch"; return 1; }
		if [ "$rc" -eq 137 ]; then
			run_orch --status --json
			expect_status 0
			expect_same holder null "$(jq -r .state.holder <<<"$output")"
			expect_same "live run" null "$(jq -r .live_run <<<"$output")"
		fi
	done 2>>killed.log
	echo "# $round rounds, $kills kills" >&3
	[ "$rc" -eq 0 ] || { echo "not finished after $round rounds"; return 1; }
	run_orch
	expect_status 0
	expect_contains stdout "$output" "nothing to do"
	if grep -e '^TWICE ' -e '^OVERLAP ' ledger; then
		echo "applied twice, or two at once (above)"
		return 1
	fi
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
