#!/usr/bin/env bats
# t6004-report — orch --report: one self-contained HTML page, rendered by headless
# Chromium (a screenshot that is not blank and of the size asked for), its text read
# back from the DOM: step names, states, failures with their log lines, waiting gates.

load lib

chromium_bin() {
	command -v chromium || command -v chromium-browser || {
		[ "${CI:-}" != true ] || { echo "CI: chromium is missing (contrib/bootstrap installs it)"; return 1; }
		skip "chromium is not installed (contrib/bootstrap installs it)"
	}
}

# chromium ARGS... FILE: headless, as root too, in its own profile; quiet
run_chromium() {
	local bin
	bin=$(chromium_bin) || return 1
	HOME=$TEST_DIR timeout 60 "$bin" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
		--user-data-dir="$TEST_DIR/chromium" "$@" 2>/dev/null
}

report_plan() {
	cat > Orchfile <<-'EOF'
	[orch]
	name = reported

	[phase build]
	[phase ship]
	after = build

	[step compile]
	phase    = build
	title    = Compile <everything> & more
	estimate = 2s
	run      = sleep 0.2
	[step lint]
	phase = build
	run   = echo "line one"; echo "the last words of lint"; exit 4
	[step deploy]
	phase = ship
	run   = true
	[step review]
	manual = yes
	prompt = Read the diff
	needs  = compile
	[milestone M1]
	title = Built
	needs = compile
	EOF
}

@test "--report: a page Chromium renders, with the plan's steps, states, failures and gates" {
	report_plan
	run_orch -k
	expect_status 1
	run_orch --report
	expect_status 0
	expect_same stdout "wrote the report to $PWD/.orch/report.html" "$output"
	html=.orch/report.html
	# self-contained: no script, nothing fetched
	! grep -qi -e '<script' -e 'src="http' -e "href=\"http" "$html"
	grep -q '<svg' "$html"
	grep -q 'Compile &lt;everything&gt; &amp; more' "$html"

	run_chromium --screenshot="$TEST_DIR/shot.png" --window-size=1200,1400 "file://$PWD/$html"
	[ -s "$TEST_DIR/shot.png" ] || { echo "no screenshot"; return 1; }
	run python3 "$TOP/tests/png-check.py" "$TEST_DIR/shot.png" 1200 1400
	expect_status 0

	run_chromium --dump-dom "file://$PWD/$html" > dom.html
	text=$(sed 's/<[^>]*>/ /g' dom.html | tr -s ' \n' ' ')
	for want in "Plan reported" "compile" "lint" "review" "failed" "waiting" "Milestones" "M1" "reached" \
		"the last words of lint" "exit 4" "orch --approve review" "Read the diff" "Timeline" "Runs"; do
		expect_contains dom "$text" "$want" || return 1
	done
	# the timeline has a bar per attempt: compile (ok) and lint (failed)
	[ "$(grep -c '<rect x="[0-9.]*" y="[0-9]*" width="[0-9.]*" height="10"' dom.html)" -eq 2 ]
}

@test "--report FILE, during a run with [orch] report, and before anything ran" {
	report_plan
	run_orch --report first.html
	expect_status 0
	grep -q 'Nothing has run yet' first.html
	sed -i 's/^name = reported$/name = reported\nreport = live.html/' Orchfile
	run_orch -k
	[ -s live.html ]
	grep -q 'lint' live.html
	grep -q '<span class="st failed">failed</span>' live.html
	# kept current: approving the gate rewrites it
	"$ORCH" --approve review >/dev/null
	grep -q '<span class="st done">done</span></td><td>-</td><td>-</td><td>0</td></tr>' live.html
}

@test "--report with targets: each target's report in its own state directory" {
	cat > Orchfile <<-'EOF'
	[orch]
	name = two
	[target staging]
	[target production]
	[step hello]
	run = echo ${target}
	EOF
	"$ORCH" -T staging >/dev/null
	run_orch -T staging --report
	expect_status 0
	expect_same stdout "wrote the report to $PWD/.orch/staging/report.html" "$output"
	grep -q 'Plan two, target staging' .orch/staging/report.html
	grep -q '<span class="st done">done</span>' .orch/staging/report.html
	run_orch -T production --report
	grep -q 'Plan two, target production' .orch/production/report.html
	grep -q '<span class="st todo">todo</span>' .orch/production/report.html
}

@test "--report: a hold and its health checks on the timeline's axis, after the run that held" {
	checked_hold_plan
	run_orch
	expect_status 0
	run_orch --report r.html
	expect_status 0
	run_chromium --screenshot="$TEST_DIR/shot.png" --window-size=1200,800 "file://$PWD/r.html"
	run python3 "$TOP/tests/png-check.py" "$TEST_DIR/shot.png" 1200 800
	expect_status 0
	run_chromium --dump-dom "file://$PWD/r.html" > dom.html
	# the run, the hold after it on the same row, a tick per check as the journal has them
	attr() { sed -n "s/.*<rect class=\"$1\" x=\"\\([0-9.]*\\)\" y=\"[0-9]*\" width=\"\\([0-9.]*\\)\".*/\\1 \\2/p" dom.html; }
	run_bar=$(grep -o '<rect x="[0-9.]*" y="[0-9]*" width="[0-9.]*" height="10"' dom.html | head -n 1 | sed 's/.*x="\([0-9.]*\)".*width="\([0-9.]*\)".*/\1 \2/')
	hold=$(attr hold)
	[ "$(wc -l <<<"$hold")" -eq 1 ] || { echo "holds: $hold"; false; }
	# same axis: the hold starts where the run's bar ends, and lasts about 1s against the run's 0.3s
	awk -v r="$run_bar" -v h="$hold" 'BEGIN { split(r, a, " "); split(h, b, " ");
		d = a[1] + a[2] - b[1]; if (d < -2 || d > 2) exit 1; if (b[2] < 2.5 * a[2]) exit 1 }' ||
		{ echo "run $run_bar, hold $hold"; false; }
	checks=$(jq -r 'select(.ev == "check") | .exit' .orch/journal.jsonl | wc -l)
	[ "$(attr check | wc -l)" -eq "$checks" ]
	[ "$(grep -c '<rect class="check"[^>]*fill="#c62828"' dom.html)" -eq 1 ]
	grep -q 'deploy: check failed: exit 1: error rate 9%' dom.html
	# every check within the hold
	attr check | awk -v h="$hold" '{ split(h, b, " "); if ($1 < b[1] - 1 || $1 > b[1] + b[2] + 1) exit 1 }'
}
