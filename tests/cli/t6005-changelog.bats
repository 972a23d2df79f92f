#!/usr/bin/env bats
# t6005-changelog — the Markdown changelog, made from the journal: on by default
# (CHANGELOG.md beside the plan, CHANGELOG-NAME.md for a target), none, grouped by run
# and by type, the author of each event (ORCH_AUTHOR, git's user.name, $USER) as the
# journal recorded it, failures with their reason, milestones, rollbacks, holds, and
# orch --changelog giving the same bytes as the run kept.

load lib

# Wall-clock times, run ids and sub-10-second durations vary from run to run.
normalise() {
	sed -E -e 's/[0-9]{8}T[0-9]{6}-[0-9]+/RUN/g' \
		-e 's/— [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2} UTC$/— DATE/' \
		-e 's/^- ([0-9]{4}-[0-9]{2}-[0-9]{2} )?[0-9]{2}:[0-9]{2}:[0-9]{2} /- TIME /' \
		-e 's/[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} UTC/WHEN/g' \
		-e 's/(^|[ (])[0-9]\.[0-9]s/\1Ds/g'
}

MARK='<!-- Written by orch from .orch/journal.jsonl; `orch --changelog` writes it again. Edits here are lost. -->'

# a feature, a fix that fails until the file 'fixed' exists (retried once), a
# breaking change, a chore, a step of a type of its own, one without a type, a milestone
typed_plan() {
	cat >Orchfile <<-'EOF'
	[orch]
	name = typed

	[step tables]
	title     = Create the tables
	type      = feature
	component = db
	impact    = high
	refs      = JIRA-1 JIRA-2
	estimate  = 10s
	run       = true
	rollback  = true

	[step load]
	title    = Load *the* data
	type     = fix
	needs    = tables
	estimate = 1m
	retries  = 1
	run      = test -e fixed || { echo not yet; exit 3; }
	rollback = true

	[step drop]
	type  = breaking
	needs = load
	run   = true
	rollback = true

	[step tidy]
	type = chore
	run  = true

	[step docs]
	type = docs
	run  = true

	[step plain]
	run = true

	[milestone M]
	title = Loaded
	needs = load
	EOF
}

@test "changelog: on by default at CHANGELOG.md, grouped by type; a failure with its reason and attempt" {
	typed_plan
	USER=ana run_orch -j1 -k0
	expect_status 1
	[ -f CHANGELOG.md ]
	output=$(normalise <CHANGELOG.md)
	expect_stdout <<-EOF
	$MARK
	# Changelog of typed

	## Run RUN — DATE

	### Features

	- TIME **success** \`tables\` Create the tables
	  component db · impact high · took Ds · estimated 10s · author ana · refs JIRA-1 JIRA-2

	### docs

	- TIME **success** \`docs\`
	  took Ds · author ana

	### Chores

	- TIME **success** \`tidy\`
	  took Ds · author ana

	### Other

	- TIME **success** \`plain\`
	  took Ds · author ana

	### Errors

	- TIME **failed** \`load\` Load \\*the\\* data: exit 3
	  took Ds · estimated 1m · author ana
	- TIME **failed** \`load\` Load \\*the\\* data: exit 3 (attempt 2)
	  took Ds · estimated 1m · author ana
	EOF
}

@test "changelog: newest run first, each under its heading; milestones; rollbacks; the author each event recorded" {
	typed_plan
	USER=ana run_orch -j1
	expect_status 1
	touch fixed
	USER=bo run_orch -j1
	expect_status 0
	USER=cy run_orch --rollback drop --yes
	expect_status 0
	output=$(grep -E '^(## |### |- |  )' CHANGELOG.md | normalise | head -n 27)
	expect_stdout <<-'EOF'
	## Run RUN — DATE
	### Rollbacks
	- TIME **rolled back** `drop`
	  took Ds · author cy
	## Run RUN — DATE
	### Breaking
	- TIME **success** `drop`
	  took Ds · author bo
	### Fixes
	- TIME **success** `load` Load \*the\* data
	  took Ds · estimated 1m · author bo
	### docs
	- TIME **success** `docs`
	  took Ds · author bo
	### Chores
	- TIME **success** `tidy`
	  took Ds · author bo
	### Other
	- TIME **success** `plain`
	  took Ds · author bo
	### Milestones
	- TIME **reached** `M` Loaded
	  author bo
	## Run RUN — DATE
	### Features
	- TIME **success** `tables` Create the tables
	  component db · impact high · took Ds · estimated 10s · author ana · refs JIRA-1 JIRA-2
	EOF
	[ "$(grep -c '^## Run ' CHANGELOG.md)" -eq 3 ]
	# the run ids are the journal's, newest first
	expect_same runs "$(jq -r .run .orch/journal.jsonl | uniq | tac)" "$(sed -n 's/^## Run \([^ ]*\) .*/\1/p' CHANGELOG.md)"
	# a milestone lost by a rollback is recorded with it
	USER=cy run_orch --rollback tables --yes
	expect_status 0
	sed -n '/^## Run/,/^## Run/p' CHANGELOG.md | sed '$d' >newest.md
	grep -q '^- [0-9:]* \*\*no longer reached\*\* `M` Loaded$' newest.md
	grep -q '^- [0-9:]* \*\*rolled back\*\* `load` Load \\\*the\\\* data$' newest.md
	grep -q '^- [0-9:]* \*\*rolled back\*\* `tables` Create the tables$' newest.md
}

@test "changelog: orch --changelog gives the bytes the run kept, twice, whoever runs it and when" {
	typed_plan
	ORCH_AUTHOR='Ana Lima' run_orch -j1
	expect_status 1
	touch fixed
	USER=bo run_orch -j1
	expect_status 0
	cp CHANGELOG.md kept.md
	USER=someone-else ORCH_AUTHOR=Other run_orch --changelog
	expect_status 0
	expect_same stdout "wrote the changelog to CHANGELOG.md" "$output"
	cmp kept.md CHANGELOG.md
	run_orch --changelog
	expect_status 0
	cmp kept.md CHANGELOG.md
	grep -q 'author Ana Lima' CHANGELOG.md
	grep -q 'author bo' CHANGELOG.md
	! grep -q 'Other\|someone-else' CHANGELOG.md
	# a file it says the same into is not touched; one that lost its content is made again
	touch -d '2001-01-01' CHANGELOG.md
	run_orch --changelog
	[ "$(stat -c %Y CHANGELOG.md)" = "$(date -d 2001-01-01 +%s)" ]
	rm CHANGELOG.md
	run_orch --changelog
	expect_status 0
	cmp kept.md CHANGELOG.md
	# into another file, relative to the working directory (-C's, as with --report)
	mkdir sub
	(cd sub && "$ORCH" -C .. --changelog copy.md >/dev/null) || false
	cmp kept.md copy.md
}

@test "changelog: the author is ORCH_AUTHOR, else git's user.name, else \$USER, recorded with each event" {
	cat >Orchfile <<-'EOF'
	[step a]
	run = true
	[step b]
	needs = a
	run = true
	[step c]
	needs = b
	run = true
	EOF
	printf '[user]\n\tname = Gita Hub\n' >gitconfig
	USER=ana ORCH_AUTHOR='Ana Lima' run_orch a
	expect_status 0
	USER=ana GIT_CONFIG_GLOBAL=$PWD/gitconfig run_orch b
	expect_status 0
	USER=ana run_orch c
	expect_status 0
	expect_same authors "$(printf 'author Ana Lima\nauthor Gita Hub\nauthor ana')" \
		"$(grep -o 'author .*' CHANGELOG.md | tac)"
	# in the journal: "author" beside "user" when they differ, absent when they do not
	expect_same journal "$(printf 'ana Ana Lima\nana Gita Hub\nana null')" \
		"$(jq -r 'select(.ev == "ok") | "\(.user) \(.author)"' .orch/journal.jsonl)"
}

@test "changelog: none keeps none; orch --changelog then needs a file; a journal-less plan" {
	cat >Orchfile <<-'EOF'
	[orch]
	changelog = none
	[step a]
	run = true
	EOF
	run_orch
	expect_status 0
	[ ! -e CHANGELOG.md ] && [ ! -e none ]
	run_orch --changelog
	expect_status 2
	expect_same stderr "orch: error: the plan keeps no changelog ([orch] changelog = none): name a file, orch --changelog FILE" "$stderr"
	run_orch --changelog log.md
	expect_status 0
	grep -q '^- [0-9:]* \*\*success\*\* `a`$' log.md
	# a plan that never ran: no journal, none made; the changelog says so
	mkdir fresh && cd fresh
	printf '[orch]\nname = fresh\n[step a]\nrun = true\n' >Orchfile
	run_orch --changelog
	expect_status 0
	[ ! -e .orch ]
	expect_same changelog "$(printf '%s\n# Changelog of fresh\n\nNothing has run yet.' "$MARK")" "$(cat CHANGELOG.md)"
	run_orch -n
	expect_status 0
	run_orch --status
	expect_status 0
	cmp <(printf '%s\n# Changelog of fresh\n\nNothing has run yet.\n' "$MARK") CHANGELOG.md
}

@test "changelog: a file orch did not write is left alone, with a warning (an error for --changelog)" {
	printf '# Our changelog\n\nKept by hand.\n' >CHANGELOG.md
	cp CHANGELOG.md ours.md
	printf '[step a]\nrun = true\n' >Orchfile
	run_orch
	expect_status 0
	expect_contains stderr "$stderr" "orch: warning: CHANGELOG.md was not written by orch: left as it is (name another file with [orch] changelog, or none)"
	cmp ours.md CHANGELOG.md
	run_orch --changelog
	expect_status 1
	expect_contains stderr "$stderr" "orch: error: CHANGELOG.md was not written by orch: left as it is"
	cmp ours.md CHANGELOG.md
	touch afile
	run_orch --changelog afile/CHANGELOG.md
	expect_status 1
	expect_contains stderr "$stderr" "orch: error: cannot read the changelog $PWD/afile/CHANGELOG.md: Not a directory"
}

@test "changelog: a path of its own, its directory made; bad values name FILE:LINE" {
	printf '[orch]\nchangelog = docs/changes/LOG.md\n[step a]\nrun = true\n' >Orchfile
	run_orch
	expect_status 0
	grep -q '`a`' docs/changes/LOG.md
	[ ! -e CHANGELOG.md ]
	mkdir adir
	cat >Orchfile <<-'EOF'
	[orch]
	changelog =
	[target prod]
	changelog = adir
	[target dev]
	changelog = Orchfile
	[target stage]
	changelog = notes/
	[step a]
	run = true
	EOF
	expect_bad_orchfile -T prod <<-'EOF'
	Orchfile:2: bad changelog '': name a file (e.g. CHANGELOG.md), or none for no changelog
	Orchfile:4: bad changelog 'adir': it is a directory; name a file in it (e.g. adir/CHANGELOG.md), or none
	orch: error: Orchfile: 2 errors; nothing was run
	EOF
	expect_bad_orchfile -T dev <<-'EOF'
	Orchfile:2: bad changelog '': name a file (e.g. CHANGELOG.md), or none for no changelog
	Orchfile:6: bad changelog 'Orchfile': it is the Orchfile itself; name another file, or none
	orch: error: Orchfile: 2 errors; nothing was run
	EOF
	expect_bad_orchfile -T stage <<-'EOF'
	Orchfile:2: bad changelog '': name a file (e.g. CHANGELOG.md), or none for no changelog
	Orchfile:8: bad changelog 'notes/': name a file (e.g. CHANGELOG.md), or none for no changelog
	orch: error: Orchfile: 2 errors; nothing was run
	EOF
}

@test "changelog: each target keeps its own, CHANGELOG-NAME.md unless it names one" {
	cat >Orchfile <<-'EOF'
	[orch]
	name = envs
	target = staging
	[target staging]
	[target production]
	changelog = prod-changes.md
	[target qa]
	[step a]
	run = true
	EOF
	run_orch
	expect_status 0
	run_orch -T production
	expect_status 0
	[ -f CHANGELOG-staging.md ] && [ -f prod-changes.md ] && [ ! -e CHANGELOG.md ]
	grep -q 'from .orch/staging/journal.jsonl' CHANGELOG-staging.md
	grep -q 'from .orch/production/journal.jsonl' prod-changes.md
	[ "$(grep -c '^## Run' CHANGELOG-staging.md)" -eq 1 ]
	# [orch] changelog names the file; each target puts its name before the extension
	sed -i 's/^name = envs$/&\nchangelog = ops\/changes.md/' Orchfile
	run_orch -T qa
	expect_status 0
	[ -f ops/changes-qa.md ]
	ORCH_TARGET=production run_orch --changelog
	expect_status 0
	expect_same stdout "wrote the changelog to prod-changes.md" "$output"
}

@test "changelog: skips, approvals and forced steps are recorded by the actions themselves" {
	cat >Orchfile <<-'EOF'
	[step gate]
	manual = yes
	prompt = Look
	[step a]
	run = exit 2
	[step b]
	needs = gate
	run = true
	EOF
	USER=ana run_orch --on-failure skip
	expect_status 1
	USER=ana run_orch --approve gate
	expect_status 0
	USER=ana run_orch --force a
	expect_status 0
	output=$(grep -E '^(## |### |- )' CHANGELOG.md | normalise)
	expect_stdout <<-'EOF'
	## Run RUN — DATE
	### Other
	- TIME **forced** `a`
	## Run RUN — DATE
	### Other
	- TIME **approved** `gate`
	## Run RUN — DATE
	### Other
	- TIME **skipped** `a`
	### Errors
	- TIME **failed** `a`: exit 2
	EOF
	grep -A1 '\*\*approved\*\* `gate`' CHANGELOG.md | grep -q "author ana · by ana@"
}

@test "changelog: a hold and its failed checks, with the reason" {
	cat >Orchfile <<-'EOF'
	[step deploy]
	run = true
	hold = 2s
	check = echo "error rate 7%"; exit 1
	check_every = 200ms
	check_failures = 2
	EOF
	USER=ana run_orch
	expect_status 1
	output=$(grep -E '^(### |- |  )' CHANGELOG.md | normalise)
	expect_stdout <<-'EOF'
	### Other
	- TIME **holding** `deploy`
	  until WHEN · author ana
	### Errors
	- TIME **check failed** `deploy`: exit 1: error rate 7%
	  took Ds · author ana
	- TIME **check failed** `deploy`: exit 1: error rate 7%
	  took Ds · author ana
	- TIME **failed** `deploy`: check failed 2 times in a row (exit 1: error rate 7%)
	  took Ds · author ana
	EOF
}

@test "changelog: after --reset the runs of the kept journal stay, below the new ones" {
	printf '[orch]\nname = again\n[step a]\nrun = true\n' >Orchfile
	USER=ana run_orch
	expect_status 0
	run_orch --reset --yes
	expect_status 0
	USER=bo run_orch
	expect_status 0
	output=$(grep -E '^(## |- |  |The )' CHANGELOG.md | normalise)
	expect_stdout <<-'EOF'
	## Run RUN — DATE
	- TIME **success** `a`
	  took Ds · author bo
	## Run RUN — DATE
	The journal was started again here (`orch --reset`).
	## Run RUN — DATE
	- TIME **success** `a`
	  took Ds · author ana
	EOF
	cp CHANGELOG.md kept.md
	run_orch --changelog
	expect_status 0
	cmp kept.md CHANGELOG.md
	# a kept journal that is damaged is refused, and the changelog left as it was
	sed -i '1s/"ev":"start"/"ev":"stArt"/' .orch/journal.jsonl.1
	cp .orch/journal.jsonl.1 damaged
	USER=cy run_orch
	expect_status 0
	run_orch --changelog
	expect_status 4
	expect_contains stderr "$stderr" "orch: error: .orch/journal.jsonl.1:1: the journal is damaged"
	expect_contains stderr "$stderr" "orch: error: the changelog CHANGELOG.md is left as it was: a journal it is made from cannot be read"
	cmp kept.md CHANGELOG.md
	cmp damaged .orch/journal.jsonl.1
}

@test "no password of a URL in a check's message is printed, journalled, reported or traced; none in the changelog from refs or a title" {
	cat >Orchfile <<-'EOF'
	[step a]
	title = Copy from postgres://bob:t1tle-pw@db/x
	refs  = https://ana:r3fs-pw@git.example/issues/7 password=kw-pw
	run   = true
	[step deploy]
	run = true
	hold = 2s
	check = echo "cannot reach postgres://carl:ch3ck-pw@db/app"; exit 1
	check_every = 200ms
	check_failures = 1
	EOF
	run_orch
	expect_status 1
	# orch quotes the check's words without the password, and records them so; only the
	# check's own output, relayed as it wrote it, has it
	[[ "$output$stderr" == *'cannot reach postgres://carl:***@db/app'* ]] || { show_run; false; }
	expect_same "lines with the password" 'cannot reach postgres://carl:ch3ck-pw@db/app' \
		"$(printf '%s\n%s\n' "$output" "$stderr" | grep ch3ck-pw | sort -u)"
	grep -qF 'cannot reach postgres://carl:***@db/app' .orch/journal.jsonl
	! grep -q 'ch3ck-pw' .orch/journal.jsonl
	run_orch --report r.html
	run_orch --trace t.json
	! grep -q 'ch3ck-pw' r.html t.json
	run grep -E 't1tle-pw|r3fs-pw|kw-pw|ch3ck-pw' CHANGELOG.md
	[ "$status" -eq 1 ]
	# *** as Markdown has it, \*\*\*
	grep -qF 'Copy from postgres://bob:\*\*\*@db/x' CHANGELOG.md
	grep -qF 'refs https://ana:\*\*\*@git.example/issues/7 password=\*\*\*' CHANGELOG.md
	grep -qF 'cannot reach postgres://carl:\*\*\*@db/app' CHANGELOG.md
	run_orch --changelog other.md
	expect_status 0
	run grep -E 't1tle-pw|r3fs-pw|kw-pw|ch3ck-pw' other.md
	[ "$status" -eq 1 ]
}

@test "changelog: one that cannot be written, or is not orch's, is warned about once in a run, not once a second" {
	touch afile
	cat >Orchfile <<-'EOF'
	[orch]
	changelog = afile/CHANGELOG.md
	[step a]
	run = sleep 1.1
	[step b]
	needs = a
	run = sleep 1.1
	[step c]
	needs = b
	run = sleep 1.1
	EOF
	run_orch
	expect_status 0
	[ "$(grep -c 'changelog afile/CHANGELOG.md' <<<"$stderr")" -le 2 ]
	expect_contains stderr "$stderr" 'Not a directory'
	sed -i 's|^changelog = .*|changelog = NOTES.md|' Orchfile
	echo "# my notes" > NOTES.md
	run_orch --force a
	expect_status 0
	run_orch
	expect_status 0
	[ "$(grep -c 'NOTES.md was not written by orch' <<<"$stderr")" -le 2 ]
	[ "$(cat NOTES.md)" = "# my notes" ]
}

@test "changelog: a run that records nothing leaves it as it is (no cost on an up-to-date run); --changelog makes it again" {
	printf '[step a]\nrun = true\n' >Orchfile
	run_orch
	expect_status 0
	cp CHANGELOG.md first.md
	rm CHANGELOG.md
	run_orch
	expect_status 0
	expect_contains stdout "$output" "nothing to do"
	[ ! -e CHANGELOG.md ]
	run_orch --changelog
	expect_status 0
	cmp first.md CHANGELOG.md
	run_orch --force a
	expect_status 0
	run_orch
	expect_status 0
	grep -c '^## Run' CHANGELOG.md | grep -qx 3
}

@test "changelog: not written by -n (a dry --baseline too), --status, --check, --list, --graph, --why" {
	cat >Orchfile <<-'EOF'
	[orch]
	report = report.html
	[step a]
	run = true
	[step b]
	run = true
	EOF
	for args in -n --status --check --list --graph "--why a"; do
		run_orch $args
		expect_status 0
		[ ! -e CHANGELOG.md ] || { echo "orch $args wrote it"; false; }
	done
	run_orch a
	expect_status 0
	rm CHANGELOG.md report.html
	for args in -n --status --check --list --graph "--why b" "-n --baseline b"; do
		run_orch $args
		expect_status 0
		[ ! -e CHANGELOG.md ] || { echo "orch $args wrote it"; false; }
		[ ! -e report.html ] || { echo "orch $args wrote the report"; false; }
	done
}

@test "changelog: --changelog naming the plan's own file while another orch runs the plan is refused, as without a name" {
	cat >Orchfile <<-'EOF'
	[step slow]
	run = touch started; while [ ! -f go ]; do sleep 0.05; done
	EOF
	"$ORCH" -s >/dev/null 2>&1 &
	pid=$!
	for _ in $(seq 200); do [ -f started ] && break; sleep 0.05; done
	[ -f started ]
	mkdir sub
	codes=""
	for name in CHANGELOG.md ./CHANGELOG.md "$PWD/CHANGELOG.md" sub/../CHANGELOG.md; do
		run_orch --changelog "$name"
		codes="$codes $status"
	done
	run_orch --changelog other.md
	other=$status
	touch go
	wait $pid
	expect_same statuses " 3 3 3 3" "$codes"
	expect_same "another file" 0 "$other"
}

@test "changelog: a long one is compared and written a piece at a time: the same bytes, untouched when it says the same, made again wherever it differs" {
	# 4,000 steps: over 150 KB of changelog, three of changelog_write's 64 KiB pieces and more
	for i in $(seq 4000); do printf '[step s%d]\nrun = true\n' "$i"; done > Orchfile
	run_orch -j4 -s
	expect_status 0
	[ "$(stat -c %s CHANGELOG.md)" -gt $((2 * 65536)) ]
	cp CHANGELOG.md kept.md
	rm CHANGELOG.md
	run_orch --changelog
	expect_status 0
	cmp kept.md CHANGELOG.md
	# says the same: not touched
	touch -d '2001-01-01' CHANGELOG.md
	run_orch --changelog
	expect_status 0
	[ "$(stat -c %Y CHANGELOG.md)" = "$(date -d 2001-01-01 +%s)" ]
	# one byte changed past the first pieces, the file cut short, one grown: made again
	size=$(stat -c %s kept.md)
	for damage in "printf X | dd of=CHANGELOG.md bs=1 seek=$((size - 1000)) conv=notrunc status=none" \
		"truncate -s $((size / 2)) CHANGELOG.md" "printf 'more\n' >> CHANGELOG.md"; do
		cp kept.md CHANGELOG.md
		eval "$damage"
		! cmp -s kept.md CHANGELOG.md
		run_orch --changelog
		expect_status 0
		cmp kept.md CHANGELOG.md
	done
	# a new run goes on top: the file differs from its first piece on
	run_orch --force s1
	expect_status 0
	run_orch -s
	expect_status 0
	[ "$(grep -c '^## Run' CHANGELOG.md)" -eq 3 ]
	tail -c 100000 kept.md > a.tail
	tail -c 100000 CHANGELOG.md > b.tail
	cmp a.tail b.tail
	[ ! -e CHANGELOG.md.tmp ]
}
