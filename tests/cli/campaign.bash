# tests/cli/campaign.bash — the kill -9 campaign that t3005 (the journal file) and t5016
# (the state in PostgreSQL) run: orch is killed at random moments, alone, with its
# process group, or with its whole tree, until a run finishes; each shell step writes a
# ledger and says when it was applied twice or ran beside a copy of itself.
#
# A test defines campaign_progress (prints how much has ended: a round kills once it
# grew) and may define campaign_after_round (checks after each round; $rc is orch's exit
# status), sets SEED, then calls campaign_rounds MAXKILLS.

# campaign_step_script TWICE SLEEP: step.sh, which a step sources (under sh -e). TWICE is
# shell that writes "TWICE $ORCH_STEP" to the ledger when the step's success is recorded
# already, and fails the step when it cannot tell.
campaign_step_script() {
	{
		printf '%s\n' "$1"
		cat <<-'EOF'
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
		EOF
		printf 'sleep %s\n' "$2"
		printf '%s\n' 'echo "done $ORCH_STEP" >> ledger' 'rm -f "$m"'
	} > step.sh
}

# campaign_needs: the awk that gives step i (i > 1) up to two earlier steps to need
campaign_needs='
	needs = "s" int(1 + rand() * (i - 1))
	if (i > 2 && rand() < 0.5) needs = needs " s" int(1 + rand() * (i - 1))
	printf "needs = %s\n", needs'

# kill_tree PID: stop orch, then kill every step's process group and orch itself
kill_tree() {
	local pid=$1 child
	kill -STOP "$pid" 2>/dev/null || return 0
	for child in $(ps -o pid= --ppid "$pid"); do
		kill -9 -- "-$child" 2>/dev/null || true
	done
	kill -9 "$pid" 2>/dev/null || true
}

campaign_after_round() { :; }

# campaign_rounds MAXKILLS: run orch -j4 round after round (every other one with
# --kill-orphans, so that what a killed orch left running is waited for or stopped);
# each round kills once something has ended since the last kill (so that each gets on),
# at a random moment after; past MAXKILLS the last run is left to finish. Sets round,
# kills and rc (0: a run finished).
campaign_rounds() {
	local maxkills=$1 pid before
	round=0 rc=1 kills=0
	RANDOM=$SEED
	touch ledger
	while [ "$rc" -ne 0 ] && [ "$round" -lt $((maxkills + 20)) ]; do
		round=$((round + 1))
		before=$(campaign_progress)
		setsid "$ORCH" -j4 $([ $((round % 2)) -eq 0 ] && echo --kill-orphans) > round.out 2>&1 &
		pid=$!
		if [ "$kills" -lt "$maxkills" ]; then
			for i in $(seq 1000); do
				[ "$(campaign_progress)" -gt "$before" ] && break
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
			grep -l . .orch/logs/*.log 2>/dev/null | head -n 3 | xargs -r tail -n 5
			return 1
		fi
		campaign_after_round || return 1
	done 2>>killed.log # the shell's "Killed" line for each killed orch, kept out of a failure's report
	echo "# $round rounds, $kills kills" >&3
	[ "$rc" -eq 0 ] || { echo "not finished after $round rounds"; return 1; }
}

# campaign_clean: no step started while its success was recorded, nor beside a copy of
# itself
campaign_clean() {
	if grep -e '^TWICE ' -e '^OVERLAP ' ledger; then
		echo "applied twice, or two at once (above)"
		return 1
	fi
}
