#!/usr/bin/env bats
# Steps a killed orch left running. Steps run in their own process groups, so kill -9 of
# orch leaves them going: the next orch must not start the same step beside them. The
# start event records the step's process group, its leader's start time and the boot,
# so a reused pid is not mistaken for the step.

load lib

# a step that says when two copies of it overlap, and takes SECS seconds
overlap_plan() {
	cat > Orchfile <<-EOF
	[step slow]
	run = echo \$\$ > pid; if [ -e running ]; then echo OVERLAP >> ran.log; fi; touch running; sleep $1; rm -f running; echo done >> ran.log
	[step after]
	needs = slow
	run = echo after >> ran.log
	EOF
}

# start orch in the background, wait until the step runs, kill -9 orch alone
orphan_it() {
	"$ORCH" > first.out 2>&1 &
	local pid=$!
	for i in $(seq 100); do [ -s pid ] && break; sleep 0.1; done
	[ -s pid ] || { cat first.out; return 1; }
	kill -9 "$pid"
	wait "$pid" || true
	orphan=$(cat pid)
	rm pid
	kill -0 "$orphan" # the step runs on
}

teardown() {
	[ -n "${orphan:-}" ] && kill -9 -- "-$orphan" 2>/dev/null
	cd / && rm -rf "$TEST_DIR"
}

@test "a step left running by a killed orch: --status says so, the next orch waits for it and runs it after" {
	overlap_plan 3
	orphan_it
	run_orch --status
	expect_status 0
	expect_contains stdout "$output" "still running from an earlier orch, pid $orphan"
	run_orch --status --json
	expect_same orphan "true $orphan" "$(jq -r '.running[] | "\(.orphan) \(.pid)"' <<<"$output")"
	run_orch
	expect_status 0
	expect_contains stderr "$stderr" "step slow is still running from an earlier orch (pid $orphan, run "
	expect_contains stderr "$stderr" "waiting for it to end (--kill-orphans stops it)"
	# one copy after the other, never two at once; its dependent after both
	expect_same ran "$(printf 'done\ndone\nafter')" "$(cat ran.log)"
	! kill -0 "$orphan" 2>/dev/null
}

@test "--kill-orphans stops the step left running, then runs it" {
	overlap_plan 30
	orphan_it
	# the next copy is quick, and does not mind the marker the killed one left
	sed -i 's/sleep 30/sleep 0/; s/if \[ -e running \]; then echo OVERLAP >> ran.log; fi; //' Orchfile
	SECONDS=0
	run_orch --kill-orphans
	expect_status 0
	expect_contains stderr "$stderr" "step slow is still running from an earlier orch (pid $orphan, run "
	expect_contains stderr "$stderr" "stopping it"
	[ "$SECONDS" -lt 20 ]
	! kill -0 "$orphan" 2>/dev/null
	expect_same ran "$(printf 'done\nafter')" "$(cat ran.log)"
}

@test "a recorded pid that now names another process is not the step" {
	overlap_plan 0
	cat > Orchfile <<-'EOF'
	[step slow]
	run = echo done >> ran.log
	EOF
	mkdir .orch
	# an interrupted start whose pid is this shell's, but with another start time, then
	# another boot: neither is the step
	for who in "\"pstart\":1,\"boot\":\"$(cat /proc/sys/kernel/random/boot_id)\"" \
	           "\"pstart\":$(awk '{print $22}' /proc/$$/stat),\"boot\":\"another-boot\""; do
		printf '{"v":1,"t":"2026-11-26T05:12:00.123Z","run":"20261126T051200-1","ev":"start","step":"slow","pgid":%d,%s}\n' \
			$$ "$who" > .orch/journal.jsonl
		rm -f ran.log
		SECONDS=0
		run_orch
		expect_status 0
		[[ $stderr != *"still running"* ]] || { show_run; false; }
		expect_same ran done "$(cat ran.log)"
	done
}

@test "a recorded pid with its own start time and boot is the step, still running: orch waits for it" {
	cat > Orchfile <<-'EOF'
	[step slow]
	run = echo done >> ran.log
	EOF
	mkdir .orch
	# the step's shell, as a killed orch left it: a process leading its own group; its
	# start time read as the journal records it, then unknown (0, as earlier orch wrote)
	for pstart in real 0; do
		setsid sleep 1.5 &
		local pid=$!
		[ "$pstart" = 0 ] || pstart=$(awk '{print $22}' "/proc/$pid/stat")
		printf '{"v":1,"t":"2026-11-26T05:12:00.123Z","run":"20261126T051200-1","ev":"start","step":"slow","pgid":%d,"pstart":%s,"boot":"%s"}\n' \
			"$pid" "$pstart" "$(cat /proc/sys/kernel/random/boot_id)" > .orch/journal.jsonl
		rm -f ran.log
		run_orch
		expect_status 0
		expect_contains stderr "$stderr" "still running"
		# it ran once the copy had ended, not beside it
		! kill -0 "$pid" 2>/dev/null
		expect_same ran done "$(cat ran.log)"
		wait "$pid" || true
	done
}

@test "a rollback waits for a step a killed orch left running before it undoes what it needs" {
	cat > Orchfile <<-'EOF'
	[step a]
	run = echo run a >> order.log
	rollback = echo undo a >> order.log
	[step slow]
	needs = a
	run = echo $$ > pid; sleep 2; echo slow done >> order.log
	EOF
	orphan_it
	run_orch --rollback a --yes
	expect_status 0
	expect_contains stderr "$stderr" "step slow is still running from an earlier orch (pid $orphan, run "
	expect_same order "$(printf 'run a\nslow done\nundo a')" "$(cat order.log)"
}
