#!/usr/bin/env bats
# Scheduling you can trust (issue 13): a phase waits for its whole after chain; -n lists
# the steps in the order a -j1 run starts them; a milestone is not reached on a skipped
# step unless it says allow_skipped = yes; [env] reaches every step.

load lib

# the journal's start, ok and approve events, one "EVENT STEP" a line
journal_order() {
	jq -r 'select(.ev == "start" or .ev == "ok" or .ev == "approve") | "\(.ev) \(.step)"' .orch/journal.jsonl
}

# three phases in a chain: b after a, c after b; a1 takes a while
chain_plan() {
	cat >Orchfile <<-'EOF'
	[orch]
	name = chain

	[phase a]
	title = First

	[phase b]
	title = Second
	after = a

	[phase c]
	title = Third
	after = b

	[step a1]
	phase    = a
	estimate = 1m
	run      = sleep 0.5

	[step b1]
	phase    = b
	estimate = 1m
	run      = true

	[step c1]
	phase    = c
	estimate = 1m
	run      = true
	EOF
}

@test "phases: c waits for a when b's only step is skipped, even at -j2" {
	chain_plan
	run_orch --skip b1
	expect_status 0
	run_orch -n
	expect_status 0
	expect_stdout <<-'EOF'
	phase 1 a: First
	  a1                       run        1m  (never run)

	phase 3 c: Third
	  c1                       run        1m  (never run)

	2 steps would run, estimated 2m; 1 up to date
	EOF
	run_orch -j2
	expect_status 0
	run journal_order
	expect_stdout <<-'EOF'
	start a1
	ok a1
	start c1
	ok c1
	EOF
}

@test "phases: c waits for a when b was done before a runs again" {
	chain_plan
	run_orch -j2
	expect_status 0
	run_orch --force a1 c1
	expect_status 0
	run_orch -j2
	expect_status 0
	run journal_order
	expect_same "the second run" "start a1
ok a1
start c1
ok c1" "$(tail -n 4 <<<"$output")"
}

@test "phases: a cycle between phases is reported once, phase by phase" {
	cat >Orchfile <<-'EOF'
	[phase a]
	after = b
	[phase b]
	after = a
	[step a1]
	phase = a
	run   = true
	[step b1]
	phase = b
	run   = true
	[step b2]
	phase = b
	run   = true
	EOF
	expect_bad_orchfile <<-'EOF'
	Orchfile:2: dependency cycle: a -> b -> a
	Orchfile:2:   phase a runs after b
	Orchfile:4:   phase b runs after a
	orch: error: Orchfile: 1 error; nothing was run
	EOF
}

@test "phases: --graph draws one edge per after, between the clusters" {
	chain_plan
	run_orch --graph
	expect_status 0
	expect_stdout <<-'EOF'
	digraph "chain" {
	  compound=true;
	  newrank=true;
	  rankdir=TB;
	  ranksep=0.35;
	  nodesep=0.25;
	  node [fontname="Helvetica", fontsize=10];
	  subgraph "cluster_a" {
	    label="1. First";
	    "a1" [label="a1", shape=box];
	  }
	  subgraph "cluster_b" {
	    label="2. Second";
	    "b1" [label="b1", shape=box];
	  }
	  subgraph "cluster_c" {
	    label="3. Third";
	    "c1" [label="c1", shape=box];
	  }
	  "a1" -> "b1" [ltail="cluster_a", lhead="cluster_b"];
	  "b1" -> "c1" [ltail="cluster_b", lhead="cluster_c"];
	  "a1" -> "b1" [style=invis, weight=5];
	  "b1" -> "c1" [style=invis, weight=5];
	}
	EOF
}

@test "-n: the order a -j1 run starts the steps, a heading each time the phase changes" {
	cat >Orchfile <<-'EOF'
	[phase build]
	[phase docs]
	[step compile]
	phase    = build
	estimate = 10m
	run      = true
	[step manual-page]
	phase    = docs
	estimate = 5m
	run      = true
	[step link]
	phase    = build
	needs    = compile
	estimate = 1m
	run      = true
	EOF
	run_orch -n
	expect_status 0
	expect_stdout <<-'EOF'
	phase 1 build: build
	  compile                  run       10m  (never run)

	phase 2 docs: docs
	  manual-page              run        5m  (never run)

	phase 1 build: build
	  link                     run        1m  (never run)

	3 steps would run, estimated 16m; 0 up to date
	EOF
	run dry_run_steps <<<"$output"
	want=$output
	run_orch -j1
	expect_status 0
	run jq -r 'select(.ev == "start") | .step' .orch/journal.jsonl
	expect_same "start order" "$want" "$output"
}

@test "-n: a gate is listed where the run stops for it, after what does not need it" {
	cat >Orchfile <<-'EOF'
	[step review]
	manual = yes
	[step deploy]
	needs    = review
	estimate = 1h
	run      = true
	[step docs]
	estimate = 1m
	run      = true
	EOF
	run_orch -n
	expect_status 0
	expect_stdout <<-'EOF'
	(no phase)
	  docs                     run        1m  (never run)
	  review                   manual      -  (waiting for approval)
	  deploy                   run        1h  (never run)

	3 steps would run, estimated 1h1m; 0 up to date
	EOF
	run_orch -j1
	expect_status 1
	run_orch --approve review
	expect_status 0
	run_orch -j1
	expect_status 0
	run journal_order
	expect_stdout <<-'EOF'
	start docs
	ok docs
	approve review
	start deploy
	ok deploy
	EOF
}

@test "-n: the reference plan, in the order a -j1 run takes" {
	copy_plans plans
	cd plans
	run_orch -n
	expect_status 0
	expect_stdout <<-'EOF'
	phase 1 preparation: Preparation
	  setup-env                sql       45m  Setup Development Environment  (never run)
	  create-branch            run       15m  Create Feature Branch  (never run)
	  review-workflows         manual    30m  Review All Workflows  (waiting for approval)

	phase 2 migration: Migration
	  create-tables            sql        1h  Create New Database Tables  (never run)
	  update-types             run       45m  Update TypeScript Types  (never run)

	phase 3 backend: Backend
	  storage-layer            run     1h30m  Update Storage Layer  (never run)

	phase 4 frontend: Frontend
	  frontend-types           run       30m  Update Frontend Types  (never run)

	phase 3 backend: Backend
	  reports-api              run        1h  Implement Reports API  (never run)

	phase 4 frontend: Frontend
	  context-editor           run        3h  Implement Context Editor  (never run)

	phase 2 migration: Migration
	  migration-script         sql     1h30m  Implement Migration Script  (never run)

	phase 3 backend: Backend
	  context-api              run     1h15m  Implement Context API Routes  (never run)

	phase 4 frontend: Frontend
	  reports-ui               run        2h  Implement Reports UI  (never run)
	  brand-components         run     1h30m  Implement Brand Components  (never run)

	phase 2 migration: Migration
	  test-migration           sql        2h  Test Migration on Staging  (never run)

	phase 3 backend: Backend
	  module-execution         run     1h30m  Update Module Execution  (never run)
	  brand-api                run        1h  Implement Brand API Routes  (never run)

	phase 4 frontend: Frontend
	  navigation               run       45m  Update Navigation  (never run)

	phase 5 integration: Integration
	  integration-tests        run        2h  Integration Tests  (never run)
	  unit-tests               run        3h  Unit Tests  (never run)
	  e2e-tests                run     2h30m  End-to-End Tests  (never run)
	  performance-tests        run     1h30m  Performance Tests  (never run)

	phase 6 deployment: Validation & Deployment
	  predeploy-validation     run        1h  Pre-deployment Validation  (never run)
	  feature-flags            sql       45m  Setup Feature Flags  (never run)
	  deploy-staging           run       30m  Deploy to Staging  (never run)
	  rollout-team             manual     4h  Gradual Rollout - Team  (waiting for approval)
	  rollout-5                sql        8h  Gradual Rollout - 5%  (never run)
	  rollout-25               sql       12h  Gradual Rollout - 25%  (never run)
	  full-rollout             sql        1d  Full Rollout  (never run)
	  monitor-production       run        2d  Monitor Production  (never run)

	phase 7 cleanup: Cleanup
	  update-docs              run        1h  Update Documentation  (never run)
	  backup-old-tables        sql       30m  Backup Old Tables  (never run)
	  remove-old-tables        sql       15m  Remove Old Tables  (never run)

	32 steps would run, estimated 5d9h45m; 0 up to date
	EOF
}

@test "-n: the reference plan's order is the order of a real -j1 run (PostgreSQL)" {
	if [ -z "${PGHOST:-}" ]; then
		[ -z "${CI:-}" ] || { echo "CI: no PostgreSQL test server (PGHOST unset)"; return 1; }
		skip "no PostgreSQL test server (PGHOST unset; tests/run-all starts one)"
	fi
	DB=orch_t1003_$$_${BATS_TEST_NUMBER}
	PGOPTIONS='-c client_min_messages=warning' \
		psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
	export DATABASE_URL="postgresql:///$DB"
	# the rollout's holds of no time: the order is the question here (t8002 holds them)
	export ROLLOUT_HOLD=0s
	copy_plans plans
	cd plans
	# review-workflows needs nothing: approved up front; rollout-team when the run stops
	run_orch --approve review-workflows
	expect_status 0
	run_orch -n
	expect_status 0
	run dry_run_steps <<<"$output"
	want=$output
	for round in 1 2 3; do
		run_orch -j1 all
		[ "$status" -eq 0 ] && break
		expect_status 1
		run_orch --approve rollout-team
		expect_status 0
	done
	expect_status 0
	run jq -r 'select(.ev == "start" or .ev == "approve") | .step' .orch/journal.jsonl
	psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB"
	expect_same "start order" "$want" "$(tail -n +2 <<<"$output")"
}

# a milestone made of phase p, whose first step is skipped; a step that needs it
held_plan() {
	cat >Orchfile <<-EOF
	[phase p]
	title = Load
	[step s1]
	phase = p
	run   = echo s1
	[step s2]
	phase = p
	needs = s1
	run   = echo s2
	[milestone M]
	title = Loaded
	needs = p
	$1
	[step after]
	needs = M
	run   = echo after
	EOF
}

@test "skips: -n says a milestone made of a skipped step would not be reached, and what waits" {
	held_plan
	run_orch --skip s1
	expect_status 0
	run_orch -n
	expect_status 0
	expect_stdout <<-'EOF'
	phase 1 p: Load
	  s2                       run         -  (never run)

	1 step would run, estimated 0s; 1 up to date
	milestone M would not be reached: s1 is skipped (allow_skipped = yes accepts it)
	1 step would wait for it and not run: after
	EOF
}

@test "skips: a run stops at a milestone held back by a skipped step, exit 1" {
	held_plan
	run_orch --skip s1
	expect_status 0
	run_orch
	expect_status 1
	# the time a step takes is the machine's: not compared
	output=$(sed 's/ ([0-9.]*s)$/ (TIME)/' <<<"$output")
	expect_stdout <<-'EOF'
	[1/2] ok s2 (TIME)
	s2
	EOF
	expect_stderr <<-'EOF'
	orch: milestone M not reached: s1 is skipped (allow_skipped = yes accepts it)
	orch: 1 step not run
	EOF
	run jq -r 'select(.ev == "milestone") | .step' .orch/journal.jsonl
	expect_same "milestones recorded" "" "$output"
}

@test "skips: allow_skipped = yes, the milestone is reached with a skipped step" {
	held_plan "allow_skipped = yes"
	run_orch --skip s1
	expect_status 0
	run_orch -n
	expect_status 0
	expect_stdout <<-'EOF'
	phase 1 p: Load
	  s2                       run         -  (never run)

	(no phase)
	  after                    run         -  (never run)

	2 steps would run, estimated 0s; 1 up to date
	EOF
	run_orch
	expect_status 0
	expect_contains stdout "$output" "Milestone M reached: Loaded"
	expect_contains stdout "$output" "ok after"
}

# [env] for every step; b sets MODE itself; a gate
env_plan() {
	cat >Orchfile <<-EOF
	[orch]
	name = env
	[vars]
	FLAGS = execReportsEnabled=${1:-false},brandsV2=true
	[env]
	REPORTS_FEATURE_FLAGS = \${FLAGS}
	STEP_LOG              = logs/\${step}.log
	MODE                  = plan
	[step a]
	run = echo "a: \$REPORTS_FEATURE_FLAGS \$STEP_LOG \$MODE" >>seen
	[step b]
	env = MODE=own
	run = echo "b: \$REPORTS_FEATURE_FLAGS \$STEP_LOG \$MODE" >>seen
	[step gate]
	manual = yes
	[step m]
	sql = m.sql
	EOF
	: >m.sql
}

@test "[env]: every step gets it, expanded for the step; a step's own env wins" {
	env_plan
	run_orch -j1 a b
	expect_status 0
	run cat seen
	expect_stdout <<-'EOF'
	a: execReportsEnabled=false,brandsV2=true logs/a.log plan
	b: execReportsEnabled=false,brandsV2=true logs/b.log own
	EOF
	run_helper show-step Orchfile b env
	expect_status 0
	expect_stdout <<-'EOF'
	REPORTS_FEATURE_FLAGS=execReportsEnabled=false,brandsV2=true
	STEP_LOG=logs/b.log
	MODE=own
	EOF
	run_helper show-step Orchfile gate env
	expect_status 0
	expect_stdout </dev/null
}

@test "[env]: a changed value runs the run steps again, not an applied migration nor a gate" {
	env_plan
	run_orch -s a b
	expect_status 0
	run_orch --approve gate
	expect_status 0
	run_helper record Orchfile ok m # applied, as far as the journal knows
	expect_status 0
	run_orch -n
	expect_status 0
	expect_contains stdout "$output" "0 steps would run"
	env_plan true
	run_orch -n
	expect_status 0
	expect_stdout <<-'EOF'
	(no phase)
	  a                        run         -  (env changed)
	  b                        run         -  (env changed)

	2 steps would run, estimated 0s; 2 up to date
	EOF
}

@test "[env]: a bad key, an undefined variable, a second [env], a name" {
	cat >Orchfile <<-'EOF'
	[env]
	1FLAG = on
	FLAG  = ${ORCH_T1003_UNDEFINED}
	[env]
	X = 1
	[env more]
	[step a]
	run = true
	[step b]
	run = true
	EOF
	expect_bad_orchfile <<-'EOF'
	Orchfile:2: bad [env] key '1FLAG' (use letters, digits and _, not starting with a digit)
	Orchfile:3: undefined variable ${ORCH_T1003_UNDEFINED} (not in [vars] nor the environment)
	Orchfile:4: duplicate section [env] (first at line 1)
	Orchfile:6: [env] takes no name
	orch: error: Orchfile: 4 errors; nothing was run
	EOF
}
