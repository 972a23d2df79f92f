#!/usr/bin/env bats
# The plan's state in PostgreSQL ([orch] state = database | URL, docs/team.md): the
# journal's lines are rows of orch.events, the plan lock a session advisory lock with a
# holder row, and a second directory (a copy of the plan: "another machine") sees,
# approves, skips and forces through the same database.

load lib

setup() { pg_setup state; }
teardown() { pg_teardown; }

# team_plan DIR: a gate, a step after it, a slow independent step that keeps a run going
team_plan() {
	mkdir -p "$1"
	cat > "$1/Orchfile" <<-'EOF'
	[orch]
	name = team
	state = database
	[step gate]
	manual = yes
	[step after]
	needs = gate
	run = echo after >> ran.log
	[step slow]
	run = echo $$ > slow.pid; if [ -n "${UNTIL:-}" ]; then while [ ! -e "$UNTIL" ]; do sleep 0.05; done; else sleep ${SLOW:-0}; fi; echo slow >> ran.log
	[step later]
	needs = slow
	run = echo later >> ran.log
	EOF
}

rows() { psql -X -At -d "$DB" -c "$1"; }

# start_run DIR: a run in DIR in the background, until its slow step runs ($run_pid)
start_run() {
	(cd "$1" && exec "$ORCH" -j2 > run.out 2>&1) &
	run_pid=$!
	for i in $(seq 100); do [ -s "$1/slow.pid" ] && break; sleep 0.1; done
	[ -s "$1/slow.pid" ] || { cat "$1/run.out"; return 1; }
}

@test "state = database: the events are rows of orch.events, the same lines the file holds; run, resume and --status read them" {
	team_plan a
	cd a
	run_orch
	expect_status 1 # the gate waits
	expect_contains stderr "$stderr" "gate gate waits for approval"
	# nothing in .orch but logs and caches
	[ ! -e .orch/journal.jsonl ] && [ ! -e .orch/lock ]
	expect_same events "$(printf 'start\nok\nstart\nok')" "$(rows "SELECT event::jsonb->>'ev' FROM orch.events WHERE plan = 'team' ORDER BY line")"
	# each row is a journal line with its checksum, which a helper reads as the file's
	rows "SELECT event FROM orch.events ORDER BY line" > lines.jsonl
	[ "$(jq -r .v lines.jsonl | sort -u)" = 2 ]
	jq -e 'has("ck")' lines.jsonl > /dev/null
	run_orch --approve gate
	expect_status 0
	expect_same stdout "approved gate" "$output"
	run_orch
	expect_status 0
	expect_contains stdout "$output" "ok after"
	run_orch
	expect_status 0
	expect_contains stdout "$output" "nothing to do"
	run_orch --status
	expect_status 0
	expect_contains stdout "$output" "Plan team: 4 of 4 steps done (100%)"
	expect_contains stdout "$output" "State: orch.events[team] in database \"$DB\""
	expect_contains stdout "$output" "not locked (no orch runs the plan)"
	run_orch --status --json
	expect_status 0
	expect_same journal "orch.events[team]" "$(jq -r .state.journal <<<"$output")"
	expect_same holder null "$(jq -r .state.holder <<<"$output")"
	[ "$(rows "SELECT count(*) FROM orch.holders")" = 0 ]
}

@test "orch.events is append-only: UPDATE, DELETE and TRUNCATE are refused by the database" {
	team_plan a
	cd a
	run_orch
	expect_status 1 # the gate waits
	run psql -X -q -d "$DB" -c "UPDATE orch.events SET event = '{}'"
	[ "$status" -ne 0 ] && [[ $output == *"orch.events is append-only: UPDATE refused"* ]]
	run psql -X -q -d "$DB" -c "DELETE FROM orch.events"
	[ "$status" -ne 0 ] && [[ $output == *"append-only: DELETE refused"* ]]
	run psql -X -q -d "$DB" -c "TRUNCATE orch.events"
	[ "$status" -ne 0 ] && [[ $output == *"append-only: TRUNCATE refused"* ]]
	[ "$(rows "SELECT count(*) FROM orch.events")" = 4 ]
}

@test "a damaged row is refused (exit 4 naming its line) and nothing is appended" {
	team_plan a
	cd a
	run_orch
	expect_status 1 # the gate waits
	rows "ALTER TABLE orch.events DISABLE TRIGGER events_append_only; UPDATE orch.events SET event = replace(event, '\"ok\"', '\"fail\"') WHERE line = 2" > /dev/null
	run_orch
	expect_status 4
	expect_contains stderr "$stderr" "orch.events[team]:2: the journal is damaged: its checksum does not match"
	run_orch --status
	expect_status 4
	[ "$(rows "SELECT count(*) FROM orch.events")" = 4 ]
	# a deleted row is a missing line
	rows "DELETE FROM orch.events WHERE line = 2" > /dev/null
	run_orch --approve gate
	expect_status 4
	expect_contains stderr "$stderr" "orch.events[team]:2: the journal is damaged: line 2 is missing"
	[ "$(rows "SELECT count(*) FROM orch.events")" = 3 ]
}

@test "a row holding two lines (a newline put in it) is refused naming that row, not taken for two events" {
	team_plan a
	cd a
	run_orch
	expect_status 1 # the gate waits
	# row 2 made two lines, each a valid line with its checksum (row 4's copied after it)
	rows "ALTER TABLE orch.events DISABLE TRIGGER events_append_only; UPDATE orch.events SET event = event || E'\\n' || (SELECT event FROM orch.events WHERE line = 4) WHERE line = 2" > /dev/null
	run_orch --status
	expect_status 4
	expect_contains stderr "$stderr" "orch.events[team]:2: the journal is damaged: the row holds more than one line"
	run_orch
	expect_status 4
	expect_contains stderr "$stderr" "orch.events[team]:2: the journal is damaged"
	# a later damaged row is named by its own line, not shifted by the extra one
	rows "UPDATE orch.events SET event = split_part(event, E'\\n', 1) WHERE line = 2; UPDATE orch.events SET event = replace(event, '\"ok\"', '\"fail\"') WHERE line = 4" > /dev/null
	run_orch --status
	expect_status 4
	expect_contains stderr "$stderr" "orch.events[team]:4: the journal is damaged: its checksum does not match"
	expect_contains stderr "$stderr" "line = 4"
	[ "$(rows "SELECT count(*) FROM orch.events")" = 4 ]
}

@test "a step runs only once its start is a row: orch killed by the step itself leaves the start for the next run" {
	team_plan a
	cd a
	cat > Orchfile <<-'EOF'
	[orch]
	name = team
	state = database
	[step a]
	run = [ -e a.pid ] || { echo $$ > a.pid; kill -9 $PPID; i=0; while [ ! -e go ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done; }; echo a >> ran.log
	EOF
	run_orch --state-export=- # makes the tables
	# the start's INSERT takes half a second: long after the step could have run
	rows "CREATE FUNCTION slow_start() RETURNS trigger LANGUAGE plpgsql AS \$\$BEGIN IF NEW.event LIKE '%\"ev\":\"start\"%' THEN PERFORM pg_sleep(0.5); END IF; RETURN NEW; END\$\$" > /dev/null
	rows "CREATE TRIGGER slow_start BEFORE INSERT ON orch.events FOR EACH ROW EXECUTE FUNCTION slow_start()" > /dev/null
	run_orch
	expect_status 137
	# the step ran, and its start was a row before it did
	[ -s a.pid ]
	expect_same starts 1 "$(rows "SELECT count(*) FROM orch.events WHERE event::jsonb->>'ev' = 'start'")"
	expect_same pid "$(cat a.pid)" "$(rows "SELECT event::jsonb->>'pgid' FROM orch.events WHERE event::jsonb->>'ev' = 'start'")"
	# so the next run waits for it rather than run it beside itself (then runs it again:
	# how the killed orch's copy ended is not known)
	# (the copy goes on until the test says so, once the next run has seen it)
	"$ORCH" > next.out 2> next.err &
	local next=$! rc=0
	for i in $(seq 300); do grep -q "still running" next.err && break; sleep 0.1; done
	touch go
	wait "$next" || rc=$?
	expect_same "exit status" 0 "$rc"
	expect_contains stderr "$(cat next.err)" "step a is still running from an earlier orch (pid $(cat a.pid)"
	expect_same ran "$(printf 'a\na')" "$(cat ran.log)"
}

@test "the lock: a second machine's run exits 3 naming who holds it; --status there shows the holder" {
	team_plan a
	team_plan b
	# slow runs until the test has looked (a fixed time was too short on a busy machine)
	export UNTIL=$BATS_TEST_TMPDIR/go
	start_run a
	cd b
	run_orch
	expect_status 3
	expect_contains stderr "$stderr" "another orch ($(id -un)@$(hostname), pid $run_pid, since "
	expect_contains stderr "$stderr" "last heartbeat "
	expect_contains stderr "$stderr" "is running this plan (its state is in database \"$DB\""
	run_orch --status
	expect_status 0
	expect_contains stdout "$output" "locked by $(id -un)@$(hostname), pid $run_pid, since "
	expect_contains stdout "$output" "Running (orch $(id -un)@$(hostname), pid $run_pid"
	expect_contains stdout "$output" "slow"
	run_orch --status --json
	expect_same pid "$run_pid" "$(jq -r .live_run.pid <<<"$output")"
	[[ $(jq -r .state.holder <<<"$output") == *"pid $run_pid"* ]]
	[ "$(rows "SELECT pid FROM orch.holders WHERE plan = 'team'")" = "$run_pid" ]
	touch "$UNTIL"
	rc=0; wait "$run_pid" || rc=$?
	[ "$rc" = 1 ] # the gate waits
	[ "$(rows "SELECT count(*) FROM orch.holders")" = 0 ]
}

@test "an approval from another directory unblocks the running plan within a second" {
	team_plan a
	team_plan b
	export SLOW=4
	start_run a
	cd b
	SECONDS=0
	run_orch --approve gate
	expect_status 0
	expect_contains stdout "$output" "approved gate (recorded by the running orch, $(id -un)@$(hostname), pid $run_pid"
	[ "$SECONDS" -le 1 ]
	# the gate's step ran in the first directory while slow still ran
	for i in $(seq 60); do [ -s ../a/ran.log ] && break; sleep 0.05; done
	[ "$(head -n 1 ../a/ran.log)" = after ] || { cat ../a/ran.log ../a/run.out; false; }
	wait "$run_pid"
	expect_same ran "$(printf 'after\nslow\nlater')" "$(cat ../a/ran.log)"
	grep -q 'approved gate' ../a/run.out
	who=$(rows "SELECT event::jsonb->>'by' FROM orch.events WHERE event::jsonb->>'ev' = 'approve'")
	[[ $who == *@* ]]
	[ "$(rows "SELECT count(*) FROM orch.requests")" = 0 ]
	run_orch --status
	expect_contains stdout "$output" "Plan team: 4 of 4 steps done (100%)"
}

@test "--skip and --force from another directory, with no orch running, record in the database" {
	team_plan a
	team_plan b
	(cd a && "$ORCH" > /dev/null 2>&1) || true
	cd b
	run_orch --skip gate
	expect_status 0
	expect_contains stdout "$output" "skipped gate"
	run_orch --force slow
	expect_status 0
	run_orch --status
	expect_contains stdout "$output" "1 of 4 steps done"
	cd ../a
	run_orch
	expect_status 0
	expect_contains stdout "$output" "ok slow"
	expect_contains stdout "$output" "ok after"
	expect_same events "$(printf 'start\nok\nstart\nok\nskip\nforce')" \
		"$(rows "SELECT event::jsonb->>'ev' FROM orch.events ORDER BY line LIMIT 6")"
	expect_same "skip's by" "$(id -un)@$(hostname)" "$(rows "SELECT event::jsonb->>'by' FROM orch.events WHERE line = 5")"
}

@test "kill -9 of orch mid-run: the lock dies with it, and the next run resumes from the rows" {
	team_plan a
	cd a
	SLOW=30 "$ORCH" -j2 > run.out 2>&1 &
	pid=$!
	for i in $(seq 100); do [ -s slow.pid ] && break; sleep 0.1; done
	[ -s slow.pid ]
	# the start is a row before the step runs long
	for i in $(seq 20); do [ "$(rows "SELECT count(*) FROM orch.events WHERE event::jsonb->>'ev' = 'start'")" = 1 ] && break; sleep 0.1; done
	kill -9 "$pid"
	wait "$pid" || true
	# the step's process group goes too (else the next orch waits for it: t3004)
	kill -- "-$(cat slow.pid)" 2>/dev/null || true
	for i in $(seq 50); do kill -0 -- "-$(cat slow.pid)" 2>/dev/null || break; sleep 0.1; done
	# the server drops the dead connection's lock; the row stays, shown as gone
	for i in $(seq 50); do [ "$(rows "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")" = 0 ] && break; sleep 0.1; done
	run_orch --status
	expect_status 0
	expect_contains stdout "$output" "not locked"
	expect_contains stdout "$output" "Interrupted"
	rm slow.pid
	SLOW=0 run_orch -j2
	expect_status 1 # the gate waits
	expect_contains stdout "$output" "ok slow"
	expect_contains stdout "$output" "ok later"
	run_orch --status
	expect_contains stdout "$output" "2 of 4 steps done"
	# slow: started, killed (its start read as interrupted), started again, ok
	expect_same slow "$(printf 'start\nstart\nok')" \
		"$(rows "SELECT event::jsonb->>'ev' FROM orch.events WHERE event::jsonb->>'step' = 'slow' ORDER BY line")"
}

@test "state = database needs [orch] name and a database; a password in state = URL is never printed" {
	cat > Orchfile <<-'EOF'
	[orch]
	state = database
	[step a]
	run = true
	EOF
	run_orch --check
	expect_status 2
	expect_contains stderr "$stderr" "Orchfile:2: state = database keeps the plan's journal in a database, and the plan has no [orch] name"
	cat > Orchfile <<-'EOF'
	[orch]
	name = p
	state = database
	[step a]
	run = true
	EOF
	unset DATABASE_URL
	run_orch
	expect_status 2
	expect_contains stderr "$stderr" "Orchfile:3: state = database, but the plan has no database"
	cat > Orchfile <<-'EOF'
	[orch]
	name = p
	state = postgresql://ana:s3cret@127.0.0.1:1/nope
	[step a]
	run = true
	EOF
	run_orch
	expect_status 5
	expect_contains stderr "$stderr" "cannot reach the plan's state"
	[[ $stderr != *s3cret* ]]
	run_orch --status
	expect_status 4
	[[ $stderr != *s3cret* ]] && [[ $output != *s3cret* ]]
}

@test "state = URL: a separate database; each target's journal apart" {
	psql -X -q -d postgres -c "DROP DATABASE IF EXISTS ${DB}_st" -c "CREATE DATABASE ${DB}_st"
	cat > Orchfile <<-EOF
	[orch]
	name = tp
	state = postgresql:///${DB}_st
	[target staging]
	[target prod]
	[step a]
	run = echo a
	EOF
	run_orch --target staging
	expect_status 0
	run_orch --target prod
	expect_status 0
	run_orch --target prod
	expect_status 0
	expect_contains stdout "$output$stderr" "nothing to do"
	expect_same targets "$(printf 'prod|2\nstaging|2')" \
		"$(psql -X -At -d ${DB}_st -c "SELECT target, count(*) FROM orch.events GROUP BY target ORDER BY target")"
	[ "$(rows "SELECT to_regclass('orch.events') IS NULL")" = t ]
	psql -X -q -d postgres -c "DROP DATABASE ${DB}_st WITH (FORCE)"
}

# file_plan: team_plan in the working directory with the journal in .orch (no state)
file_plan() {
	team_plan .
	sed -i '/^state = database$/d' Orchfile
}

@test "--state-import moves a file journal into the database; again is a no-op; another plan's rows are not overwritten" {
	file_plan
	run_orch
	expect_status 1 # the gate waits
	run_orch --approve gate
	expect_status 0
	run_orch --status
	before=$(grep -v '^Last activity\|^State' <<<"$output")
	nlines=$(wc -l < .orch/journal.jsonl)
	sed -i 's/^name = team$/name = team\nstate = database/' Orchfile
	run_orch --state-import
	expect_status 0
	expect_contains stdout "$output" "imported $nlines events of $PWD/.orch/journal.jsonl into orch.events[team]"
	expect_same rows "$(cat .orch/journal.jsonl)" "$(rows "SELECT event FROM orch.events ORDER BY line")"
	run_orch --status
	expect_status 0
	expect_same status "$before" "$(grep -v '^Last activity\|^State' <<<"$output")"
	run_orch --state-import
	expect_status 0
	expect_contains stdout "$output" "already holds the $nlines events"
	# the database goes on from there
	run_orch
	expect_status 0
	expect_contains stdout "$output" "ok after"
	run_orch --state-import
	expect_status 1
	expect_contains stderr "$stderr" "--state-import: orch.events[team] already holds $((nlines + 2)) events of plan team, not those of"
	[ "$(rows "SELECT count(*) FROM orch.events")" = $((nlines + 2)) ]
}

@test "--state-import refuses a damaged journal file and imports nothing" {
	file_plan
	run_orch
	expect_status 1
	sed -i '2s/"ok"/"fail"/' .orch/journal.jsonl
	sed -i 's/^name = team$/name = team\nstate = database/' Orchfile
	run_orch --state-import
	expect_status 4
	expect_contains stderr "$stderr" "journal.jsonl:2: the journal is damaged"
	[ "$(rows "SELECT to_regclass('orch.events') IS NULL")" = t ]
}

@test "--state-export moves the database's journal back to a file, which orch reads once state is removed" {
	team_plan a
	cd a
	run_orch
	expect_status 1
	run_orch --approve gate
	expect_status 0
	run_orch --status
	before=$(grep -v '^Last activity\|^State' <<<"$output")
	run_orch --state-export=-
	expect_status 0
	expect_same stdout "$(rows "SELECT event FROM orch.events ORDER BY line")" "$output"
	run_orch --state-export
	expect_status 0
	expect_contains stdout "$output" "exported 5 events of orch.events[team] (database \"$DB\""
	expect_same file "$(rows "SELECT event FROM orch.events ORDER BY line")" "$(cat .orch/journal.jsonl)"
	run_orch --state-export
	expect_status 0
	expect_contains stdout "$output" "already holds the 5 events"
	# the file may come as the next word, as with --report and --changelog
	run_orch --state-export -
	expect_status 0
	expect_same stdout "$(rows "SELECT event FROM orch.events ORDER BY line")" "$output"
	run_orch --state-export copy.jsonl
	expect_status 0
	expect_contains stdout "$output" "to copy.jsonl"
	expect_same file "$(cat .orch/journal.jsonl)" "$(cat copy.jsonl)"
	sed -i '/^state = database$/d' Orchfile
	run_orch --status
	expect_status 0
	expect_same status "$before" "$(grep -v '^Last activity' <<<"$output")"
	run_orch
	expect_status 0
	expect_contains stdout "$output" "ok after"
	[ "$(wc -l < .orch/journal.jsonl)" = 7 ]
	# a file that is not the database's journal is not overwritten
	sed -i 's/^name = team$/name = team\nstate = database/' Orchfile
	run_orch --state-export
	expect_status 1
	expect_contains stderr "$stderr" "journal.jsonl exists and is not the database's journal"
	[ "$(wc -l < .orch/journal.jsonl)" = 7 ]
}

@test "--why reads a completion's parts from its row; --reset starts journal 1 and keeps journal 0's rows" {
	team_plan a
	cd a
	run_orch
	expect_status 1
	sed -i 's/^run = echo later >> ran.log$/run = echo LATER >> ran.log/' Orchfile
	run_orch --why later
	expect_status 0
	expect_contains stdout "$output" "run changed"
	run_orch --reset --yes
	expect_status 0
	expect_same stdout "forgot all progress of team; the old journal is kept in orch.events[team] as journal 0" "$output"
	expect_same journals "$(printf '0|4\n1|1')" "$(rows "SELECT journal, count(*) FROM orch.events GROUP BY journal ORDER BY journal")"
	expect_same reset reset "$(rows "SELECT event::jsonb->>'ev' FROM orch.events WHERE journal = 1")"
	run_orch --status
	expect_contains stdout "$output" "0 of 4 steps done"
	run_orch
	expect_status 1
	[ "$(rows "SELECT count(*) FROM orch.events WHERE journal = 1")" = 5 ]
}

@test "a SQL step with the state in its database: its registry row and its ok are one transaction; what the journal lacks the registry records" {
	mkdir a && cd a
	echo 'CREATE TABLE accounts (id int, balance int); INSERT INTO accounts VALUES (1, 100);' > 001.sql
	cat > Orchfile <<-'EOF'
	[orch]
	name = bank
	state = database
	[step accounts]
	sql = 001.sql
	[step report]
	needs = accounts
	run = echo report
	EOF
	# the step's ok fails to be written: its transaction, registry row and table with it
	rows "CREATE FUNCTION no_ok() RETURNS trigger LANGUAGE plpgsql AS \$\$BEGIN IF NEW.event LIKE '%\"ev\":\"ok\"%' THEN RAISE EXCEPTION 'no ok today'; END IF; RETURN NEW; END\$\$"
	run_orch --state-export=- # makes the tables: nothing to export yet
	expect_status 0
	rows "CREATE TRIGGER no_ok BEFORE INSERT ON orch.events FOR EACH ROW EXECUTE FUNCTION no_ok()"
	run_orch
	expect_status 5
	expect_contains stderr "$stderr" "cannot record progress in orch.events[bank]: the step's transaction with its events"
	expect_contains stderr "$stderr" "no ok today"
	[ "$(rows "SELECT to_regclass('accounts') IS NULL")" = t ]
	[ "$(rows "SELECT count(*) FROM orch.registry")" = 0 ]
	rows "DROP TRIGGER no_ok ON orch.events" > /dev/null
	run_orch
	expect_status 0
	expect_contains stdout "$output" "ok accounts"
	[ "$(rows "SELECT count(*) FROM orch.registry WHERE plan = 'bank' AND step = 'accounts'")" = 1 ]
	# the registry row and the ok row: written by one transaction
	expect_same xmin "$(rows "SELECT xmin FROM orch.registry WHERE step = 'accounts'")" \
		"$(rows "SELECT xmin FROM orch.events WHERE event::jsonb->>'step' = 'accounts' AND event::jsonb->>'ev' = 'ok'")"
	expect_same events "$(printf 'accounts start\naccounts start\naccounts ok\nreport start\nreport ok')" \
		"$(rows "SELECT event::jsonb->>'step' || ' ' || (event::jsonb->>'ev') FROM orch.events ORDER BY line")"
	# a journal without the step's ok (a new one: --reset), the registry has it: not applied again
	run_orch --reset --yes
	expect_status 0
	run_orch
	expect_status 0
	[ "$(rows "SELECT count(*) FROM accounts")" = 1 ]
	[ "$(rows "SELECT count(*) FROM orch.events WHERE journal = 1 AND event::jsonb->>'step' = 'accounts' AND event::jsonb->>'ev' = 'ok'")" = 1 ]
	run_orch --status
	expect_contains stdout "$output" "2 of 2 steps done"
}

@test "--promote and --report from another directory: the running orch ends the hold; the report reads the rows" {
	for d in a b; do
		mkdir -p $d
		cat > $d/Orchfile <<-'EOF'
		[orch]
		name = rollout
		state = database
		[step deploy]
		run = true
		hold = 1h
		[step after]
		needs = deploy
		run = touch after
		EOF
	done
	(cd a && exec "$ORCH" > run.out 2>&1) &
	pid=$!
	for i in $(seq 100); do grep -q "holding deploy for 1h" a/run.out 2>/dev/null && break; sleep 0.1; done
	cd b
	run_orch --report
	expect_status 0
	grep -q deploy .orch/report.html
	run_orch --promote deploy --reason "metrics look fine"
	expect_status 0
	expect_contains stdout "$output" "promoted deploy (recorded by the running orch, $(id -un)@$(hostname), pid $pid"
	wait "$pid"
	[ -e ../a/after ]
	expect_same msg "metrics look fine" \
		"$(rows "SELECT event::jsonb->>'msg' FROM orch.events WHERE event::jsonb->>'ev' = 'ok' AND event::jsonb->>'step' = 'deploy'")"
	run_orch --status
	expect_contains stdout "$output" "2 of 2 steps done"
}

@test "the state connection lost mid-run: the lock went with it, so nothing more is recorded or started (exit 5)" {
	team_plan a
	cd a
	SLOW=2 "$ORCH" -j2 > run.out 2>&1 &
	pid=$!
	for i in $(seq 100); do [ -s slow.pid ] && break; sleep 0.1; done
	for i in $(seq 50); do [ "$(rows "SELECT count(*) FROM orch.holders")" = 1 ] && break; sleep 0.1; done
	[ "$(rows "SELECT count(pg_terminate_backend(backend)) FROM orch.holders")" = 1 ]
	rc=0; wait "$pid" || rc=$?
	[ "$rc" = 5 ] || { cat run.out; false; }
	grep -q "lost the connection to database \"$DB\"" run.out
	grep -q "cannot record progress in orch.events\[team\]" run.out
	grep -q "once database \"$DB\" on host .* is reachable and writable again, run orch again" run.out
	# slow's success was not recorded, later never started
	[ ! -e ran.log ] || ! grep -q later ran.log
	[ "$(rows "SELECT count(*) FROM orch.events WHERE event::jsonb->>'step' = 'later'")" = 0 ]
	run_orch --status
	expect_status 0
	expect_contains stdout "$output" "not locked"
}

@test "the lock lost while a SQL step runs: its dependent never starts, and the next run applies nothing twice" {
	mkdir a && cd a
	# the step itself ends the state connection (the lock's) on its way, the first time
	# (a sequence: not rolled back with the step)
	rows "CREATE SEQUENCE once" > /dev/null
	echo "CREATE TABLE t (x int); SELECT pg_terminate_backend(backend) FROM orch.holders WHERE nextval('once') = 1;" > 1.sql
	cat > Orchfile <<-'EOF'
	[orch]
	name = lost
	state = database
	[step a]
	sql = 1.sql
	[step b]
	needs = a
	run = echo b >> ran.log
	EOF
	run_orch
	expect_status 5
	# a's COMMIT went through before the loss was seen (then b is what is not done), or
	# after (then a rolled back): either way b did not start
	grep -Eq "not recorded, so not done \(they run again next time\): (a|b)$" <<<"$stderr"
	# where, once: the server's error names the database already
	grep -q 'cannot record progress in orch.events\[lost\]' <<<"$stderr"
	! grep 'cannot record progress.*database ".*database "' <<<"$stderr"
	[ ! -e ran.log ]
	[ "$(rows "SELECT count(*) FROM orch.events WHERE event::jsonb->>'step' = 'b'")" = 0 ]
	run_orch
	expect_status 0
	expect_same ran b "$(cat ran.log)"
	[ "$(rows "SELECT count(*) FROM orch.registry WHERE step = 'a'")" = 1 ]
}

@test "a step an orch on another machine started and left is not run again here until someone says it is not running" {
	team_plan a
	cd a
	SLOW=30 "$ORCH" -j2 > run.out 2>&1 &
	pid=$!
	for i in $(seq 100); do [ -s slow.pid ] && break; sleep 0.1; done
	for i in $(seq 20); do [ "$(rows "SELECT count(*) FROM orch.events WHERE event::jsonb->>'ev' = 'start'")" = 1 ] && break; sleep 0.1; done
	kill -9 "$pid"
	wait "$pid" || true
	kill -- "-$(cat slow.pid)" 2>/dev/null || true
	# the start row as an orch on another machine would have written it
	start=$(rows "SELECT event FROM orch.events WHERE event::jsonb->>'ev' = 'start'")
	body=$(sed 's/,"ck":"[0-9a-f]*"}$/}/; s/"host":"[^"]*"/"host":"deploy-7"/' <<<"$start")
	line=$("$ORCH_HELPER" ck "$body")
	psql -X -q -d "$DB" -v line="$line" <<-'SQL'
	ALTER TABLE orch.events DISABLE TRIGGER events_append_only;
	UPDATE orch.events SET event = :'line' WHERE event::jsonb->>'ev' = 'start';
	ALTER TABLE orch.events ENABLE TRIGGER events_append_only;
	SQL
	rm -f slow.pid ran.log
	SLOW=0 run_orch
	expect_status 3
	expect_contains stderr "$stderr" "step slow was started on host deploy-7 (pid "
	expect_contains stderr "$stderr" "by an orch that is gone; from here orch cannot tell whether it still runs there"
	expect_contains stderr "$stderr" "'orch --force slow' to run it again here"
	[ ! -e ran.log ]
	run_orch --force slow
	expect_status 0
	SLOW=0 run_orch
	expect_status 1 # the gate waits
	expect_contains stdout "$output" "ok slow"
}

@test "--status --json from another directory is the status of the directory that ran; --force there while it runs is locked" {
	team_plan a
	team_plan b
	export UNTIL=$BATS_TEST_TMPDIR/go
	start_run a
	cd b
	run_orch --force slow
	expect_status 3
	expect_contains stderr "$stderr" "another orch ($(id -un)@$(hostname), pid $run_pid, since "
	touch "$UNTIL"
	rc=0; wait "$run_pid" || rc=$?
	[ "$rc" = 1 ]
	run_orch --status --json
	expect_status 0
	here=$(jq -S 'del(.generated_at, .file)' <<<"$output")
	cd ../a
	run_orch --status --json
	expect_status 0
	expect_same "status --json" "$(jq -S 'del(.generated_at, .file)' <<<"$output")" "$here"
	[ "$(jq -r '.steps | length' <<<"$here")" = 4 ]
}

@test "each row names its author, and the changelog made from the rows in another directory says who ran what" {
	team_plan a
	(cd a && ORCH_AUTHOR="Ada Lovelace" "$ORCH" > run.out 2>&1) || true
	expect_same authors "Ada Lovelace" \
		"$(rows "SELECT DISTINCT event::jsonb->>'author' FROM orch.events WHERE plan = 'team'")"
	team_plan b
	cd b
	run_orch --changelog
	expect_status 0
	expect_contains changelog "$(cat CHANGELOG.md)" "Ada Lovelace"
	cmp CHANGELOG.md ../a/CHANGELOG.md
}

@test "changelog with the state in the database: after --reset the kept journal's runs stay, the same from another directory" {
	for d in a b; do
		mkdir -p $d
		printf '[orch]\nname = chg\nstate = database\nchangelog = CHANGELOG.md\n[step one]\nrun = true\n' > $d/Orchfile
	done
	cd a
	run_orch
	expect_status 0
	run_orch --reset --yes
	expect_status 0
	run_orch
	expect_status 0
	expect_same "runs" 3 "$(grep -c '^## Run ' CHANGELOG.md)"
	expect_same "successes" 2 "$(grep -c 'success.* `one`' CHANGELOG.md)"
	grep -q 'The journal was started again here' CHANGELOG.md
	head -n 1 CHANGELOG.md | grep -q 'Written by orch from orch.events;'
	cd ../b
	run_orch --changelog
	expect_status 0
	cmp CHANGELOG.md ../a/CHANGELOG.md
}
