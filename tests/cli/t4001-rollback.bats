#!/usr/bin/env bats
# t4001-rollback — orch --rollback TARGET: which steps, in what order, the plan shown
# first, refusal without a rollback, failure midway and continuation, running again.

load lib

# layered_plan: three layers; each step records its run and its rollback in order.log
layered_plan() {
	cat > Orchfile <<-'EOF'
	[phase base]
	[phase mid]
	[phase top]
	[step a1]
	phase = base
	run = echo run a1 >> order.log
	rollback = echo undo a1 >> order.log
	[step a2]
	phase = base
	run = echo run a2 >> order.log
	rollback = echo undo a2 >> order.log
	[step b1]
	phase = mid
	needs = a1 a2
	run = echo run b1 >> order.log
	rollback = echo undo b1 >> order.log
	[step b2]
	phase = mid
	needs = a2
	run = echo run b2 >> order.log
	rollback = echo undo b2 >> order.log
	[step c1]
	phase = top
	needs = b1 b2
	run = echo run c1 >> order.log
	rollback = echo undo c1 >> order.log
	[step other]
	run = echo run other >> order.log
	rollback = echo undo other >> order.log
	EOF
}

# undone: the names undone, in order
undone() {
	sed -n 's/^undo //p' order.log
}

# before X Y: X was undone before Y
before() {
	local x y
	x=$(undone | grep -nx "$1" | cut -d: -f1)
	y=$(undone | grep -nx "$2" | cut -d: -f1)
	[ -n "$x" ] && [ -n "$y" ] && [ "$x" -lt "$y" ] || { echo "$1 not undone before $2"; undone; return 1; }
}

@test "rollback all undoes every completed step after everything that needs it" {
	layered_plan
	for j in 1 3; do
		run_orch -j3 -s
		expect_status 0
		rm -f order.log
		run_orch --rollback all -j "$j"
		expect_status 0
		[ "$(undone | wc -l)" -eq 6 ]
		before c1 b1
		before c1 b2
		before b1 a1
		before b1 a2
		before b2 a2
	done
}

@test "rollback of a phase cascades to completed dependents outside it, and nothing else" {
	layered_plan
	run_orch -s
	expect_status 0
	rm -f order.log
	run_orch --rollback mid
	expect_status 0
	expect_contains stdout "$output" "rollback of mid: 3 steps, newest first:"
	[ "$(undone | tr '\n' ' ')" = "c1 b2 b1 " ] || [ "$(undone | tr '\n' ' ')" = "c1 b1 b2 " ]
	# what was rolled back runs again, and only that
	rm -f order.log
	run_orch -s
	expect_status 0
	[ "$(sort order.log | tr '\n' ' ')" = "run b1 run b2 run c1 " ]
}

@test "among independent steps the latest completed is undone first" {
	cat > Orchfile <<-'EOF'
	[step x]
	run = true
	rollback = echo undo x >> order.log
	[step y]
	run = true
	rollback = echo undo y >> order.log
	EOF
	run_orch y
	expect_status 0
	sleep 0.01
	run_orch x
	expect_status 0
	run_orch --rollback all
	expect_status 0
	[ "$(undone | tr '\n' ' ')" = "x y " ]
}

@test "-n shows the plan and changes nothing" {
	layered_plan
	run_orch -s
	expect_status 0
	rm -f order.log
	run_orch --rollback base -n
	expect_status 0
	expect_contains stdout "$output" "rollback of base: 5 steps, newest first:"
	expect_contains stdout "$output" "1. c1"
	[ ! -e order.log ]
	run_orch -n
	expect_contains stdout "$output" "0 steps would run"
}

@test "a completed step without a rollback stops everything before anything runs" {
	cat > Orchfile <<-'EOF'
	[step a]
	run = true
	rollback = echo undo a >> order.log
	[step b]
	needs = a
	run = true
	[step c]
	needs = a
	run = true
	EOF
	run_orch -s
	expect_status 0
	run_orch --rollback a
	expect_status 2
	expect_contains stderr "$stderr" "step b (Orchfile:4) is completed and has no rollback"
	expect_contains stderr "$stderr" "step c (Orchfile:7) is completed and has no rollback"
	expect_contains stderr "$stderr" "nothing was rolled back"
	[ ! -e order.log ]
	# --force forgets them instead, and says so
	run_orch --rollback a --force
	expect_status 0
	expect_contains stdout "$output" "forgot b (it has no rollback; it runs again next time)"
	[ "$(undone)" = "a" ]
	run_orch -n
	expect_contains stdout "$output" "3 steps would run"
}

@test "a failing rollback stops, leaves the rest done, and running it again continues" {
	cat > Orchfile <<-'EOF'
	[step a]
	run = true
	rollback = echo undo a >> order.log
	[step b]
	needs = a
	run = true
	rollback = if [ -e fixed ]; then echo undo b >> order.log; else echo cannot; exit 4; fi
	[step c]
	needs = b
	run = true
	rollback = echo undo c >> order.log
	EOF
	run_orch -s
	expect_status 0
	run_orch --rollback all
	expect_status 1
	expect_contains stdout "$output" "ROLLBACK FAILED b"
	expect_contains stderr "$stderr" "rollback of b failed: exit 4"
	expect_contains stderr "$stderr" "2 steps still done: a b"
	[ "$(undone)" = "c" ]
	# a and b are still done: only c would run
	run_orch -n
	expect_contains stdout "$output" "1 step would run"
	expect_contains stdout "$output" "  c "
	touch fixed
	run_orch --rollback all
	expect_status 0
	expect_contains stdout "$output" "rollback of all: 2 steps"
	[ "$(undone | tr '\n' ' ')" = "c b a " ]
}

@test "a manual gate is rolled back by taking its approval back" {
	cat > Orchfile <<-'EOF'
	[step gate]
	manual = yes
	[step after]
	needs = gate
	run = true
	rollback = true
	EOF
	run_orch --approve gate
	expect_status 0
	run_orch -s
	expect_status 0
	run_orch --rollback gate
	expect_status 0
	expect_contains stdout "$output" "unapproved gate"
	run_orch < /dev/null
	expect_status 1
	expect_contains stderr "$stderr" "gate gate waits for approval"
}

@test "a milestone that no longer holds is recorded as lost" {
	cat > Orchfile <<-'EOF'
	[step a]
	run = true
	rollback = true
	[milestone M]
	title = Ready
	needs = a
	EOF
	run_orch
	expect_status 0
	expect_contains stdout "$output" "Milestone M reached: Ready"
	run_orch --rollback a
	expect_status 0
	expect_contains stdout "$output" "Milestone M lost: Ready"
	grep -q '"ev":"milestone-lost","step":"M"' .orch/journal.jsonl
}

@test "nothing completed: nothing to roll back" {
	layered_plan
	run_orch --rollback all
	expect_status 0
	expect_contains stdout "$output" "nothing to roll back"
}

@test "on a terminal the rollback asks first; anything but y changes nothing" {
	cat > Orchfile <<-'EOF'
	[step a]
	run = true
	rollback = echo undo a >> order.log
	EOF
	run_orch -s
	expect_status 0
	{ sleep 0.5; printf 'n\n'; sleep 0.5; } | script -qefc "$ORCH --rollback a" /dev/null > tty.out 2>&1
	grep -q 'Roll back 1 step? \[y/N\]' tty.out
	grep -q 'rollback cancelled; nothing changed' tty.out
	[ ! -e order.log ]
	{ sleep 0.5; printf 'y\n'; sleep 0.5; } | script -qefc "$ORCH --rollback a" /dev/null > tty.out 2>&1
	[ "$(undone)" = "a" ]
}

# half_rolled_back: a and b (needs a) done; b's rollback killed with kill -9 of orch and
# of b's process group, in the middle of it
half_rolled_back() {
	cat > Orchfile <<-'EOF'
	[step a]
	run = echo run a >> order.log
	rollback = echo undo a >> order.log
	[step b]
	needs = a
	run = echo run b >> order.log
	rollback = echo $$ > b.pgid; echo undo b started >> order.log; sleep 30; echo undo b >> order.log
	EOF
	run_orch
	expect_status 0
	"$ORCH" --rollback all --yes > rollback.out 2>&1 &
	local pid=$!
	for i in $(seq 100); do [ -s b.pgid ] && break; sleep 0.1; done
	[ -s b.pgid ] || { cat rollback.out; return 1; }
	kill -9 "$pid"
	kill -9 -- "-$(cat b.pgid)"
	wait "$pid" || true
	rm b.pgid
}

@test "--graph --state: an interrupted rollback has a colour of its own, named in the legend" {
	half_rolled_back
	run_orch --graph --state
	expect_status 0
	expect_contains stdout "$output" '"b" [label="b\n(rollback-interrupted)", shape=box, style=filled, fillcolor="#f2b6d2"];'
	expect_contains stdout "$output" '"legend rollback-interrupted" [label="rollback-interrupted", fillcolor="#f2b6d2"];'
	# every colour of the legend is a word --status --json can say
	expect_contains stdout "$output" '"legend holding" [label="holding", fillcolor="#a6e3e0"];'
}

@test "an interrupted rollback is shown as such and the next --rollback finishes it" {
	half_rolled_back
	run_orch --status
	expect_status 0
	expect_contains stdout "$output" "rollback interrupted (orch --rollback finishes it)"
	run_orch --status --json
	expect_same state rollback-interrupted "$(jq -r '.steps[] | select(.name == "b") | .state' <<<"$output")"
	run_orch --rollback all --yes -n
	expect_status 0
	expect_contains stdout "$output" "rollback of all: 2 steps, newest first:"
	sed -i 's/sleep 30; //' Orchfile
	run_orch --rollback all --yes
	expect_status 0
	expect_same order "$(printf 'run a\nrun b\nundo b started\nundo b started\nundo b\nundo a')" "$(cat order.log)"
	run_orch --status --json
	expect_same done 0 "$(jq -r .summary.done <<<"$output")"
}

@test "an interrupted rollback is finished first by the plan's next run" {
	half_rolled_back
	sed -i 's/sleep 30; //' Orchfile
	run_orch
	expect_status 0
	expect_contains stderr "$stderr" "the rollback of 1 step was interrupted: finishing it first"
	expect_same order "$(printf 'run a\nrun b\nundo b started\nundo b started\nundo b\nrun b')" "$(cat order.log)"
	run_orch
	expect_status 0
	expect_contains stdout "$output" "nothing to do"
}

@test "Ctrl-C during a rollback leaves it interrupted, to be finished" {
	cat > Orchfile <<-'EOF'
	[step a]
	run = true
	rollback = touch rb.started; sleep 30
	EOF
	run_orch
	expect_status 0
	"$ORCH" --rollback a --yes > rollback.out 2>&1 &
	local pid=$!
	for i in $(seq 100); do [ -e rb.started ] && break; sleep 0.1; done
	kill -INT "$pid"
	wait "$pid" && false || [ $? -eq 130 ] || { cat rollback.out; false; }
	grep -q "rollback interrupted a" rollback.out || { cat rollback.out; false; }
	run_orch --status --json
	expect_same state rollback-interrupted "$(jq -r '.steps[] | select(.name == "a") | .state' <<<"$output")"
}

@test "a rollback of a skipped step takes the skip back: it runs next time" {
	cat > Orchfile <<-'EOF'
	[step a]
	run = echo run a >> order.log
	rollback = echo undo a >> order.log
	[step b]
	needs = a
	run = echo run b >> order.log
	EOF
	run_orch --skip b
	expect_status 0
	run_orch
	expect_status 0
	run_orch --rollback all --yes
	expect_status 0
	expect_contains stdout "$output" "  unskip b                    b  (skipped: the skip is taken back)"
	expect_contains stdout "$output" "took back the skip of b (it runs next time)"
	expect_same event rollback-ok "$(jq -r 'select(.step == "b") | .ev' .orch/journal.jsonl | tail -n 1)"
	run_orch
	expect_status 0
	expect_same order "$(printf 'run a\nundo a\nrun a\nrun b')" "$(cat order.log)"
}

@test "the rollback plan keeps its titles in one column when a name is longer than 24 (a Flyway file's)" {
	cat > Orchfile <<-'EOF'
	[step V1.2.10__orders_by_customer]
	title = orders by customer
	run = true
	rollback = true
	[step short]
	title = a short one
	needs = V1.2.10__orders_by_customer
	rollback = true
	run = true
	[step V1.2.11__notes_that_stay_forever]
	title = notes
	run = true
	EOF
	run_orch
	expect_status 0
	run_orch --rollback all --force -n
	expect_status 0
	expect_stdout <<-'EOF'
	rollback of all: 2 steps, newest first:
	    1. short                       a short one  (rollback)
	    2. V1.2.10__orders_by_customer orders by customer  (rollback)
	  forget V1.2.11__notes_that_stay_forever notes  (no rollback; --force)
	EOF
}
