#!/usr/bin/env bats
# Workers (orch --worker --labels, docs/team.md): the coordinator records each step's
# start, offers a step with runs_on = LABEL as a row of orch.claims; one worker with the
# label claims it (FOR UPDATE SKIP LOCKED) under a lease by the database's clock, runs it
# from its own copy of the plan (another directory: "another machine") and reports; the
# coordinator records the result. A worker killed mid-step loses its lease.

load lib

setup() { pg_setup workers; }
teardown() {
	for p in ${workers:-}; do kill -9 "$p" 2>/dev/null || true; done
	[ -z "${run_pid:-}" ] || kill -9 "$run_pid" 2>/dev/null || true
	# the steps a test left running (their process groups)
	for f in "$BATS_TEST_TMPDIR"/*.pid; do [ ! -s "$f" ] || kill -9 -- "-$(cat "$f")" 2>/dev/null || true; done
	# a worker that died of a sanitizer's report shows only as a lost lease: say so
	local sanitized=0
	if grep -s "Sanitizer\|runtime error:" "$TEST_DIR"/*/worker.out; then sanitized=1; fi
	pg_teardown
	[ "$sanitized" = 0 ]
}

rows() { psql -X -At -d "$DB" -c "$1"; }

# cluster_plan DIR N: N steps over labels db, deploy and none; a SQL step on the coordinator
cluster_plan() {
	mkdir -p "$1"
	{
		printf '[orch]\nname = cluster\nstate = database\n'
		echo 'CREATE TABLE applied (step text PRIMARY KEY);' > "$1/schema.sql"
		echo "INSERT INTO applied VALUES ('record');" > "$1/record.sql"
		printf '[step schema]\nsql = schema.sql\n'
		for i in $(seq "$2"); do
			printf '[step s%d]\nneeds = schema\nrun = echo "s%d on $(basename $PWD)" >> "%s/ran.log"; echo out-s%d\n' \
				"$i" "$i" "$BATS_TEST_TMPDIR" "$i"
			case $((i % 3)) in
			0) printf 'runs_on = db\n' ;;
			1) printf 'runs_on = deploy\n' ;;
			esac
		done
		printf '[step record]\nneeds = %s\nsql = record.sql\n' "$(seq -f 's%g' -s ' ' "$2")"
	} > "$1/Orchfile"
}

# start_worker DIR LABELS: a worker in DIR (its pid added to $workers)
start_worker() {
	(cd "$1" && exec "$ORCH" --worker --labels "$2" > worker.out 2>&1) &
	workers="${workers:-} $!"
}

@test "workers: steps with runs_on run on a worker with the label, each exactly once; the coordinator records them" {
	for d in coord w1 w2 w3; do cluster_plan "$d" 12; done
	start_worker w1 db
	start_worker w2 deploy
	start_worker w3 db,deploy
	cd coord
	run timeout 60 "$ORCH" -j 8
	expect_status 0
	cd ..
	# every step ran once, where its label says
	[ "$(wc -l < "$BATS_TEST_TMPDIR/ran.log")" = 12 ]
	[ "$(sort "$BATS_TEST_TMPDIR/ran.log" | cut -d' ' -f1 | uniq -d)" = "" ]
	for i in 3 6 9 12; do grep -Eq "^s$i on (w1|w3)$" "$BATS_TEST_TMPDIR/ran.log"; done
	for i in 1 4 7 10; do grep -Eq "^s$i on (w2|w3)$" "$BATS_TEST_TMPDIR/ran.log"; done
	for i in 2 5 8 11; do grep -q "^s$i on coord$" "$BATS_TEST_TMPDIR/ran.log"; done
	# the coordinator recorded each once, the claims say done by whom
	expect_same claims 8 "$(rows "SELECT count(*) FROM orch.claims WHERE state = 'done' AND exit = 0")"
	expect_same db-claims "" "$(rows "SELECT step FROM orch.claims WHERE runs_on = 'db' AND worker NOT LIKE '%:'|| '%' ")"
	expect_same oks 14 "$(rows "SELECT count(*) FROM orch.events WHERE event::jsonb->>'ev' = 'ok'")"
	# the worker's output is the step's log on the coordinator
	grep -q out-s3 coord/.orch/logs/s3.log
	# status from a fifth directory
	cluster_plan w5 12
	cd w5
	run_orch --status
	expect_status 0
	expect_contains stdout "$output" "14 of 14 steps done (100%)"
}

@test "workers: a copy of the plan whose step differs refuses the claim, and the step fails saying why" {
	cluster_plan coord 3
	cluster_plan w1 3
	sed -i 's/echo out-s3/echo changed-s3/' w1/Orchfile
	start_worker w1 db,deploy
	cd coord
	run timeout 60 "$ORCH" -j 4
	expect_status 1
	expect_contains stdout "$output" "its copy of step s3 differs from the coordinator's"
	expect_same refused refused "$(rows "SELECT state FROM orch.claims WHERE step = 's3'")"
	grep -q "update its Orchfile" ../w1/worker.out
}

@test "workers: a worker killed mid-step loses its lease; the coordinator records the step interrupted on it" {
	cluster_plan coord 1
	sed -i "s|^run = .*|run = echo \$\$ > $BATS_TEST_TMPDIR/s1.pid; sleep 30|" coord/Orchfile
	cp coord/Orchfile w1/ 2>/dev/null || { mkdir w1; cp coord/Orchfile w1/; }
	start_worker w1 deploy
	(cd coord && exec "$ORCH" > run.out 2>&1) &
	run_pid=$!
	s1_runs coord/run.out
	kill -9 $workers
	run_ends
	[ "$status" = 1 ] || { cat coord/run.out; false; }
	grep -q "s1 failed: interrupted on worker .*: its lease ran out" coord/run.out
	expect_same lost lost "$(rows "SELECT state FROM orch.claims WHERE step = 's1'")"
	# the step the dead worker started is its own machine's business; stop it here
	kill -9 -- "-$(cat "$BATS_TEST_TMPDIR/s1.pid")"
}

@test "workers: a step that failed on a worker shows the end of its output in --status and --report on any machine" {
	cluster_plan coord 1
	sed -i "s|^run = .*|run = for i in \$(seq 20); do echo line-\$i; done; exit 4|" coord/Orchfile
	mkdir -p w1 w5
	cp coord/Orchfile w1/
	cp coord/* w5/
	start_worker w1 deploy
	cd coord
	run timeout 60 "$ORCH"
	expect_status 1
	cd ../w5
	run_orch --status
	expect_status 0
	expect_contains stdout "$output" "log: orch.claims (its worker $(id -un)@$(hostname):"
	# its last 8 lines, and not the ones before
	expect_contains stdout "$output" "    line-20"
	expect_contains stdout "$output" "    line-13"
	! grep -q "line-12$" <<<"$output" || { echo "$output"; false; }
	run_orch --status --json
	jq -e '.steps[] | select(.name == "s1") | .worker_output | (.output | startswith("line-1\n") and endswith("line-19\nline-20\n")) and (.worker | contains("@"))' <<<"$output" > /dev/null || { echo "$output"; false; }
	here=$(jq -S 'del(.generated_at, .file)' <<<"$output")
	run_orch --report
	expect_status 0
	grep -q "Its output on worker $(id -un)@$(hostname):" .orch/report.html
	grep -q "line-20" .orch/report.html
	# on the coordinator the log is its file; the JSON is the same as elsewhere
	cd ../coord
	run_orch --status
	expect_contains stdout "$output" "log: .orch/logs/s1.log"
	run_orch --status --json
	expect_same "status --json" "$here" "$(jq -S 'del(.generated_at, .file)' <<<"$output")"
}

@test "workers: the coordinator stopped by Ctrl-C withdraws a running claim; its worker stops the step within seconds" {
	cluster_plan coord 1
	sed -i "s|^run = .*|run = echo \$\$ > $BATS_TEST_TMPDIR/s1.pid; sleep 60|" coord/Orchfile
	mkdir -p w1
	cp coord/Orchfile w1/
	start_worker w1 deploy
	(cd coord && exec "$ORCH" > run.out 2>&1) &
	run_pid=$!
	s1_runs coord/run.out
	kill -INT "$run_pid"
	run_ends
	[ "$status" = 130 ] || { cat coord/run.out; false; }
	expect_same claim withdrawn "$(rows "SELECT state FROM orch.claims WHERE step = 's1'")"
	# the step's process group is gone on the worker's machine, and the worker goes on
	for i in $(seq 50); do kill -0 -- "-$(cat "$BATS_TEST_TMPDIR/s1.pid")" 2>/dev/null || break; sleep 0.1; done
	! kill -0 -- "-$(cat "$BATS_TEST_TMPDIR/s1.pid")" 2>/dev/null || { cat w1/worker.out; false; }
	grep -q "stopping it" w1/worker.out
	kill -0 $workers
}

@test "runs_on without [orch] state: the step fails saying workers need the state in the database" {
	cluster_plan coord 1
	sed -i '/^state = database/d' coord/Orchfile
	cd coord
	run_orch
	expect_status 1
	expect_contains stdout "$output" "runs_on = deploy needs [orch] state = database or URL"
}

# interrupted_plan RULE: coord/ and w1/, w2/ with one step s1 (runs_on = deploy) whose
# first attempt hangs (its pid in $T/s1.pid) and whose next one succeeds
interrupted_plan() {
	cluster_plan coord 1
	sed -i "s|^run = .*|run = if [ -e $BATS_TEST_TMPDIR/first ]; then echo \"second on \$(basename \$PWD)\" >> $BATS_TEST_TMPDIR/ran.log; else touch $BATS_TEST_TMPDIR/first; echo \$\$ > $BATS_TEST_TMPDIR/s1.pid; sleep 30; fi\non_interrupt = $1|" coord/Orchfile
	mkdir -p w1 w2
	cp coord/Orchfile w1/
	cp coord/Orchfile w2/
}

# s1_runs OUT: wait until s1 runs (its pid in $T/s1.pid), else show OUT and fail
s1_runs() {
	for i in $(seq 100); do [ -s "$BATS_TEST_TMPDIR/s1.pid" ] && break; sleep 0.1; done
	[ -s "$BATS_TEST_TMPDIR/s1.pid" ] || { cat "$1" w1/worker.out; return 1; }
}

# lose_s1 OUT PIDS: once s1 runs, kill -9 the workers PIDS and s1's process group
lose_s1() {
	s1_runs "$1" || return 1
	kill -9 $2
	kill -9 -- "-$(cat "$BATS_TEST_TMPDIR/s1.pid")"
}

# rerun_on_w2 OUT FIRST: s1's first attempt lost with its worker FIRST; a worker in w2
# runs it again, and the run succeeds
rerun_on_w2() {
	lose_s1 "$1" "$2" || return 1
	start_worker w2 deploy
	run_ends
	[ "$status" = 0 ] || { cat "$1" w2/worker.out; return 1; }
	expect_same ran "second on w2" "$(cat "$BATS_TEST_TMPDIR/ran.log")"
}

# run_ends: wait for the coordinator ($run_pid); its exit status in $status
run_ends() {
	wait "$run_pid" && status=0 || status=$?
	run_pid=
}

# s1_failed_and_stopped: the coordinator's run.out says s1 was interrupted, and it
# neither retried nor skipped: one fail, the run's exit 1
s1_failed_and_stopped() {
	[ "$status" = 1 ] || { cat coord/run.out; return 1; }
	grep -q "s1 failed: interrupted on worker .*: its lease ran out" coord/run.out
	! grep -q "rerun of s1\|retry\|skipp" coord/run.out || { cat coord/run.out; return 1; }
	expect_same events "fail" "$(rows "SELECT event::json->>'ev' FROM orch.events WHERE event::json->>'step' = 's1' AND event::json->>'ev' <> 'start' ORDER BY seq" | xargs)"
}

@test "workers: on_interrupt = rerun offers a step whose worker was killed again; another worker runs it, the run succeeds" {
	interrupted_plan rerun
	start_worker w1 deploy
	local first=$workers
	(cd coord && exec "$ORCH" > run.out 2>&1) &
	run_pid=$!
	rerun_on_w2 coord/run.out "$first"
	grep -q "rerun of s1, attempt 2: its worker lost the lease (on_interrupt = rerun, 1 of 3)" coord/run.out
	expect_same claims "lost done" "$(rows "SELECT state FROM orch.claims WHERE step = 's1' ORDER BY id" | xargs)"
	expect_same events "fail ok" "$(rows "SELECT event::json->>'ev' FROM orch.events WHERE event::json->>'step' = 's1' AND event::json->>'ev' <> 'start' ORDER BY seq" | xargs)"
}

@test "workers: [orch] on_interrupt = rerun is the default of steps with runs_on; [orch] on_interrupt is checked" {
	interrupted_plan ask
	for d in coord w1 w2; do sed -i '/^on_interrupt = ask/d; s/^state = database/&\non_interrupt = rerun/' $d/Orchfile; done
	start_worker w1 deploy
	local first=$workers
	(cd coord && exec timeout 60 "$ORCH" > run.out 2>&1) &
	run_pid=$!
	rerun_on_w2 coord/run.out "$first"
	grep -q "rerun of s1, attempt 2: its worker lost the lease (on_interrupt = rerun, 1 of 3)" coord/run.out
	# a bad value is an error at its line
	sed -i 's/^on_interrupt = rerun/on_interrupt = maybe/' coord/Orchfile
	cd coord
	run_orch --check
	expect_status 2
	expect_contains stderr "$stderr" "Orchfile:4: bad on_interrupt 'maybe' (use rerun, ask or fail)"
}

@test "workers: on_interrupt = fail stops the run at a lost lease, even with --on-failure skip" {
	interrupted_plan fail
	start_worker w1 deploy
	(cd coord && exec "$ORCH" --on-failure skip > run.out 2>&1) &
	run_pid=$!
	lose_s1 coord/run.out "$workers"
	run_ends
	s1_failed_and_stopped
}

@test "workers: on_interrupt = ask (the default) asks on a terminal; r reruns the step on another worker" {
	interrupted_plan ask
	sed -i '/^on_interrupt = ask/d' coord/Orchfile w1/Orchfile w2/Orchfile
	start_worker w1 deploy
	local first=$workers
	# a terminal from script(1): the answer is typed once the question is on it
	{
		for i in $(seq 300); do grep -q 'rerun, \[s\]kip' coord/tty.out 2>/dev/null && break; sleep 0.1; done
		printf 'r\n'
		for i in $(seq 300); do [ -s "$BATS_TEST_TMPDIR/ran.log" ] && break; sleep 0.1; done
		sleep 1
	} | (cd coord && exec script -qefc "$ORCH" /dev/null > tty.out 2>&1) &
	run_pid=$!
	rerun_on_w2 coord/tty.out "$first"
	grep -q "Step s1 was interrupted: its worker lost the lease. \[r\]erun, \[s\]kip, \[a\]bort?" coord/tty.out
	expect_same claims "lost done" "$(rows "SELECT state FROM orch.claims WHERE step = 's1' ORDER BY id" | xargs)"
}

@test "workers: on_interrupt = ask elsewhere than a terminal is fail: no retries, the run stops" {
	interrupted_plan ask
	sed -i 's/^on_interrupt = ask/retries = 2/' coord/Orchfile w1/Orchfile
	start_worker w1 deploy
	# (a retry would wait for a worker that is gone: 124 from timeout)
	(cd coord && exec timeout 30 "$ORCH" --on-failure skip > run.out 2>&1) &
	run_pid=$!
	lose_s1 coord/run.out "$workers"
	run_ends
	s1_failed_and_stopped
}

@test "workers: runs_on = * runs on any worker, whatever its labels; a runs_on that is no label is an error" {
	cluster_plan coord 2
	sed -i 's/^runs_on = deploy/runs_on = */' coord/Orchfile
	mkdir -p w1 w2
	cp coord/Orchfile w1/
	cp coord/Orchfile w2/
	start_worker w2 other
	cd coord
	run timeout 60 "$ORCH"
	expect_status 0
	expect_same ran "$(printf 's1 on w2\ns2 on coord')" "$(sort "$BATS_TEST_TMPDIR/ran.log")"
	sed -i 's/^runs_on = \*/runs_on = a,b/' Orchfile
	run_orch --check
	expect_status 2
	expect_contains stderr "$stderr" "bad runs_on 'a,b' (a worker's label: letters, digits, '-', '_' and '.'; or * for any worker)"
}

@test "on_interrupt: rerun, ask or fail, and only with runs_on" {
	printf '[step a]\nrun = true\non_interrupt = rerun\n[step b]\nrun = true\nruns_on = x\non_interrupt = again\n' >Orchfile
	run_orch --check
	expect_status 2
	expect_stderr <<-'EOF'
	Orchfile:3: step 'a' has on_interrupt but no runs_on: it is what a worker's lost lease does (a local step an orch left interrupted runs again on the next run)
	Orchfile:7: bad on_interrupt 'again' (use rerun, ask or fail)
	orch: error: Orchfile: 2 errors; nothing was run
	EOF
}

@test "workers: a step's output tail cut inside a UTF-8 character is still reported (from the next character)" {
	cluster_plan coord 1
	# 100,000 two-byte characters and 3 bytes: the last 64 KiB start inside a character,
	# and the worker keeps only the output's end (past 128 KiB, the last 64 KiB)
	sed -i "s|^run = .*|run = for i in \$(seq 1000); do printf 'éééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééé'; done; printf 'ab\\\\n'|" coord/Orchfile
	mkdir -p w1
	cp coord/Orchfile w1/
	start_worker w1 deploy
	cd coord
	run timeout 60 "$ORCH"
	expect_status 0
	# done, its log the last 64 KiB or a byte or three less (from a character's start)
	[ "$(rows "SELECT state || ' ' || (octet_length(log) BETWEEN 65533 AND 65536) || ' ' || (right(log, 3) = E'ab\n') FROM orch.claims WHERE step = 's1'")" = "done true true" ] || { rows "SELECT state, octet_length(log), detail FROM orch.claims"; cat ../w1/worker.out; false; }
}

# jobs_plan DIR STEP=SCRIPT...: a plan of shell steps with runs_on = deploy, each
# the shell SCRIPT (in $BATS_TEST_TMPDIR) with its name, exec'd: the step's process
# (its $$ the group leader the worker waits for)
jobs_plan() {
	local dir=$1 s
	shift
	mkdir -p "$dir"
	{
		printf '[orch]\nname = jobs\nstate = database\n'
		for s in "$@"; do
			printf '[step %s]\nruns_on = deploy\nrun = exec sh %s/%s %s\n' "${s%%=*}" "$BATS_TEST_TMPDIR" "${s#*=}" "${s%%=*}"
		done
	} > "$dir/Orchfile"
}

@test "workers: a worker with -j 3 runs three steps at once, each under its own lease, their lines after their names" {
	T=$BATS_TEST_TMPDIR
	# each step waits (15 s at most) for the other two to have begun: together or not at all
	cat > "$T/together.sh" <<-EOF
	touch "$T/\$1.on"
	sleep 2
	for i in \$(seq 150); do
		if [ -e "$T/s1.on" ] && [ -e "$T/s2.on" ] && [ -e "$T/s3.on" ]; then echo "\$1 saw all three"; printf '%s: no newline at the end' "\$1"; exit 0; fi
		sleep 0.1
	done
	echo "\$1 gave up waiting for the others"
	exit 1
	EOF
	jobs_plan coord s1=together.sh s2=together.sh s3=together.sh
	worker_in_w1 3
	cd coord
	run timeout 60 "$ORCH" -j 4
	expect_status 0
	cd ..
	# one worker held the three claims at once (claimed before any was done), renewed
	# past their first 3 s, and reported each
	expect_same claims "3 1 t" "$(rows "SELECT count(*) FILTER (WHERE state = 'done' AND exit = 0), count(DISTINCT worker), max(claimed_at) < min(done_at) FROM orch.claims" | tr '|' ' ')"
	grep -q "up to 3 at once" w1/worker.out
	for s in s1 s2 s3; do
		grep -qx "$s | $s saw all three" w1/worker.out || { cat w1/worker.out; false; }
		grep -qx "$s | $s: no newline at the end" w1/worker.out
		grep -q "$s saw all three" coord/.orch/logs/$s.log
	done
}

@test "workers: with -j 3, a lost lease stops only its step, a step killed is reported as such, and the third goes on" {
	T=$BATS_TEST_TMPDIR
	printf 'echo $$ > "%s/$1.pid"\nexec sleep 30\n' "$T" > "$T/hang.sh"
	# s3 ends once s1 and s2 have begun and both are gone (20 s at most)
	cat > "$T/after.sh" <<-EOF
	for i in \$(seq 200); do
		if [ -s "$T/s1.pid" ] && [ -s "$T/s2.pid" ] && ! kill -0 \$(cat "$T/s1.pid") 2>/dev/null &&
			! kill -0 \$(cat "$T/s2.pid") 2>/dev/null; then echo "s3 after s1 and s2"; exit 0; fi
		sleep 0.1
	done
	exit 1
	EOF
	jobs_plan coord s1=hang.sh s2=hang.sh s3=after.sh
	worker_in_w1 3
	(cd coord && exec "$ORCH" -j 4 -k > run.out 2>&1) &
	run_pid=$!
	for i in $(seq 100); do [ -s "$T/s1.pid" ] && [ -s "$T/s2.pid" ] && break; sleep 0.1; done
	[ -s "$T/s1.pid" ] && [ -s "$T/s2.pid" ] || { cat coord/run.out w1/worker.out; false; }
	# s1's lease taken from the worker (as the coordinator does when it runs out); s2's
	# process killed
	expect_same lost s1 "$(psql -X -At -q -d "$DB" -c "UPDATE orch.claims SET state = 'lost', done_at = now() WHERE step = 's1' AND state = 'running' RETURNING step")"
	kill -9 "$(cat "$T/s2.pid")"
	run_ends
	[ "$status" = 1 ] || { cat coord/run.out w1/worker.out; false; }
	expect_same claims "s1 lost - s2 done 137 s3 done 0" "$(rows "SELECT step, state, coalesce(exit::text, '-') FROM orch.claims ORDER BY step" | tr '|\n' '  ' | sed 's/ $//')"
	grep -q "lost the lease of step s1 (claim [0-9]*): stopping it" w1/worker.out || { cat w1/worker.out; false; }
	grep -q "s1 failed: interrupted on worker .*: its lease ran out" coord/run.out
	grep -q "s3 after s1 and s2" coord/.orch/logs/s3.log
	# the worker goes on
	kill -0 $workers
}

# worker_in_w1 J: a worker with label deploy and -j J in w1, with coord's Orchfile
# ($workers)
worker_in_w1() {
	mkdir w1
	cp coord/Orchfile w1/
	(cd w1 && exec "$ORCH" --worker --labels deploy -j "$1" > worker.out 2>&1) &
	workers=$!
}

# two_hang_on_a_worker: s1 and s2 hang on one worker with -j 2 ($workers), its pids in
# $T/s1.pid and $T/s2.pid, for a coordinator at -j 2 -k ($run_pid)
two_hang_on_a_worker() {
	printf 'echo $$ > "%s/$1.pid"\nexec sleep 30\n' "$T" > "$T/hang.sh"
	jobs_plan coord s1=hang.sh s2=hang.sh
	worker_in_w1 2
	(cd coord && exec "$ORCH" -j 2 -k > run.out 2>&1) &
	run_pid=$!
	for i in $(seq 100); do [ -s "$T/s1.pid" ] && [ -s "$T/s2.pid" ] && break; sleep 0.1; done
	[ -s "$T/s1.pid" ] && [ -s "$T/s2.pid" ] || { cat coord/run.out w1/worker.out; return 1; }
}

@test "workers: SIGTERM stops every step a worker with -j runs, and the worker ends" {
	T=$BATS_TEST_TMPDIR
	two_hang_on_a_worker
	kill -TERM $workers
	wait $workers && status=0 || status=$?
	workers=
	[ "$status" = 0 ] || { cat w1/worker.out; false; }
	! kill -0 "$(cat "$T/s1.pid")" 2>/dev/null
	! kill -0 "$(cat "$T/s2.pid")" 2>/dev/null
	# unreported, their leases run out: the coordinator records both interrupted
	run_ends
	[ "$status" = 1 ] || { cat coord/run.out; false; }
	expect_same claims "lost lost" "$(rows "SELECT state FROM orch.claims ORDER BY step" | xargs)"
}

@test "workers: --worker -j takes a number of at least 1" {
	for j in 0 x; do
		run_orch --worker -j "$j"
		expect_status 2
		expect_contains stderr "$stderr" "-j needs a number of at least 1, not '$j'"
	done
}

@test "workers: a worker whose connection breaks stops the steps it runs (it cannot hold their leases) and exits 5" {
	T=$BATS_TEST_TMPDIR
	two_hang_on_a_worker
	# the worker's session: the one whose last statement claimed or renewed
	expect_same ended t "$(rows "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'UPDATE orch.claims SET %worker = \$2%' OR query LIKE 'UPDATE orch.claims SET %worker = \$3%'")"
	# at once: not when its steps end (in 30 s)
	for i in $(seq 100); do kill -0 $workers 2>/dev/null || break; sleep 0.1; done
	! kill -0 $workers 2>/dev/null || { cat w1/worker.out; false; }
	wait $workers && status=0 || status=$?
	workers=
	[ "$status" = 5 ] || { cat w1/worker.out; false; }
	grep -q "lost the connection to .*: stopping 2 running steps" w1/worker.out || { cat w1/worker.out; false; }
	! kill -0 "$(cat "$T/s1.pid")" 2>/dev/null
	! kill -0 "$(cat "$T/s2.pid")" 2>/dev/null
	run_ends
	[ "$status" = 1 ] || { cat coord/run.out; false; }
	expect_same claims "lost lost" "$(rows "SELECT state FROM orch.claims ORDER BY step" | xargs)"
}
