#!/usr/bin/env bats
# The journal, signatures and resume: what reruns after an edit and what does not, torn
# and damaged journals, the plan lock, and the journal actions (skip, force, approve,
# reset, why, check). `helper state FILE` prints each node's state and reason as the
# engine sees them.

load lib

# ran: the steps that ran, in order (each step appends its name to ran.log)
ran() {
	if [ -f ran.log ]; then cat ran.log; fi
	rm -f ran.log
}

abc_plan() {
	cat > Orchfile <<-'EOF'
	[step a]
	run = cat in.txt > out.txt; echo a >> ran.log
	inputs = in.txt
	outputs = out.txt
	[step b]
	needs = a
	run = echo b >> ran.log
	[step c]
	run = echo c >> ran.log
	EOF
	echo one > in.txt
}

@test "a second run does nothing" {
	abc_plan
	run_orch
	expect_status 0
	expect_same ran "$(printf 'a\nb\nc')" "$(ran | sort)"
	run_orch
	expect_status 0
	expect_same ran "" "$(ran)"
	expect_contains output "$output$stderr" "up to date"
}

@test "editing an input reruns exactly that step and its dependents" {
	abc_plan
	run_orch
	expect_status 0
	ran > /dev/null
	echo two > in.txt
	run_orch -n
	expect_status 0
	expect_contains stdout "$output" "(input in.txt changed)"
	expect_contains stdout "$output" "(dependency a changed)"
	run_orch
	expect_status 0
	expect_same ran "$(printf 'a\nb')" "$(ran)"
	expect_same out.txt two "$(cat out.txt)"
}

@test "editing a run command reruns it and its dependents" {
	abc_plan
	run_orch
	expect_status 0
	ran > /dev/null
	sed -i 's/^run = echo c >> ran.log$/run = echo c >> ran.log; true/' Orchfile
	run_orch
	expect_status 0
	expect_same ran c "$(ran)"
	sed -i 's/^run = cat in.txt > out.txt; echo a >> ran.log$/run = cat in.txt >out.txt; echo a >> ran.log/' Orchfile
	run_orch
	expect_status 0
	expect_same ran "$(printf 'a\nb')" "$(ran)"
}

@test "touching a file without changing it reruns nothing" {
	abc_plan
	run_orch
	expect_status 0
	ran > /dev/null
	touch in.txt Orchfile
	run_orch
	expect_status 0
	expect_same ran "" "$(ran)"
	# the same bytes written again: still nothing
	echo one > in.txt
	run_orch
	expect_status 0
	expect_same ran "" "$(ran)"
}

@test "a missing output makes a done step run again" {
	abc_plan
	run_orch
	expect_status 0
	ran > /dev/null
	rm out.txt
	run_helper state Orchfile
	expect_status 0
	expect_contains stdout "$output" "a stale output out.txt missing"
	run_orch
	expect_status 0
	expect_same ran a "$(ran)"
}

@test "directories and globs as inputs: a file added, changed or removed is seen" {
	mkdir -p src/sub
	echo 1 > src/sub/x.ts
	echo 2 > src/y.ts
	cat > Orchfile <<-'EOF'
	[step build]
	run = echo build >> ran.log
	inputs = src *.json
	EOF
	echo '{}' > package.json
	run_orch
	expect_status 0
	ran > /dev/null
	echo 3 > src/sub/z.ts
	run_orch --why build
	expect_status 0
	expect_stdout <<-'EOF'
	build would run: it changed since it completed:
	  input src/sub/z.ts added
	EOF
	run_orch
	expect_status 0
	expect_same ran build "$(ran)"
	rm src/y.ts
	echo '{"a":1}' > package.json
	run_orch --why build
	expect_status 0
	expect_stdout <<-'EOF'
	build would run: it changed since it completed:
	  input package.json changed
	  input src/y.ts removed
	EOF
}

@test "the journal is JSON Lines a user can jq" {
	abc_plan
	run_orch
	expect_status 0
	run jq -r 'select(.ev == "ok") | "\(.v) \(.step) \(.sig | length) \(.exit) \(.user != null) \(.host != null)"' .orch/journal.jsonl
	expect_status 0
	expect_same oks "$(printf '2 a 32 0 true true\n2 b 32 0 true true\n2 c 32 0 true true')" "$(printf '%s\n' "$output" | sort)"
	run jq -r 'select(.ev == "ok" and .step == "b") | .deps | keys[]' .orch/journal.jsonl
	expect_same deps a "$output"
	run jq -r 'select(.ev == "ok" and .step == "a") | .inputs | keys[]' .orch/journal.jsonl
	expect_same inputs in.txt "$output"
}

@test "a torn last line is ignored with a warning and cut off" {
	abc_plan
	run_orch
	expect_status 0
	cp .orch/journal.jsonl good
	nlines=$(wc -l < good)
	printf '{"v":1,"t":"2026-11-26T05:12:00.123Z","ev":"ok","st' >> .orch/journal.jsonl
	ran > /dev/null
	run_orch
	expect_status 0
	expect_same ran "" "$(ran)"
	expect_contains stderr "$stderr" "warning: .orch/journal.jsonl:$((nlines + 1)): ignoring a torn last line"
	cmp good .orch/journal.jsonl
	# nothing left to warn about
	run_orch
	expect_status 0
	expect_same stderr-warnings "" "$(printf '%s\n' "$stderr" | grep warning || true)"
}

@test "a damaged middle line: exit 4 naming the line, the journal unchanged" {
	abc_plan
	run_orch
	expect_status 0
	sed -i '2s/.*/{"v":1,"t":"2026-11-26T05:12:00.123Z","ev":"ok","step":"a",}/' .orch/journal.jsonl
	printf '{"v":1,"t":"2026-11-26T05:12:00.123Z","ev":"torn' >> .orch/journal.jsonl
	cp .orch/journal.jsonl before
	ran > /dev/null
	run_orch
	expect_status 4
	expect_stderr <<-'EOF'
	orch: error: .orch/journal.jsonl:2: the journal is damaged: not JSON (string or '}' expected near '}' at column 60)
	orch: error: orch does not change a journal it cannot read: repair or remove that line, or move the file away to start over
	EOF
	cmp before .orch/journal.jsonl
	for action in "--skip c" "--force a" "--why a" "--reset --yes" "--check" "--status"; do
		run_orch $action
		expect_status 4
		expect_contains stderr "$stderr" "the journal is damaged: not JSON"
		cmp before .orch/journal.jsonl
	done
	expect_same ran "" "$(ran)"
	cmp before .orch/journal.jsonl
}

@test "a journal from a newer orch is not read" {
	abc_plan
	mkdir .orch
	echo '{"v":3,"t":"2026-11-26T05:12:00.123Z","ev":"ok","step":"a"}' > .orch/journal.jsonl
	echo '{"v":3,"t":"2026-11-26T05:12:00.123Z","ev":"ok","step":"b"}' >> .orch/journal.jsonl
	cp .orch/journal.jsonl before
	run_orch
	expect_status 4
	expect_contains stderr "$stderr" ".orch/journal.jsonl:1: the journal is damaged: format version 3, but this orch reads versions 1 to 2 (written by a newer orch)"
	cmp before .orch/journal.jsonl
}

@test "a complete last line that does not read is damage, not a torn write: exit 4, untouched" {
	abc_plan
	run_orch
	expect_status 0
	for bad in '{"v":2,"ev":' '{"v":1,"t":"2026-11-26T05:12:00.123Z","ev":"exploded","step":"a"}' \
	           '{"v":9,"t":"2026-11-26T05:12:00.123Z","ev":"ok","step":"a"}'; do
		cp .orch/journal.jsonl good
		printf '%s\n' "$bad" >> .orch/journal.jsonl
		cp .orch/journal.jsonl before
		run_orch
		expect_status 4
		expect_contains stderr "$stderr" ".orch/journal.jsonl:$(wc -l < before): the journal is damaged"
		cmp before .orch/journal.jsonl
		cp good .orch/journal.jsonl
	done
}

@test "a flipped bit in an event is found by its checksum: exit 4, untouched" {
	abc_plan
	run_orch
	expect_status 0
	# the exit status of step b's success, 0, becomes 1: valid JSON, a valid event
	sed -i '/"ev":"ok","step":"b"/s/"exit":0/"exit":1/' .orch/journal.jsonl
	cp .orch/journal.jsonl before
	ran > /dev/null
	run_orch
	expect_status 4
	expect_contains stderr "$stderr" "the journal is damaged: its checksum does not match its bytes"
	cmp before .orch/journal.jsonl
	expect_same ran "" "$(ran)"
}

@test "a journal of version 1 lines, without checksums, still loads" {
	abc_plan
	run_orch
	expect_status 0
	# the same events as an orch of format version 1 wrote them
	sed -i 's/^{"v":2,/{"v":1,/; s/,"ck":"[0-9a-f]*"}$/}/' .orch/journal.jsonl
	ran > /dev/null
	run_orch
	expect_status 0
	expect_same ran "" "$(ran)"
	expect_contains stdout "$output" "nothing to do"
}

@test "a second orch on the same plan exits 3 naming the first one's pid" {
	cat > Orchfile <<-'EOF'
	[step slow]
	run = touch started; sleep 5
	EOF
	"$ORCH" -s > /dev/null 2>&1 &
	pid=$!
	for i in $(seq 100); do [ -f started ] && break; sleep 0.05; done
	[ -f started ]
	run_orch
	kill -TERM $pid
	wait $pid || true
	expect_status 3
	expect_same stderr "orch: error: another orch (pid $pid) is running this plan (lock $PWD/.orch/lock)" "$stderr"
}

@test "a killed orch leaves no stale lock, and its running step runs again" {
	cat > Orchfile <<-'EOF'
	[step first]
	run = echo first >> ran.log
	[step slow]
	needs = first
	run = echo slow >> ran.log; echo $$ > slow.pgid; touch started; sleep 30
	EOF
	"$ORCH" -s > /dev/null 2>&1 &
	pid=$!
	for i in $(seq 100); do [ -f started ] && break; sleep 0.05; done
	[ -f started ]
	kill -KILL $pid
	wait $pid || true
	# the orphaned step (its own process group: its shell's pid) still holds no lock:
	# flock is released with orch. Then it goes too.
	kill -KILL -- "-$(cat slow.pgid)" 2>/dev/null || true
	run_helper state Orchfile
	expect_status 0
	expect_stdout <<-'EOF'
	first done up to date
	slow interrupted interrupted
	EOF
	sed -i 's/sleep 30/true/' Orchfile
	ran > /dev/null
	run_orch
	expect_status 0
	expect_same ran slow "$(ran)"
}

@test "--skip: a skipped step counts as done" {
	abc_plan
	run_orch --skip a
	expect_status 0
	expect_stdout <<-'EOF'
	skipped a (what needs it goes on; 'orch --force a' runs it again)
	EOF
	run_orch
	expect_status 0
	expect_same ran "$(printf 'b\nc')" "$(ran | sort)"
	run_orch --skip nosuch
	expect_status 2
	expect_same stderr "orch: error: --skip: no step 'nosuch' in Orchfile (see 'orch --list')" "$stderr"
}

@test "--force: the steps run again next time, and their dependents" {
	abc_plan
	run_orch
	expect_status 0
	ran > /dev/null
	run_orch --force a c
	expect_status 0
	expect_stdout <<-'EOF'
	a will run again
	c will run again
	EOF
	run_orch --why a
	expect_stdout <<-'EOF'
	a would run: forced
	EOF
	run_orch
	expect_status 0
	expect_same ran "$(printf 'a\nc')" "$(ran | sort)"
}

@test "--approve: only manual gates, only when what they need is done" {
	cat > Orchfile <<-'EOF'
	[step prep]
	run = echo prep >> ran.log
	[step gate]
	manual = yes
	needs = prep
	prompt = look at it
	[step after]
	needs = gate
	run = echo after >> ran.log
	EOF
	run_orch --approve prep
	expect_status 2
	# "it has run = ...", not "it has run", which reads as if prep had run
	expect_same stderr "orch: error: --approve: prep is not a manual gate (it has run = ...; 'orch --skip prep' marks a step done without running it)" "$stderr"
	run_orch --approve gate
	expect_status 1
	expect_same stderr "orch: error: cannot approve gate yet: it needs step prep, which is not done (never run)" "$stderr"
	run_helper record Orchfile ok prep
	expect_status 0
	run_orch --approve gate
	expect_status 0
	expect_same stdout "approved gate" "$output"
	run_orch --why gate
	expect_same stdout "gate is up to date: approved" "$output"
	run_orch --approve gate
	expect_status 0
	expect_same stdout "gate is already approved" "$output"
}

@test "--reset: needs --yes off a terminal, keeps the old journal" {
	abc_plan
	run_orch
	expect_status 0
	ran > /dev/null
	cp .orch/journal.jsonl old
	run_orch --reset < /dev/null
	expect_status 2
	expect_same stderr "orch: error: --reset forgets all progress: add --yes to confirm when not on a terminal" "$stderr"
	cmp old .orch/journal.jsonl
	run_orch --reset --yes
	expect_status 0
	expect_same stdout "forgot all progress of $(basename "$PWD"); the old journal is kept as .orch/journal.jsonl.1" "$output"
	cmp old .orch/journal.jsonl.1
	run jq -r .ev .orch/journal.jsonl
	expect_same events reset "$output"
	run_orch
	expect_status 0
	expect_same ran "$(printf 'a\nb\nc')" "$(ran | sort)"
	run_orch --reset --yes
	expect_status 0
	[ -f .orch/journal.jsonl.2 ]
}

@test "--why names the changed key, file or dependency" {
	abc_plan
	run_orch --why b
	expect_status 0
	expect_same stdout "b would run: never run" "$output"
	run_orch
	expect_status 0
	run_orch --why b
	expect_same stdout "b is up to date: its definition, inputs and dependencies are as when it completed" "$output"
	echo two > in.txt
	sed -i 's/^run = echo b >> ran.log$/run = echo B >> ran.log/' Orchfile
	run_orch --why b
	expect_status 0
	expect_stdout <<-'EOF'
	b would run: it changed since it completed:
	  run changed
	  dependency a changed
	EOF
	run_orch --why nosuch
	expect_status 2
}

@test "--check reports an applied SQL step that changed (on_change = error)" {
	cat > Orchfile <<-'EOF'
	[orch]
	name = tables
	[step tables]
	sql = 001.sql
	[step code]
	run = true
	EOF
	echo 'create table t ();' > 001.sql
	run_orch --check
	expect_status 0
	run_helper record Orchfile ok tables code
	expect_status 0
	run_orch --check
	expect_status 0
	echo 'create table t (id int);' > 001.sql
	run_orch --check
	expect_status 1
	# DATABASE_URL is unset here: the journal's word stands, and --check says a run needs one
	expect_same stderr "Orchfile:3: warning: step 'tables' has no database here: a run refuses it until DATABASE_URL, the step's database or [orch] database is set
orch: error: Orchfile:3: step 'tables' was applied and has changed since (sql changed); with on_change = error orch will not apply it again: roll it back, undo the change, 'orch --accept tables', or set on_change" "$stderr"
	run_helper state Orchfile
	expect_contains stdout "$output" "tables changed sql changed"
	expect_contains stdout "$output" "code done up to date"
}

@test "the stat cache: an unchanged file is not read again" {
	abc_plan
	touch -d '1 hour ago' in.txt
	# a file changed less than 2 s ago (its ctime too) is not cached: the racy-git rule
	sleep 2.1
	run_orch
	expect_status 0
	run_orch -n
	expect_status 0
	grep -q ' in.txt$' .orch/hashcache
	# a cache entry that lies about the contents is believed while the stat data match:
	# proof that the file was not read
	sed -i 's/^[0-9a-f]\{32\} \(.* in.txt\)$/00000000000000000000000000000000 \1/' .orch/hashcache
	run_helper state Orchfile
	expect_contains stdout "$output" "a stale input in.txt changed"
	# and a change to the file (new mtime) is seen whatever the cache says
	echo one > in.txt
	run_helper state Orchfile
	expect_contains stdout "$output" "a done up to date"
}

@test "--reset on a terminal asks first" {
	command -v script > /dev/null || skip "script(1) is not installed"
	abc_plan
	run_orch
	expect_status 0
	cp .orch/journal.jsonl old
	run bash -c "printf 'n\n' | script -qec '$ORCH --reset' /dev/null"
	expect_status 0
	expect_contains output "$output" "forget all progress of $(basename "$PWD")? (the journal is kept as a backup) [y/N]"
	expect_contains output "$output" "nothing was reset"
	cmp old .orch/journal.jsonl
	run bash -c "printf 'y\n' | script -qec '$ORCH --reset' /dev/null"
	expect_status 0
	expect_contains output "$output" "the old journal is kept as .orch/journal.jsonl.1"
	cmp old .orch/journal.jsonl.1
}

# z first, so its input is the stat cache's first line; a1, in phase a, holds in.txt;
# b1 runs after phase a (a barrier), the gate needs b1, c1 the gate
cone_plan() {
	cat > Orchfile <<-'EOF2'
	[phase a]
	[phase b]
	after = a
	[step z]
	run = true
	inputs = z.txt
	[step a1]
	phase = a
	run = true
	inputs = in.txt
	[step b1]
	phase = b
	run = true
	[step gate]
	manual = yes
	needs = b1
	[step c1]
	needs = gate
	run = true
	EOF2
	echo one > in.txt
	echo z > z.txt
	touch -d '1 hour ago' in.txt z.txt
}

# the field F of the last event of step S in the journal
last_field() {
	jq -r --arg s "$1" --arg f "$2" 'select(.step == $s) | .[$f] | if type == "object" then tojson else . end' \
		.orch/journal.jsonl | tail -1
}

@test "--approve, --skip, --force load only the step's cone: the signature a whole load gives" {
	cone_plan
	run_orch -s b1 z
	expect_status 0
	run_orch --approve gate
	expect_status 0
	# a whole load agrees with the signature the approval recorded: not stale
	run_orch --why gate
	expect_same stdout "gate is up to date: approved" "$output"
	run_orch -s c1
	expect_status 0
	ok_sig=$(last_field c1 sig)
	run_orch --skip c1
	expect_status 0
	expect_same "skip's sig" "$ok_sig" "$(last_field c1 sig)"
	run_orch --force b1
	expect_status 0
	expect_same "force's sig" "$(jq -r 'select(.step == "b1" and .ev == "ok") | .sig' .orch/journal.jsonl)" \
		"$(last_field b1 sig)"
}

@test "--force loads a cone: the stat cache keeps the other steps' files" {
	cone_plan
	# a file changed less than 2 s ago (its ctime too) is not cached
	sleep 2.1
	run_orch -s b1 z
	expect_status 0
	grep -q ' z.txt$' .orch/hashcache
	grep -q ' in.txt$' .orch/hashcache
	run_orch --force b1
	expect_status 0
	run_orch --skip a1
	expect_status 0
	grep -q ' z.txt$' .orch/hashcache
	grep -q ' in.txt$' .orch/hashcache
}

@test "an action's line at the end of a large journal is read as a tail: the index is not rewritten" {
	for i in $(seq 1500); do printf '[step s%d]\nrun = true\n' "$i"; done > Orchfile
	run_orch --baseline all --yes
	expect_status 0
	[ "$(stat -c %s .orch/journal.jsonl)" -gt $((256 * 1024)) ]
	before=$(cksum < .orch/journal.idx)
	run_orch --force s7
	expect_status 0
	expect_same index "$before" "$(cksum < .orch/journal.idx)"
	# the next load reads the index, then the line after it
	run_orch --why s7
	expect_same stdout "s7 would run: forced" "$output"
	run_orch --skip s8
	expect_status 0
	run_orch --why s8
	expect_contains stdout "$output" "s8 is skipped"
	run_orch --why s9
	expect_contains stdout "$output" "s9 is up to date"
}

@test "a compacted journal gets its own index: the run after the compaction reads it and does not write it again" {
	for i in $(seq 1 1800); do printf '[step s%d]\nrun = true\n' "$i"; done > Orchfile
	run_orch -j4 -s
	expect_status 0
	lines_before=$(wc -l < .orch/journal.jsonl)
	run_orch -s # compacts: 3,600 lines, twice the live part
	expect_status 0
	expect_same "lines after compaction" 1800 "$(wc -l < .orch/journal.jsonl)"
	[ "$lines_before" -eq 3600 ]
	index=$(cksum < .orch/journal.idx)
	run_orch -s
	expect_status 0
	expect_same stdout "" "$output"
	expect_same index "$index" "$(cksum < .orch/journal.idx)"
	run_orch --force s7
	expect_status 0
	run_orch --why s7
	expect_same stdout "s7 would run: forced" "$output"
	run_orch --why s8
	expect_contains stdout "$output" "s8 is up to date"
}
