#!/usr/bin/env bats
# Disk faults while orch records progress: a full disk, a short write, a failing fsync,
# a .orch that cannot be written. Nothing is acted on that is not recorded: no
# dependent starts, nothing is reported done, orch exits 5, the journal holds only
# whole lines, and the next run does exactly what is left. The faults come from
# tests/faults.c, preloaded into orch alone.

load lib

FAULTS=${ORCH_FAULTS:-$(dirname "$ORCH_HELPER")/faults.so}

# with_fault OP PATH [VAR=value...] -- orch args: run orch with the shim
with_fault() {
	local op=$1 path=$2
	shift 2
	local vars=()
	while [ "$1" != "--" ]; do vars+=("$1"); shift; done
	shift
	run --separate-stderr env "${vars[@]}" ORCH_FAULT_OP="$op" ORCH_FAULT_PATH="$path" \
		ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" LD_PRELOAD="$FAULTS" "$ORCH" "$@"
}

# chain N: steps s1 ... sN, each needing the one before, each appending its name to ran.log
chain() {
	for i in $(seq 1 "$1"); do
		printf '[step s%d]\nrun = echo s%d >> ran.log\n' "$i" "$i"
		[ "$i" -gt 1 ] && printf 'needs = s%d\n' $((i - 1))
	done > Orchfile
}

# every line of the journal is a whole JSON object, and the file ends with a newline
journal_whole() {
	[ "$(tail -c 1 .orch/journal.jsonl | od -An -c | tr -d ' ')" = '\n' ] || { echo "no newline at the end"; return 1; }
	jq -e -c . .orch/journal.jsonl > /dev/null || { echo "a line is not JSON"; return 1; }
}

oks() {
	jq -r 'select(.ev == "ok") | .step' .orch/journal.jsonl | sort | tr '\n' ' '
}

setup_file() {
	[ -f "$FAULTS" ] || { echo "no fault shim at $FAULTS (make units builds it)" >&2; return 1; }
}

@test "full disk: the step whose start cannot be recorded does not run, nothing after it starts, exit 5" {
	chain 8
	# 6 events fit: start and ok of s1, s2, s3; s4's start does not: its script waits at
	# its gate for the record, and never runs
	with_fault write journal.jsonl ORCH_FAULT_AFTER=6 -- -j2
	expect_status 5
	expect_contains stderr "$stderr" "orch: error: writing .orch/journal.jsonl: No space left on device"
	expect_contains stderr "$stderr" "progress could not be recorded in .orch/journal.jsonl, so orch stopped starting steps"
	expect_contains stderr "$stderr" "not recorded, so not done (they run again next time): s4"
	[[ $output != *"ok s4"* ]] || { show_run; false; }
	expect_same ran "$(printf 's1\ns2\ns3')" "$(cat ran.log)"
	journal_whole
	expect_same oks "s1 s2 s3 " "$(oks)"
	# resume: exactly what is left, once
	run_orch
	expect_status 0
	expect_same ran "$(printf 's1\ns2\ns3\ns4\ns5\ns6\ns7\ns8')" "$(cat ran.log)"
}

@test "full disk: a success that cannot be recorded is not reported, its dependents do not start" {
	chain 4
	# start s1, ok s1, start s2 fit; s2's ok does not
	with_fault write journal.jsonl ORCH_FAULT_AFTER=3 -- -j2
	expect_status 5
	expect_contains stderr "$stderr" "not recorded, so not done (they run again next time): s2"
	[[ $output != *"ok s2"* ]] || { show_run; false; }
	expect_same ran "$(printf 's1\ns2')" "$(cat ran.log)"
	journal_whole
	expect_same oks "s1 " "$(oks)"
	run_orch
	expect_status 0
	expect_same ran "$(printf 's1\ns2\ns2\ns3\ns4')" "$(cat ran.log)"
}

@test "a short write leaves no half line: the journal is cut back to its last whole line" {
	chain 4
	with_fault write journal.jsonl ORCH_FAULT_AFTER=3 ORCH_FAULT_SHORT=1 -- -j2
	expect_status 5
	journal_whole
	expect_same events "start ok start " "$(jq -r .ev .orch/journal.jsonl | tr '\n' ' ')"
	run_orch --status
	expect_status 0
	run_orch
	expect_status 0
	journal_whole
	expect_same oks "s1 s2 s3 s4 " "$(oks)"
}

@test "a failing fdatasync: nothing that needs the step starts, fsync is not retried, what it did not make durable is not taken as recorded, exit 5" {
	chain 3
	with_fault fsync journal.jsonl ORCH_FAULT_ERRNO=EIO -- -j2
	expect_status 5
	expect_contains stderr "$stderr" "cannot make .orch/journal.jsonl durable: fdatasync: Input/output error"
	[ "$(grep -c fdatasync <<<"$stderr")" -eq 1 ] || { show_run; false; }
	[[ $output != *"ok s1"* ]] || { show_run; false; }
	expect_same ran s1 "$(cat ran.log)"
	run_orch
	expect_status 0
	expect_same ran "$(printf 's1\ns1\ns2\ns3')" "$(cat ran.log)"
}

@test "a read-only .orch: exit 5 with its own message, not 3 (locked)" {
	chain 2
	with_fault open .orch/lock ORCH_FAULT_ERRNO=EROFS --
	expect_status 5
	expect_stderr <<-EOF
	orch: error: cannot record progress: cannot open $PWD/.orch/lock for writing: Read-only file system
	EOF
	[ ! -e ran.log ]
	for action in "--skip s1" "--force s1"; do
		with_fault open .orch/lock ORCH_FAULT_ERRNO=EROFS -- $action
		[ "$status" -eq 5 ] || { echo "$action"; show_run; false; }
	done
	# the journal itself read-only
	run_orch
	expect_status 0
	with_fault open journal.jsonl ORCH_FAULT_ERRNO=EACCES -- --force s1
	expect_status 5
	expect_contains stderr "$stderr" "cannot record progress: cannot open .orch/journal.jsonl for writing: Permission denied"
	with_fault open .orch/lock ORCH_FAULT_ERRNO=EROFS -- --reset --yes
	expect_status 5
}

@test "the journal actions exit 5 when their event cannot be written" {
	chain 2
	run_orch
	expect_status 0
	cp .orch/journal.jsonl before
	with_fault write journal.jsonl -- --force s1 s2
	expect_status 5
	[[ $output != *"will run again"* ]] || { show_run; false; }
	cmp before .orch/journal.jsonl
}

# a journal worth compacting: 1,800 steps run once (3,600 lines, over 1 MiB and twice
# its live part), kept as before.jsonl
compactable() {
	for i in $(seq 1 1800); do printf '[step s%d]\nrun = true\n' "$i"; done > Orchfile
	run_orch -j4 -s
	expect_status 0
	cp .orch/journal.jsonl before.jsonl
}

@test "compaction on a full disk, or with a failing fsync, leaves the old journal as it was; the next run compacts it" {
	compactable
	with_fault write journal.jsonl.tmp -- -s
	expect_status 0
	expect_contains stderr "$stderr" "orch: warning: cannot compact .orch/journal.jsonl (it is kept as it was): No space left on device"
	cmp before.jsonl .orch/journal.jsonl || { show_run; false; }
	[ ! -e .orch/journal.jsonl.tmp ]
	with_fault fsync journal.jsonl.tmp ORCH_FAULT_ERRNO=EIO -- -s
	expect_status 0
	expect_contains stderr "$stderr" "orch: warning: cannot compact .orch/journal.jsonl (it is kept as it was): Input/output error"
	cmp before.jsonl .orch/journal.jsonl || { show_run; false; }
	[ ! -e .orch/journal.jsonl.tmp ]
	run_orch -s
	expect_status 0
	journal_whole
	expect_same lines 1800 "$(wc -l < .orch/journal.jsonl)"
	expect_same oks 1800 "$(jq -r 'select(.ev == "ok") | .step' .orch/journal.jsonl | sort -u | wc -l)"
}

@test "compaction whose directory fsync fails: the compacted journal stays, nothing more is appended to it, exit 5; the next run records" {
	compactable
	printf '[step extra]\nrun = true\n' >> Orchfile
	# the first fsync under .orch is the new journal's, the second its directory's
	with_fault fsync .orch ORCH_FAULT_AFTER=1 ORCH_FAULT_ERRNO=EIO -- -s
	expect_status 5
	expect_contains stderr "$stderr" "orch: error: cannot make the compacted .orch/journal.jsonl durable: fsync"
	expect_contains stderr "$stderr" "not recorded, so not done (they run again next time): extra"
	journal_whole
	expect_same lines 1800 "$(wc -l < .orch/journal.jsonl)"
	run_orch -s
	expect_status 0
	journal_whole
	expect_same extra "start ok " "$(jq -r 'select(.step == "extra") | .ev' .orch/journal.jsonl | tr '\n' ' ')"
}
