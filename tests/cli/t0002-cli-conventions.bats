#!/usr/bin/env bats
# t0002-cli-conventions — the command-line habits of make and ninja (issue 13): GNU long
# options, -k without a number, -q (question) and -s (quiet), --force of any target,
# -d explain / stats / list, -t list / targets / commands / query / clean, "did you
# mean", LOG_LEVEL, and the completions of the new options.

load lib

setup() {
	TEST_DIR=$(mktemp -d "${BATS_TMPDIR:-/tmp}/orch-cli.XXXXXX")
	cd "$TEST_DIR" || return 1
	unset DATABASE_URL ORCH_LOG_LEVEL LOG_LEVEL NO_COLOR
}

# abc_fail: three independent steps, a and b failing; each notes its run in ran.log.
abc_fail() {
	cat >Orchfile <<-'EOF'
	[step a]
	run = echo a >> ran.log; exit 1
	[step b]
	run = echo b >> ran.log; exit 2
	[step c]
	run = echo c >> ran.log
	EOF
}

# ran: what ran since the last call, on one line.
ran() {
	if [ -f ran.log ]; then xargs < ran.log; rm -f ran.log; fi
}

# gen_use: gen makes gen.txt; use reads in.txt and gen.txt; gate is a manual gate after use.
gen_use() {
	cat >Orchfile <<-'EOF'
	[step gen]
	run = echo gen > gen.txt
	outputs = gen.txt
	[step use]
	needs = gen
	inputs = in.txt
	run = cat in.txt gen.txt > use.txt
	[step gate]
	manual = yes
	needs = use
	EOF
	echo one >in.txt
}

# snapshot: every file and directory here, .orch included: name, type, size, mtime,
# and the contents' hash of each file.
snapshot() {
	find . -printf '%p %y %s %T@\n' | sort
	find . -type f -exec md5sum {} + | sort
}

# ---- long options ----

@test "every short option has a long form that does the same" {
	mkdir -p sub
	tiny_plan sub/plan.ini
	run_orch -C sub -f plan.ini -n
	expect_status 0
	want=$output
	for args in "--directory=sub --file=plan.ini --dry-run" "--directory sub --file plan.ini --dry-run" \
		"--dir=sub --fi=plan.ini --dry"; do
		# shellcheck disable=SC2086
		run_orch $args
		expect_status 0
		expect_same "orch $args" "$want" "$output"
	done
	cd sub
	run_orch --jobs=3 --keep-going=2 --verbose --check -f plan.ini
	expect_status 0
	run_orch --jobs 0 --list -f plan.ini
	expect_status 2
	expect_stderr <<-'EOF'
	orch: error: --jobs needs a number of at least 1, not '0'
	Try 'orch --help'.
	EOF
	run_orch --keep-going=x -f plan.ini --list
	expect_status 2
	expect_stderr <<-'EOF'
	orch: error: --keep-going needs a number, not 'x'
	Try 'orch --help'.
	EOF
}

@test "-h is --help; the help fits in 80 columns and names the new options" {
	run_orch --help
	expect_status 0
	help=$output
	run_orch -h
	expect_status 0
	expect_same "-h" "$help" "$output"
	long=$(awk 'length($0) > 80' <<<"$output")
	expect_same "lines over 80 columns" "" "$long"
	for opt in "-f FILE, --file=FILE" "-C DIR, --directory=DIR" "-j N, --jobs=N" \
		"-k N, --keep-going[=N]" "-n, --dry-run" "-q, --question" "-v, --verbose" \
		"-s, --quiet, --silent" "-d MODE, --debug=MODE" "-t TOOL, --tool=TOOL" "-h, --help"; do
		grep -q -F -e "  $opt " <<<"$output" || { echo "--help does not list $opt"; show_run; return 1; }
	done
}

# ---- -k ----

@test "-k without a number never stops, like make -k; -k N, -kN, --keep-going=N" {
	abc_fail
	run_orch
	expect_status 1
	expect_same "no -k" "a" "$(ran)"
	for k in -k --keep-going -k0 "-k 3"; do
		rm -rf .orch
		# shellcheck disable=SC2086
		run_orch $k
		expect_status 1
		expect_same "$k" "a b c" "$(ran)"
	done
	for k in "-k 2" -k2 --keep-going=2 "--keep-going 2"; do
		rm -rf .orch
		# shellcheck disable=SC2086
		run_orch $k
		expect_status 1
		expect_same "$k" "a b" "$(ran)"
	done
}

@test "-k followed by a word that is not a number: the word is a target" {
	abc_fail
	run_orch -k c
	expect_status 0
	expect_same "-k c" "c" "$(ran)"
	cat >Orchfile <<-'EOF'
	[step 7up]
	run = echo 7up >> ran.log
	[step other]
	run = echo other >> ran.log
	EOF
	# a target starting with a digit: -k0, or -- before it
	run_orch -k -- 7up
	expect_status 0
	expect_same "-k -- 7up" "7up" "$(ran)"
	run_orch --force 7up
	expect_status 0
	run_orch -k0 7up
	expect_status 0
	expect_same "-k0 7up" "7up" "$(ran)"
	run_orch -k 7up
	expect_status 2
	expect_stderr <<-'EOF'
	orch: error: -k needs a number, not '7up'
	Try 'orch --help'.
	EOF
}

# ---- -q and -s ----

@test "-q: exit 1 when something would run, 0 when up to date; prints nothing" {
	tiny_plan
	run_orch -q
	expect_status 1
	expect_same stdout "" "$output"
	expect_same stderr "" "$stderr"
	[ ! -e .orch ] || { echo "-q created .orch"; return 1; }
	run_orch -s
	expect_status 1   # the gate waits
	run_orch -q prepare
	expect_status 0
	expect_same stdout "" "$output"
	expect_same stderr "" "$stderr"
	run_orch -q --question phase1 add-column
	expect_status 0
	# the gate waits for approval: something is left to do
	run_orch -q
	expect_status 1
	run_orch --approve review
	expect_status 0
	run_orch -s
	expect_status 0
	run_orch -q
	expect_status 0
	expect_same stdout "" "$output"
	expect_same stderr "" "$stderr"
	# -q wins over -n
	run_orch -q -n
	expect_status 0
	expect_same stdout "" "$output"
}

@test "-q decides as -n does: a changed input, a forced step, a missing output" {
	gen_use
	run_orch -s
	expect_status 1
	run_orch --approve gate
	expect_status 0
	run_orch -q
	expect_status 0
	echo two >in.txt
	run_orch -q
	expect_status 1
	run_orch -n
	expect_same "-n" "use gate" "$(dry_run_steps <<<"$output" | xargs)"
	run_orch -q gen
	expect_status 0
	rm gen.txt
	run_orch -q gen
	expect_status 1
	run_orch -s gen
	expect_status 0
	run_orch --force gen
	expect_status 0
	run_orch -q gen
	expect_status 1
}

@test "-q takes no lock and writes nothing, even while another orch runs the plan" {
	cat >Orchfile <<-'EOF'
	[step first]
	run = true
	[step slow]
	needs = first
	run = touch started; while [ ! -f go ]; do sleep 0.05; done
	EOF
	"$ORCH" -s >/dev/null 2>&1 &
	pid=$!
	for _ in $(seq 200); do [ -f started ] && break; sleep 0.05; done
	[ -f started ]
	run_orch -q
	touch go
	wait $pid
	expect_status 1
	expect_same stdout "" "$output"
	expect_same stderr "" "$stderr"
	run_orch -q
	expect_status 0
	# and nothing changed, with a journal there
	before=$(snapshot)
	run_orch -q
	expect_status 0
	expect_same "files" "$before" "$(snapshot)"
}

@test "-q with another action is an error that says -s is quiet" {
	tiny_plan
	run_orch -q --status
	expect_status 2
	expect_same stdout "" "$output"
	expect_stderr <<-'EOF'
	orch: error: -q (--question) asks whether targets are up to date and does not go with --status (-s is quiet)
	Try 'orch --help'.
	EOF
	run_orch --question -t targets
	expect_status 2
	expect_stderr <<-'EOF'
	orch: error: -q (--question) asks whether targets are up to date and does not go with -t TOOL
	Try 'orch --help'.
	EOF
}

@test "-s, --quiet and --silent: no line for a step that succeeds" {
	cat >Orchfile <<-'EOF'
	[step a]
	run = true
	[step b]
	run = echo b-output
	EOF
	for s in -s --quiet --silent; do
		rm -rf .orch
		run_orch "$s"
		expect_status 0
		expect_same "$s stdout" "" "$output"
		expect_same "$s stderr" "" "$stderr"
	done
	rm -rf .orch
	run_orch
	expect_status 0
	expect_contains stdout "$output" "ok a"
}

# ---- --force ----

@test "--force a phase, a milestone (transitively), all; each step once" {
	tiny_plan
	run_orch -s
	run_orch --approve review
	run_orch -s
	expect_status 0
	run_orch --force M1
	expect_status 0
	expect_stdout <<-'EOF'
	make-dir will run again
	add-column will run again
	review will run again
	deploy will run again
	EOF
	run_orch -s
	expect_status 1
	run_orch --approve review
	run_orch -s
	expect_status 0
	run_orch --force switch add-column phase2
	expect_status 0
	expect_stdout <<-'EOF'
	review will run again
	deploy will run again
	add-column will run again
	EOF
	run_orch -n
	expect_same "-n" "add-column review deploy" "$(dry_run_steps <<<"$output" | xargs)"
	run_orch --force all
	expect_status 0
	expect_same "--force all" "4" "$(grep -c 'will run again' <<<"$output")"
}

@test "--force: unknown names are all reported, with did you mean, and nothing is recorded" {
	tiny_plan
	run_orch --force deploy ad-column nosuch
	expect_status 2
	expect_same stdout "" "$output"
	expect_stderr <<-'EOF'
	orch: error: --force: unknown target 'ad-column' (did you mean 'add-column'?)
	orch: error: --force: unknown target 'nosuch' (see 'orch --list' for steps, phases and milestones)
	EOF
	[ ! -e .orch ] || { echo ".orch was created"; return 1; }
}

# ---- -d ----

@test "-d list lists the debug modes; an unknown mode is a usage error with the list" {
	run_orch -d list
	expect_status 0
	expect_stdout <<-'EOF'
	debug modes:
	  explain  say why each step that will run runs, before the run
	  stats    time spent loading, hashing, reading the journal and running
	  list     the debug modes
	several modes: -d explain -d stats, or -d explain,stats
	EOF
	run_orch -d explian
	expect_status 2
	expect_stderr <<-'EOF'
	orch: error: unknown debug mode 'explian' (known debug modes: explain, stats, list); did you mean 'explain'?
	Try 'orch --help'.
	EOF
	run_orch --debug=keys
	expect_status 2
	expect_stderr <<-'EOF'
	orch: error: unknown debug mode 'keys' (known debug modes: explain, stats, list)
	Try 'orch --help'.
	EOF
	tiny_plan
	run_orch -d explain --status
	expect_status 2
	expect_stderr <<-'EOF'
	orch: error: -d explain goes with a run, -n or -q, not with --status
	Try 'orch --help'.
	EOF
}

@test "-d explain: why each step would run, on stderr, one block per step" {
	gen_use
	run_orch -n -d explain
	expect_status 0
	expect_stderr <<-'EOF'
	orch: explain: gen would run: never run
	orch: explain: use would run: never run
	orch: explain: gate waits for approval ('orch --approve gate')
	EOF
	run_orch -s
	run_orch --approve gate
	run_orch -n -d explain
	expect_status 0
	expect_same stderr "" "$stderr"
	echo two >in.txt
	sed -i 's/echo gen >/echo GEN >/' Orchfile
	run_orch -q -d explain
	expect_status 1
	expect_same stdout "" "$output"
	expect_stderr <<-'EOF'
	orch: explain: gen would run: it changed since it completed:
	orch: explain:   run changed
	orch: explain: use would run: it changed since it completed:
	orch: explain:   input in.txt changed
	orch: explain:   dependency gen changed
	orch: explain: gate would run: it changed since it completed:
	orch: explain:   dependency use changed
	EOF
	# before a real run: the explanation, then the run
	run_orch -d explain gen
	expect_status 0
	expect_stderr <<-'EOF'
	orch: explain: gen would run: it changed since it completed:
	orch: explain:   run changed
	EOF
	expect_contains stdout "$output" "ok gen"
	rm gen.txt
	run_orch --force use
	run_orch -d explain -q use
	expect_status 1
	expect_stderr <<-'EOF'
	orch: explain: gen would run: output gen.txt missing
	orch: explain: use would run: forced
	EOF
}

@test "-d stats: the time of each part at the end; with -d explain too" {
	tiny_plan
	run_orch -d stats -s make-dir
	expect_status 0
	expect_same stdout "" "$output"
	re='^orch: stats: (orchfile|journal|signatures|run|total) +[0-9]+ ms$'
	expect_same "stats names" "orchfile journal signatures run total" \
		"$(awk '{ print $3 }' <<<"$stderr" | xargs)"
	while read -r line; do
		[[ $line =~ $re ]] || { echo "bad stats line: $line"; show_run; return 1; }
	done <<<"$stderr"
	run_orch -d explain,stats -q
	expect_status 1
	expect_same "first line" "orch: explain: add-column would run: never run" "${stderr%%$'\n'*}"
	expect_same "last line" "total" "$(tail -n 1 <<<"$stderr" | awk '{ print $3 }')"
	run_orch -d explain -d stats -n
	expect_status 0
	expect_same "lines" "8" "$(wc -l <<<"$stderr")"
}

# ---- -t ----

@test "-t list needs no Orchfile; an unknown tool is a usage error with did you mean" {
	run_orch -t list
	expect_status 0
	expect_stdout <<-'EOF'
	orch tools (-t TOOL):
	  list                 the tools
	  targets              every target name: steps, phases, phaseN, milestones, all
	  commands [TARGET...] the commands the targets would run, in order
	  query TARGET...      what a target needs and what needs it
	  clean [TARGET...]    remove the declared outputs of the steps (-n: list them)
	EOF
	run_orch --tool=comands
	expect_status 2
	expect_stderr <<-'EOF'
	orch: error: unknown tool 'comands' (known tools: list, targets, commands, query, clean); did you mean 'commands'?
	Try 'orch --help'.
	EOF
	tiny_plan
	run_orch -t targets deploy
	expect_status 2
	expect_stderr <<-'EOF'
	orch: error: -t targets takes no targets
	Try 'orch --help'.
	EOF
	run_orch -t query
	expect_status 2
	expect_stderr <<-'EOF'
	orch: error: -t query needs a target
	Try 'orch --help'.
	EOF
	run_orch -t targets --list
	expect_status 2
	expect_stderr <<-'EOF'
	orch: error: --list cannot be combined with another action
	Try 'orch --help'.
	EOF
}

@test "-t targets: every target name, one per line" {
	tiny_plan
	run_orch -t targets
	expect_status 0
	expect_same stderr "" "$stderr"
	expect_stdout <<-'EOF'
	make-dir
	add-column
	review
	deploy
	prepare
	phase1
	switch
	phase2
	M1
	all
	EOF
	# each one a target
	while read -r t; do
		run_orch -q "$t"
		[ "$status" -eq 1 ] || { echo "target $t"; show_run; return 1; }
	done < <("$ORCH" -t targets)
}

@test "-t commands: what the targets would run, in order, up to date or not, nothing run" {
	cat >Orchfile <<-'EOF'
	[orch]
	name = commands
	[vars]
	OUT = out
	[phase p]
	[step mk]
	phase = p
	run = mkdir -p ${OUT}
	[step two]
	phase = p
	needs = mk
	run = echo one > ${OUT}/one
	      echo two > ${OUT}/two
	verify = test -s ${OUT}/two
	[step db]
	needs = two
	sql = schema.sql
	sql_verify = schema.verify.sql
	[step look]
	needs = db
	manual = yes
	[step other]
	run = echo other
	[milestone M]
	needs = look
	validate = test -d ${OUT}
	EOF
	run_orch -t commands M
	expect_status 0
	expect_same stderr "" "$stderr"
	expect_stdout <<-'EOF'
	# mk (run)
	mkdir -p out
	# two (run)
	echo one > out/one
	echo two > out/two
	# two (verify)
	test -s out/two
	# db (sql)
	schema.sql
	# db (sql_verify)
	schema.verify.sql
	# look (manual)
	# M (validate)
	test -d out
	EOF
	[ ! -e out ] && [ ! -e .orch ] || { echo "something ran"; return 1; }
	run_orch -t commands two other
	expect_status 0
	expect_same "two other" "# mk (run)|mkdir -p out|# two (run)|echo one > out/one|echo two > out/two|# two (verify)|test -s out/two|# other (run)|echo other" \
		"$(paste -sd '|' <<<"$output")"
	run_orch -s mk
	expect_status 0
	run_orch -t commands mk
	expect_status 0
	expect_same "up to date" "# mk (run)|mkdir -p out" "$(paste -sd '|' <<<"$output")"
	run_orch -t commands nosuch
	expect_status 2
	expect_same stderr "orch: error: unknown target 'nosuch' (see 'orch --list' for steps, phases and milestones)" "$stderr"
}

@test "-t query: needs and users, with their kinds and the key of each edge" {
	tiny_plan
	run_orch -t query deploy phase1 M1
	expect_status 0
	expect_same stderr "" "$stderr"
	expect_stdout <<-'EOF'
	deploy: run step in phase switch: Deploy the new code
	  needs:
	    step review (needs)
	    phase prepare (after)
	  needed by:
	    phase switch (phase)
	prepare: phase1: Prepare
	  needs:
	    step make-dir (phase)
	    step add-column (phase)
	  needed by:
	    phase switch (after)
	    step review (after)
	    step deploy (after)
	M1: milestone: Live
	  needs:
	    phase switch (needs)
	  needed by:
	    nothing
	EOF
	printf '[step lone]\nrun = true\n' >Orchfile
	run_orch -t query lone
	expect_status 0
	expect_stdout <<-'EOF'
	lone: run step: lone
	  needs:
	    nothing
	  needed by:
	    nothing
	EOF
	run_orch -t query all
	expect_status 2
	expect_same stderr "orch: error: -t query: 'all' is the whole plan; query a step, phase or milestone" "$stderr"
	run_orch -t query lnoe
	expect_status 2
	expect_same stderr "orch: error: unknown target 'lnoe' (did you mean 'lone'?)" "$stderr"
}

@test "-t clean: the declared outputs, globs expanded, declared directories only" {
	mkdir keep
	echo k >keep/file
	cat >Orchfile <<-'EOF'
	[step build]
	run = mkdir -p dist/sub && echo a > dist/a.js && echo b > dist/b.js && echo s > dist/sub/s.js
	      echo r > report.txt && ln -sf keep link
	outputs = dist/*.js report.txt link
	[step pack]
	needs = build
	run = mkdir -p pkg/deep && echo x > pkg/deep/x && mkdir -p gl/dir && touch gl/f
	outputs = pkg/ gl/*
	[step notes]
	run = touch notes.txt
	outputs = notes.txt
	EOF
	run_orch -s
	expect_status 0
	before=$(snapshot)
	run_orch -n -t clean
	expect_status 0
	expect_stdout <<-'EOF'
	would remove dist/a.js
	would remove dist/b.js
	would remove report.txt
	would remove link
	would remove gl/f
	would remove notes.txt
	would remove pkg/
	EOF
	expect_same stderr "orch: leaving gl/dir: a directory matched by a glob (declare it as an output to have it cleaned)" "$stderr"
	expect_same "files after -n" "$before" "$(snapshot)"
	run_orch -t clean pack
	expect_status 0
	expect_stdout <<-'EOF'
	removed dist/a.js
	removed dist/b.js
	removed report.txt
	removed link
	removed gl/f
	removed pkg/
	EOF
	# a symlink goes, not what it points to; undeclared files and directories stay
	[ -f keep/file ] && [ -f dist/sub/s.js ] && [ -d gl/dir ] && [ -f notes.txt ] && [ ! -e pkg ]
	run_orch -s -t clean
	expect_status 0
	expect_stdout <<-'EOF'
	removed notes.txt
	EOF
	run_orch -s -t clean
	expect_status 0
	expect_stdout <<-'EOF'
	nothing to clean
	EOF
	# a step whose output is gone runs again
	run_orch -n
	expect_same "-n" "build pack notes" "$(dry_run_steps <<<"$output" | xargs)"
}

@test "-t clean never removes the plan's directory, one above it, .orch or the Orchfile" {
	mkdir plan
	cat >plan/Orchfile <<-'EOF'
	[step bad]
	run = true
	outputs = . .. .orch .orch/journal.jsonl Orchfile out.txt
	EOF
	echo x >plan/out.txt
	mkdir plan/.orch
	echo j >plan/.orch/journal.jsonl
	run_orch -C plan -t clean
	expect_status 1
	expect_stdout <<-'EOF'
	removed out.txt
	EOF
	expect_stderr <<-'EOF'
	orch: error: not removing .: it is the plan's directory
	orch: error: not removing ..: it holds the plan's directory
	orch: error: not removing .orch: it is orch's own state (.orch)
	orch: error: not removing .orch/journal.jsonl: it is orch's own state (.orch)
	orch: error: not removing Orchfile: it is the Orchfile
	EOF
	[ -f plan/Orchfile ] && [ -f plan/.orch/journal.jsonl ]
}

@test "-t clean refuses while another orch runs the plan" {
	cat >Orchfile <<-'EOF'
	[step slow]
	run = touch started out.txt; while [ ! -f go ]; do sleep 0.05; done
	outputs = out.txt
	EOF
	"$ORCH" -s >/dev/null 2>&1 &
	pid=$!
	for _ in $(seq 200); do [ -f started ] && break; sleep 0.05; done
	[ -f started ]
	run_orch -t clean
	touch go
	wait $pid
	expect_status 3
	expect_same stdout "" "$output"
	expect_same stderr "orch: error: another orch (pid $pid) is running this plan: not cleaning its outputs" "$stderr"
	[ -f out.txt ]
	run_orch -t clean
	expect_status 0
	expect_same stdout "removed out.txt" "$output"
}

# ---- did you mean ----

@test "did you mean: an unknown target, a long option, only when one is close" {
	tiny_plan
	run_orch -n ad-column M2 switchh
	expect_status 2
	expect_same stdout "" "$output"
	expect_stderr <<-'EOF'
	orch: error: unknown target 'ad-column' (did you mean 'add-column'?)
	orch: error: unknown target 'M2' (see 'orch --list' for steps, phases and milestones)
	orch: error: unknown target 'switchh' (did you mean 'switch'?)
	EOF
	run_orch --rollback prepar
	expect_status 2
	expect_same stderr "orch: error: unknown target 'prepar' (did you mean 'prepare'?)" "$stderr"
	run_orch --stauts
	expect_status 2
	expect_stderr <<-'EOF'
	orch: unrecognized option '--stauts'
	orch: did you mean '--status'?
	Try 'orch --help'.
	EOF
	run_orch --dry-rnu=x
	expect_status 2
	expect_stderr <<-'EOF'
	orch: unrecognized option '--dry-rnu=x'
	orch: did you mean '--dry-run'?
	Try 'orch --help'.
	EOF
	run_orch --frobnicate
	expect_status 2
	expect_stderr <<-'EOF'
	orch: unrecognized option '--frobnicate'
	Try 'orch --help'.
	EOF
	# an ambiguous abbreviation is getopt's to explain
	run_orch --s
	expect_status 2
	[[ $stderr != *"did you mean"* ]] || { show_run; return 1; }
}

@test "did you mean: unknown Orchfile keys and section types, when one is close" {
	cat >Orchfile <<-'EOF'
	[orch]
	job = 2
	[pool db]
	dept = 1
	[stpe a]
	run = true
	[step b]
	rnu = true
	run = true
	[milestone M]
	needs = b
	validat = true
	EOF
	expect_bad_orchfile <<-'EOF'
	Orchfile:2: unknown key 'job' in [orch] (known keys: name, jobs, database, state, changelog, report, metrics, target, share_database, lock_timeout, statement_timeout, on_interrupt); did you mean 'jobs'?
	Orchfile:4: unknown key 'dept' in [pool db] (known keys: depth); did you mean 'depth'?
	Orchfile:5: unknown section [stpe a] (use orch, vars, env, target, notify, pool, phase, step, milestone, sqitch or flyway); did you mean 'step'?
	Orchfile:8: unknown key 'rnu' in [step b] (known keys: title, phase, needs, run, sql, sql_verify, sql_rollback, database, transaction, verify, rollback, inputs, outputs, estimate, timeout, retries, retry_delay, pool, manual, prompt, always, on_change, env, type, component, impact, refs, backup, lock_timeout, statement_timeout, backup_schema, hold, check, check_every, check_failures, on_fail, require, check_require, runs_on, on_interrupt); did you mean 'run'?
	Orchfile:12: unknown key 'validat' in [milestone M] (known keys: title, needs, validate, allow_skipped, require); did you mean 'validate'?
	orch: error: Orchfile: 5 errors; nothing was run
	EOF
}

@test "edit distance: swaps count once, case is ignored, short words need a close match" {
	tiny_plan
	run_orch -n m1
	expect_status 2
	expect_same stderr "orch: error: unknown target 'm1' (did you mean 'M1'?)" "$stderr"
	run_orch -n M9
	expect_status 2
	expect_same stderr "orch: error: unknown target 'M9' (see 'orch --list' for steps, phases and milestones)" "$stderr"
	run_orch -n phase3
	expect_status 2
	expect_same stderr "orch: error: unknown target 'phase3' (see 'orch --list' for steps, phases and milestones)" "$stderr"
	run_orch -n delpoy
	expect_status 2
	expect_same stderr "orch: error: unknown target 'delpoy' (did you mean 'deploy'?)" "$stderr"
	run_orch -n alll
	expect_status 2
	expect_same stderr "orch: error: unknown target 'alll' (did you mean 'all'?)" "$stderr"
}

# ---- LOG_LEVEL ----

@test "LOG_LEVEL as ORCH_LOG_LEVEL; ORCH_LOG_LEVEL wins when both are set" {
	cat >Orchfile <<-'EOF'
	[step a]
	run = echo hello
	[step b]
	run = exit 3
	EOF
	run env LOG_LEVEL=error "$ORCH" -k
	[ "$status" -eq 1 ] || { show_run; return 1; }
	[[ $output != *"ok a"* ]] || { show_run; return 1; }
	[[ $output == *"step b failed: exit 3"* ]] || { show_run; return 1; }
	rm -rf .orch
	run env LOG_LEVEL=error ORCH_LOG_LEVEL=info "$ORCH" -k
	[ "$status" -eq 1 ] || { show_run; return 1; }
	[[ $output == *"ok a"* ]] || { show_run; return 1; }
	rm -rf .orch
	run env LOG_LEVEL=DEBUG "$ORCH" -k
	[ "$status" -eq 1 ] || { show_run; return 1; }
	[[ $output == *"start a"* ]] || { show_run; return 1; }
	run_orch_env() { run --separate-stderr env "$@" "$ORCH" --check; }
	run_orch_env LOG_LEVEL=trace
	expect_status 0
	expect_same stderr "orch: warning: LOG_LEVEL=trace is not one of error, warn, info, debug; using info" "$stderr"
	run_orch_env LOG_LEVEL=trace ORCH_LOG_LEVEL=loud
	expect_status 0
	expect_same stderr "orch: warning: ORCH_LOG_LEVEL=loud is not one of error, warn, info, debug; using info" "$stderr"
}

# ---- completions ----

# complete_bash WORD...: COMPREPLY of contrib/orch.bash for the command line WORD...
# (the last word is the one being completed), one per line, sorted.
complete_bash() {
	(
		# shellcheck source=../../contrib/orch.bash
		. "$TOP/contrib/orch.bash"
		COMP_WORDS=("$@")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		_orch
		printf '%s\n' "${COMPREPLY[@]}" | sort
	)
}

sorted() { printf '%s\n' "$@" | sort; }

@test "bash completion: the long options, -d modes, -t tools, --file=FILE honoured" {
	run complete_bash "$ORCH" -
	expect_status 0
	for opt in --file --directory --jobs --keep-going --dry-run -q --question --verbose -s \
		--quiet --silent -d --debug -t --tool -h --help --kill-orphans; do
		grep -qx -e "$opt" <<<"$output" || { echo "missing option $opt in: $output"; return 1; }
	done
	run complete_bash "$ORCH" -d ''
	expect_same "-d" "$(sorted explain stats list)" "$output"
	run complete_bash "$ORCH" --debug = e
	expect_same "--debug=" "explain" "$output"
	run complete_bash "$ORCH" -t c
	expect_same "-t" "$(sorted commands clean)" "$output"
	mkdir sub
	tiny_plan sub/plan.ini
	run complete_bash "$ORCH" --file = sub/plan.ini -t query de
	expect_same "--file=FILE -t query" "deploy" "$output"
	run complete_bash "$ORCH" --file sub/plan.ini --force ph
	expect_same "--force takes targets" "$(sorted phase1 phase2)" "$output"
	run complete_bash "$ORCH" -f sub/plan.ini -t targets ''
	expect_same "-t targets takes nothing" "" "$output"
	mv sub/plan.ini sub/Orchfile
	run complete_bash "$ORCH" --directory=sub -k ''
	expect_contains "-k" "$output" "0"
	expect_contains "-k" "$output" "deploy"
}

@test "zsh completion: the long options, -d modes, -t tools" {
	f=$TOP/contrib/_orch
	for opt in --file --directory --jobs --keep-going --dry-run --question --verbose -s \
		--quiet --silent -d --debug -t --tool -h --kill-orphans; do
		grep -q -e "'\(([^)]*)\)\?\*\?$opt[-+=]*\[" "$f" || { echo "_orch lacks $opt"; return 1; }
	done
	grep -q ':debug mode:(explain stats list)' "$f"
	grep -q ':tool:(list targets commands query clean)' "$f"
	command -v zsh >/dev/null || skip "zsh is not installed"
	run zsh -n "$f"
	expect_status 0
}
