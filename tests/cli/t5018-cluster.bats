#!/usr/bin/env bats
# A cluster (issue 18, docs/team.md): one PostgreSQL, a coordinator and three workers as
# separate processes in separate directories ("machines"), a fifth directory that looks
# and approves. A 200-step plan in ten lanes, its steps over labels a, b and none (the
# coordinator), a SQL step every twentieth, a gate. One worker is killed (kill -9) while
# it runs a step, another right after it claimed one and before it began it (it stops
# itself there: tests/faults.c's spawn-stop); each comes back, as a service manager
# would restart it. Every step completes, each SQL step is applied exactly once, each
# shell step ran once where its label says, the two interrupted ones again after their
# lost lease (on_interrupt = rerun), and --status from the fifth directory is the
# coordinator's.

load lib

FAULTS=${ORCH_FAULTS:-$(dirname "$ORCH_HELPER")/faults.so}

setup() { pg_setup cluster; }
teardown() {
	for p in ${workers:-} ${run_pid:-}; do kill -9 "$p" 2>/dev/null || true; done
	for f in victim.pid; do [ ! -s "$BATS_TEST_TMPDIR/$f" ] || kill -9 -- "-$(cat "$BATS_TEST_TMPDIR/$f")" 2>/dev/null || true; done
	pg_teardown
}

rows() { psql -X -At -d "$DB" -c "$1"; }

# label_of I: the label of step sI (a, b, or nothing: the coordinator)
label_of() {
	if [ $(($1 % 20)) = 0 ]; then echo ""; elif [ $(($1 % 3)) = 0 ]; then echo a; elif [ $(($1 % 3)) = 1 ]; then echo b; fi
}

# the plan in DIR: sI needs s(I-10); s33 (label a) hangs on its first attempt
cluster_plan() {
	local T=$BATS_TEST_TMPDIR i l
	mkdir -p "$1"
	{
		printf '[orch]\nname = cluster\nstate = database\n'
		printf '[step schema]\nsql = schema.sql\n'
		for i in $(seq 200); do
			printf '[step s%d]\nneeds = %s\n' "$i" "$([ "$i" -gt 10 ] && echo "s$((i - 10))" || echo schema)"
			l=$(label_of "$i")
			if [ $((i % 20)) = 0 ]; then
				printf 'sql = s%d.sql\n' "$i"
				echo "INSERT INTO applied VALUES ('s$i');" > "$1/s$i.sql"
			elif [ "$i" = 33 ]; then
				printf 'run = if [ -e %s/victim.first ]; then echo "s33 $(basename $PWD)" >> %s/ran.log; else touch %s/victim.first; echo $PPID > %s/victim.worker; echo $$ > %s/victim.pid; sleep 120; fi\n' "$T" "$T" "$T" "$T" "$T"
			else
				printf 'run = echo "s%d $(basename $PWD)" >> %s/ran.log\n' "$i" "$T"
			fi
			[ -z "$l" ] || printf 'runs_on = %s\non_interrupt = rerun\n' "$l"
		done
		printf '[step gate]\nneeds = s50\nmanual = yes\n'
		printf '[step after_gate]\nneeds = gate\nrun = echo after_gate >> %s/gate.log\n' "$T"
		printf '[step record]\nneeds = after_gate %s\nsql = record.sql\n' "$(seq -f 's%g' -s ' ' 191 200)"
	} > "$1/Orchfile"
	echo 'CREATE TABLE applied (step text PRIMARY KEY);' > "$1/schema.sql"
	echo "INSERT INTO applied VALUES ('record');" > "$1/record.sql"
}

# start_worker DIR LABELS [ENV...]: a worker in DIR; its pid in $last and $workers
start_worker() {
	local dir=$1 labels=$2
	shift 2
	(cd "$dir" && exec env "$@" "$ORCH" --worker --labels "$labels" >> worker.out 2>&1) &
	last=$!
	workers="${workers:-} $last"
}

# wait_for SECONDS COMMAND...: until COMMAND succeeds, or fail
wait_for() {
	local n=$(($1 * 10))
	shift
	for _ in $(seq "$n"); do "$@" && return 0; sleep 0.1; done
	echo "not within ${n}00 ms: $*"
	return 1
}

done_s50() { [ "$(rows "SELECT count(*) FROM orch.events WHERE event::jsonb->>'ev' = 'ok' AND event::jsonb->>'step' = 's50'")" = 1 ]; }
stopped() { [ "$(ps -o stat= -p "$1" | cut -c1)" = T ]; }

@test "cluster: 200 steps, a coordinator and three workers; one killed mid-step, one mid-claim: every step done, SQL exactly once" {
	for d in coord w1 w2 w3 w5; do cluster_plan "$d"; done
	start_worker w1 a
	local w1=$last
	# w2 stops itself once it has claimed its first step, before it begins it
	start_worker w2 b LD_PRELOAD="$FAULTS" ORCH_FAULT_OP=spawn-stop ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0"
	local w2=$last
	(cd coord && exec "$ORCH" -j 12 > run.out 2>&1) &
	run_pid=$!

	# mid-claim: its claim is a running row of w2, and nothing of it ran
	wait_for 60 stopped "$w2" || { cat coord/run.out w2/worker.out; false; }
	midclaim=$(rows "SELECT step FROM orch.claims WHERE state = 'running' AND worker LIKE '%:$w2'")
	[ -n "$midclaim" ] || { rows "SELECT step, state, worker FROM orch.claims"; false; }
	kill -9 "$w2"
	start_worker w2 b
	start_worker w3 a,b
	local w3=$last

	# mid-step: s33 runs its first attempt on w1 or w3
	wait_for 60 test -s "$BATS_TEST_TMPDIR/victim.pid" || { cat coord/run.out; false; }
	victim=$(cat "$BATS_TEST_TMPDIR/victim.worker")
	kill -9 "$victim"
	kill -9 -- "-$(cat "$BATS_TEST_TMPDIR/victim.pid")"
	case $victim in
	"$w1") start_worker w1 a ;;
	"$w3") start_worker w3 a,b ;;
	*) echo "s33 ran under $victim, not a worker"; false ;;
	esac

	# the gate, approved from the fifth directory once it waits
	wait_for 60 done_s50 || { tail -n 20 coord/run.out; false; }
	sleep 0.3
	# how long the running orch took, by the server's clock: from the request's row to
	# its answer (the row is gone after; a trigger keeps the two times)
	rows "CREATE TABLE answered (asked timestamptz, answered timestamptz);
	      CREATE FUNCTION keep_answer() RETURNS trigger LANGUAGE plpgsql AS
	        \$\$BEGIN INSERT INTO answered VALUES (NEW.at, NEW.answered_at); RETURN NEW; END\$\$;
	      CREATE TRIGGER keep_answer AFTER UPDATE ON orch.requests FOR EACH ROW EXECUTE FUNCTION keep_answer();" > /dev/null
	cd w5
	run_orch --approve gate
	expect_status 0
	expect_contains stdout "$output" "approved gate (recorded by the running orch"
	cd ..
	expect_same "answered within a second" t "$(rows "SELECT bool_and(answered - asked < interval '1 second') FROM answered")"

	wait "$run_pid" && status=0 || status=$?
	run_pid=
	[ "$status" = 0 ] || { tail -n 30 coord/run.out; false; }

	# every step done, seen from the fifth directory as from the coordinator
	cd w5
	run_orch --status
	expect_status 0
	expect_contains stdout "$output" "Plan cluster: 204 of 204 steps done (100%)"
	here=$output
	cd ../coord
	run_orch --status
	expect_same status "$here" "$output"
	cd ..

	# SQL steps exactly once: their rows, and one ok each
	expect_same applied 11 "$(rows "SELECT count(*) FROM applied")"
	expect_same "steps without exactly one ok" "" "$(rows "SELECT event::jsonb->>'step' FROM orch.events WHERE event::jsonb->>'ev' = 'ok' GROUP BY 1 HAVING count(*) <> 1")"
	# each shell step ran once, where its label says
	expect_same "ran twice" "" "$(cut -d' ' -f1 "$BATS_TEST_TMPDIR/ran.log" | sort | uniq -d)"
	expect_same shells 190 "$(wc -l < "$BATS_TEST_TMPDIR/ran.log")"
	while read -r step dir; do
		case $(label_of "${step#s}") in
		a) [[ $dir == w1 || $dir == w3 ]] ;;
		b) [[ $dir == w2 || $dir == w3 ]] ;;
		*) [[ $dir == coord ]] ;;
		esac || { echo "$step ran on $dir"; false; }
	done < "$BATS_TEST_TMPDIR/ran.log"
	# the two interrupted: a lost lease, then done on another worker (on_interrupt = rerun)
	expect_same s33 "lost done" "$(rows "SELECT state FROM orch.claims WHERE step = 's33' ORDER BY id" | xargs)"
	expect_same "$midclaim" "lost done" "$(rows "SELECT state FROM orch.claims WHERE step = '$midclaim' ORDER BY id" | xargs)"
	expect_same "$midclaim events" "fail ok" "$(rows "SELECT event::jsonb->>'ev' FROM orch.events WHERE event::jsonb->>'step' = '$midclaim' AND event::jsonb->>'ev' IN ('ok', 'fail') ORDER BY seq" | xargs)"
	expect_same gate after_gate "$(cat "$BATS_TEST_TMPDIR/gate.log")"
}
