#!/usr/bin/env bats
# t2005-holds — rollouts that watch themselves: a step that holds after its run, health
# checks while it holds, --promote and --abort, on_fail; holds and check counts survive
# orch being killed.

load lib

# wait_for FILE PATTERN: up to 10 s for PATTERN to appear in FILE
wait_for() {
	for _ in $(seq 200); do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "timed out waiting for '$2' in $1:"
	cat "$1"
	return 1
}

# a check that counts its runs in checks.count and fails from run $FAIL_FROM on (never by default)
check_cmd='n=$(cat checks.count 2>/dev/null || echo 0); n=$((n + 1)); echo $n > checks.count; if [ $n -ge ${FAIL_FROM:-999} ]; then echo "error rate too high ($n)"; exit 1; fi; echo "check $n fine"'

@test "a holding step is done when its hold ends; what needs it waits, independent steps go on" {
	cat > Orchfile <<-'EOF'
	[step deploy]
	run = echo deployed
	hold = ${ROLLOUT_HOLD}

	[step other]
	run = date +%s%N > other.at

	[step after]
	needs = deploy
	run = date +%s%N > after.at
	EOF
	date +%s%N > t0
	ROLLOUT_HOLD=1500ms run_orch
	expect_status 0
	expect_contains stdout "$output" "holding deploy for 1.5s"
	expect_contains stdout "$output" "ok deploy"
	# other ran at once, after only once the hold was over
	[ $(( ($(cat other.at) - $(cat t0)) / 1000000 )) -lt 1000 ]
	[ $(( ($(cat after.at) - $(cat t0)) / 1000000 )) -ge 1500 ]
	# the journal says when the hold started and ends
	grep '"ev":"hold"' .orch/journal.jsonl | grep -q '"dur_ms":1500,"until":"'
	# a hold is never busy: orch sleeps in poll
	[ "$(grep -c '"ev":"hold"' .orch/journal.jsonl)" -eq 1 ]
}

@test "killed mid-hold, orch continues the hold where it was, checks keep their count" {
	cat > Orchfile <<-EOF
	[step deploy]
	run = echo deployed
	hold = 3s
	check = $check_cmd
	check_every = 400ms

	[step after]
	needs = deploy
	run = touch after
	EOF
	setsid "$ORCH" > run1.out 2>&1 &
	pid=$!
	wait_for run1.out "check ok deploy: check 2 fine"
	kill -9 -- "-$pid"
	wait "$pid" || true
	[ ! -e after ]
	run_orch --status
	expect_status 0
	expect_contains stdout "$output" "deploy holding"
	expect_contains stdout "$output" "checks 2 passed, 0 failed"
	start=$(date +%s%N)
	run_orch
	expect_status 0
	elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
	expect_contains stdout "$output" "holding deploy:"
	expect_contains stdout "$output" "left (resumed; checks 2 passed, 0 failed)"
	# not restarted: what was left of 3 s, not 3 s again
	[ "$elapsed" -lt 2700 ] || { echo "took $elapsed ms"; false; }
	# the third check is the third, not a first
	expect_contains stdout "$output" "check ok deploy: check 3 fine (3 passed)"
	[ -e after ]
	[ "$(grep -c '"ev":"hold"' .orch/journal.jsonl)" -eq 1 ]
}

@test "orch --promote ends a hold early, from another shell while orch runs, with who and why" {
	cat > Orchfile <<-'EOF'
	[step deploy]
	run = true
	hold = 1h

	[step after]
	needs = deploy
	run = touch after
	EOF
	"$ORCH" > run.out 2>&1 &
	pid=$!
	wait_for run.out "holding deploy for 1h"
	run_orch --promote deploy --reason "metrics look fine"
	expect_status 0
	expect_contains stdout "$output" "promoted deploy (recorded by the running orch"
	wait "$pid"
	cat run.out
	grep -q "promoted deploy (by $(id -un)@.*: metrics look fine)" run.out
	[ -e after ]
	grep '"ev":"ok"' .orch/journal.jsonl | grep '"step":"deploy"' | grep -q '"msg":"metrics look fine"'
	# a step that does not hold cannot be promoted
	run_orch --promote deploy
	expect_status 1
	expect_contains stderr "$stderr" "--promote: deploy does not hold now (up to date)"
	run_orch --promote nosuch
	expect_status 2
}

@test "orch --promote and --abort with no orch running record it in the journal" {
	cat > Orchfile <<-'EOF'
	[step deploy]
	run = true
	hold = 1h
	[step other]
	run = true
	hold = 1h
	EOF
	setsid "$ORCH" -j2 > run.out 2>&1 &
	pid=$!
	wait_for run.out "holding other for 1h"
	kill -9 -- "-$pid"
	wait "$pid" || true
	run_orch --promote deploy
	expect_status 0
	expect_contains stdout "$output" "promoted deploy (by "
	run_orch --abort other --reason "canary errors"
	expect_status 0
	expect_contains stdout "$output" "aborted other (by "
	run_orch --status
	expect_contains stdout "$output" "1 of 2 steps done"
	grep '"ev":"fail"' .orch/journal.jsonl | grep '"step":"other"' | grep -q '"msg":"canary errors"'
}

@test "orch --abort fails a holding step; on_fail = stop stops the run" {
	cat > Orchfile <<-'EOF'
	[step deploy]
	run = true
	hold = 1h
	on_fail = stop

	[step slow]
	run = sleep 2; touch slow

	[step later]
	needs = slow
	run = touch later

	[step other]
	run = true
	hold = 1h
	EOF
	"$ORCH" -j3 > run.out 2>&1 &
	pid=$!
	wait_for run.out "holding deploy for 1h"
	wait_for run.out "holding other for 1h"
	run_orch --abort deploy --reason "bad canary"
	expect_status 0
	rc=0
	wait "$pid" || rc=$?
	cat run.out
	[ "$rc" -eq 1 ]
	grep -q "aborted deploy" run.out
	grep -q "step deploy failed: bad canary" run.out
	# the running step ends, nothing more starts; a hold stopped is the next run's
	[ -e slow ]
	[ ! -e later ]
	grep -q "step other still holds (59m" run.out
}

@test "a check failing after two passes fails the step and rolls back its phase" {
	cat > Orchfile <<-EOF
	[phase canary]
	number = 1

	[step migrate]
	phase = canary
	run = touch migrated
	rollback = rm migrated

	[step deploy]
	phase = canary
	needs = migrate
	run = touch deployed
	rollback = rm deployed
	hold = 30s
	check = $check_cmd
	check_every = 300ms
	check_failures = 2
	on_fail = rollback canary

	[step full]
	needs = deploy
	run = touch full
	EOF
	FAIL_FROM=3 run_orch
	expect_status 1
	expect_contains stdout "$output" "check ok deploy: check 2 fine (2 passed)"
	expect_contains stdout "$output" "check FAILED deploy: exit 1: error rate too high (3) (1 of 2 in a row)"
	expect_contains stdout "$output" "check FAILED deploy: exit 1: error rate too high (4) (2 of 2 in a row)"
	expect_contains stderr "$stderr" "on_fail = rollback canary"
	expect_contains stdout "$output" "rolled back deploy"
	expect_contains stdout "$output" "rolled back migrate"
	[ ! -e deployed ] && [ ! -e migrated ] && [ ! -e full ]
	[ "$(cat checks.count)" -eq 4 ]
	[ "$(grep -c '"ev":"check"' .orch/journal.jsonl)" -eq 4 ]
	grep '"ev":"check"' .orch/journal.jsonl | tail -1 | grep -q '"exit":1'
}

@test "hold keys are checked at load time, with FILE:LINE" {
	cat > Orchfile <<-'EOF'
	[step a]
	run = true
	check = true
	on_fail = rollback nope
	check_every = 0
	[step b]
	run = true
	hold = 5x
	[step c]
	manual = yes
	hold = 1s
	EOF
	expect_bad_orchfile <<-'EOF'
	Orchfile:1: step 'a' has check but no hold
	Orchfile:4: on_fail of step 'a' rolls back 'nope', which is not a step or phase
	Orchfile:5: bad duration '0' for check_every (use e.g. 2s, 5m, 8h, 1d)
	Orchfile:8: bad duration '5x' for hold (use e.g. 2s, 5m, 8h, 1d)
	Orchfile:10: step 'c' is a manual gate and cannot hold (hold, check, on_fail)
	orch: error: Orchfile: 5 errors; nothing was run
	EOF
}

@test "on a terminal the live line shows the hold: time left, checks passed and failed, the next check" {
	command -v script >/dev/null || skip "script(1) is missing"
	cat > Orchfile <<-'EOF'
	[step deploy]
	run = true
	hold = 2s
	check = true
	check_every = 700ms
	EOF
	script -qefc "$ORCH" /dev/null > tty.out 2>&1
	grep -aq "holding deploy: 1\.[0-9]s left, checks 0 passed, 0 failed, next in 0\.[0-9]s" tty.out
	grep -aq "holding deploy: 0\.[0-9]s left, checks 2 passed, 0 failed, next in" tty.out
}
