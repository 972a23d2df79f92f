#!/usr/bin/env bats
# Gates in a team: --approve and --skip while another orch runs the plan. The running
# orch holds the journal; the request goes through .orch/inbox/, the running orch takes
# it within a second, records it (with who asked) and starts what it unblocks.

load lib

# a gate, a step after it, and a slow independent step that keeps the run going
team_plan() {
	cat > Orchfile <<-'EOF'
	[orch]
	changelog = CHANGES.md
	[step gate]
	manual = yes
	prompt = Look at the dashboards
	[step after]
	needs = gate
	run = echo after >> ran.log
	[step slow]
	run = echo $$ > slow.pid; sleep 5; echo slow >> ran.log
	[step later]
	needs = slow
	run = echo later >> ran.log
	EOF
}

# start a run in the background; wait until its slow step runs
start_run() {
	"$ORCH" -j2 > run.out 2>&1 &
	run_pid=$!
	for i in $(seq 100); do [ -s slow.pid ] && break; sleep 0.1; done
	[ -s slow.pid ] || { cat run.out; return 1; }
}

@test "--approve while a run goes on: the running orch takes it within a second and starts what it unblocks" {
	team_plan
	start_run
	SECONDS=0
	run_orch --approve gate
	expect_status 0
	expect_same stdout "approved gate (recorded by the running orch, pid $run_pid)" "$output"
	[ "$SECONDS" -le 2 ]
	# the gate's step ran while slow still ran (it starts once the approval is answered)
	for i in $(seq 30); do [ -s ran.log ] && break; sleep 0.1; done
	[ "$(head -n 1 ran.log)" = after ] || { cat ran.log run.out; false; }
	wait "$run_pid"
	expect_same ran "$(printf 'after\nslow\nlater')" "$(cat ran.log)"
	grep -q 'approved gate' run.out
	# who approved: in the journal, --status and the changelog
	who=$(jq -r 'select(.ev == "approve") | .by' .orch/journal.jsonl)
	[[ $who == *@* ]]
	run_orch --status
	expect_contains stdout "$output" "Approved:
  gate  by $who, "
	run_orch --status --json
	expect_same by "$who" "$(jq -r '.steps[] | select(.name == "gate") | .approved_by' <<<"$output")"
	grep -q "\*\*approved\*\* \`gate\`" CHANGES.md
	grep -A1 "\*\*approved\*\* \`gate\`" CHANGES.md | grep -q "by $who"
	[ ! -e .orch/inbox ] || [ -z "$(ls .orch/inbox)" ]
}

@test "--skip while a run goes on: the step is never run, what needs it goes on" {
	team_plan
	sed -i 's/^needs = gate$/needs = slow/' Orchfile
	start_run
	run_orch --skip after
	expect_status 0
	expect_same stdout "skipped after (recorded by the running orch, pid $run_pid)" "$output"
	wait "$run_pid" || true
	[[ $(cat ran.log) != *after* ]] || { cat ran.log; false; }
	run_orch --status --json
	expect_same state skipped "$(jq -r '.steps[] | select(.name == "after") | .state' <<<"$output")"
}

@test "the running orch refuses what it cannot do, and nothing is recorded" {
	team_plan
	sed -i 's/^manual = yes$/manual = yes\nneeds = slow/' Orchfile
	start_run
	run_orch --approve gate
	expect_status 1
	expect_contains stderr "$stderr" "orch: error: cannot approve gate yet: it needs step slow, which is not done"
	run_orch --skip slow
	expect_status 1
	expect_contains stderr "$stderr" "slow is running now: it cannot be skipped"
	kill -9 -- "-$(cat slow.pid)" 2>/dev/null || true
	wait "$run_pid" || true
	! grep -q '"ev":"approve"' .orch/journal.jsonl
	! grep -q '"ev":"skip"' .orch/journal.jsonl
}

@test "--skip of the step whose failure stopped the run: the run goes on with what needed it" {
	cat > Orchfile <<-'EOF'
	[step a]
	run = sleep 0.3; exit 1
	[step b]
	run = echo $$ > slow.pid; sleep 4; echo b >> ran.log
	[step c]
	needs = a
	run = echo c >> ran.log
	EOF
	"$ORCH" -j2 > run.out 2>&1 &
	run_pid=$!
	for i in $(seq 100); do grep -q 'FAILED a' run.out && break; sleep 0.1; done
	run_orch --skip a
	expect_status 0
	rc=0
	wait "$run_pid" || rc=$?
	[ "$rc" -eq 0 ] || { cat run.out; false; }
	expect_same ran "$(printf 'c\nb')" "$(cat ran.log)"
}
