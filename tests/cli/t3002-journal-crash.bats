#!/usr/bin/env bats
# kill -9 of orch at random moments during a 300-step run: the journal always loads, never
# holds a success for a step whose command did not finish, and the next run completes
# everything without running again a step whose success was recorded.
#
# 5 rounds by default (make check), 50 with ORCH_TEST_LONG=1 (.ci/run) or ORCH_CRASH_ROUNDS=N.
# Round r kills at a random moment of the r-th of as many equal slices of the first 0.8 s
# (the whole run takes about that). The random moments come from a fixed seed, printed;
# ORCH_CRASH_SEED=N takes another.

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

# start_orch: orch -s -j8 in the background ($pid), holding fd 9 open on orphans.lock,
# locked. The steps it starts inherit the descriptor, so the lock is free again only
# when orch and every step it started have exited.
start_orch() {
	(exec 9> orphans.lock && flock -x 9 && exec "$ORCH" -s -j8) > /dev/null 2> crash.err &
	pid=$!
}

# wait_orphans: the steps of a killed orch finish on their own (they are short)
wait_orphans() {
	flock -w 10 -x orphans.lock true || true
}

@test "kill -9 at random moments: the journal stays true and the next run finishes" {
	crash_plan
	rounds=${ORCH_CRASH_ROUNDS:-5}
	[ "${ORCH_TEST_LONG:-}" != 1 ] || rounds=${ORCH_CRASH_ROUNDS:-50}
	seed=${ORCH_CRASH_SEED:-11}
	RANDOM=$seed
	echo "# $rounds rounds, seed $seed (ORCH_CRASH_SEED=$seed ORCH_CRASH_ROUNDS=$rounds to repeat)" >&3
	slice=$((800 / rounds))
	[ "$slice" -gt 0 ] || slice=1
	for round in $(seq "$rounds"); do
		rm -rf .orch done ran.log
		mkdir done
		start_orch
		# somewhere in the round-th slice of the first ~0.8 s
		ms=$(((round - 1) * slice % 800 + RANDOM % slice))
		sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
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
		run_orch -s -j8
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
