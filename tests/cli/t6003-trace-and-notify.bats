#!/usr/bin/env bats
# t6003-trace-and-notify — the journal as a Chrome trace (--trace), and [notify]: the
# plan's command told of failures, waiting gates, milestones and the end of the run,
# against a local HTTP server on the loopback, never holding up the run.

load lib

@test "--trace: every attempt a complete event on its slot's track, gates and milestones instant" {
	cat > Orchfile <<-'EOF'
	[orch]
	name = traced
	[step a]
	run = sleep 0.3
	[step b]
	run = sleep 0.3
	[step c]
	needs = a b
	run = test -e again || { touch again; exit 1; }
	retries = 1
	[step gate]
	manual = yes
	[milestone M]
	needs = c
	EOF
	run_orch -j2
	expect_status 1 # the gate waits
	run_orch --trace trace.json
	expect_status 0
	expect_same stdout "wrote the trace of 4 attempts to $PWD/trace.json (open it in ui.perfetto.dev or chrome://tracing)" "$output"
	python3 -c 'import json, sys; json.load(open("trace.json"))'
	# a and b ran at once: two tracks; c's two attempts; each at least its sleep long
	# (which of a and b took slot 1 is the machine's: they started together)
	expect_same "complete events" "a ok
b ok
c 1 fail
c 1 ok" "$(jq -r '[.traceEvents[] | select(.ph == "X")] | sort_by(.name, .ts)[] | "\(.name) \(if .name == "c" then "\(.tid) " else "" end)\(.args.result)"' trace.json)"
	expect_same "tracks of a and b" "1 2" "$(jq -r '[.traceEvents[] | select(.ph == "X" and (.name == "a" or .name == "b")) | .tid] | sort | map(tostring) | join(" ")' trace.json)"
	[ "$(jq '[.traceEvents[] | select(.ph == "X" and (.name == "a" or .name == "b") and .dur >= 300000)] | length' trace.json)" = 2 ]
	[ "$(jq -r '.traceEvents[] | select(.ph == "i") | .name' trace.json)" = "milestone M" ]
	[ "$(jq -r '[.traceEvents[] | select(.ph == "M" and .name == "thread_name") | .args.name] | join(",")' trace.json)" = "plan: gates, milestones,slot 1,slot 2" ]
	"$ORCH" --approve gate >/dev/null
	run_orch --trace "$PWD/t2.json"
	[ "$(jq '[.traceEvents[] | select(.ph == "i")] | length' t2.json)" = 2 ]
	# nothing ran yet: an empty trace, not an error
	mkdir fresh && cp Orchfile fresh/ && cd fresh
	run_orch --trace t.json
	expect_status 0
	[ "$(jq '[.traceEvents[] | select(.ph == "X")] | length' t.json)" = 0 ]
}

@test "--trace: a hold and its health checks on tracks of their own, the run ending where the hold begins" {
	checked_hold_plan
	run_orch
	expect_status 0
	run_orch --trace trace.json
	expect_status 0
	expect_same stdout "wrote the trace of 2 attempts to $PWD/trace.json (open it in ui.perfetto.dev or chrome://tracing)" "$output"
	expect_same tracks "plan: gates, milestones,slot 1,hold deploy,checks deploy" \
		"$(jq -r '[.traceEvents[] | select(.ph == "M" and .name == "thread_name") | .args.name] | join(",")' trace.json)"
	tid() { jq -r --arg n "$1" '.traceEvents[] | select(.ph == "M" and .args.name == $n) | .tid' trace.json; }
	# the run: on slot 1, ending where the hold begins
	expect_same run "deploy $(tid 'slot 1') hold" "$(jq -r '.traceEvents[] | select(.ph == "X" and .name == "deploy") | "\(.name) \(.tid) \(.args.result)"' trace.json)"
	run_end=$(jq '.traceEvents[] | select(.ph == "X" and .name == "deploy") | .ts + .dur' trace.json)
	hold_start=$(jq '.traceEvents[] | select(.ph == "X" and .name == "hold deploy") | .ts' trace.json)
	expect_same "hold start" "$hold_start" "$(jq -r 'select(.ev == "hold") | .start |
		((sub("\\.[0-9]+Z$"; "Z") | fromdate) * 1000 + (capture("\\.(?<ms>[0-9]+)Z").ms | tonumber)) * 1000' .orch/journal.jsonl)"
	[ $((hold_start - run_end)) -ge 0 ] && [ $((hold_start - run_end)) -lt 50000 ]
	# the hold: one span of its length on its track, ended ok
	expect_same hold "$(tid 'hold deploy') ok 1000000" \
		"$(jq -r '.traceEvents[] | select(.ph == "X" and .name == "hold deploy") | "\(.tid) \(.args.result) \(.dur)"' trace.json)"
	# each check a span on the checks track, within the hold, as the journal has them
	checks=$(jq -r 'select(.ev == "check") | if .exit == 0 then "passed" else "failed" end' .orch/journal.jsonl)
	[ "$(wc -l <<<"$checks")" -ge 3 ]
	expect_same checks "$checks" "$(jq -r '[.traceEvents[] | select(.ph == "X" and .name == "check deploy")] | sort_by(.ts)[] | .args.result' trace.json)"
	[ "$(jq -r --argjson t "$(tid 'checks deploy')" '[.traceEvents[] | select(.name == "check deploy") | .tid == $t] | all' trace.json)" = true ]
	[ "$(jq -r --argjson h "$hold_start" '[.traceEvents[] | select(.name == "check deploy") | .ts >= $h and .ts <= $h + 1000000] | all' trace.json)" = true ]
	expect_same "failed check" "exit 1: error rate 9%" "$(jq -r '.traceEvents[] | select(.name == "check deploy" and .args.result == "failed") | .args.message' trace.json)"
}

start_server() {
	python3 "$TOP/tests/notify-server.py" port got.jsonl 30 &
	SERVER=$!
	# python's start is slow on a loaded machine: up to 30 s
	for _ in $(seq 300); do [ -s port ] && break; sleep 0.1; done
	[ -s port ] || { echo "the test HTTP server did not start"; return 1; }
	PORT=$(cat port)
}

stop_server() { kill "$SERVER" 2>/dev/null; wait "$SERVER" 2>/dev/null || true; }

@test "[notify]: failures, waiting gates, milestones and the end of a run reach a webhook" {
	start_server
	cat > Orchfile <<-EOF
	[orch]
	name = told
	[notify]
	command = curl -fsS -X POST -H 'Content-Type: application/json' --data-binary @- http://127.0.0.1:$PORT/hook
	[step a]
	run = true
	[step b]
	run = exit 3
	[step gate]
	manual = yes
	prompt = look at it
	needs = a
	[milestone M]
	needs = a
	EOF
	run_orch -k
	expect_status 1
	expect_same stderr "orch: step b failed: exit 3
orch: gate gate waits for approval: orch --approve gate
  look at it" "$stderr"
	stop_server
	# each command runs on its own: they arrive in any order
	expect_same "notifications" "failed b exit 3
finished  exit status 1: not finished
gate-waiting gate look at it
milestone M " "$(jq -r '"\(.notify) \(.step // .milestone // "") \(.msg // "")"' got.jsonl | sort)"
	# the journal's schema: its run id, kind and time
	run_id=$(jq -r 'select(.ev == "fail") | .run' .orch/journal.jsonl)
	[ "$(jq -r 'select(.notify == "failed") | "\(.run) \(.ev) \(.plan)"' got.jsonl)" = "$run_id fail told" ]
}

@test "[notify]: a failing, slow or missing command never fails nor holds up the run" {
	cat > Orchfile <<-'EOF'
	[orch]
	name = quiet
	[notify]
	command = cat > seen.json; exit 9
	on = ok finished
	[step a]
	run = true
	[step b]
	run = true
	EOF
	run_orch
	expect_status 0
	expect_same stderr "orch: warning: the [notify] command failed (exit status 9); the run goes on (further failures are not told)" "$stderr"
	sed -i 's/^command = .*/command = sleep 31.7/; s/^on = .*/on = finished\ntimeout = 1s/' Orchfile
	"$ORCH" --force a >/dev/null
	start=$(date +%s)
	run_orch
	expect_status 0
	[ $(( $(date +%s) - start )) -lt 10 ]
	expect_contains stderr "$stderr" "the [notify] command took longer than 1s and was stopped"
	! pgrep -f "^sleep 31.7$" >/dev/null
}

@test "[notify]: bad keys and events are Orchfile errors" {
	cat > Orchfile <<-'EOF'
	[notify]
	on = failed exploded
	tiemout = 3s
	EOF
	expect_bad_orchfile <<-'EOF'
	Orchfile:1: [notify] needs a command
	Orchfile:2: unknown event 'exploded' in [notify] on (use failed, gate-waiting, milestone, hold-check-failed, finished, ok, skipped, approved, rolled-back)
	Orchfile:3: unknown key 'tiemout' in [notify] (known keys: command, on, timeout); did you mean 'timeout'?
	orch: error: Orchfile: 3 errors; nothing was run
	EOF
}
