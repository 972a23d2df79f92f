#!/usr/bin/env bats
# t2003-limits — sizes that must not matter, and the ones that do, said at load time:
# a run script of any size, step names that fit a log file name, environment values
# that are one line.

load lib

@test "a 300 KiB run script runs, stdin /dev/null, \$0 sh, in its own process group, no extra descriptor" {
	{
		echo '[step big]'
		echo 'run = echo "step=$ORCH_STEP 0=$0" > out'
		# 10,000 lines of padding, about 300 KiB
		awk 'BEGIN { for (i = 0; i < 10000; i++) printf "      : padding line %05d, long enough to add up to three hundred\n", i }'
		echo '      readlink /proc/self/fd/0 >> out'
		echo '      if (: <&3) 2>/dev/null; then echo "fd 3 open" >> out; else echo "fd 3 closed" >> out; fi'
		echo '      test "$(cut -d" " -f5 /proc/$$/stat)" = $$ && echo "group leader" >> out'
		echo '[step big-fail]'
		echo 'needs = big'
		echo 'run = : "$(cat out)"'
		awk 'BEGIN { for (i = 0; i < 10000; i++) printf "      : padding line %05d, long enough to add up to three hundred\n", i }'
		echo '      false'
		echo '      touch never'
	} > Orchfile
	[ "$(wc -c < Orchfile)" -gt 600000 ]
	run_orch
	expect_status 1
	expect_contains stdout "$output" "ok big"
	expect_same out "step=big 0=sh
/dev/null
fd 3 closed
group leader" "$(cat out)"
	# set -e holds in a long script too
	expect_contains stderr "$stderr" "step big-fail failed: exit 1"
	[ ! -e never ]
	! grep -q 'Argument list too long' .orch/logs/*.log
}

@test "a step name too long for its log file is refused at load time, with FILE:LINE" {
	long=$(printf 'a%.0s' $(seq 10000))
	printf '[step ok]\nrun = true\n[step %s]\nrun = true\n' "$long" > Orchfile
	expect_bad_orchfile <<-'EOF'
	Orchfile:3: step name 'aaaaaaaaaaaaaaaaaaaaaaaa...' is 10000 bytes long; names are at most 240 (they name log files)
	orch: error: Orchfile: 1 error; nothing was run
	EOF
	printf '[orch]\nname = %s\n[step a]\nrun = true\n' "$long" > Orchfile
	expect_bad_orchfile <<-'EOF'
	Orchfile:2: plan name 'aaaaaaaaaaaaaaaaaaaaaaaa...' is 10000 bytes long; names are at most 240
	orch: error: Orchfile: 1 error; nothing was run
	EOF
	# 240 is fine, and its log can be written
	name=$(printf 'b%.0s' $(seq 240))
	printf '[step %s]\nrun = echo hello\n[milestone %s]\nneeds = %s\n' "$name" "m$(printf 'c%.0s' $(seq 239))" "$name" > Orchfile
	run_orch
	expect_status 0
	grep -q hello ".orch/logs/$name.log"
	# a '/' was never a name character
	printf '[step a/b]\nrun = true\n' > Orchfile
	expect_bad_orchfile <<-'EOF'
	Orchfile:1: bad step name 'a/b' (use letters, digits, '-', '_' and '.')
	orch: error: Orchfile: 1 error; nothing was run
	EOF
}

@test "an env value with a newline, from a variable, is refused naming the variable; it adds no entry" {
	cat > Orchfile <<-'EOF'
	[vars]
	M = a
	    EVIL=1
	[step s]
	env = K=${M}
	      J=${ONE}
	run = true
	EOF
	ONE=one expect_bad_orchfile <<-'EOF'
	Orchfile:5: env K: its value has a newline once 'K=${M}' is expanded; an environment value is one line
	orch: error: Orchfile: 1 error; nothing was run
	EOF
	printf '[step s]\nenv = K=${MULTI}\nrun = true\n' > Orchfile
	MULTI=$'x\ny' expect_bad_orchfile <<-'EOF'
	Orchfile:2: env K: its value has a newline once 'K=${MULTI}' is expanded; an environment value is one line
	orch: error: Orchfile: 1 error; nothing was run
	EOF
	# one line: fine
	MULTI=xy run_helper show-step Orchfile s env
	expect_status 0
	expect_stdout <<<"K=xy"
}
