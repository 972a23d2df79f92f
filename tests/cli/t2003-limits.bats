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
	expect_contains stderr "$stderr" "step big-fail failed: exit 1;"
	[ ! -e never ]
	! grep -q 'Argument list too long' .orch/logs/*.log
}

