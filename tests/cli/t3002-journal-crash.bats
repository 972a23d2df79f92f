#!/usr/bin/env bats
# kill -9 of orch at random moments during a 300-step run, 50 times: the journal always
# loads, never holds a success for a step whose command did not finish, and the next run
# completes everything without running again a step whose success was recorded.

load lib

crash_plan() {
	# 300 steps in a web of dependencies; each leaves done/NAME when its command finishes
	awk 'BEGIN {
		for (i = 1; i <= 300; i++) {
			printf "[step s%d]\nrun = echo ${step} >> ran.log; : > done/${step}\n", i
			if (i > 10)
				printf "needs = s%d s%d\n", i - 10, int(i / 3) + 1
			print ""
		}
	}' > Orchfile
}

# wait_orphans: the steps of a killed orch finish on their own (they are short)
wait_orphans() {
	local i
	for i in $(seq 50); do
		pgrep -f "done/s[0-9]" > /dev/null || return 0
		sleep 0.02
	done
}

@test "kill -9 at random moments, 50 times: the journal stays true and the next run finishes" {
	crash_plan
	seed=${ORCH_CRASH_SEED:-$$}
	RANDOM=$seed
	echo "# seed $seed" >&3
	for round in $(seq 50); do
		rm -rf .orch done ran.log
		mkdir done
		"$ORCH" -q -j8 > /dev/null 2> crash.err &
		pid=$!
		# somewhere in the first ~0.8 s (the whole run takes about that)
		sleep "0.$(printf '%03d' $((RANDOM % 800)))"
		kill -KILL $pid 2> /dev/null || true
		wait $pid || true
		wait_orphans

		# the journal loads (a torn last line at most)
		run_helper state Orchfile
		if [ "$status" -ne 0 ]; then
			echo "round $round: the journal does not load"; show_run; return 1
		fi
		# every recorded success finished its command
		jq -r 'select(.ev == "ok") | .step' .orch/journal.jsonl 2> /dev/null | sort -u > ok.before || true
		while read -r s; do
			if [ ! -e "done/$s" ]; then
				echo "round $round: $s recorded ok, but its command did not finish"; return 1
			fi
		done < ok.before
		# the next run completes everything, and runs none of them again
		rm -f ran.log
		run_orch -q -j8
		if [ "$status" -ne 0 ]; then
			echo "round $round: the run after the kill failed"; show_run; return 1
		fi
		[ "$(ls done | wc -l)" -eq 300 ]
		again=$(sort ran.log 2> /dev/null | comm -12 - ok.before)
		if [ -n "$again" ]; then
			echo "round $round: ran again although recorded ok: $again"; return 1
		fi
		run_helper state Orchfile
		expect_status 0
		[ "$(printf '%s\n' "$output" | grep -c ' done up to date$')" -eq 300 ]
	done
}
