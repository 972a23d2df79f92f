#!/usr/bin/env bats
# What a big plan costs: a no-op stats each input file once; --status --json and
# --list --json write one step at a time, so they peak at what --status does.

load lib

# plan N: N steps s1..sN in a chain, each with its own input file inp/sK.
plan() {
	mkdir -p inp
	awk -v n="$1" 'BEGIN {
		for (k = 1; k <= n; k++) {
			printf "[step s%d]\nrun = true\ninputs = inp/s%d\n", k, k
			if (k > 1) printf "needs = s%d\n", k - 1
			printf "\n"
			print k > ("inp/s" k)
		}
	}' > Orchfile
}

# peak_kib ARGS...: orch's peak resident size in KiB, its output thrown away.
peak_kib() {
	/usr/bin/time -f 'maxrss %M' -o rss.txt "$ORCH" "$@" >/dev/null 2>&1 || return 1
	grep -o 'maxrss [0-9]*' rss.txt | cut -d' ' -f2
}

@test "a warm no-op stats each input file once" {
	command -v strace >/dev/null || skip "strace is not installed (contrib/bootstrap installs it)"
	plan 300
	run_orch -s
	expect_status 0
	run_orch -s
	expect_status 0
	# LeakSanitizer cannot run under ptrace: the sanitizer build runs without it here
	ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" strace -f -qq -e trace=stat,lstat,newfstatat,statx -o trace.txt "$ORCH" -s
	[ "$(grep -c 'inp/s[0-9]' trace.txt)" -eq 300 ] ||
		{ echo "stat calls on inputs: $(grep -c 'inp/s[0-9]' trace.txt) for 300 inputs"; grep -m 6 'inp/s1"' trace.txt; false; }
	# the inputs are still watched: a changed one makes its step (and what needs it) run
	echo changed > inp/s299
	run_orch
	expect_status 0
	expect_contains stdout "$output" "s299"
	expect_contains stdout "$output" "s300"
}

@test "--status --json and --list --json peak at what --status does" {
	case $ORCH in */asan/*) skip "the sanitizer build keeps freed memory" ;; esac
	awk 'BEGIN { for (k = 1; k <= 40000; k++) printf "[step s%d]\ntitle = step number %d\nrun = true\n\n", k, k }' > Orchfile
	text=$(peak_kib --status)
	json=$(peak_kib --status --json)
	list=$(peak_kib --list --json)
	echo "--status $text KiB, --status --json $json KiB, --list --json $list KiB"
	[ "$json" -le $((text * 13 / 10)) ]
	[ "$list" -le $((text * 13 / 10)) ]
	# the streamed document is one valid JSON value with every step
	run_orch --status --json
	expect_status 0
	[ "$(jq '.steps | length' <<<"$output")" -eq 40000 ]
	[ "$(jq -r '.steps[39999].title' <<<"$output")" = "step number 40000" ]
	run_orch --list --json
	expect_status 0
	[ "$(jq '.steps | length' <<<"$output")" -eq 40000 ]
}

@test "40 phases each after every earlier phase cost about what one phase does" {
	case $ORCH in */asan/*) skip "the sanitizer build keeps freed memory" ;; esac
	# phased K: 30,000 steps in K phases, phase k after p1 ... pk-1, named one by one
	phased() {
		mkdir -p "$1"
		awk -v np="$2" 'BEGIN {
			n = 30000; per = n / np
			for (k = 1; k <= np; k++) {
				printf "[phase p%d]\n", k
				if (k > 1) { printf "after ="; for (j = 1; j < k; j++) printf " p%d", j; printf "\n" }
			}
			for (k = 1; k <= n; k++) printf "[step s%d]\nphase = p%d\nrun = true\n", k, int((k - 1) / per) + 1
		}' > "$1/Orchfile"
	}
	phased one 1
	phased forty 40
	one=$(peak_kib -f one/Orchfile -n)
	forty=$(peak_kib -f forty/Orchfile -n)
	echo "-n: one phase $one KiB, 40 phases $forty KiB"
	[ "$forty" -le $((one * 13 / 10)) ]
	# and the order still keeps the phases apart: the last step of p1 before the first of p2
	run_orch -f forty/Orchfile -n
	expect_status 0
	[ "$(grep -n -m1 -w 's751' <<<"$output" | cut -d: -f1)" -gt "$(grep -n -m1 -w 's750' <<<"$output" | cut -d: -f1)" ]
}

@test "inputs are found from the plan's directory wherever orch runs, and a directory input is walked" {
	mkdir -p plan/inp plan/dir/sub elsewhere
	echo one > plan/inp/a
	echo two > plan/dir/sub/b
	cat > plan/Orchfile <<'ORCH'
[step a]
run = true
inputs = inp/a

[step d]
run = true
inputs = dir

[step m]
run = true
inputs = inp/missing
ORCH
	cd elsewhere
	run_orch -f ../plan/Orchfile -s
	expect_status 0
	run_orch -f ../plan/Orchfile
	expect_status 0
	expect_contains stdout "$output" "nothing to do"
	# a changed file, a file changed deep in a directory input, a missing input appearing
	echo changed > ../plan/inp/a
	echo changed > ../plan/dir/sub/b
	echo now > ../plan/inp/missing
	run_orch -f ../plan/Orchfile
	expect_status 0
	expect_contains stdout "$output" "ok a"
	expect_contains stdout "$output" "ok d"
	expect_contains stdout "$output" "ok m"
	cd ../plan
	run_orch
	expect_status 0
	expect_contains stdout "$output" "nothing to do"
}

@test "--status --json and --list --json onto a full device fail and say so" {
	[ -w /dev/full ] || skip "no /dev/full"
	awk 'BEGIN { for (k = 1; k <= 5000; k++) printf "[step s%d]\nrun = true\n\n", k }' > Orchfile
	for view in "--status --json" "--list --json"; do
		run bash -c "\"\$ORCH\" $view >/dev/full"
		[ "$status" -eq 1 ] || { echo "$view: exit $status"; false; }
		expect_contains output "$output" "writing output: No space left on device"
	done
}
