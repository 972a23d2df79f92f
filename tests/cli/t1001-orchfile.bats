#!/usr/bin/env bats
# t1001-orchfile — good Orchfiles: --list (text and JSON), -n, --graph, --check, long
# lines and values, ';' and '#' inside values, multi-line values, variables, and a
# plan of 100,000 steps.

load lib

# A plan with every kind of step, numbered and unnumbered phases and a step without a
# phase.
shop_plan() {
	cat >Orchfile <<-'EOF'
	[orch]
	name = shop

	[pool db]
	depth = 1

	[phase late]
	number = 3
	title  = Late work
	after  = early middle

	[phase early]
	title = Early work

	[phase middle]
	title = Middle

	[step load-the-legacy-catalogue]
	title    = Load the legacy catalogue
	phase    = early
	sql      = load.sql
	pool     = db
	estimate = 1h30m

	[step approve]
	title  = Approve the catalogue
	phase  = middle
	needs  = load-the-legacy-catalogue
	manual = yes
	prompt = Look at it

	[step switch]
	phase    = late
	estimate = 2d
	run      = ./switch.sh

	[step tidy]
	title    = Tidy up
	needs    = switch
	estimate = 90s
	run      = rm -rf tmp

	[milestone M1]
	title = Catalogue in
	needs = phase1 approve

	[milestone done]
	needs    = M1 late tidy
	validate = test -f done
	EOF
}

@test "--list prints steps, phases (lowest free number) and milestones" {
	shop_plan
	run_orch --list
	expect_status 0
	expect_same stderr "" "$stderr"
	expect_stdout <<-'EOF'
	plan shop: 4 steps, 3 phases, 2 milestones

	steps:
	  load-the-legacy-catalogue  early        sql     1h30m  Load the legacy catalogue
	  approve                    middle       manual      -  Approve the catalogue
	  switch                     late         run        2d  switch
	  tidy                       -            run     1m30s  Tidy up

	phases:
	  phase1   early            1 step   Early work
	  phase2   middle           1 step   Middle
	  phase3   late             1 step   Late work

	milestones:
	  M1    Catalogue in
	  done  done
	EOF
}

@test "--list of the tiny example" {
	copy_plans plan
	run_orch -f "$TEST_DIR/plan/examples/tiny/Orchfile" --list
	expect_status 0
	expect_same stderr "" "$stderr"
	expect_stdout <<-'EOF'
	plan tiny: 5 steps, 2 phases, 1 milestone

	steps:
	  make-dir    prepare      run        5s  Create the output directory
	  add-column  prepare      run        1m  Add the email column
	  backfill    prepare      run       10m  Backfill emails
	  review      switch       manual      -  Review the backfill
	  deploy      switch       run        2m  Deploy the new code

	phases:
	  phase1   prepare          3 steps  Prepare
	  phase2   switch           2 steps  Switch over

	milestones:
	  M1  Emails live
	EOF
}

@test "--list --json describes every step, phase and milestone" {
	shop_plan
	run_orch --list --json
	expect_status 0
	expect_same stderr "" "$stderr"
	printf '%s\n' "$output" >list.json
	# every step has every field, of the right type
	run jq -e '.steps | length == 4 and all(.[];
		(.name | type == "string") and (.title | type == "string") and
		(.phase | type == "string" or type == "null") and (.needs | type == "array") and
		(.estimate_s | type == "number" or type == "null") and (.manual | type == "boolean") and
		(.kind | IN("run", "sql", "manual")))' list.json
	expect_status 0
	run jq -c '.plan, (.steps[] | [.name, .title, .phase, .needs, .estimate_s, .manual, .kind])' list.json
	expect_status 0
	expect_stdout <<-'EOF'
	"shop"
	["load-the-legacy-catalogue","Load the legacy catalogue","early",[],5400,false,"sql"]
	["approve","Approve the catalogue","middle",["load-the-legacy-catalogue"],null,true,"manual"]
	["switch","switch","late",[],172800,false,"run"]
	["tidy","Tidy up",null,["switch"],90,false,"run"]
	EOF
	run jq -c '.phases[] | [.name, .number, .target, .title, .after, .steps, .estimate_s]' list.json
	expect_status 0
	expect_stdout <<-'EOF'
	["early",1,"phase1","Early work",[],["load-the-legacy-catalogue"],5400]
	["middle",2,"phase2","Middle",[],["approve"],0]
	["late",3,"phase3","Late work",["early","middle"],["switch"],172800]
	EOF
	run jq -c '.milestones[] | [.name, .title, .needs, .validate]' list.json
	expect_status 0
	expect_stdout <<-'EOF'
	["M1","Catalogue in",["early","approve"],false]
	["done","done",["M1","late","tidy"],true]
	EOF
}

@test "--list --json of the reference plan: 32 steps, 7 phases, 7 milestones" {
	copy_plans plan
	run_orch -f "$TEST_DIR/plan/orchfile" --list --json
	expect_status 0
	run jq -c '[(.steps | length), (.phases | length), (.milestones | length),
		([.phases[].number] == [1,2,3,4,5,6,7])]' <<<"$output"
	expect_status 0
	expect_same counts "[32,7,7,true]" "$output"
}

# check_order PLAN_JSON: the -n output in $output lists every step of the plan once,
# each after everything it needs (steps, phases, milestones) and after the phases its
# phase runs after. Prints the violations.
check_order() {
	dry_run_steps <<<"$output" | jq -R . | jq -s . >order.json
	jq -r --slurpfile order order.json '
		. as $p
		| ($order[0] | to_entries | map({(.value): .key}) | add) as $pos
		| def expand($n):
			if any($p.steps[]; .name == $n) then [$n]
			elif any($p.phases[]; .name == $n or .target == $n) then
				[$p.phases[] | select(.name == $n or .target == $n) | .steps[]]
			else [$p.milestones[] | select(.name == $n) | .needs[] | expand(.)[]] end;
		(if ($order[0] | length) != ($p.steps | length) or ($order[0] | unique | length) != ($p.steps | length)
		 then "expected each of the \($p.steps | length) steps once, got \($order[0] | length) lines" else empty end),
		($p.steps[] | . as $s
		 | ([.needs[] | expand(.)[]]
		    + [$p.phases[] | select(.name == $s.phase) | .after[] | expand(.)[]])[]
		 | select($pos[.] == null or $pos[.] > $pos[$s.name])
		 | "\($s.name) is listed before \(.), which it needs")' "$1"
}

@test "-n lists every step once, in a valid order, under its phase" {
	copy_plans plan
	run_orch -f "$TEST_DIR/plan/orchfile" --list --json
	expect_status 0
	printf '%s\n' "$output" >plan.json
	run_orch -f "$TEST_DIR/plan/orchfile" -n
	expect_status 0
	expect_same stderr "$TEST_DIR/plan/orchfile:95: warning: step 'setup-env' has no database here (and 9 more SQL steps): a run refuses it until DATABASE_URL, the step's database or [orch] database is set" "$stderr"
	dry=$output
	run check_order plan.json
	expect_status 0
	expect_same "order violations" "" "$output"
	# each step line sits under the header of its own phase
	run awk -v plan=plan.json '
		BEGIN { while ((getline l < plan) > 0) ; }
		/^phase [0-9]+ / { phase = $3; sub(/:$/, "", phase); next }
		/^  [^ ]/ { print $1, phase }' <<<"$dry"
	expect_status 0
	printf '%s\n' "$output" | sort >got
	jq -r '.steps[] | "\(.name) \(.phase)"' plan.json | sort >want
	diff -u want got
	# the last line sums it up
	[[ ${dry##*$'\n'} == "32 steps would run, estimated "* ]] || { echo "last line: ${dry##*$'\n'}"; return 1; }
}

@test "-n of a target lists only what it needs, in order" {
	shop_plan
	run_orch --list --json
	expect_status 0
	printf '%s\n' "$output" >plan.json
	run_orch -n M1
	expect_status 0
	expect_same "steps of M1" "load-the-legacy-catalogue approve" "$(dry_run_steps <<<"$output" | xargs)"
	run_orch -n phase3
	expect_status 0
	jq '.steps |= map(select(.name != "tidy"))' plan.json >plan3.json
	run check_order plan3.json
	expect_status 0
	expect_same "order violations" "" "$output"
	run_orch -n tidy done
	expect_status 0
	run check_order plan.json
	expect_status 0
	expect_same "order violations" "" "$output"
}

@test "-n groups the steps under phase headers" {
	tiny_plan
	run_orch -n
	expect_status 0
	expect_same stderr "" "$stderr"
	run grep -v '^  ' <<<"$output"
	[[ $output == "phase 1 prepare: Prepare

phase 2 switch: Switch over

4 steps would run, estimated 3m5s"* ]] || { show_run; return 1; }
}

@test "-n changes nothing" {
	tiny_plan
	run_orch -n
	expect_status 0
	run ls -A
	expect_stdout <<-'EOF'
	Orchfile
	EOF
}

@test "--graph is DOT with phases as clusters" {
	tiny_plan
	run_orch --graph
	expect_status 0
	expect_same stderr "" "$stderr"
	expect_stdout <<-'EOF'
	digraph "tiny" {
	  compound=true;
	  newrank=true;
	  rankdir=TB;
	  ranksep=0.35;
	  nodesep=0.25;
	  node [fontname="Helvetica", fontsize=10];
	  subgraph "cluster_prepare" {
	    label="1. Prepare";
	    "make-dir" [label="make-dir\nCreate the output\ndirectory", shape=box];
	    "add-column" [label="add-column\nAdd the email column", shape=box];
	  }
	  subgraph "cluster_switch" {
	    label="2. Switch over";
	    "review" [label="review\nReview the backfill", shape=octagon];
	    "deploy" [label="deploy\nDeploy the new code", shape=box];
	  }
	  "M1" [label="M1\nLive", shape=diamond];
	  "make-dir" -> "add-column";
	  "make-dir" -> "review" [ltail="cluster_prepare", lhead="cluster_switch"];
	  "review" -> "deploy";
	  "review" -> "M1" [ltail="cluster_switch"];
	  "add-column" -> "review" [style=invis, weight=5];
	}
	EOF
	if command -v dot >/dev/null; then
		run dot -Tsvg -o graph.svg <<<"$output"
		expect_status 0
	fi
}

@test "--graph TARGET shows only what the target needs" {
	tiny_plan
	run_orch --graph add-column
	expect_status 0
	expect_stdout <<-'EOF'
	digraph "tiny" {
	  compound=true;
	  newrank=true;
	  rankdir=TB;
	  ranksep=0.35;
	  nodesep=0.25;
	  node [fontname="Helvetica", fontsize=10];
	  subgraph "cluster_prepare" {
	    label="1. Prepare";
	    "make-dir" [label="make-dir\nCreate the output\ndirectory", shape=box];
	    "add-column" [label="add-column\nAdd the email column", shape=box];
	  }
	  "make-dir" -> "add-column";
	}
	EOF
}

@test "--graph of the reference plan: every phase a cluster, every step a node" {
	copy_plans plan
	run_orch -f "$TEST_DIR/plan/orchfile" --graph
	expect_status 0
	dot_text=$output
	[ "$(grep -c '^  subgraph "cluster_' <<<"$dot_text")" -eq 7 ] || { show_run; return 1; }
	[ "$(grep -c '^    "[^"]*" \[label=' <<<"$dot_text")" -eq 32 ] || { show_run; return 1; }
	[ "$(grep -c '^  "M[0-9]" \[label=' <<<"$dot_text")" -eq 7 ] || { show_run; return 1; }
	[ "${dot_text##*$'\n'}" = "}" ] || { show_run; return 1; }
	run dot -Tsvg -o graph.svg <<<"$dot_text"
	expect_status 0
}

@test "--graph --state: each node filled with its state's colour, a legend; the reference plan fits a page" {
	copy_plans plan
	cd plan
	# without DATABASE_URL a run of phase1 (its SQL step setup-env) refuses to start
	"$ORCH" -f orchfile create-branch >/dev/null
	"$ORCH" -f orchfile --approve review-workflows >/dev/null
	"$ORCH" -f orchfile --skip test-migration >/dev/null
	run_orch -f orchfile --graph --state
	expect_status 0
	dot_text=$output
	expect_contains stdout "$dot_text" '"create-branch" [label="create-branch\nCreate Feature Branch\n(done)", shape=box, style=filled, fillcolor="#b7e4a7"];'
	expect_contains stdout "$dot_text" '"test-migration" [label="test-migration\nTest Migration on\nStaging\n(skipped)", shape=cylinder, style=filled, fillcolor="#d9d9d9"];'
	expect_contains stdout "$dot_text" '"create-tables" [label="create-tables\nCreate New Database\nTables\n(todo)", shape=cylinder, style=filled, fillcolor="#ffffff"];'
	expect_contains stdout "$dot_text" '"legend failed" [label="failed", fillcolor="#f4a09c"];'
	run dot -Tsvg -o graph.svg <<<"$dot_text"
	expect_status 0
	# the phases one under the other: no wider than tall, and a size a page can scale to
	read -r w h < <(sed -n 's/.*<svg width="\([0-9]*\)pt" height="\([0-9]*\)pt".*/\1 \2/p' graph.svg)
	[ "$w" -le 2400 ] && [ "$h" -le 2400 ] || { echo "graph is ${w}x${h}pt"; return 1; }
	run_orch -f orchfile --state
	expect_status 2
	expect_contains stderr "$stderr" "--state goes with --graph"
}

@test "--check validates and summarises" {
	shop_plan
	run_orch --check
	expect_status 0
	expect_same stderr "Orchfile:18: warning: step 'load-the-legacy-catalogue' has no database here: a run refuses it until DATABASE_URL, the step's database or [orch] database is set" "$stderr"
	expect_stdout <<-'EOF'
	Orchfile: ok: 4 steps, 3 phases, 2 milestones, 1 pool
	EOF
	copy_plans plan
	run_orch -f "$TEST_DIR/plan/orchfile" --check
	expect_status 0
	[[ $output == "$TEST_DIR/plan/orchfile: ok: 32 steps, 7 phases, 7 milestones, "* ]] || { show_run; return 1; }
}

@test "every example plan and the reference plan pass --check" {
	copy_plans plan
	for f in "$TEST_DIR"/plan/examples/*/Orchfile "$TEST_DIR/plan/orchfile"; do
		run_orch -f "$f" --check
		expect_status 0
		# DATABASE_URL is unset here: a plan with SQL steps is told that a run needs it
		[[ -z $stderr || $stderr =~ ^"$f":[0-9]+": warning: step '"[^$'\n']*"' has no database here"[^$'\n']*$ ]] || { show_run; return 1; }
		[[ $output == "$f: ok: "* ]] || { show_run; return 1; }
	done
}

@test "a line of 64 KiB and more and a value of 100 KiB are read whole" {
	title=$(head -c 70000 /dev/zero | tr '\0' t)
	cmd="echo $(head -c 102400 /dev/zero | tr '\0' x) ; echo end"
	printf '[step big]\ntitle = %s\nrun = %s\n[step after]\nneeds = big\nrun = true\n' "$title" "$cmd" >Orchfile
	run_orch --check
	expect_status 0
	expect_same stdout "Orchfile: ok: 2 steps, 0 phases, 0 milestones, 0 pools" "$output"
	run_orch --list --json
	expect_status 0
	[ "$(jq -r '.steps[0].title' <<<"$output")" = "$title" ] || { echo "title cut"; return 1; }
	run_helper show-step Orchfile big run
	expect_status 0
	[ "$output" = "$cmd" ] || { echo "run cut: ${#output} bytes of ${#cmd}"; return 1; }
}

@test "';' and '#' inside a value are part of the value" {
	cat >Orchfile <<-'EOF'
	# a comment
	; another comment
	[step s]
	title = Step ; with # marks
	run   = cd /tmp; ls ;echo a # b ; c
	EOF
	run_orch --list --json
	expect_status 0
	expect_same title "Step ; with # marks" "$(jq -r '.steps[0].title' <<<"$output")"
	run_helper show-step Orchfile s run
	expect_status 0
	expect_stdout <<-'EOF'
	cd /tmp; ls ;echo a # b ; c
	EOF
}

@test "a value continues on indented lines" {
	cat >Orchfile <<-'EOF'
	[step s]
	run = echo one
	  echo two; echo three
	      if true; then echo four; fi
	# a comment between lines of a value is skipped
	  echo five
	title = Five lines
	EOF
	run_helper show-step Orchfile s run
	expect_status 0
	expect_stdout <<-'EOF'
	echo one
	echo two; echo three
	if true; then echo four; fi
	echo five
	EOF
	run_helper show-step Orchfile s title
	expect_status 0
	expect_same title "Five lines" "$output"
}

@test "needs and env may span lines" {
	cat >Orchfile <<-'EOF'
	[step a]
	run = true
	[step b]
	run = true
	[step c]
	needs = a
	  b
	env = ONE=1
	  TWO=two words
	run = true
	EOF
	run_orch --list --json
	expect_status 0
	expect_same needs '["a","b"]' "$(jq -c '.steps[2].needs' <<<"$output")"
	run_helper show-step Orchfile c env
	expect_status 0
	expect_stdout <<-'EOF'
	ONE=1
	TWO=two words
	EOF
}

@test "variables: [vars], nesting, \${NAME:-default}, the environment, \$\${" {
	cat >Orchfile <<-'EOF'
	[vars]
	DIR   = sql
	FILE  = ${DIR}/one.sql
	COLOR = ${ORCH_TEST_COLOR:-blue}
	SHAPE = ${ORCH_TEST_UNSET:-${DIR}-shaped}
	EMPTY = ${ORCH_TEST_UNSET:-}

	[step s]
	title = ${COLOR} ${SHAPE} [${EMPTY}] ${ORCH_TEST_ENV}
	run   = cat ${FILE} $${NOT_A_VAR} $HOME $$1
	EOF
	ORCH_TEST_ENV=from-env run_helper show-step Orchfile s title
	expect_status 0
	expect_same title "blue sql-shaped [] from-env" "$output"
	ORCH_TEST_ENV=x ORCH_TEST_COLOR=red run_helper show-step Orchfile s title
	expect_status 0
	expect_same title "red sql-shaped [] x" "$output"
	ORCH_TEST_ENV=x run_helper show-step Orchfile s run
	expect_status 0
	expect_same run 'cat sql/one.sql ${NOT_A_VAR} $HOME $$1' "$output"
}

@test "[vars] win over the environment" {
	printf '[vars]\nHOME = /plan-home\n[step s]\nrun = echo ${HOME}\n' >Orchfile
	run_helper show-step Orchfile s run
	expect_status 0
	expect_same run "echo /plan-home" "$output"
}

@test "built-in variables: step, phase, orch_dir, run_id" {
	mkdir plan
	cat >plan/Orchfile <<-'EOF'
	[phase prep]
	title = The ${phase} phase
	[step s]
	phase = prep
	title = ${step} of ${phase}
	run   = echo ${step} ${phase} ${orch_dir} ${run_id}
	[step t]
	run   = echo [${phase}]
	EOF
	run_helper show-step plan/Orchfile s run
	expect_status 0
	expect_same run "echo s prep $TEST_DIR/plan \$ORCH_RUN_ID" "$output"
	run_helper show-step plan/Orchfile s title
	expect_same title "s of prep" "$output"
	run_helper show-step plan/Orchfile t run
	expect_same run "echo []" "$output"
	run_helper show-step plan/Orchfile prep title
	expect_same title "The prep phase" "$output"
}

@test "an undefined variable in database defers to DATABASE_URL" {
	cat >Orchfile <<-'EOF'
	[orch]
	name = deferred
	database = ${ORCH_TEST_NO_DB}
	[step s]
	sql = one.sql
	database = ${ORCH_TEST_NO_DB}
	[step t]
	sql = two.sql
	database = postgresql://${ORCH_TEST_HOST:-localhost}/shop
	EOF
	ORCH_TEST_HOST=127.0.0.1:1 run_orch --check
	expect_status 0
	# --check asks the database it can name; the one it cannot is no error
	expect_same stderr "orch: warning: cannot read the registry of database \"shop\" on host 127.0.0.1 port 1 (cannot connect to database \"shop\" on host 127.0.0.1 port 1: connection to server at \"127.0.0.1\", port 1 failed: Connection refused Is the server running on that host and accepting TCP/IP connections?): the journal's view of its 1 SQL step is shown, marked (journal)
Orchfile:4: warning: step 's' has no database here: a run refuses it until DATABASE_URL, the step's database or [orch] database is set" "$stderr"
	run_helper show-step Orchfile s database
	expect_status 0
	expect_same database "(unset)" "$output"
	run_helper show-step Orchfile s plan.database
	expect_same plan.database "(unset)" "$output"
	ORCH_TEST_NO_DB=postgresql://db/x run_helper show-step Orchfile s database
	expect_same database "postgresql://db/x" "$output"
	run_helper show-step Orchfile t database
	expect_same database "postgresql://localhost/shop" "$output"
}

@test "keys of every section are read" {
	cat >Orchfile <<-'EOF'
	[orch]
	name      = keys
	jobs      = 3
	changelog = CHANGES.md
	[pool db]
	depth = 2
	[phase p]
	number = 4
	[step s]
	phase        = p
	sql          = a.sql
	sql_verify   = a.verify.sql
	sql_rollback = a.rollback.sql
	transaction  = no
	pool         = db
	inputs       = src/*.c  Makefile
	outputs      = out/a
	estimate     = 1h30m
	timeout      = 20m
	retries      = 2
	retry_delay  = 30s
	always       = yes
	on_change    = ignore
	backup       = brands contexts
	type         = feature
	component    = db
	impact       = high
	refs         = #12
	EOF
	run_orch --check
	expect_status 0
	for kv in "plan.name keys" "plan.jobs 3" "plan.changelog CHANGES.md" "phase p" "pool db" \
		"sql a.sql" "sql_verify a.verify.sql" "sql_rollback a.rollback.sql" "transaction no" \
		"estimate 5400000" "timeout 1200000" "retries 2" "retry_delay 30000" "always yes" \
		"on_change ignore" "type feature" "component db" "impact high" "refs #12" "kind sql"; do
		run_helper show-step Orchfile s "${kv%% *}"
		expect_status 0
		expect_same "${kv%% *}" "${kv#* }" "$output"
	done
	run_helper show-step Orchfile s inputs
	expect_same inputs "$(printf 'src/*.c\nMakefile')" "$output"
	run_helper show-step Orchfile s backup
	expect_same backup "$(printf 'brands\ncontexts')" "$output"
	run_helper show-step Orchfile p number
	expect_same number 4 "$output"
}

@test "sections may refer to sections declared later; CRLF and a BOM are fine" {
	printf '\xef\xbb\xbf[step a]\r\nneeds = b\r\nphase = p\r\nrun = true\r\n[step b]\r\nrun = true\r\n[phase p]\r\n' >Orchfile
	run_orch --list --json
	expect_status 0
	expect_same needs '["a",["b"],"p"]' "$(jq -c '.steps[0] | [.name, .needs, .phase]' <<<"$output")"
}

@test "a plan of 100,000 steps loads and checks" {
	awk 'BEGIN {
		for (p = 1; p <= 10; p++) {
			printf "[phase p%d]\n", p
			if (p > 1) printf "after = p%d\n", p - 1
		}
		for (i = 1; i <= 100000; i++) {
			printf "[step s%d]\nphase = p%d\nrun = echo %d\n", i, int((i - 1) / 10000) + 1, i
			if (i % 10000 != 1) printf "needs = s%d\n", i - 1
		}
		print "[milestone half]\nneeds = s50000"
		print "[milestone done]\nneeds = p10 half"
	}' >Orchfile
	run_orch --check
	expect_status 0
	expect_same stdout "Orchfile: ok: 100000 steps, 10 phases, 2 milestones, 0 pools" "$output"
	run_orch -n
	expect_status 0
	[[ ${output##*$'\n'} == "100000 steps would run, estimated 0s"* ]] || { echo "last line: ${output##*$'\n'}"; return 1; }
	expect_same "first step" "s1" "$(sed -n 2p <<<"$output" | dry_run_steps)"
}
