#!/usr/bin/env bats
# orch --status and --status --json on plans in every state (fresh, partial, gate
# waiting, failed, running, interrupted, stale, all done, after rollback), milestones,
# the ETA at -j and colour (the changelog: t6005).

load lib

# Wall-clock times, run ids and sub-10-second durations vary from run to run.
normalise() {
	sed -E -e 's/[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}( [+-][0-9]{4})?/TIME/g' \
		-e 's/[0-9]{8}T[0-9]{6}-[0-9]+/RUN/g' -e 's/— [0-9]{4}-[0-9]{2}-[0-9]{2}$/— DATE/' \
		-e 's/(^|[ (])[0-9]\.[0-9]s/\1Ds/g' \
		-e 's/^Efficiency: [0-9]+\.[0-9]+/Efficiency: E/'
}

# status_text ARGS...: orch --status ARGS, exit 0, nothing on stderr; normalised in $output.
status_text() {
	run_orch --status "$@"
	expect_status 0 || return 1
	expect_same stderr "" "$stderr" || { show_run; return 1; }
	output=$(printf '%s\n' "$output" | normalise)
}

# status_json ARGS...: orch --status --json ARGS, exit 0, valid JSON of schema 1 in $output.
status_json() {
	run_orch --status --json "$@"
	expect_status 0 || return 1
	printf '%s\n' "$output" | jq -e '.schema == 1' >/dev/null || { show_run; return 1; }
}

# jq_is FILTER EXPECTED: the last status_json output, through jq -c FILTER, is EXPECTED.
jq_is() {
	expect_same "jq $1" "$2" "$(printf '%s\n' "$output" | jq -c "$1")"
}

# two phases, a retried failure (b fails until the file 'fixed' exists), a milestone
failing_plan() {
	cat >Orchfile <<-'EOF'
	[orch]
	name      = fails

	[phase one]
	title = One

	[step a]
	title     = Create the tables
	phase     = one
	estimate  = 10s
	type      = feature
	component = db
	impact    = high
	refs      = JIRA-1
	run       = echo a

	[step b]
	title    = Load *the* data
	phase    = one
	needs    = a
	estimate = 1m
	retries  = 1
	run      = test -e fixed || { echo not yet; exit 3; }

	[step c]
	phase    = one
	needs    = b
	run      = true

	[milestone M]
	title = Loaded
	needs = one
	EOF
}

# every step runs, no gate: done after one run; b can be rolled back
simple_plan() {
	cat >Orchfile <<-'EOF'
	[orch]
	name = simple

	[phase one]
	title = One

	[phase two]
	title = Two
	after = one

	[step a]
	phase    = one
	estimate = 10s
	run      = echo a > a.out
	rollback = rm -f a.out

	[step b]
	title    = Second step
	phase    = two
	estimate = 20s
	run      = echo b > b.out
	rollback = rm -f b.out

	[milestone M1]
	title = First
	needs = one

	[milestone M2]
	title = Second
	needs = two
	EOF
}

@test "status: a fresh plan, nothing run, changes nothing" {
	tiny_plan
	status_text
	expect_stdout <<-'EOF'
	Plan tiny: 0 of 4 steps done (0%)
	Active phase: 1 prepare (Prepare)
	Last activity: none, nothing has run yet

	   # phase                    progress          done  estimate   actual  errors
	>  1 Prepare                  [              ]  0/2       1m5s        -       -
	   2 Switch over              [              ]  0/2         2m        -       -

	Milestones: 0 of 1 reached (0%)
	  M1  Live                            0 of 4 steps done

	Overall: 0 of 4 steps done (0%), 0 of 1 milestone reached (0%)
	Time: estimated 3m5s, done 0s of it, 3m5s left
	Efficiency: - (no done step with an estimate and a recorded time)
	Errors: - (no attempts yet)
	ETA: 3m5s at -j 1 (critical path 3m5s, work left 3m5s); 1 step without an estimate
	EOF
	[ ! -e .orch ]
	status_json
	jq_is '[.plan, .last_run, .live_run, .active_phase]' '["tiny",null,null,"prepare"]'
	jq_is '.summary | [.steps, .done, .percent, .estimate_ms, .attempts, .error_rate, .efficiency]' \
		'[4,0,0,185000,0,null,null]'
	jq_is '[.phases[] | [.name, .number, .steps, .done, .estimate_ms, .actual_ms, .active]]' \
		'[["prepare",1,2,0,65000,null,true],["switch",2,2,0,120000,null,false]]'
	jq_is '.milestones[0] | [.name, .reached, .reached_at, .steps, .steps_done]' '["M1",false,null,4,0]'
	jq_is '[.steps[] | [.name, .state]]' '[["make-dir","todo"],["add-column","todo"],["review","todo"],["deploy","todo"]]'
	jq_is '.eta' '{"eta_ms":185000,"jobs":1,"critical_path_ms":185000,"work_left_ms":185000,"unestimated_steps":1}'
	[ ! -e .orch ]
}

@test "status: the journal's first event is its last activity (an approval, a step killed with orch)" {
	cat > Orchfile <<-'EOF'
	[step gate]
	manual = yes
	[step b]
	needs = gate
	run = true
	EOF
	run_orch --approve gate
	expect_status 0
	run_orch --status
	expect_status 0
	expect_contains stdout "$output" "Last activity: 2"
	run_orch --status --json
	[ "$(jq -r .last_run <<<"$output")" = "$(jq -r .run .orch/journal.jsonl)" ]
}

@test "status: partial run, a gate waiting for approval, active phase" {
	tiny_plan
	run_orch
	expect_status 1
	status_text
	expect_stdout <<-'EOF'
	Plan tiny: 2 of 4 steps done (50%)
	Active phase: 2 switch (Switch over)
	Last activity: TIME, run RUN

	   # phase                    progress          done  estimate   actual  errors
	   1 Prepare                  [##############]  2/2       1m5s     Ds      0%
	>  2 Switch over              [              ]  0/2         2m        -       -

	Milestones: 0 of 1 reached (0%)
	  M1  Live                            2 of 4 steps done

	Waiting for approval (orch --approve STEP):
	  review  Review the backfill

	Overall: 2 of 4 steps done (50%), 0 of 1 milestone reached (0%)
	Time: estimated 3m5s, done 1m5s of it, 2m left
	Efficiency: far faster than estimated (the estimates are of people's time):
	            2 done steps took Ds against 1m5s estimated
	Errors: 0 of 2 attempts failed (0%)
	ETA: 2m at -j 1 (critical path 2m, work left 2m); 1 step without an estimate
	EOF
	status_json
	jq_is '.waiting' '[{"name":"review","title":"Review the backfill","phase":"switch","prompt":null}]'
	jq_is '.summary | [.done, .waiting, .percent, .estimate_done_ms, .estimate_left_ms, .efficiency_steps]' \
		'[2,1,50,65000,120000,2]'
	jq_is '.summary.efficiency > 0' 'true'
	jq_is '[.phases[] | .actual_ms != null]' '[true,false]'
	jq_is '[.steps[] | .state]' '["done","done","waiting","todo"]'
	jq_is '.steps[0] | [.done, .attempts, .done_at != null, .last.event]' '[true,1,true,"ok"]'
}

@test "status: failed step with its exit status, attempt and log; error rate per phase" {
	failing_plan
	run_orch
	expect_status 1
	status_text
	expect_stdout <<-'EOF'
	Plan fails: 1 of 3 steps done (33%)
	Active phase: 1 one (One)
	Last activity: TIME, run RUN

	   # phase                    progress          done  estimate   actual  errors
	>  1 One                      [####          ]  1/3      1m10s     Ds     67%

	Milestones: 0 of 1 reached (0%)
	  M   Loaded                          1 of 3 steps done

	Failed:
	  b     Load *the* data
	        exit 3, TIME after Ds, attempt 2
	        log: .orch/logs/b.log

	Overall: 1 of 3 steps done (33%), 0 of 1 milestone reached (0%)
	Time: estimated 1m10s, done 10s of it, 1m left
	Efficiency: far faster than estimated (the estimates are of people's time):
	            1 done step took Ds against 10s estimated
	Errors: 2 of 3 attempts failed (67%)
	ETA: 1m at -j 1 (critical path 1m, work left 1m); 1 step without an estimate
	EOF
	status_json
	jq_is '.failed[0] | [.name, .exit_status, .signal, .timed_out, .message, .attempt, .log, .rollback]' \
		'["b",3,null,false,"exit 3",2,".orch/logs/b.log",false]'
	jq_is '.failed[0] | [.at != null, .duration_ms >= 0]' '[true,true]'
	jq_is '.phases[0] | [.attempts, .failed_attempts, (.error_rate * 1000 | round)]' '[3,2,667]'
	jq_is '.summary | [.failed, .attempts, .failed_attempts]' '[1,3,2]'
	jq_is '[.steps[] | [.name, .state, .attempts, .failed_attempts]]' \
		'[["a","done",1,0],["b","failed",2,2],["c","todo",0,0]]'
}

@test "status: everything done, every milestone reached, ETA 0" {
	simple_plan
	run_orch
	expect_status 0
	status_text
	expect_stdout <<-'EOF'
	Plan simple: 2 of 2 steps done (100%)
	Active phase: none, every phase is complete
	Last activity: TIME, run RUN

	   # phase                    progress          done  estimate   actual  errors
	   1 One                      [##############]  1/1        10s     Ds      0%
	   2 Two                      [##############]  1/1        20s     Ds      0%

	Milestones: 2 of 2 reached (100%)
	  M1  First                           reached TIME
	  M2  Second                          reached TIME

	Overall: 2 of 2 steps done (100%), 2 of 2 milestones reached (100%)
	Time: estimated 30s, done 30s of it, 0s left
	Efficiency: far faster than estimated (the estimates are of people's time):
	            2 done steps took Ds against 30s estimated
	Errors: 0 of 2 attempts failed (0%)
	ETA: 0s at -j 1 (critical path 0s, work left 0s)
	EOF
	status_json
	jq_is '.summary | [.percent, .milestones, .milestones_reached, .milestone_rate, .error_rate]' '[100,2,2,1,0]'
	jq_is '[.active_phase, .eta.eta_ms, ([.milestones[].reached_at != null] | all)]' '[null,0,true]'
	jq_is '[.failed, .running, .interrupted, .waiting, .stale]' '[[],[],[],[],[]]'
}

@test "status: after orch --rollback, the step is to do again and its milestone lost" {
	simple_plan
	run_orch
	expect_status 0
	run_orch --rollback two --yes
	expect_status 0
	status_text
	expect_stdout <<-'EOF'
	Plan simple: 1 of 2 steps done (50%)
	Active phase: 2 two (Two)
	Last activity: TIME, run RUN

	   # phase                    progress          done  estimate   actual  errors
	   1 One                      [##############]  1/1        10s     Ds      0%
	>  2 Two                      [              ]  0/1        20s        -      0%

	Milestones: 1 of 2 reached (50%)
	  M1  First                           reached TIME
	  M2  Second                          lost TIME

	Overall: 1 of 2 steps done (50%), 1 of 2 milestones reached (50%)
	Time: estimated 30s, done 10s of it, 20s left
	Efficiency: far faster than estimated (the estimates are of people's time):
	            1 done step took Ds against 10s estimated
	Errors: 0 of 2 attempts failed (0%)
	ETA: 20s at -j 1 (critical path 20s, work left 20s)
	EOF
	status_json
	jq_is '.milestones[1] | [.reached, .reached_at != null, .lost_at != null]' '[false,true,true]'
	jq_is '.steps[1] | [.state, .reason, .actual_ms, .last.event]' '["todo","rolled back",null,"rollback-ok"]'
	jq_is '.summary.milestone_rate' '0.5'
}

@test "status: a milestone whose validate fails is not reached; one whose validate passes is" {
	cat >Orchfile <<-'EOF'
	[step a]
	run = true
	[milestone bad]
	title    = Never
	needs    = a
	validate = echo nope; exit 1
	[milestone good]
	title    = Always
	needs    = a
	validate = true
	EOF
	run_orch -k 0
	expect_status 1
	expect_contains stdout "$output" "Milestone bad not reached: Never"
	expect_contains stdout "$output" "Milestone good reached: Always"
	status_text
	expect_contains stdout "$output" "Milestones: 1 of 2 reached (50%)
  bad   Never                           steps done; validate has not passed
  good  Always                          reached TIME"
	status_json
	jq_is '[.milestones[] | [.name, .reached, .reached_at != null, .steps_done, .validate]]' \
		'[["bad",false,false,1,true],["good",true,true,1,true]]'
	# the journal records only the reached one
	[ "$(grep -c '"ev":"milestone"' .orch/journal.jsonl)" -eq 1 ]
	grep -q '"ev":"milestone","step":"good"' .orch/journal.jsonl
}

@test "status: a step of a live run is running; after the run is killed it is interrupted" {
	cat >Orchfile <<-'EOF'
	[phase p]
	title = Slow phase
	[step slow]
	phase    = p
	estimate = 1m
	run      = echo $$ > pgid; echo working; touch started; sleep 30
	[step next]
	phase    = p
	needs    = slow
	estimate = 30s
	run      = true
	EOF
	"$ORCH" >run.out 2>&1 &
	local pid=$!
	for _ in $(seq 100); do [ -e started ] && grep -q working .orch/logs/slow.log 2>/dev/null && break; sleep 0.1; done
	[ -e started ]
	status_text
	expect_contains stdout "$output" "Running (orch pid $pid):
  slow  slow
        since TIME ("
	expect_contains stdout "$output" "log: .orch/logs/slow.log"
	status_json
	jq_is "[.live_run.pid, [.running[].name], .summary.running, .active_phase]" "[$pid,[\"slow\"],1,\"p\"]"
	# the ETA counts what is left of the running step's estimate
	jq_is '.eta.eta_ms < 90000 and .eta.eta_ms > 60000' 'true'
	kill -KILL "$pid"
	wait "$pid" || true
	kill -KILL -- "-$(cat pgid)"
	status_text
	expect_contains stdout "$output" "Interrupted (these run again next time):
  slow  slow
        started TIME, run RUN"
	status_json
	jq_is '[.live_run, [.interrupted[].name], .summary.running]' '[null,["slow"],0]'
}

@test "status: a step changed since it was done is stale, with the reason" {
	simple_plan
	run_orch
	expect_status 0
	sed -i 's/echo a > a.out/echo A > a.out/' Orchfile
	status_text
	expect_contains stdout "$output" "Stale (changed since done):
  a     a
        run changed
  b     Second step
        dependency a changed (through phase one)"
	expect_contains stdout "$output" "M1  First                           no longer holds: "
	status_json
	jq_is '.stale[0]' '{"name":"a","title":"a","phase":"one","reason":"run changed","on_change_error":false}'
	jq_is '[.stale[].name]' '["a","b"]'
	jq_is '.summary | [.done, .stale, .milestones_reached]' '[0,2,0]'
}

@test "status: the ETA follows -j and [orch] jobs" {
	{
		echo '[orch]'
		echo 'jobs = 2'
		for i in 1 2 3 4; do printf '[step s%d]\nestimate = 1m\nrun = true\n' "$i"; done
		printf '[step last]\nneeds = s1 s2 s3 s4\nestimate = 30s\nrun = true\n'
	} >Orchfile
	status_json
	# a lower bound: 4m30s of work over 2 jobs (the real schedule takes 2m30s)
	jq_is '.eta' '{"eta_ms":135000,"jobs":2,"critical_path_ms":90000,"work_left_ms":270000,"unestimated_steps":0}'
	status_json -j 4
	jq_is '[.eta.jobs, .eta.eta_ms]' '[4,90000]'
	status_text -j 1
	expect_contains stdout "$output" "ETA: 4m30s at -j 1 (critical path 1m30s, work left 4m30s)"
}

@test "status: every line fits in 80 columns on the reference plan" {
	cp "$TOP/orchfile" orchfile
	status_text -f orchfile
	expect_contains stdout "$output" "Plan brand-context-ucr: 0 of 32 steps done (0%)"
	run_orch --status -f orchfile
	local long
	long=$(printf '%s\n' "$output" | awk 'length($0) > 79')
	expect_same "lines over 79 columns" "" "$long"
}

@test "status: colour only on a terminal, and not with NO_COLOR" {
	simple_plan
	run_orch --status
	expect_status 0
	case "$output" in *$'\033'*) echo "escape sequences when piped"; false ;; esac
	script -qefc "$ORCH --status" /dev/null >tty.out 2>&1
	grep -q $'\033\\[' tty.out
	NO_COLOR=1 script -qefc "$ORCH --status" /dev/null >tty.out 2>&1
	grep -q 'Plan simple' tty.out
	if grep -q $'\033\\[' tty.out; then echo "escape sequences with NO_COLOR"; false; fi
}

@test "status: --json goes with --status; a damaged journal exits 4" {
	simple_plan
	run_orch --status --json --list
	expect_status 2
	mkdir .orch
	printf 'not json\n{"v":1}\n' >.orch/journal.jsonl
	run_orch --status
	expect_status 4
}

@test "status: an attempt that printed nothing names no log, not the previous attempt's (the file holds every attempt)" {
	cat >Orchfile <<-'EOF'
	[step flaky]
	run = if [ -e quiet ]; then [ -e hang ] && { echo $$ >pgid; touch started; sleep 30; }; exit 4; fi; echo first attempt speaks; exit 3
	EOF
	run_orch
	expect_status 1
	expect_contains stdout "$output" "  log: .orch/logs/flaky.log"
	touch quiet
	run_orch
	expect_status 1
	[[ $output != *"log: "* ]] || { show_run; false; }
	status_text
	expect_contains stdout "$output" "Failed:
  flaky  flaky
         exit 4, TIME after Ds
"
	[[ $output != *"log: "* ]] || { show_run; false; }
	status_json
	jq_is '[.failed[0].exit_status, .failed[0].log]' '[4,null]'
	# interrupted by an orch killed while the attempt had printed nothing yet
	touch hang
	"$ORCH" >run.out 2>&1 &
	local pid=$!
	for _ in $(seq 100); do [ -e started ] && break; sleep 0.1; done
	[ -e started ]
	kill -KILL "$pid"
	wait "$pid" || true
	kill -KILL -- "-$(cat pgid)"
	status_text
	expect_contains stdout "$output" "Interrupted (these run again next time):"
	[[ $output != *"log: "* ]] || { show_run; false; }
	status_json
	jq_is '[.interrupted[0].name, .interrupted[0].log]' '["flaky",null]'
	grep -q 'first attempt speaks' .orch/logs/flaky.log
}
