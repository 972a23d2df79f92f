#!/usr/bin/env bats
# A kill -9 campaign with a ledger: orch runs a plan of many steps at -j4 and is killed
# at random moments, in turn alone, with its process group, and with its whole tree
# (every step's process group too), until a run finishes. Each step writes to a ledger
# when it starts and ends, and first looks in the journal: a step that starts while its
# success is recorded has been applied twice; one that starts while a copy of it still
# runs (left by a killed orch) runs twice at once. At the end no step was applied twice and
# none is lost. 100 steps and 20 kills by default, 1,000 steps and 200 kills under
# ORCH_TEST_LONG=1; the seed is fixed
# and printed, so a failure can be replayed.

load lib

STEPS=100
[ "${ORCH_TEST_LONG:-}" = 1 ] && STEPS=1000
SEED=${ORCH_TEST_SEED:-12011}

# plan N: step i needs up to two earlier steps, chosen from the seed
campaign_plan() {
	cat > step.sh <<-'EOF'
	if grep -q "\"ev\":\"ok\",\"step\":\"$ORCH_STEP\"" .orch/journal.jsonl 2>/dev/null; then
		echo "TWICE $ORCH_STEP" >> ledger
	fi
	# a copy still running: its shell is there (the same process: its pid and its start
	# time, for a killed copy leaves its mark and pids wrap), and no zombie to be reaped
	m=running.$ORCH_STEP
	if [ -e "$m" ] && read -r pid since < "$m" &&
	   stat=$(cat "/proc/$pid/stat" 2>/dev/null) && stat=${stat##*) } &&
	   [ "$(echo "$stat" | cut -d' ' -f20)" = "$since" ] && [ "${stat%% *}" != Z ]; then
		echo "OVERLAP $ORCH_STEP $pid" >> ledger
	fi
	stat=$(cat /proc/$$/stat) && stat=${stat##*) }
	echo "$$ $(echo "$stat" | cut -d' ' -f20)" > "$m"
	echo "start $ORCH_STEP $$" >> ledger
	sleep 0.03
	echo "done $ORCH_STEP" >> ledger
	rm -f "$m"
	EOF
	awk -v n="$1" -v seed="$SEED" 'BEGIN {
		srand(seed)
		for (i = 1; i <= n; i++) {
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

@test "kill -9 at random moments, of orch, its group, its tree: no step applied twice, none lost" {
	campaign_plan "$STEPS"
	echo "# $STEPS steps, seed $SEED" >&3
	RANDOM=$SEED
	# every round kills once some step has ended since the last kill (so that each round
	# gets on), at a random moment after; past MAXKILLS the last run is left to finish
	local round=0 rc=1 kills=0 maxkills=$((STEPS / 5)) pid before
	touch ledger
	while [ "$rc" -ne 0 ] && [ "$round" -lt $((maxkills + 20)) ]; do
		round=$((round + 1))
		before=$(grep -c '^done ' ledger || true)
		# what a killed orch left running is waited for, or every other round stopped
		setsid "$ORCH" -j4 $([ $((round % 2)) -eq 0 ] && echo --kill-orphans) > round.out 2>&1 &
		pid=$!
		if [ "$kills" -lt "$maxkills" ]; then
			for i in $(seq 1000); do
				[ "$(grep -c '^done ' ledger || true)" -gt "$before" ] && break
				kill -0 "$pid" 2>/dev/null || break
				sleep 0.02
			done
			sleep "0.$((RANDOM % 2))$((RANDOM % 10))$((RANDOM % 10))"
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
		# a run that was not killed ends 0; a killed one by SIGKILL; nothing else
		if [ "$rc" -ne 0 ] && [ "$rc" -ne 137 ]; then
			echo "round $round: orch exited $rc"
			cat round.out
			return 1
		fi
	done 2>>killed.log # the shell's "Killed" line for each killed orch, kept out of a failure's report
	echo "# $round rounds, $kills kills" >&3
	[ "$rc" -eq 0 ] || { echo "not finished after $round rounds"; return 1; }
	# (a step the last kills left running is waited for: orch never runs it beside itself)
	run_orch
	expect_status 0
	expect_contains stdout "$output" "nothing to do"
	# no step started while its success was recorded, nor beside a copy of itself
	if grep -e '^TWICE ' -e '^OVERLAP ' ledger; then
		echo "applied twice, or two at once (above)"
		return 1
	fi
	# none lost: every step recorded done, and it did run to its end
	run_orch --status --json
	expect_status 0
	expect_same done "$STEPS" "$(jq -r .summary.done <<<"$output")"
	expect_same finished "$STEPS" "$(grep '^done ' ledger | sort -u | wc -l)"
	expect_same recorded "$STEPS" "$(jq -r 'select(.ev == "ok") | .step' .orch/journal.jsonl | sort -u | wc -l)"
	[ "$kills" -gt 0 ]
}
