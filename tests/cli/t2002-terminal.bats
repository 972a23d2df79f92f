#!/usr/bin/env bats
# On a terminal: the live status line, the gate prompt, and retry / skip / abort after a
# failure. A pseudo-terminal comes from script(1); answers are typed through its stdin.

load lib

# on_tty DELAY ANSWER...: run orch on a pty, typing each answer DELAY seconds apart
on_tty() {
	local delay=$1
	shift
	{
		for a in "$@"; do sleep "$delay"; printf '%s\n' "$a"; done
		sleep 1
	} | script -qefc "$ORCH $ORCH_ARGS" /dev/null > tty.out 2>&1
}

@test "terminal: the live status line shows the running step's phase, title and time" {
	cat > Orchfile <<-'EOF'
	[phase backend]
	[step api]
	title = Implement Brand API Routes
	phase = backend
	run = sleep 1.2
	EOF
	on_tty 0
	grep -q '\[0/1\] backend: Implement Brand API Routes [0-9.]*s' tty.out
	grep -q 'ok.* api: Implement Brand API Routes' tty.out
}

@test "terminal: a gate asks, and 'y' approves it and goes on" {
	cat > Orchfile <<-'EOF'
	[step gate]
	manual = yes
	prompt = Read the runbook
	[step after]
	needs = gate
	run = touch after
	EOF
	on_tty 0.5 y
	grep -q 'Approve it now? \[y/N\]' tty.out
	grep -q 'approved gate' tty.out
	[ -e after ]
}

@test "terminal: a gate answered 'n' waits" {
	cat > Orchfile <<-'EOF'
	[step gate]
	manual = yes
	[step after]
	needs = gate
	run = touch after
	EOF
	run on_tty 0.5 n
	[ "$status" -eq 1 ]
	grep -q 'gate gate waits for approval: orch --approve gate' tty.out
	[ ! -e after ]
}

@test "terminal: after a failure, 'r' retries the step" {
	cat > Orchfile <<-'EOF'
	[step flaky]
	run = if [ -e once ]; then touch fixed; else touch once; exit 1; fi
	EOF
	on_tty 0.5 r
	grep -q 'Step flaky failed. \[r\]etry, \[s\]kip, \[a\]bort?' tty.out
	[ -e fixed ]
	grep -q 'orch: done' tty.out
}

@test "terminal: after a failure, 's' skips it and its dependents run" {
	cat > Orchfile <<-'EOF'
	[step bad]
	run = exit 1
	[step next]
	needs = bad
	run = touch next
	EOF
	on_tty 0.5 s
	[ -e next ]
}

@test "terminal: after a failure, 'a' aborts with exit 1" {
	cat > Orchfile <<-'EOF'
	[step bad]
	run = exit 1
	[step next]
	needs = bad
	run = touch next
	EOF
	run on_tty 0.5 a
	[ "$status" -eq 1 ]
	[ ! -e next ]
	grep -q 'step bad failed: exit 1' tty.out
}

@test "terminal: --on-failure stop does not ask" {
	cat > Orchfile <<-'EOF'
	[step bad]
	run = exit 1
	EOF
	ORCH_ARGS="--on-failure stop" run on_tty 0
	[ "$status" -eq 1 ]
	! grep -q 'retry' tty.out || false
}

@test "terminal: NO_COLOR turns colour off" {
	cat > Orchfile <<-'EOF'
	[step a]
	run = true
	EOF
	on_tty 0
	grep -q $'\033\[32mok' tty.out
	rm -rf .orch
	NO_COLOR=1 on_tty 0
	! grep -q $'\033\[32m' tty.out || false
}

@test "terminal: a gate asks as soon as it waits, while an unrelated step runs" {
	cat > Orchfile <<-'EOF'
	[step gate]
	manual = yes
	[step after]
	needs = gate
	run = if [ -e slow.done ]; then echo late > order; else echo early > order; fi
	[step slow]
	run = sleep 3; touch slow.done
	EOF
	ORCH_ARGS=-j2 on_tty 0.8 y
	grep -q 'Gate gate waits: Approve it now? \[y/N\]' tty.out
	grep -q 'approved gate' tty.out
	[ "$(cat order)" = early ]
	[ -e slow.done ]
}

@test "terminal: a gate answered 'n' waits, and the live line says a gate waits" {
	cat > Orchfile <<-'EOF'
	[step gate]
	manual = yes
	[step slow]
	run = sleep 2
	EOF
	ORCH_ARGS=-j2 run on_tty 0.5 n
	[ "$status" -eq 1 ]
	grep -q 'gate gate waits: orch --approve gate' tty.out
	grep -q '(1 gate waiting)' tty.out
}

@test "terminal: orch's own lines fit the terminal's width, the title cut first" {
	cat > Orchfile <<-'EOF'
	[step a]
	title = A title far too long to fit on a narrow terminal of forty columns
	run = true
	EOF
	script -qefc "stty cols 40; $ORCH" /dev/null > tty.out 2>&1
	line=$(tr -d '\r' < tty.out | sed 's/.*\x1b\[K//; s/\x1b\[[0-9;]*m//g' | grep -a 'ok a' | tail -n 1)
	[ "${#line}" -le 39 ] || { echo "too wide (${#line}): $line"; false; }
	[[ $line == "[1/1] ok a: A title far too"*"... ("*")" ]] || { echo "$line"; false; }
}
