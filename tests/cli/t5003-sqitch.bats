#!/usr/bin/env bats
# t5003-sqitch — sqitch projects run as they are: `orch -f sqitch.plan` and a [sqitch NAME]
# section of an Orchfile, on examples/sqitch-shelf (wrapped deploys and verifies, a tag,
# a reworked change) and on small plans: plan order, dependencies, name@tag, tags as
# milestones, --rollback --to, sqitch.conf's directories and target, and the plan's
# errors with their line. Deploy, full revert and redeploy leave the same schema.

load lib

psql_db() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$DB" "$@"; }

# the schema as pg_dump prints it, without orch's (and sqitch's) own schemas
dump_schema() {
	pg_dump --schema-only --no-owner -N orch -N orch_backup -N sqitch -d "$DB" >schema.sql || return 1
	grep -v -e '^--' -e '^$' -e '^.restrict' -e '^.unrestrict' -e '^SET ' -e '^SELECT pg_catalog.set_config' schema.sql || true
}

setup() { pg_setup t5003; }
teardown() { pg_teardown; }

# copy_shelf [DIR]: examples/sqitch-shelf copied to DIR (default shelf)
copy_shelf() {
	cp -R "$TOP/examples/sqitch-shelf" "${1:-shelf}"
	rm -rf "${1:-shelf}/.orch"
}

@test "orch -f sqitch.plan: changes as steps in plan order, tags as milestones, named after %project" {
	copy_shelf
	cd shelf
	run_orch -f sqitch.plan --list
	expect_status 0
	expect_stdout <<-'EOF'
	plan shelf: 8 steps, 0 phases, 2 milestones

	steps:
	  appschema    -            sql         -  Add the shelf schema for the library's objects
	  authors      -            sql         -  Table of authors
	  books        -            sql         -  Table of books, each by an author
	  members      -            sql         -  Library members, unique by email
	  loans        -            sql         -  Loans of books to members
	  lend_book    -            sql         -  Function to lend a book to a member
	  overdue      -            sql         -  View of the loans past their due date
	  lend_book.2  -            sql         -  lend_book refuses members with overdue loans

	milestones:
	  @v1.0  sqitch tag @v1.0
	  @v1.1  sqitch tag @v1.1
	EOF
	# at the top of a sqitch project (no Orchfile), plain orch reads sqitch.plan
	run_orch --list
	expect_status 0
	[[ ${lines[0]} == "plan shelf: 8 steps, 0 phases, 2 milestones" ]] || { show_run; false; }
	# the reworked change: its first version runs the scripts sqitch rework kept
	run_orch -f sqitch.plan -t commands lend_book lend_book.2
	expect_status 0
	expect_stdout <<-'EOF'
	# appschema (sql)
	deploy/appschema.sql
	# appschema (sql_verify)
	verify/appschema.sql
	# authors (sql)
	deploy/authors.sql
	# authors (sql_verify)
	verify/authors.sql
	# books (sql)
	deploy/books.sql
	# books (sql_verify)
	verify/books.sql
	# members (sql)
	deploy/members.sql
	# members (sql_verify)
	verify/members.sql
	# loans (sql)
	deploy/loans.sql
	# loans (sql_verify)
	verify/loans.sql
	# lend_book (sql)
	deploy/lend_book@v1.0.sql
	# lend_book (sql_verify)
	verify/lend_book@v1.0.sql
	# overdue (sql)
	deploy/overdue.sql
	# overdue (sql_verify)
	verify/overdue.sql
	# lend_book.2 (sql)
	deploy/lend_book.sql
	# lend_book.2 (sql_verify)
	verify/lend_book.sql
	EOF
	# members declares only appschema, yet follows books as the plan has it; lend_book.2
	# needs the version of lend_book as of @v1.0 and overdue
	run_orch -f sqitch.plan -t query members lend_book.2
	expect_status 0
	expect_stdout <<-'EOF'
	members: sql step: Library members, unique by email
	  needs:
	    step books (needs)
	    step appschema (needs)
	  needed by:
	    step loans (needs)
	    milestone @v1.0 (needs)
	lend_book.2: sql step: lend_book refuses members with overdue loans
	  needs:
	    step overdue (needs)
	    step lend_book (needs)
	  needed by:
	    milestone @v1.1 (needs)
	EOF
	run_orch -f sqitch.plan --check
	expect_status 0
	expect_stdout <<<"sqitch.plan: ok: 8 steps, 0 phases, 2 milestones, 0 pools"
}

@test "examples/sqitch-shelf: deploy, full revert to an empty schema, redeploy to the same schema" {
	copy_shelf
	cd shelf
	empty=$(dump_schema)
	run_orch -f sqitch.plan
	expect_status 0
	expect_contains stdout "$output" "[8/8] ok lend_book.2: lend_book refuses members with overdue loans"
	expect_contains stdout "$output" "Milestone @v1.0 reached"
	expect_contains stdout "$output" "Milestone @v1.1 reached"
	run psql_db -c "SELECT string_agg(step, ' ' ORDER BY applied_at, step) FROM orch.registry WHERE plan = 'shelf'" \
		-c "SELECT count(*) FROM shelf.authors"
	expect_stdout <<-'EOF'
	appschema authors books members loans lend_book overdue lend_book.2
	0
	EOF
	first=$(dump_schema)
	expect_contains schema "$first" "CREATE VIEW shelf.overdue AS"
	expect_contains schema "$first" "has overdue loans"
	run_orch -f sqitch.plan
	expect_status 0
	expect_contains stdout "$output" "nothing to do"

	run_orch -f sqitch.plan --rollback all --yes
	expect_status 0
	expect_contains stdout "$output" "rollback of all: 8 steps, newest first:"
	expect_contains stdout "$output" "Milestone @v1.0 lost"
	expect_same "schema after the full revert" "$empty" "$(dump_schema)"
	run psql_db -c "SELECT count(*) FROM orch.registry"
	expect_stdout <<<0

	run_orch -f sqitch.plan
	expect_status 0
	expect_same "schema after the redeploy" "$first" "$(dump_schema)"
}

@test "--rollback --to @v1.0 reverts what came after the tag and keeps the tag's changes; deploy to a tag" {
	copy_shelf
	cd shelf
	run_orch -f sqitch.plan @v1.0
	expect_status 0
	expect_contains stdout "$output" "[6/6] ok lend_book"
	v10=$(dump_schema)
	run_orch -f sqitch.plan
	expect_status 0
	run_orch -f sqitch.plan --rollback --to @v1.0 -n
	expect_status 0
	expect_stdout <<-'EOF'
	rollback of all to @v1.0: 2 steps, newest first:
	    1. lend_book.2              lend_book refuses members with overdue loans  (sql_rollback)
	    2. overdue                  View of the loans past their due date  (sql_rollback)
	EOF
	# the tag's name alone does too, as does --rollback all --to
	run_orch -f sqitch.plan --rollback all --to v1.0 --yes
	expect_status 0
	expect_contains stdout "$output" "Milestone @v1.1 lost"
	! expect_contains stdout "$output" "Milestone @v1.0 lost" >/dev/null
	# lend_book is v1.0's again: the rework's revert put it back
	expect_same "schema reverted to @v1.0" "$v10" "$(dump_schema)"
	run psql_db -c "SELECT string_agg(step, ' ' ORDER BY step) FROM orch.registry"
	expect_stdout <<<"appschema authors books lend_book loans members"
	run_orch -f sqitch.plan --rollback --to @v9
	expect_status 2
	expect_contains stderr "$stderr" "--to: unknown target '@v9'"
}

@test "a rework after deploying: the applied version keeps its step, only the new version runs" {
	copy_shelf
	cd shelf
	# the project as it was at v1.0, before `sqitch rework lend_book`
	sed -i '/^@v1.0/q' sqitch.plan
	for d in deploy verify revert; do
		mv "$d/lend_book@v1.0.sql" "$d/lend_book.sql"
	done
	rm deploy/overdue.sql verify/overdue.sql revert/overdue.sql
	run_orch -f sqitch.plan
	expect_status 0
	expect_contains stdout "$output" "[6/6] ok lend_book"
	# the rework, as sqitch leaves it
	cd .. && rm -rf shelf/deploy shelf/verify shelf/revert shelf/sqitch.plan
	cp -R "$TOP/examples/sqitch-shelf/"{deploy,verify,revert,sqitch.plan} shelf/
	cd shelf
	run_orch -f sqitch.plan -n
	expect_status 0
	expect_contains stdout "$output" "2 steps would run"
	run_orch -f sqitch.plan
	expect_status 0
	expect_contains stdout "$output" "[1/2] ok overdue"
	expect_contains stdout "$output" "[2/2] ok lend_book.2"
}

@test "a [sqitch NAME] section: a sqitch project among shell steps, its target from sqitch.conf" {
	copy_shelf db
	cat > Orchfile <<-'EOF'
	[orch]
	name = library

	[phase prepare]
	[phase schema]
	after = prepare

	[step announce]
	phase = prepare
	run   = echo announce >> order

	[sqitch shelf]
	plan  = db/sqitch.plan
	phase = schema

	[step report]
	needs    = shelf
	run      = echo report >> order
	rollback = true
	EOF
	# the database from sqitch.conf's target, a db:pg: URI, when DATABASE_URL is unset
	sed -i "s|db:pg:shelf_dev|db:pg:$DB|" db/sqitch.conf
	unset DATABASE_URL
	run_orch --list
	expect_status 0
	expect_contains stdout "$output" "  shelf  sqitch project shelf"
	expect_contains stdout "$output" "  lend_book.2  schema"
	run_orch
	expect_status 0
	run cat order
	expect_stdout <<-'EOF'
	announce
	report
	EOF
	run psql_db -c "SELECT plan, count(*) FROM orch.registry GROUP BY plan"
	expect_stdout <<<"library|8"
	run_orch --rollback shelf --yes
	expect_status 0
	expect_contains stdout "$output" "rollback of shelf: 9 steps, newest first:"
	run psql_db -c "SELECT to_regnamespace('shelf') IS NULL"
	expect_stdout <<<t
}

@test "sqitch itself and orch make the same schema of examples/sqitch-shelf: deployed, and reverted to @v1.0" {
	command -v sqitch >/dev/null || skip "sqitch is not installed (contrib/bootstrap installs it)"
	copy_shelf
	cd shelf
	SQDB=${DB}_sqitch
	psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $SQDB" -c "CREATE DATABASE $SQDB"
	export HOME=$TEST_DIR SQITCH_FULLNAME=Test SQITCH_EMAIL=test@example.org
	run sqitch deploy --verify "db:pg:$SQDB"
	[ "$status" -eq 0 ] || { echo "$output"; psql -X -q -d postgres -c "DROP DATABASE $SQDB"; return 1; }
	run_orch -f sqitch.plan
	expect_status 0
	ours=$(dump_schema)
	theirs=$(DB=$SQDB dump_schema)
	run sqitch revert -y --to @v1.0 "db:pg:$SQDB"
	[ "$status" -eq 0 ] || { echo "$output"; psql -X -q -d postgres -c "DROP DATABASE $SQDB"; return 1; }
	run_orch -f sqitch.plan --rollback --to @v1.0 --yes
	expect_status 0
	ours10=$(dump_schema)
	theirs10=$(DB=$SQDB dump_schema)
	psql -X -q -d postgres -c "DROP DATABASE $SQDB WITH (FORCE)"
	expect_contains schema "$ours" "CREATE VIEW shelf.overdue AS"
	expect_same "schema (- sqitch, + orch)" "$theirs" "$ours"
	expect_same "schema at @v1.0 (- sqitch, + orch)" "$theirs10" "$ours10"
}

@test "a sqitch plan's mistakes are reported with their line; nothing runs" {
	mkdir deploy
	touch deploy/a.sql deploy/b.sql
	cat > sqitch.plan <<-'EOF'
	%syntax-version=1.0.0
	%project=mistakes

	a 2026-01-05T09:00:00Z Ana <ana@example.org>
	b [c] 2026-01-05T09:00:00Z Ana <ana@example.org>
	c 2026-01-05T09:00:00Z Ana <ana@example.org>
	d [a@v2] 2026-01-05T09:00:00Z Ana <ana@example.org>
	a 2026-01-05T09:00:00Z Ana <ana@example.org>
	e Ana <ana@example.org>
	@v1 2026-01-05T09:00:00Z Ana <ana@example.org>
	@v1 2026-01-05T09:00:00Z Ana <ana@example.org>
	EOF
	run_orch -f sqitch.plan --check
	expect_status 2
	expect_stderr <<-'EOF'
	sqitch.plan:8: change a appears again (line 4) without a tag between: to rework a change, tag the plan first
	sqitch.plan:9: change e: expected 'YYYY-MM-DDTHH:MM:SSZ planner <email>' after its name
	sqitch.plan:11: duplicate tag @v1 (first at line 10)
	orch: error: sqitch.plan: 3 errors; nothing was run
	EOF
	sed -i -e '8,9d' -e '$d' sqitch.plan
	run_orch -f sqitch.plan --check
	expect_status 2
	expect_stderr <<-'EOF'
	sqitch.plan:5: change b needs c, which comes later in the plan (sqitch deploys in plan order)
	sqitch.plan:6: change c: its deploy script deploy/c.sql does not exist
	sqitch.plan:7: change d: its deploy script deploy/d.sql does not exist
	sqitch.plan:7: change d needs a@v2: there is no tag @v2 in the plan
	orch: error: sqitch.plan: 4 errors; nothing was run
	EOF
	# in an Orchfile, the same errors name the plan as the Orchfile does
	mkdir sub && mv sqitch.plan deploy sub/
	printf '[orch]\nname = p\n[sqitch sub]\nplan = sub/sqitch.plan\nneeds = nothing\n' > Orchfile
	run_orch --check
	expect_status 2
	expect_stderr <<-'EOF'
	sub/sqitch.plan:5: change b needs c, which comes later in the plan (sqitch deploys in plan order)
	sub/sqitch.plan:6: change c: its deploy script sub/deploy/c.sql does not exist
	sub/sqitch.plan:7: change d: its deploy script sub/deploy/d.sql does not exist
	sub/sqitch.plan:7: change d needs a@v2: there is no tag @v2 in the plan
	Orchfile:5: milestone 'sub' needs 'nothing', which is not defined
	orch: error: Orchfile: 5 errors; nothing was run
	EOF
	mv sub/* . && rmdir sub
	sed -i '/%project/d' sqitch.plan
	run_orch -f sqitch.plan --check
	expect_status 2
	expect_contains stderr "$stderr" "sqitch.plan:1: no %project pragma: a sqitch plan names its project (%project=NAME)"
	# sqitch.conf's target, when it is the database, must be one
	unset DATABASE_URL
	printf '[engine "pg"]\n\ttarget = prod\n' > sqitch.conf
	run_orch -f sqitch.plan --check
	expect_status 2
	expect_contains stderr "$stderr" "orch: error: sqitch.plan: sqitch.conf's target is prod, which has no [target \"prod\"] uri"
	printf '[engine "pg"]\n\ttarget = db:sqlite:x.db\n' > sqitch.conf
	run_orch -f sqitch.plan --check
	expect_status 2
	expect_contains stderr "$stderr" "orch: error: sqitch.plan: the target db:sqlite:x.db in sqitch.conf is not a PostgreSQL one (db:pg:...)"
}
