#!/usr/bin/env bats
# t8001-contrib — what issue 8 ships besides the engine: the reference plan (the
# top-level orchfile) and the example plans load; contrib/: bash and zsh completion,
# the vim syntax file, orch-watch and the demo script.

load lib

# complete WORD...: run the bash completion of contrib/orch.bash on the command line
# WORD... (the last word is the one being completed; "" for a new word). Prints
# COMPREPLY one per line, sorted.
complete_bash() {
	(
		# shellcheck source=../../contrib/orch.bash
		. "$TOP/contrib/orch.bash"
		COMP_WORDS=("$@")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		COMP_LINE="$*"
		COMP_POINT=${#COMP_LINE}
		_orch
		printf '%s\n' "${COMPREPLY[@]}" | sort
	)
}

sorted() { printf '%s\n' "$@" | sort; }

TINY_TARGETS="make-dir add-column review deploy prepare phase1 switch phase2 M1 all"

@test "bash completion: options of SPEC §2" {
	run complete_bash "$ORCH" --ro
	expect_status 0
	expect_same completion "--rollback" "$output"
	run complete_bash "$ORCH" -
	expect_status 0
	for opt in -f -C -j -k -n -v -q --status --json --list --check --why --graph \
		--rollback --approve --skip --force --reset --yes --on-failure --version --help; do
		grep -qx -e "$opt" <<<"$output" || { echo "missing option $opt in: $output"; return 1; }
	done
	run complete_bash "$ORCH" --on-failure s
	expect_same "--on-failure" "$(sorted skip stop)" "$output"
	run complete_bash "$ORCH" --on-failure = a
	expect_same "--on-failure=" "ask" "$output"
}

@test "bash completion: targets are the steps, phases, milestones of the Orchfile" {
	tiny_plan
	run complete_bash "$ORCH" ''
	expect_status 0
	# shellcheck disable=SC2086
	expect_same targets "$(sorted $TINY_TARGETS)" "$output"
	run complete_bash "$ORCH" -j 4 ad
	expect_same "prefix ad" "add-column" "$output"
	run complete_bash "$ORCH" --rollback ph
	expect_same "--rollback" "$(sorted phase1 phase2)" "$output"
}

@test "bash completion: --approve offers the manual gates, --why the steps" {
	tiny_plan
	run complete_bash "$ORCH" --approve ''
	expect_same "--approve" "review" "$output"
	run complete_bash "$ORCH" --why ''
	expect_same "--why" "$(sorted make-dir add-column review deploy)" "$output"
}

@test "bash completion: -f and -C earlier on the line are honoured" {
	mkdir -p sub
	tiny_plan sub/plan.ini
	run complete_bash "$ORCH" -f sub/plan.ini ''
	# shellcheck disable=SC2086
	expect_same "-f FILE" "$(sorted $TINY_TARGETS)" "$output"
	mv sub/plan.ini sub/Orchfile
	run complete_bash "$ORCH" -C sub --approve ''
	expect_same "-C DIR" "review" "$output"
	run complete_bash "$ORCH" -Csub de
	expect_same "-CDIR" "deploy" "$output"
	# no Orchfile here: nothing, and no error
	run complete_bash "$ORCH" ''
	expect_status 0
	expect_same "no Orchfile" "" "$output"
}

@test "bash completion: without jq, targets come from the text of orch --list" {
	tiny_plan
	mkdir bin
	ln -s "$(command -v awk)" bin/awk
	run env PATH="$PWD/bin" "$BASH" -c '. "$1/contrib/orch.bash"; command -v jq && exit 1
		COMP_WORDS=("$2" ""); COMP_CWORD=1; _orch; printf "%s\n" "${COMPREPLY[@]}"
		COMP_WORDS=("$2" --approve ""); COMP_CWORD=2; _orch; printf "approve %s\n" "${COMPREPLY[@]}"' \
		- "$TOP" "$ORCH"
	expect_status 0
	# shellcheck disable=SC2086
	expect_same targets "$(sorted $TINY_TARGETS "approve review")" "$(sort <<<"$output")"
}

@test "zsh completion: a #compdef file with every option, names from orch --list" {
	f=$TOP/contrib/_orch
	head -n 1 "$f" | grep -qx '#compdef orch'
	for opt in -f -C -j -k -n -v -q --status --json --list --check --why --graph \
		--rollback --approve --skip --force --reset --yes --on-failure --version --help; do
		grep -q -e "'\(([^)]*)\)\?\*\?$opt[+=]\?\[" "$f" || { echo "_orch lacks $opt"; return 1; }
	done
	command -v zsh >/dev/null || skip "zsh is not installed"
	run zsh -n "$f"
	expect_status 0
	# _arguments and _describe stubbed: the names offered for targets, with -C honoured
	mkdir -p sub
	tiny_plan sub/Orchfile
	run zsh -f -c '
		_arguments() { state=targets; return 1 }
		_describe() { local a=${@[-1]}; print -l -- ${${(P)a}%%:*} }
		source "$1" >/dev/null 2>&1
		words=("$2" -C sub ""); CURRENT=4; _orch
		state=; _arguments() { state=manual; return 1 }
		words=("$2" -Csub --approve ""); CURRENT=4; _orch | sed "s/^/approve /"' - "$f" "$ORCH"
	# shellcheck disable=SC2086
	expect_same names "$(sorted $TINY_TARGETS "approve review")" "$(sort <<<"$output")"
}

@test "vim syntax: the groups for sections, keys, variables, comments, durations" {
	f=$TOP/contrib/orch.vim
	for group in orchComment orchSection orchSectionKind orchSectionName orchKey \
		orchVar orchDuration orchContinuation; do
		grep -q "^syn \(match\|region\|keyword\) $group\b" "$f" || { echo "no group $group"; return 1; }
		[ "$group" = orchContinuation ] ||
			grep -q "^hi def link $group " "$f" || { echo "group $group has no colour"; return 1; }
	done
	grep -q 'b:current_syntax = "orch"' "$f"
	grep -q 'setfiletype orch' "$f"   # the ftdetect line
	# comments only at the start of a line
	grep -q '^syn match orchComment "^' "$f"
}

@test "vim syntax: vim loads it without errors and colours an Orchfile" {
	command -v vim >/dev/null || skip "vim is not installed"
	tiny_plan
	cat >probe.vim <<-EOF
	set nocompatible
	syntax on
	syntax clear
	unlet! b:current_syntax
	source $TOP/contrib/orch.vim
	let g:r = []
	for [l, c] in [[1, 1], [5, 2], [15, 1], [15, 12], [12, 2], [13, 1]]
	  call add(g:r, synIDattr(synID(l, c, 1), 'name'))
	endfor
	call writefile(g:r, 'groups')
	qall!
	EOF
	sed -i '1i # a comment' Orchfile
	run vim -u NONE -N -es -S probe.vim Orchfile
	expect_status 0
	expect_same "vim output" "" "$output"
	run cat groups
	# line 1 comment, 5 [phase prepare], 15 "estimate = 5s" key and duration,
	# 12 [step make-dir] (section kind), 13 "title = ..." key
	expect_same groups "$(printf '%s\n' orchComment orchSectionKind orchKey orchDuration \
		orchSectionKind orchKey)" "$output"
}

@test "contrib scripts are valid shell; orch-watch checks its options" {
	run sh -n "$TOP/contrib/demo"
	expect_status 0
	run bash -n "$TOP/contrib/demo"
	expect_status 0
	run sh -n "$TOP/contrib/orch-watch"
	expect_status 0
	run bash -n "$TOP/contrib/orch.bash"
	expect_status 0
	[ -x "$TOP/contrib/demo" ] && [ -x "$TOP/contrib/orch-watch" ]
	run sh "$TOP/contrib/orch-watch" --help
	expect_status 0
	expect_contains usage "$output" "usage: orch-watch"
	run sh "$TOP/contrib/orch-watch" -n soon
	expect_status 2
	for f in orch.bash _orch orch.vim orch-watch; do
		grep -q "$f" "$TOP/contrib/README.md" || { echo "contrib/README.md does not list $f"; return 1; }
	done
}

# ref_plan: a copy of the reference plan and the files it names in the test directory,
# away from any journal in the repository
ref_plan() {
	copy_plans .
}

@test "the reference orchfile passes --check" {
	ref_plan
	run_orch --check
	expect_status 0
	expect_same stdout "orchfile: ok: 32 steps, 7 phases, 7 milestones, 1 pool" "$output"
}

@test "the reference plan: the 32 steps, 7 phases and 7 milestones of issue 8" {
	ref_plan
	run_orch --list --json
	expect_status 0
	printf '%s\n' "$output" >plan.json
	run jq -r '.steps[] | "\(.title)|\(.estimate_s / 60)"' plan.json
	expect_status 0
	expect_stdout <<-'EOF'
	Review All Workflows|30
	Setup Development Environment|45
	Create Feature Branch|15
	Create New Database Tables|60
	Update TypeScript Types|45
	Implement Migration Script|90
	Test Migration on Staging|120
	Update Storage Layer|90
	Implement Brand API Routes|60
	Implement Context API Routes|75
	Update Module Execution|90
	Implement Reports API|60
	Update Frontend Types|30
	Implement Brand Components|90
	Implement Context Editor|180
	Implement Reports UI|120
	Update Navigation|45
	Unit Tests|180
	Integration Tests|120
	End-to-End Tests|150
	Performance Tests|90
	Pre-deployment Validation|60
	Setup Feature Flags|45
	Deploy to Staging|30
	Gradual Rollout - Team|240
	Gradual Rollout - 5%|480
	Gradual Rollout - 25%|720
	Full Rollout|1440
	Monitor Production|2880
	Backup Old Tables|30
	Remove Old Tables|15
	Update Documentation|60
	EOF
	run jq -r '.phases[] | "\(.number) \(.target) \(.name) \(.title) \(.steps | length)"' plan.json
	expect_stdout <<-'EOF'
	1 phase1 preparation Preparation 3
	2 phase2 migration Migration 4
	3 phase3 backend Backend 5
	4 phase4 frontend Frontend 5
	5 phase5 integration Integration 4
	6 phase6 deployment Validation & Deployment 8
	7 phase7 cleanup Cleanup 3
	EOF
	run jq -r '.milestones[] | "\(.name) \(.title)"' plan.json
	expect_stdout <<-'EOF'
	M1 Project Setup & Preparation
	M2 Database Schema Migration
	M3 Backend API Implementation
	M4 Frontend Components & Pages
	M5 Integration & Testing
	M6 Production Deployment
	M7 Cleanup & Documentation
	EOF
	# manual gates where a person must act; the database steps are SQL in pool db
	run jq -r '[.steps[] | select(.manual) | .name] | join(" ")' plan.json
	expect_same gates "review-workflows rollout-team" "$output"
	run jq -r '[.steps[] | select(.kind == "sql") | .name] | join(" ")' plan.json
	for s in create-tables migration-script test-migration backup-old-tables remove-old-tables; do
		expect_contains "sql steps" "$output" "$s"
	done
}

@test "every step of the reference plan that changes something has a rollback" {
	# the Orchfile text: each [step] section that has run or sql has rollback/sql_rollback
	run awk '
		/^\[/ { if (name != "" && changes && !undo) print name; name = ""; changes = undo = 0 }
		/^\[step / { name = $2; sub(/\]$/, "", name) }
		/^(run|sql) *=/ { changes = 1 }
		/^(rollback|sql_rollback) *=/ { undo = 1 }
		END { if (name != "" && changes && !undo) print name }' "$TOP/orchfile"
	expect_status 0
	expect_same "steps without a rollback" "" "$output"
}

@test "each example plan passes --check" {
	n=0
	for d in shell-only sqitch-style every-feature; do
		[ -f "$TOP/examples/$d/Orchfile" ] || { echo "examples/$d/Orchfile is missing"; return 1; }
	done
	for f in "$TOP"/examples/*/Orchfile; do
		# a copy: a journal left in the example by running it there is not under test
		rm -rf ex && cp -R "$(dirname "$f")" ex && rm -rf ex/.orch
		run_orch -C ex --check
		[ "$status" -eq 0 ] || { echo "$f:"; show_run; return 1; }
		expect_contains "$f" "$output" "Orchfile: ok: "
		n=$((n + 1))
	done
	[ "$n" -ge 3 ]
}

@test "the files the reference plan names are in examples/brand-context-ucr" {
	# \${SQL}/... and \${BIN}/... in the orchfile: SQL files and executable scripts
	ex=$TOP/examples/brand-context-ucr
	n=0
	for f in $(grep -o '\${SQL}/[A-Za-z0-9_.]*' "$TOP/orchfile" | sort -u); do
		[ -s "$ex/sql/${f#\$\{SQL\}/}" ] || { echo "missing: $f"; return 1; }
		n=$((n + 1))
	done
	[ "$n" -ge 30 ] || { echo "only $n SQL files named"; return 1; }
	for f in $(grep -o '\${BIN}/[A-Za-z0-9_.-]*' "$TOP/orchfile" | sort -u); do
		[ -x "$ex/scripts/${f#\$\{BIN\}/}" ] || { echo "missing or not executable: $f"; return 1; }
	done
}

@test "contrib/bootstrap: nothing missing is exit 0, silent; not root and something missing says what it would install" {
	mkdir bin
	# dpkg-query: every package installed but those in $MISSING; id -u: $FAKE_UID
	cat > bin/dpkg-query <<-'EOF2'
	#!/bin/sh
	for p; do :; done
	case " $MISSING " in *" $p "*) exit 1 ;; esac
	echo 'install ok installed'
	EOF2
	cat > bin/id <<-'EOF2'
	#!/bin/sh
	echo "$FAKE_UID"
	EOF2
	chmod +x bin/dpkg-query bin/id
	MISSING= FAKE_UID=1000 PATH="$PWD/bin:$PATH" run --separate-stderr sh "$TOP/contrib/bootstrap"
	expect_status 0
	expect_stdout < /dev/null
	expect_stderr < /dev/null
	MISSING="bats parallel" FAKE_UID=1000 PATH="$PWD/bin:$PATH" run --separate-stderr sh "$TOP/contrib/bootstrap"
	expect_status 1
	expect_stdout < /dev/null
	expect_stderr <<-'EOF2'
	bootstrap: missing: bats parallel
	bootstrap: not root, so nothing is installed; as root it would run:
	  apt-get update && apt-get install -y --no-install-recommends bats parallel
	EOF2
}
