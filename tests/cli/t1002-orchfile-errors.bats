#!/usr/bin/env bats
# t1002-orchfile-errors — bad Orchfiles: each is refused with exit status 2, nothing on
# stdout, and exactly these messages on stderr (FILE:LINE: what is wrong, in line
# order, all of them, then one summary line).

load lib

@test "a line that is not key = value, a section or a comment" {
	cat >Orchfile <<-'EOF'
	[step a]
	run = true
	this line is not ini
	EOF
	expect_bad_orchfile <<-'EOF'
	Orchfile:3: expected 'key = value', '[section]' or a comment
	orch: error: Orchfile: 1 error; nothing was run
	EOF
}

@test "a section header without ']' (its keys are not blamed on the section before)" {
	cat >Orchfile <<-'EOF'
	[step a]
	run = true

	[step b
	run = true
	EOF
	expect_bad_orchfile <<-'EOF'
	Orchfile:4: section header without closing ']'
	orch: error: Orchfile: 1 error; nothing was run
	EOF
}

@test "an unknown section" {
	cat >Orchfile <<-'EOF'
	[stage one]
	run = true
	EOF
	expect_bad_orchfile <<-'EOF'
	Orchfile:1: unknown section [stage one] (use orch, vars, env, target, notify, pool, phase, step, milestone, sqitch or flyway)
	orch: error: Orchfile: 1 error; nothing was run
	EOF
}

@test "a key outside of any section" {
	cat >Orchfile <<-'EOF'
	# the plan
	run = true
	[step a]
	run = true
	EOF
	expect_bad_orchfile <<-'EOF'
	Orchfile:2: 'run' is outside of any section
	orch: error: Orchfile: 1 error; nothing was run
	EOF
}

@test "an unknown key lists the known ones" {
	cat >Orchfile <<-'EOF'
	[step a]
	run = true
	depends = b
	[phase p]
	titel = P
	[milestone M]
	needs = a
	check = true
	[orch]
	parallel = 2
	[pool db]
	size = 2
	EOF
	expect_bad_orchfile <<-'EOF'
	Orchfile:3: unknown key 'depends' in [step a] (known keys: title, phase, needs, run, sql, sql_verify, sql_rollback, database, transaction, verify, rollback, inputs, outputs, estimate, timeout, retries, retry_delay, pool, manual, prompt, always, on_change, env, type, component, impact, refs, backup, lock_timeout, statement_timeout, backup_schema, hold, check, check_every, check_failures, on_fail, require, check_require, runs_on, on_interrupt)
	Orchfile:5: unknown key 'titel' in [phase p] (known keys: number, title, after); did you mean 'title'?
	Orchfile:8: unknown key 'check' in [milestone M] (known keys: title, needs, validate, allow_skipped, require)
	Orchfile:10: unknown key 'parallel' in [orch] (known keys: name, jobs, database, state, changelog, report, metrics, target, share_database, lock_timeout, statement_timeout, on_interrupt)
	Orchfile:12: unknown key 'size' in [pool db] (known keys: depth)
	orch: error: Orchfile: 5 errors; nothing was run
	EOF
}

@test "a duplicate key" {
	cat >Orchfile <<-'EOF'
	[step a]
	run = true
	title = A
	run = false
	EOF
	expect_bad_orchfile <<-'EOF'
	Orchfile:4: duplicate key 'run' (first set at line 2)
	orch: error: Orchfile: 1 error; nothing was run
	EOF
}

@test "a duplicate name, across steps, phases and milestones" {
	cat >Orchfile <<-'EOF'
	[phase build]
	[step build]
	run = true
	[step deploy]
	run = true
	[milestone deploy]
	needs = build
	[step deploy]
	run = true
	EOF
	expect_bad_orchfile <<-'EOF'
	Orchfile:2: duplicate name 'build' (already a phase at line 1)
	Orchfile:6: duplicate name 'deploy' (already a step at line 4)
	Orchfile:8: duplicate name 'deploy' (already a step at line 4)
	orch: error: Orchfile: 3 errors; nothing was run
	EOF
}

@test "duplicate [orch], [vars] and pools" {
	cat >Orchfile <<-'EOF'
	[orch]
	[vars]
	[pool db]
	[orch]
	[vars]
	[pool db]
	[step a]
	run = true
	EOF
	expect_bad_orchfile <<-'EOF'
	Orchfile:4: duplicate section [orch] (first at line 1)
	Orchfile:5: duplicate section [vars] (first at line 2)
	Orchfile:6: duplicate pool 'db' (first at line 3)
	orch: error: Orchfile: 3 errors; nothing was run
	EOF
}

@test "needs, phase, pool and after naming nothing" {
	cat >Orchfile <<-'EOF'
	[phase p]
	after = setup
	[step a]
	run = true
	needs = b phase7
	phase = q
	pool = db
	[milestone M]
	needs = a c
	EOF
	expect_bad_orchfile <<-'EOF'
	Orchfile:2: phase 'p' runs after 'setup', which is not defined
	Orchfile:5: step 'a' needs 'b', which is not defined
	Orchfile:5: step 'a' needs 'phase7', which is not defined
	Orchfile:6: step 'a' is in phase 'q', which is not defined
	Orchfile:7: step 'a' uses pool 'db', which is not defined
	Orchfile:9: milestone 'M' needs 'c', which is not defined
	orch: error: Orchfile: 6 errors; nothing was run
	EOF
}

@test "needing itself or 'all'" {
	cat >Orchfile <<-'EOF'
	[step a]
	run = true
	needs = a
	[step b]
	run = true
	needs = all
	EOF
	expect_bad_orchfile <<-'EOF'
	Orchfile:3: step 'a' needs itself
	Orchfile:6: step 'b' needs 'all', which is the whole plan, not a step, phase or milestone
	orch: error: Orchfile: 2 errors; nothing was run
	EOF
}

@test "a cycle is printed whole, with the line of each edge" {
	cat >Orchfile <<-'EOF'
	[step a]
	run = true
	needs = b

	[step b]
	run = true
	needs = c

	[step c]
	run = true
	needs = a
	EOF
	expect_bad_orchfile <<-'EOF'
	Orchfile:3: dependency cycle: a -> b -> c -> a
	Orchfile:3:   step a needs b
	Orchfile:7:   step b needs c
	Orchfile:11:   step c needs a
	orch: error: Orchfile: 1 error; nothing was run
	EOF
}

@test "a cycle through a phase barrier and a milestone" {
	cat >Orchfile <<-'EOF'
	[phase one]
	[phase two]
	after = one
	[step s1]
	phase = one
	needs = M
	run = true
	[step s2]
	phase = two
	run = true
	[milestone M]
	needs = s2
	EOF
	expect_bad_orchfile <<-'EOF'
	Orchfile:5: dependency cycle: one -> s1 -> M -> s2 -> one
	Orchfile:5:   phase one contains s1
	Orchfile:6:   step s1 needs M
	Orchfile:12:   milestone M needs s2
	Orchfile:3:   step s2 runs after one
	orch: error: Orchfile: 1 error; nothing was run
	EOF
}

@test "a step with neither run, sql nor manual" {
	cat >Orchfile <<-'EOF'
	[step a]
	title = Something to do
	estimate = 1h
	EOF
	expect_bad_orchfile <<-'EOF'
	Orchfile:1: step 'a' has neither run, sql nor manual = yes
	orch: error: Orchfile: 1 error; nothing was run
	EOF
}

@test "a step with both run and sql, a manual step with run" {
	cat >Orchfile <<-'EOF'
	[step a]
	run = ./migrate.sh
	sql = migrate.sql
	[step b]
	manual = yes
	sql = b.sql
	[step c]
	run = true
	sql_rollback = c.sql
	backup = t
	EOF
	expect_bad_orchfile <<-'EOF'
	Orchfile:1: step 'a' has both run and sql; split it into two steps
	Orchfile:5: step 'b' is a manual gate and cannot also have sql
	Orchfile:7: step 'c' has sql_rollback without sql
	Orchfile:7: step 'c' has backup but no sql
	orch: error: Orchfile: 4 errors; nothing was run
	EOF
}

@test "a bad duration" {
	cat >Orchfile <<-'EOF'
	[step a]
	run = true
	estimate = 5 minutes
	timeout = 1x
	retry_delay = -3s
	EOF
	expect_bad_orchfile <<-'EOF'
	Orchfile:3: bad duration '5 minutes' for estimate (use e.g. 90s, 45m, 1h30m, 2d)
	Orchfile:4: bad duration '1x' for timeout (use e.g. 90s, 45m, 1h30m, 2d)
	Orchfile:5: bad duration '-3s' for retry_delay (use e.g. 90s, 45m, 1h30m, 2d)
	orch: error: Orchfile: 3 errors; nothing was run
	EOF
}

@test "a bad number" {
	cat >Orchfile <<-'EOF'
	[orch]
	jobs = 0
	[pool db]
	depth = many
	[phase p]
	number = -1
	[step a]
	run = true
	retries = 2.5
	EOF
	expect_bad_orchfile <<-'EOF'
	Orchfile:2: bad jobs '0' (use a number from 1 to 4096)
	Orchfile:4: bad depth 'many' (use a number of at least 1)
	Orchfile:6: bad phase number '-1' (use 1, 2, 3...)
	Orchfile:9: bad number '2.5' for retries (use a whole number such as 3)
	orch: error: Orchfile: 4 errors; nothing was run
	EOF
}

@test "a bad boolean or choice" {
	cat >Orchfile <<-'EOF'
	[step a]
	run = true
	always = sometimes
	transaction = Y
	on_change = redo
	[step b]
	manual = maybe
	EOF
	expect_bad_orchfile <<-'EOF'
	Orchfile:3: bad boolean 'sometimes' for always (use yes or no)
	Orchfile:4: bad boolean 'Y' for transaction (use yes or no)
	Orchfile:5: bad on_change 'redo' (use rerun, error or ignore)
	Orchfile:7: bad boolean 'maybe' for manual (use yes or no)
	orch: error: Orchfile: 4 errors; nothing was run
	EOF
}

@test "an undefined variable" {
	cat >Orchfile <<-'EOF'
	[vars]
	DIR = ${ORCH_TEST_UNDEFINED}/sql
	[step a]
	run = cat ${DIR}/a.sql
	[step b]
	run = echo ${ORCH_TEST_ALSO_UNDEFINED}
	EOF
	expect_bad_orchfile <<-'EOF'
	Orchfile:2: undefined variable ${ORCH_TEST_UNDEFINED} (not in [vars] nor the environment)
	Orchfile:6: undefined variable ${ORCH_TEST_ALSO_UNDEFINED} (not in [vars] nor the environment)
	orch: error: Orchfile: 2 errors; nothing was run
	EOF
}

@test "bad variable syntax" {
	cat >Orchfile <<-'EOF'
	[vars]
	A = ${A}
	[step a]
	run = echo ${NAME WITH SPACES}
	[step b]
	run = echo ${}
	[step c]
	run = echo ${X:-no end
	[step d]
	run = echo ${A}
	EOF
	expect_bad_orchfile <<-'EOF'
	Orchfile:2: variable ${A} refers to itself, directly or through other variables
	Orchfile:4: bad variable reference '${NAME' (use ${NAME} or ${NAME:-default})
	Orchfile:6: bad variable reference '${}' (use ${NAME} or ${NAME:-default})
	Orchfile:8: unterminated variable reference '${X'
	orch: error: Orchfile: 4 errors; nothing was run
	EOF
}

@test "a phase that runs after a step" {
	cat >Orchfile <<-'EOF'
	[step setup]
	run = true
	[phase main]
	after = setup
	EOF
	expect_bad_orchfile <<-'EOF'
	Orchfile:4: phase 'main' runs after 'setup', which is a step, not a phase
	orch: error: Orchfile: 1 error; nothing was run
	EOF
}

@test "two phases with one number" {
	cat >Orchfile <<-'EOF'
	[phase one]
	number = 2
	[phase two]
	[phase three]
	number = 2
	EOF
	expect_bad_orchfile <<-'EOF'
	Orchfile:4: phase 'three' has number 2, as has phase 'one' (line 1)
	orch: error: Orchfile: 1 error; nothing was run
	EOF
}

@test "the name 'all' is reserved; names are letters, digits, '-', '_', '.'" {
	cat >Orchfile <<-'EOF'
	[step all]
	run = true
	[phase]
	[step deploy now]
	run = true
	[milestone M/1]
	[orch]
	name = my plan
	EOF
	expect_bad_orchfile <<-'EOF'
	Orchfile:1: the name 'all' is reserved for the whole plan
	Orchfile:3: [phase] needs a name, as in [phase NAME]
	Orchfile:4: bad step name 'deploy now' (use letters, digits, '-', '_' and '.')
	Orchfile:6: bad milestone name 'M/1' (use letters, digits, '-', '_' and '.')
	Orchfile:8: bad plan name 'my plan' (use letters, digits, '-', '_' and '.')
	orch: error: Orchfile: 5 errors; nothing was run
	EOF
}

@test "a milestone without needs, a bad env entry" {
	cat >Orchfile <<-'EOF'
	[milestone M]
	title = Nothing
	[step a]
	run = true
	env = GOOD=1
	  no equals sign
	EOF
	expect_bad_orchfile <<-'EOF'
	Orchfile:1: milestone 'M' has no needs
	Orchfile:5: bad env entry 'no equals sign' (use KEY=value, one per line)
	orch: error: Orchfile: 2 errors; nothing was run
	EOF
}

@test "several errors are reported in one go, in line order" {
	cat >Orchfile <<-'EOF'
	[orch]
	jobs = none

	[step a]
	run = true
	estimate = soon
	needs = nothing

	[step b]
	title = B

	[step a]
	run = true

	[step c]
	run = echo ${ORCH_TEST_UNDEFINED}
	colour = blue
	EOF
	expect_bad_orchfile <<-'EOF'
	Orchfile:2: bad jobs 'none' (use a number from 1 to 4096)
	Orchfile:6: bad duration 'soon' for estimate (use e.g. 90s, 45m, 1h30m, 2d)
	Orchfile:7: step 'a' needs 'nothing', which is not defined
	Orchfile:9: step 'b' has neither run, sql nor manual = yes
	Orchfile:12: duplicate name 'a' (already a step at line 4)
	Orchfile:16: undefined variable ${ORCH_TEST_UNDEFINED} (not in [vars] nor the environment)
	Orchfile:17: unknown key 'colour' in [step c] (known keys: title, phase, needs, run, sql, sql_verify, sql_rollback, database, transaction, verify, rollback, inputs, outputs, estimate, timeout, retries, retry_delay, pool, manual, prompt, always, on_change, env, type, component, impact, refs, backup, lock_timeout, statement_timeout, backup_schema, hold, check, check_every, check_failures, on_fail, require, check_require, runs_on, on_interrupt)
	orch: error: Orchfile: 7 errors; nothing was run
	EOF
}

@test "errors name the file as given with -f" {
	mkdir plans
	printf '[step a]\nneeds = b\nrun = true\n' >plans/p.ini
	run_orch -f plans/p.ini --list
	expect_status 2
	expect_same stdout "" "$output"
	expect_stderr <<-'EOF'
	plans/p.ini:2: step 'a' needs 'b', which is not defined
	orch: error: plans/p.ini: 1 error; nothing was run
	EOF
	# every command that reads the plan refuses it
	for action in -n --graph --check; do
		run_orch -f plans/p.ini $action
		expect_status 2
		expect_same stdout "" "$output"
	done
}

@test "a missing Orchfile, a directory, a binary file" {
	run_orch -f missing.orch --check
	expect_status 2
	expect_same stdout "" "$output"
	expect_stderr <<-'EOF'
	orch: error: cannot read missing.orch: No such file or directory
	EOF
	mkdir dir
	run_orch -f dir --check
	expect_status 2
	expect_stderr <<-'EOF'
	orch: error: cannot read dir: Is a directory
	EOF
	printf '[step a]\nrun = \0\n' >Orchfile
	run_orch --check
	expect_status 2
	expect_stderr <<-'EOF'
	orch: error: Orchfile: not a text file (it contains a NUL byte)
	EOF
}

@test "an Orchfile without steps is fine, and so is an empty one" {
	: >Orchfile
	run_orch --check
	expect_status 0
	expect_same stdout "Orchfile: ok: 0 steps, 0 phases, 0 milestones, 0 pools" "$output"
}

@test "a --target or ORCH_TARGET for a plan without targets names the file, not a line 0" {
	cat >Orchfile <<-'EOF'
	[step a]
	run = true
	EOF
	expect_bad_orchfile -T staging <<-'EOF'
	Orchfile: --target names target 'staging', but the plan has no [target] sections
	orch: error: Orchfile: 1 error; nothing was run
	EOF
	ORCH_TARGET=staging run_orch --check
	expect_status 2
	expect_stderr <<-'EOF'
	Orchfile: ORCH_TARGET names target 'staging', but the plan has no [target] sections
	orch: error: Orchfile: 1 error; nothing was run
	EOF
}

@test "a --target the plan lacks is the command line's mistake: no line of [orch] target is blamed" {
	cat >Orchfile <<-'EOF'
	[orch]
	target = staging
	[target staging]
	[target production]
	[step a]
	run = true
	EOF
	expect_bad_orchfile -T prod <<-'EOF'
	Orchfile: --target names target 'prod', which the plan does not have (its targets: staging, production)
	orch: error: Orchfile: 1 error; nothing was run
	EOF
	sed -i 's/^target = staging$/target = prod/' Orchfile
	expect_bad_orchfile <<-'EOF'
	Orchfile:2: [orch] target names target 'prod', which the plan does not have (its targets: staging, production)
	orch: error: Orchfile: 1 error; nothing was run
	EOF
}

@test "SQL steps whose database is an unset \${DATABASE_URL}: --check and -n say a run refuses them, the run refuses before starting anything" {
	cat >Orchfile <<-'EOF'
	[orch]
	name = p
	[step first]
	run = touch ran
	[step a]
	needs = first
	database = ${DATABASE_URL}
	sql = a.sql
	[step b]
	needs = a
	sql = a.sql
	EOF
	echo 'select 1;' >a.sql
	unset DATABASE_URL
	run_orch --check
	expect_status 0
	expect_stdout <<-'EOF'
	Orchfile: ok: 3 steps, 0 phases, 0 milestones, 0 pools
	EOF
	expect_stderr <<-'EOF'
	Orchfile:5: warning: step 'a' has no database here (and 1 more SQL step): a run refuses it until DATABASE_URL, the step's database or [orch] database is set
	EOF
	run_orch -n
	expect_status 0
	expect_contains stderr "$stderr" "Orchfile:5: warning: step 'a' has no database here (and 1 more SQL step)"
	run_orch
	expect_status 2
	expect_stdout </dev/null
	expect_stderr <<-'EOF'
	Orchfile:5: step 'a' has no database (and 1 more SQL step): set DATABASE_URL, the step's database or [orch] database; nothing was run
	EOF
	[ ! -e ran ]
	# a plan whose SQL steps are not in the target runs as before
	run_orch first
	expect_status 0
	[ -e ran ]
}
