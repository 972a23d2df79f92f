#!/usr/bin/env bats
# t0001-cli — the command line of SPEC §2: help, version, bad usage, -C, -f and the
# default Orchfile lookup, targets. (Running steps, --status, --why, --rollback,
# --approve and --reset have their own files.)

load lib

@test "--help lists every option of SPEC §2" {
	run_orch --help
	expect_status 0
	expect_same stderr "" "$stderr"
	expect_contains stdout "$output" "usage: orch [options] [target ...]"
	for opt in "-f FILE" "-C DIR" "-j N" "-k N" "-n" "-v" "-q" "--status" "--list" \
		"--check" "--why STEP" "--graph" "--rollback TARGET" "--approve STEP" "--skip STEP" \
		"--force" "--reset" "--yes" "--on-failure" "--version" "--help"; do
		# each option starts a line of the option list
		if ! printf '%s\n' "$output" | grep -q -e "^  \(.*, \)\?$opt\b"; then
			echo "--help does not list $opt"
			show_run
			return 1
		fi
	done
	expect_contains stdout "$output" "--status [--json]"
	expect_contains stdout "$output" "--list [--json]"
	expect_contains stdout "$output" "Exit status: 0 done, 1 a step failed or a gate waits for approval, 2 bad usage"
	expect_contains stdout "$output" "or Orchfile, 3 locked, 4 journal unreadable, 5 progress cannot be recorded,"
}

@test "--help works without an Orchfile and ignores the rest of the line" {
	run_orch --help --list
	expect_status 0
	expect_contains stdout "$output" "usage: orch"
}

@test "--version prints the name and version" {
	run_orch --version
	expect_status 0
	expect_same stderr "" "$stderr"
	[[ $output =~ ^orch\ [0-9]+\.[0-9]+\.[0-9]+$ ]] || { show_run; return 1; }
}

@test "an unknown long option is exit 2 with a hint" {
	run_orch --bogus
	expect_status 2
	expect_same stdout "" "$output"
	[[ ${stderr%%$'\n'*} == *": unrecognized option '--bogus'" ]] || { show_run; return 1; }
	expect_same "last line" "Try 'orch --help'." "${stderr##*$'\n'}"
}

@test "an unknown short option is exit 2 with a hint" {
	run_orch -x
	expect_status 2
	[[ ${stderr%%$'\n'*} == *": invalid option -- 'x'" ]] || { show_run; return 1; }
	expect_same "last line" "Try 'orch --help'." "${stderr##*$'\n'}"
}

@test "an option without its argument is exit 2" {
	run_orch -j
	expect_status 2
	[[ ${stderr%%$'\n'*} == *": option requires an argument -- 'j'" ]] || { show_run; return 1; }
	expect_same "last line" "Try 'orch --help'." "${stderr##*$'\n'}"
}

@test "-j takes a number of at least 1" {
	tiny_plan
	for bad in 0 abc -1 2x ""; do
		run_orch -j "$bad" --list
		expect_status 2
		expect_same stdout "" "$output"
		expect_stderr <<-EOF
		orch: error: -j needs a number of at least 1, not '$bad'
		Try 'orch --help'.
		EOF
	done
	run_orch -j 8 --list
	expect_status 0
}

@test "-k takes a number, 0 included" {
	tiny_plan
	# -k's number is optional: attached (-kN), or the next word when it starts with a digit
	for bad in -kx -k-1 -k1.5; do
		run_orch "$bad" --list
		expect_status 2
		expect_stderr <<-EOF
		orch: error: -k needs a number, not '${bad#-k}'
		Try 'orch --help'.
		EOF
	done
	run_orch -k 1.5 --list
	expect_status 2
	expect_stderr <<-'EOF'
	orch: error: -k needs a number, not '1.5'
	Try 'orch --help'.
	EOF
	run_orch -k 0 --list
	expect_status 0
	run_orch -k 3 --list
	expect_status 0
}

@test "--on-failure takes ask, stop or skip" {
	tiny_plan
	run_orch --on-failure maybe --list
	expect_status 2
	expect_stderr <<-'EOF'
	orch: error: --on-failure takes ask, stop or skip, not 'maybe'
	Try 'orch --help'.
	EOF
}

@test "--json without --status or --list is exit 2" {
	tiny_plan
	for action in "" --check --graph; do
		run_orch --json $action
		expect_status 2
		expect_same stdout "" "$output"
		expect_stderr <<-'EOF'
		orch: error: --json goes with --status or --list
		Try 'orch --help'.
		EOF
	done
}

@test "two actions at once are exit 2" {
	tiny_plan
	run_orch --list --check
	expect_status 2
	expect_stderr <<-'EOF'
	orch: error: --check cannot be combined with another action
	Try 'orch --help'.
	EOF
}

@test "--list and --check take no targets" {
	tiny_plan
	run_orch --list deploy
	expect_status 2
	expect_stderr <<-'EOF'
	orch: error: --list takes no targets
	Try 'orch --help'.
	EOF
	run_orch --check deploy
	expect_status 2
	expect_stderr <<-'EOF'
	orch: error: --check takes no targets
	Try 'orch --help'.
	EOF
}

@test "an unknown target is exit 2 naming it, and nothing is shown" {
	tiny_plan
	run_orch -n nosuch
	expect_status 2
	expect_same stdout "" "$output"
	expect_stderr <<-'EOF'
	orch: error: unknown target 'nosuch' (see 'orch --list' for steps, phases and milestones)
	EOF
	[ ! -e .orch ] || { echo ".orch was created"; return 1; }
}

@test "every unknown target is named" {
	tiny_plan
	run_orch --graph deploy nosuch phase9
	expect_status 2
	expect_same stdout "" "$output"
	expect_stderr <<-'EOF'
	orch: error: unknown target 'nosuch' (see 'orch --list' for steps, phases and milestones)
	orch: error: unknown target 'phase9' (see 'orch --list' for steps, phases and milestones)
	EOF
}

@test "targets: a step, a phase by name or number, a milestone, all" {
	tiny_plan
	for t in add-column prepare phase1; do
		run_orch -n "$t"
		expect_status 0
		expect_same "steps of $t" "make-dir add-column" "$(dry_run_steps <<<"$output" | xargs)"
	done
	for t in deploy switch phase2 M1 all; do
		run_orch -n "$t"
		expect_status 0
		expect_same "steps of $t" "make-dir add-column review deploy" "$(dry_run_steps <<<"$output" | xargs)"
	done
	run_orch -n make-dir review
	expect_status 0
	expect_same "steps of make-dir review" "make-dir add-column review" "$(dry_run_steps <<<"$output" | xargs)"
}

@test "no Orchfile is exit 2 with a message" {
	run_orch --list
	expect_status 2
	expect_same stdout "" "$output"
	expect_stderr <<-'EOF'
	orch: error: no Orchfile here (looked for Orchfile, orchfile and sqitch.plan in the working directory; use -f FILE)
	EOF
}

@test "the default Orchfile is Orchfile, else orchfile" {
	printf '[orch]\nname = lower\n[step a]\nrun = true\n' >orchfile
	run_orch --list
	expect_status 0
	expect_same "first line" "plan lower: 1 step, 0 phases, 0 milestones" "${output%%$'\n'*}"
	printf '[orch]\nname = upper\n[step a]\nrun = true\n' >Orchfile
	run_orch --list
	expect_status 0
	expect_same "first line" "plan upper: 1 step, 0 phases, 0 milestones" "${output%%$'\n'*}"
}

@test "-f names the Orchfile, relative to the working directory" {
	mkdir plans
	tiny_plan plans/one.ini
	run_orch -f plans/one.ini --check
	expect_status 0
	expect_same stderr "" "$stderr"
	[[ $output == "plans/one.ini: ok: 4 steps, 2 phases, "* ]] || { show_run; return 1; }
}

@test "-C DIR changes to DIR before looking for the Orchfile" {
	mkdir -p a/b
	tiny_plan a/b/Orchfile
	run_orch -C a/b --list
	expect_status 0
	expect_same "first line" "plan tiny: 4 steps, 2 phases, 1 milestone" "${output%%$'\n'*}"
	run_orch -C a -f b/Orchfile --list
	expect_status 0
	expect_same "first line" "plan tiny: 4 steps, 2 phases, 1 milestone" "${output%%$'\n'*}"
}

@test "-C to a missing directory is exit 2" {
	run_orch -C nowhere --list
	expect_status 2
	expect_same stdout "" "$output"
	expect_stderr <<-'EOF'
	orch: error: cannot change to nowhere: No such file or directory
	EOF
}

@test "the plan name defaults to the Orchfile's directory name" {
	mkdir my-plan
	printf '[step a]\nrun = true\n' >my-plan/Orchfile
	run_orch -f my-plan/Orchfile --list
	expect_status 0
	expect_same "first line" "plan my-plan: 1 step, 0 phases, 0 milestones" "${output%%$'\n'*}"
}

@test "-v and -s are accepted" {
	tiny_plan
	run_orch -v --list
	expect_status 0
	run_orch -s --check
	expect_status 0
}

@test "-n with an action that has no dry run (--skip, --force, --reset, --approve, ...) is refused, not done" {
	printf '[step a]\nrun = true\n[step b]\nmanual = yes\n' >Orchfile
	run_orch a
	expect_status 0
	cp .orch/journal.jsonl before
	for args in "--skip a" "--force a" "--reset --yes" "--approve b" "--accept a" "--promote a" "--abort a"; do
		run_orch -n $args
		expect_status 2
		expect_contains stderr "$stderr" "orch: error: -n (dry run) does not go with ${args%% *}"
	done
	cmp before .orch/journal.jsonl
	[ ! -e .orch/journal.jsonl.1 ]
}
