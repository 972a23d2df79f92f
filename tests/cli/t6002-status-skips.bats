#!/usr/bin/env bats
# orch --status with skipped steps (counted apart, never as done: the summary, the phase
# bars, the milestones, their own section, the JSON) and the efficiency line when the
# steps run far faster or slower than the people's-time estimates (issue 13).

load lib

# Wall-clock times, run ids and sub-10-second durations vary from run to run.
normalise() {
	sed -E -e 's/[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}/TIME/g' \
		-e 's/[0-9]{8}T[0-9]{6}-[0-9]+/RUN/g' -e 's/(^|[ (])[0-9]\.[0-9]s/\1Ds/g' \
		-e 's/^Efficiency: [0-9]+\.[0-9]+/Efficiency: E/'
}

# status_text ARGS...: orch --status ARGS, exit 0, nothing on stderr; normalised in $output.
status_text() {
	run_orch --status "$@"
	expect_status 0 || return 1
	expect_same stderr "" "$stderr" || { show_run; return 1; }
	output=$(printf '%s\n' "$output" | normalise)
}

# jq_is FILTER EXPECTED: orch --status --json through jq -c FILTER is EXPECTED.
jq_is() {
	run_orch --status --json
	expect_status 0 || return 1
	expect_same "jq $1" "$2" "$(printf '%s\n' "$output" | jq -c "$1")"
}

# b fails and is skipped (--on-failure skip); M is made of phase one, N accepts skips
skips_plan() {
	cat >Orchfile <<-'EOF'
	[orch]
	name = skips

	[phase one]
	title = One

	[phase two]
	title = Two
	after = one

	[step a]
	phase    = one
	estimate = 10s
	run      = echo a

	[step b]
	title    = Load the data
	phase    = one
	needs    = a
	estimate = 10s
	run      = exit 3

	[step c]
	phase    = two
	estimate = 1m
	run      = echo c

	[milestone M]
	title = Loaded
	needs = one

	[milestone N]
	title         = Loaded anyway
	needs         = one
	allow_skipped = yes
	EOF
}

@test "status: a skipped step is counted apart, never as done" {
	skips_plan
	run_orch --on-failure skip a b
	expect_status 0
	status_text
	expect_stdout <<-'EOF'
	Plan skips: 1 of 3 steps done (33%), 1 skipped
	Active phase: 2 two (Two)
	Last activity: TIME, run RUN

	   # phase                    progress          done  estimate   actual  errors
	   1 One                      [#######-------]  1/2        20s     Ds     50%
	>  2 Two                      [              ]  0/1         1m        -       -

	Milestones: 0 of 2 reached (0%)
	  M   Loaded                          not reached: b is skipped
	                                      (allow_skipped = yes accepts it)
	  N   Loaded anyway                   steps done; not recorded yet

	Skipped (counted apart; orch --force STEP runs one):
	  b     Load the data
	        skipped TIME, after 1 failed attempt

	Overall: 1 of 3 steps done (33%), 1 skipped, 0 of 2 milestones reached (0%)
	Time: estimated 1m20s, done 10s of it, 10s skipped, 1m left
	Efficiency: far faster than estimated (the estimates are of people's time):
	            1 done step took Ds against 10s estimated
	Errors: 1 of 2 attempts failed (50%)
	ETA: 1m at -j 1 (critical path 1m, work left 1m)
	EOF
	# the JSON keeps done and percent as they were (skipped steps need no run) and adds
	# what the text shows
	jq_is '.summary | [.steps, .done, .skipped, .percent, .completed, .completed_percent]' '[3,2,1,66,1,33]'
	jq_is '.summary | [.estimate_done_ms, .estimate_skipped_ms]' '[20000,10000]'
	jq_is '[.phases[] | [.name, .done, .skipped, .completed, .percent]]' '[["one",2,1,1,100],["two",0,0,0,0]]'
	jq_is '[.skipped[] | [.name, .phase, .at != null, .failed_attempts]]' '[["b","one",true,1]]'
	jq_is '[.milestones[] | [.name, .reached, .allow_skipped, .held_by_skip, .steps_done, .steps_skipped]]' \
		'[["M",false,false,"b",2,1],["N",false,true,null,2,1]]'
	jq_is '.milestones[0].reason' '"b is skipped (allow_skipped = yes accepts it)"'
	jq_is '[.steps[] | [.name, .state, .done]]' '[["a","done",true],["b","skipped",true],["c","todo",false]]'
}

@test "status: everything done but a skip is not 100%; allow_skipped reaches its milestone" {
	skips_plan
	run_orch --skip b
	expect_status 0
	# the plan is not finished: M is held back by the skip
	run_orch
	expect_status 1
	expect_contains stderr "$stderr" "orch: milestone M not reached: b is skipped (allow_skipped = yes accepts it)"
	expect_contains stdout "$output" "Milestone N reached: Loaded anyway"
	status_text
	expect_contains stdout "$output" "Plan skips: 2 of 3 steps done (66%), 1 skipped
Active phase: none, every phase is complete"
	expect_contains stdout "$output" "   1 One                      [#######-------]  1/2        20s     Ds      0%"
	expect_contains stdout "$output" "  M   Loaded                          not reached: b is skipped
                                      (allow_skipped = yes accepts it)
  N   Loaded anyway                   reached TIME"
	expect_contains stdout "$output" "Skipped (counted apart; orch --force STEP runs one):
  b     Load the data
        skipped TIME
"
	jq_is '.summary | [.percent, .completed_percent, .milestones_reached]' '[100,66,1]'

	# run it: no longer skipped, M is no longer held back
	run_orch --force b
	expect_status 0
	sed -i 's/run      = exit 3/run      = echo b/' Orchfile
	run_orch
	expect_status 0
	status_text
	expect_contains stdout "$output" "Plan skips: 3 of 3 steps done (100%)
"
	case "$output" in *Skipped*) echo "a Skipped section without skipped steps"; show_run; return 1 ;; esac
	jq_is '[.summary.skipped, .skipped, [.milestones[].reached]]' '[0,[],[true,true]]'
}

@test "status: efficiency far faster than the estimates gives the times, not the ratio" {
	cat >Orchfile <<-'EOF'
	[step a]
	estimate = 3d4h
	run      = true
	[step b]
	estimate = 2h
	run      = true
	EOF
	run_orch
	expect_status 0
	status_text
	expect_contains stdout "$output" "Efficiency: far faster than estimated (the estimates are of people's time):
            2 done steps took Ds against 3d6h estimated
Errors:"
	# the JSON keeps the ratio, with what it divides
	jq_is '[.summary.efficiency > 20, .summary.efficiency_estimate_ms, .summary.efficiency_actual_ms > 0]' \
		'[true,280800000,true]'
}

@test "status: efficiency far slower than the estimates gives the times, not the ratio" {
	cat >Orchfile <<-'EOF'
	[step a]
	estimate = 5ms
	run      = sleep 0.3
	EOF
	run_orch
	expect_status 0
	status_text
	expect_contains stdout "$output" "Efficiency: far slower than estimated:
            1 done step took Ds against Ds estimated
Errors:"
	jq_is '.summary.efficiency < 0.05' 'true'
}

@test "status: an efficiency within 20x either way is the ratio" {
	cat >Orchfile <<-'EOF'
	[step a]
	estimate = 3s
	run      = sleep 0.5
	EOF
	run_orch
	expect_status 0
	status_text
	expect_contains stdout "$output" "
Efficiency: E (estimated 3s / actual Ds over 1 done step)
Errors:"
}
