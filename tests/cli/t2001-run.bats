#!/usr/bin/env bats
# The engine: parallelism, order, pools, barriers, failures, retries, timeouts,
# signals, output, gates, exit statuses.

load lib

# stamp NAME: a run line that records start and end times (ns) of the step
stamp() {
	echo "run = echo \"$1 start \$(date +%s%N)\" >> stamps; sleep ${2:-0.3}; echo \"$1 end \$(date +%s%N)\" >> stamps"
}

# t NAME start|end: the time stamped
t() {
	awk -v n="$1" -v w="$2" '$1 == n && $2 == w { print $3 }' stamps
}

@test "independent steps overlap at -j2 and not at -j1" {
	cat > Orchfile <<-EOF
	[step a]
	$(stamp a)
	[step b]
	$(stamp b)
	EOF
	run "$ORCH" -j2
	[ "$status" -eq 0 ]
	# overlap: each started before the other ended
	[ "$(t a start)" -lt "$(t b end)" ]
	[ "$(t b start)" -lt "$(t a end)" ]
	rm -rf stamps .orch
	run "$ORCH" -j1
	[ "$status" -eq 0 ]
	[ "$(t a end)" -lt "$(t b start)" ] || [ "$(t b end)" -lt "$(t a start)" ]
}

@test "[orch] jobs is the default for -j" {
	cat > Orchfile <<-EOF
	[orch]
	jobs = 2
	[step a]
	$(stamp a)
	[step b]
	$(stamp b)
	EOF
	run "$ORCH"
	[ "$status" -eq 0 ]
	[ "$(t a start)" -lt "$(t b end)" ]
	[ "$(t b start)" -lt "$(t a end)" ]
}

@test "order is valid on random graphs at -j4" {
	for seed in 1 2 3 4 5; do
		rm -rf .orch order Orchfile
		awk -v seed=$seed 'BEGIN {
			srand(seed); n = 40
			for (i = 1; i <= n; i++) {
				printf "[step s%d]\nrun = echo s%d >> order\n", i, i
				needs = ""
				for (j = 1; j < i; j++) if (rand() < 0.1) needs = needs " s" j
				if (needs != "") printf "needs =%s\n", needs
				print needs > "deps.s" i
			}
		}' > Orchfile
		run "$ORCH" -j4 -s
		[ "$status" -eq 0 ]
		[ "$(wc -l < order)" -eq 40 ]
		for i in $(seq 1 40); do
			mine=$(grep -nx "s$i" order | cut -d: -f1)
			for d in $(cat deps.s$i); do
				theirs=$(grep -nx "$d" order | cut -d: -f1)
				[ "$theirs" -lt "$mine" ] || { echo "seed $seed: s$i ran before $d"; false; }
			done
		done
	done
}

@test "a pool of depth 1 never runs two of its steps at once" {
	cat > Orchfile <<-EOF
	[pool db]
	depth = 1
	[step a]
	pool = db
	$(stamp a 0.2)
	[step b]
	pool = db
	$(stamp b 0.2)
	[step c]
	pool = db
	$(stamp c 0.2)
	[step free]
	$(stamp free 0.4)
	EOF
	run "$ORCH" -j4
	[ "$status" -eq 0 ]
	# pool members are disjoint in time
	for x in a b c; do for y in a b c; do
		[ $x = $y ] && continue
		[ "$(t $x end)" -le "$(t $y start)" ] || [ "$(t $y end)" -le "$(t $x start)" ]
	done; done
	# the free step overlapped the pool
	[ "$(t free start)" -lt "$(t a end)" ] || [ "$(t free start)" -lt "$(t b end)" ]
}

@test "a phase with after waits for the whole earlier phase" {
	cat > Orchfile <<-EOF
	[phase one]
	[phase two]
	after = one
	[step slow]
	phase = one
	$(stamp slow 0.4)
	[step quick]
	phase = one
	$(stamp quick 0.05)
	[step next]
	phase = two
	$(stamp next 0.05)
	EOF
	run "$ORCH" -j3
	[ "$status" -eq 0 ]
	[ "$(t slow end)" -le "$(t next start)" ]
	[ "$(t quick end)" -le "$(t next start)" ]
}

@test "a failure stops new steps; running ones finish; exit 1" {
	cat > Orchfile <<-'EOF'
	[step bad]
	run = echo broken; exit 3
	[step later]
	run = touch later
	[step dependent]
	needs = bad
	run = touch dependent
	EOF
	run "$ORCH" -j1
	[ "$status" -eq 1 ]
	[[ "$output" == *"FAILED bad (exit 3"* ]]
	[[ "$output" == *"broken"* ]]
	[[ "$output" == *"step bad failed: exit 3; log: .orch/logs/bad.log"* ]]
	[ ! -e later ]
	[ ! -e dependent ]
}

@test "-k 0 keeps going past failures but never runs their dependents" {
	cat > Orchfile <<-'EOF'
	[step bad]
	run = exit 1
	[step bad2]
	run = exit 2
	[step later]
	run = touch later
	[step dependent]
	needs = bad
	run = touch dependent
	EOF
	run "$ORCH" -j1 -k 0
	[ "$status" -eq 1 ]
	[ -e later ]
	[ ! -e dependent ]
	[[ "$output" == *"step bad failed: exit 1"* ]]
	[[ "$output" == *"step bad2 failed: exit 2"* ]]
}

@test "-k 2 stops at the second failure" {
	cat > Orchfile <<-'EOF'
	[step f1]
	run = exit 1
	[step f2]
	run = exit 1
	[step f3]
	run = touch f3; exit 1
	EOF
	run "$ORCH" -j1 -k 2
	[ "$status" -eq 1 ]
	[ ! -e f3 ]
}

@test "--on-failure skip lets dependents run" {
	cat > Orchfile <<-'EOF'
	[step bad]
	run = exit 1
	[step dependent]
	needs = bad
	run = touch dependent
	EOF
	run "$ORCH" --on-failure skip
	[ "$status" -eq 0 ]
	[ -e dependent ]
	[[ "$output" == *"skipping bad"* ]]
}

@test "retries run the step again after retry_delay, every attempt logged" {
	cat > Orchfile <<-'EOF'
	[step flaky]
	run = n=$(cat n 2>/dev/null || echo 0); n=$((n+1)); echo $n > n; echo "try $n"; [ $n -ge 3 ]
	retries = 2
	retry_delay = 100ms
	EOF
	run "$ORCH"
	[ "$status" -eq 0 ]
	[ "$(cat n)" -eq 3 ]
	[[ "$output" == *"retry 2/3 of flaky in 0.1s"* ]]
	[ "$(grep -c '^=== step flaky: run .*, attempt [123],' .orch/logs/flaky.log)" -eq 3 ]
	grep -qx 'try 1' .orch/logs/flaky.log
	grep -qx 'try 3' .orch/logs/flaky.log
}

@test "retries exhausted is a failure" {
	cat > Orchfile <<-'EOF'
	[step never]
	run = echo attempt >> tries; exit 1
	retries = 1
	EOF
	run "$ORCH"
	[ "$status" -eq 1 ]
	[ "$(wc -l < tries)" -eq 2 ]
}

# wait_gone PID...: true once none of the processes exists (zombies count as gone)
wait_gone() {
	for _ in $(seq 1 50); do
		alive=0
		for p in "$@"; do
			st=$(ps -o stat= -p "$p" 2>/dev/null) || continue
			case "$st" in Z*) ;; *) alive=1 ;; esac
		done
		[ $alive -eq 0 ] && return 0
		sleep 0.1
	done
	return 1
}

@test "a timeout kills the step's whole process group" {
	cat > Orchfile <<-'EOF'
	[step slow]
	run = sleep 60 & echo $! > child.pid; trap '' TERM; sleep 61 & echo $! > child2.pid; wait
	timeout = 1s
	EOF
	run "$ORCH"
	[ "$status" -eq 1 ]
	[[ "$output" == *"FAILED slow (timed out after 1s"* ]]
	wait_gone "$(cat child.pid)" "$(cat child2.pid)"
}

@test "SIGINT stops every running step, leaves no process and exits 130" {
	cat > Orchfile <<-'EOF'
	[step one]
	run = sleep 60 & echo $! > one.pid; wait
	[step two]
	run = trap '' TERM; sleep 60 & echo $! > two.pid; wait; wait
	[step three]
	needs = one
	run = touch three
	EOF
	"$ORCH" -j2 > out 2>&1 &
	pid=$!
	for _ in $(seq 1 50); do [ -s one.pid ] && [ -s two.pid ] && break; sleep 0.1; done
	kill -INT $pid
	wait $pid && st=0 || st=$?
	[ "$st" -eq 130 ]
	grep -q 'interrupted one' out
	grep -q 'interrupted two' out
	grep -q 'run orch again to resume' out
	[ ! -e three ]
	wait_gone "$(cat one.pid)" "$(cat two.pid)"
}

@test "SIGTERM and SIGHUP are handled like SIGINT" {
	cat > Orchfile <<-'EOF'
	[step one]
	run = sleep 60 & echo $! > one.pid; wait
	EOF
	for sig in TERM HUP; do
		rm -f one.pid
		"$ORCH" > out 2>&1 &
		pid=$!
		for _ in $(seq 1 50); do [ -s one.pid ] && break; sleep 0.1; done
		kill -$sig $pid
		wait $pid && st=0 || st=$?
		[ "$st" -eq 130 ] || { echo "SIG$sig: exit $st"; cat out; false; }
		grep -q 'interrupted one' out
		wait_gone "$(cat one.pid)"
	done
}

@test "-v says when each step starts; ORCH_LOG_LEVEL=error keeps only errors" {
	cat > Orchfile <<-'EOF'
	[step a]
	run = echo hello
	[step b]
	run = exit 3
	EOF
	run "$ORCH" -v -k 0
	[ "$status" -eq 1 ]
	[[ "$output" == *"start a"* ]]
	rm -rf .orch
	run env ORCH_LOG_LEVEL=error "$ORCH" -k 0
	[ "$status" -eq 1 ]
	[[ "$output" != *"ok a"* ]]
	[[ "$output" == *"step b failed: exit 3"* ]]
}

@test "output of concurrent steps is never interleaved" {
	cat > Orchfile <<-'EOF'
	[step a]
	run = for i in $(seq 1 200); do echo "a line $i"; [ $((i % 20)) -eq 0 ] && sleep 0.01; done
	[step b]
	run = for i in $(seq 1 200); do echo "b line $i"; [ $((i % 20)) -eq 0 ] && sleep 0.01; done
	EOF
	run "$ORCH" -j2
	[ "$status" -eq 0 ]
	# each step's 200 lines form one contiguous block
	first_a=$(printf '%s\n' "$output" | grep -n '^a line 1$' | cut -d: -f1)
	last_a=$(printf '%s\n' "$output" | grep -n '^a line 200$' | cut -d: -f1)
	first_b=$(printf '%s\n' "$output" | grep -n '^b line 1$' | cut -d: -f1)
	last_b=$(printf '%s\n' "$output" | grep -n '^b line 200$' | cut -d: -f1)
	[ $((last_a - first_a)) -eq 199 ]
	[ $((last_b - first_b)) -eq 199 ]
}

@test "verify runs after run and its failure fails the step" {
	cat > Orchfile <<-'EOF'
	[step good]
	run = echo ok > good.txt
	verify = grep -q ok good.txt
	[step bad]
	run = echo nope > bad.txt
	verify = grep -q ok bad.txt
	EOF
	run "$ORCH" -k 0
	[ "$status" -eq 1 ]
	[[ "$output" == *"ok good ("* ]]
	[[ "$output" == *"FAILED bad (verify: exit 1"* ]]
}

@test "a declared output missing after success fails the step" {
	cat > Orchfile <<-'EOF'
	[step makes]
	run = touch made.txt
	outputs = made.txt
	[step forgets]
	run = true
	outputs = dist/*.js
	EOF
	run "$ORCH" -k 0
	[ "$status" -eq 1 ]
	[[ "$output" == *"ok makes"* ]]
	[[ "$output" == *"FAILED forgets (output dist/*.js missing after success"* ]]
}

@test "the closing notice says why a step failed as fully as its [N/M] line (a long output path)" {
	long=$(printf 'd%.0s' $(seq 1 140))
	cat > Orchfile <<-EOF
	[step a]
	run = true
	outputs = $long/file.txt
	EOF
	run_orch
	expect_status 1
	expect_contains stdout "$output" "FAILED a (output $long/file.txt missing after success, "
	expect_contains stderr "$stderr" "orch: step a failed: output $long/file.txt missing after success"
}

@test "steps run in the Orchfile's directory with ORCH_* and env variables" {
	mkdir sub
	cat > sub/Orchfile <<-'EOF'
	[phase prep]
	[step show]
	phase = prep
	run = echo "$ORCH_STEP $ORCH_PHASE $GREETING $OTHER" > env.txt; pwd > pwd.txt; echo "$ORCH_RUN_ID" > id.txt
	env = GREETING=hello world
	      OTHER=2
	EOF
	run "$ORCH" -f sub/Orchfile
	[ "$status" -eq 0 ]
	[ "$(cat sub/env.txt)" = "show prep hello world 2" ]
	[ "$(cat sub/pwd.txt)" = "$PWD/sub" ]
	[ -s sub/id.txt ]
}

@test "a manual gate waits off a terminal while independent steps go on" {
	cat > Orchfile <<-'EOF'
	[step gate]
	manual = yes
	prompt = Read the runbook
	[step after-gate]
	needs = gate
	run = touch after-gate
	[step independent]
	run = touch independent
	EOF
	run "$ORCH" < /dev/null
	[ "$status" -eq 1 ]
	[ -e independent ]
	[ ! -e after-gate ]
	[[ "$output" == *"gate gate waits for approval: orch --approve gate"$'\n'"  Read the runbook"* ]]
}

@test "a script that cannot be run is a failure with its message" {
	cat > Orchfile <<-'EOF'
	[step missing]
	run = ./does-not-exist
	EOF
	run "$ORCH"
	[ "$status" -eq 1 ]
	[[ "$output" == *"FAILED missing (exit 127"* ]]
	[[ "$output" == *"does-not-exist"* ]]
}

@test "sh -e: a failing line stops the script" {
	cat > Orchfile <<-'EOF'
	[step multi]
	run = false
	      touch reached
	EOF
	run "$ORCH"
	[ "$status" -eq 1 ]
	[ ! -e reached ]
}

@test "a failure shows the tail of the output; the log keeps all of it" {
	cat > Orchfile <<-'EOF'
	[step many]
	run = seq 1 120; exit 1
	EOF
	run "$ORCH"
	[ "$status" -eq 1 ]
	[[ "$output" == *"... (70 earlier lines in the log)"$'\n'"71"$'\n'"72"* ]]
	[[ "$output" != *$'\n'"70"$'\n'* ]]
	[[ "$output" == *"120"$'\n'"  log: .orch/logs/many.log"* ]]
	[ "$(grep -c '^[0-9]*$' .orch/logs/many.log)" -eq 120 ]
}

@test "a done step whose input is rewritten upstream in the same run runs again; unchanged, it does not" {
	cat > Orchfile <<-'EOF'
	[step gen]
	always = yes
	run = cat src.txt > gen.txt
	[step use]
	needs = gen
	inputs = gen.txt
	run = echo used >> used.log
	EOF
	echo A > src.txt
	run "$ORCH"
	[ "$status" -eq 0 ]
	[ "$(wc -l < used.log)" -eq 1 ]
	# gen runs again (always) and writes the same: use stays done
	run "$ORCH"
	[ "$status" -eq 0 ]
	[ "$(wc -l < used.log)" -eq 1 ]
	# gen writes something else: use sees it in the same run
	echo B > src.txt
	run "$ORCH"
	[ "$status" -eq 0 ]
	[[ "$output" == *"stale use: input gen.txt changed"* ]]
	[ "$(wc -l < used.log)" -eq 2 ]
}

@test "orch | head -1: a closed standard output is no step failure; the plan goes on, exit 0" {
	# a waits for head to have gone before printing more: b and c write to a closed pipe
	cat > Orchfile <<-'EOF'
	[step a]
	run = for i in $(seq 100); do echo a $i; done; touch a.done
	[step b]
	needs = a
	run = sleep 1; for i in $(seq 100); do echo b $i; done; touch b.done
	[step c]
	needs = b
	run = for i in $(seq 100); do echo c $i; done
	      yes | head -n 1 > /dev/null
	      touch c.done
	EOF
	"$ORCH" 2> err | head -n 1 > first
	rc=${PIPESTATUS[0]}
	[ "$rc" -eq 0 ] || { echo "exit status $rc"; cat err; false; }
	[ -f a.done ] && [ -f b.done ] && [ -f c.done ]
	[ "$(jq -r 'select(.ev == "ok") | .step' .orch/journal.jsonl | tr '\n' ' ')" = "a b c " ]
	grep -q '^orch: warning: standard output was closed; the plan went on (see orch --status)$' err || { cat err; false; }
	[ "$(grep -c . err)" -eq 1 ] || { cat err; false; }
	# the steps kept the default SIGPIPE: yes died quietly of it
	! grep -q 'Broken pipe' .orch/logs/c.log || { cat .orch/logs/c.log; false; }
}

@test "orch with standard output closed: nothing it prints lands in the files of .orch" {
	cat > Orchfile <<-'EOF'
	[step a]
	run = echo output of a
	EOF
	rc=0
	"$ORCH" >&- 2> err || rc=$?
	[ "$rc" -eq 0 ] || { echo "exit status $rc"; cat err; false; }
	! grep -r -q 'output of a\|ok a' .orch/lock .orch/journal.jsonl || { grep -r . .orch/lock; false; }
	[ "$(jq -r 'select(.ev == "ok") | .step' .orch/journal.jsonl)" = a ]
}

@test "the progress counter is exact: each finished step its own number, retries apart, steps not attempts" {
	cat > Orchfile <<-'EOF'
	[step a]
	run = true
	[step b]
	title = The b step
	run = true
	[step c]
	run = true
	[step flaky]
	needs = a
	retries = 2
	run = [ -e once ] || { touch once; echo first try; exit 1; }
	EOF
	run_orch -j1
	expect_status 0
	output=$(printf '%s\n' "$output" | sed 's/([0-9.]*s)/(D)/; s/, [0-9.]*s)/, D)/; s/run in [0-9.]*s$/run in D/')
	expect_stdout <<-'EOF'
	[1/4] ok a (D)
	[2/4] ok b: The b step (D)
	[3/4] ok c (D)
	FAILED flaky (exit 1, D)
	first try
	  log: .orch/logs/flaky.log
	retry 2/3 of flaky in 0s
	[4/4] ok flaky (D)
	orch: done: 4 steps run in D
	EOF
}

@test "a step refused before it runs names no log that does not exist" {
	cat > Orchfile <<-'EOF'
	[step gen]
	always = yes
	run = date +%s%N > in.txt
	[step use]
	needs = gen
	inputs = in.txt
	on_change = error
	run = true
	EOF
	run_orch
	expect_status 0
	run_orch
	expect_status 1
	expect_contains stderr "$stderr" "orch: step use failed: changed since applied (input in.txt changed)"
	[[ $stderr != *"log: .orch/logs/use.log"* ]] || { show_run; false; }
	[ ! -e .orch/logs/use.log ]
}

@test "LOG_LEVEL=debug says more than -v: the lock, each spawn, each journal sync" {
	cat > Orchfile <<-'EOF'
	[step a]
	run = true
	EOF
	run_orch -v
	expect_status 0
	[[ $stderr != *"debug:"* ]] || { show_run; false; }
	rm -rf .orch
	LOG_LEVEL=debug run_orch
	expect_status 0
	expect_contains stderr "$stderr" "orch: debug: took the plan lock $PWD/.orch/lock"
	expect_contains stderr "$stderr" "orch: debug: spawned a: /bin/sh, pid "
	expect_contains stderr "$stderr" "orch: debug: fdatasync .orch/journal.jsonl: "
}

@test "the progress counter at -j3: the numbers of the lines are 1 to N, in the order they appear" {
	for i in 1 2 3 4 5 6; do printf '[step s%d]\nrun = sleep 0.0%d\n' "$i" "$i"; done > Orchfile
	run_orch -j3
	expect_status 0
	expect_same numbers "1/6 2/6 3/6 4/6 5/6 6/6" "$(grep -o '^\[[0-9]*/[0-9]*\]' <<<"$output" | tr -d '[]' | tr '\n' ' ' | sed 's/ $//')"
}
