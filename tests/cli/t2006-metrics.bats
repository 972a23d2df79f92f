#!/usr/bin/env bats
# t2006-metrics — metrics that steps, checks and validations report through $ORCH_METRICS,
# shown by --status, and the requirements on them (require, check_require) that fail a
# step or a check and hold a milestone back.

load lib

@test "a step's NAME=VALUE [UNIT] lines in \$ORCH_METRICS are journalled with its step and component" {
	cat > Orchfile <<-'EOF'
	[step unit]
	component = api
	run = echo "coverage=93.5 %" >> "$ORCH_METRICS"
	      echo "tests = 120" >> "$ORCH_METRICS"
	      echo "not a metric" >> "$ORCH_METRICS"
	      echo "p95=fast" >> "$ORCH_METRICS"
	      echo "$ORCH_METRICS" > metrics.path

	[step web]
	component = web
	run = echo "coverage=71 %" >> "$ORCH_METRICS"
	EOF
	run_orch
	expect_status 0
	expect_contains stderr "$stderr" "unit: \$ORCH_METRICS line 3: bad metric 'not a metric' (use NAME=VALUE [UNIT], e.g. coverage=93.5 %)"
	expect_contains stderr "$stderr" "unit: \$ORCH_METRICS line 4: bad metric 'p95=fast'"
	grep '"ev":"metric"' .orch/journal.jsonl | grep '"step":"unit"' | grep '"component":"api"' | grep -q '"msg":"coverage=93.5 %"'
	grep '"ev":"metric"' .orch/journal.jsonl | grep -q '"msg":"tests=120"'
	[ "$(grep -c '"ev":"metric"' .orch/journal.jsonl)" -eq 3 ]
	# a fresh file per process, gone once read
	[ ! -e "$(cat metrics.path)" ]
	run_orch --status
	expect_status 0
	expect_contains stdout "$output" "  coverage=93.5 %, tests=120  (unit, component api)"
	expect_contains stdout "$output" "  component web: coverage=71 % (web,"
	run_orch --status --json
	expect_status 0
	python3 - "$output" <<-'EOF'
	import json, sys
	d = json.loads(sys.argv[1])["metrics"]
	assert d["steps"]["unit"]["coverage"]["value"] == 93.5, d
	assert d["steps"]["unit"]["coverage"]["unit"] == "%", d
	assert d["steps"]["unit"]["tests"]["unit"] is None, d
	assert d["components"]["api"]["coverage"]["step"] == "unit", d
	assert d["components"]["web"]["coverage"]["value"] == 71, d
	EOF
}

@test "require on a step fails it, saying which metric, its value and the bound" {
	cat > Orchfile <<-'EOF'
	[step perf]
	run = echo "p95_ms=340 ms" >> "$ORCH_METRICS"; echo "error_rate=0.002" >> "$ORCH_METRICS"
	require = error_rate <= 0.01 && (p95_ms < 300ms || p95_ms < 100)

	[step after]
	needs = perf
	run = touch after
	EOF
	run_orch
	expect_status 1
	expect_contains stdout "$output" "FAILED perf (require: p95_ms is 340 ms, needs < 300ms, and p95_ms is 340 ms, needs < 100"
	[ ! -e after ]
	sed -i 's/340/240/' Orchfile
	run_orch
	expect_status 0
	[ -e after ]
}

@test "a milestone with require is blocked until the metric it needs holds, and reached once it changes" {
	cat > Orchfile <<-'EOF'
	[step unit-tests]
	component = api
	run = echo "coverage=${COVERAGE} %" >> "$ORCH_METRICS"

	[milestone M5]
	title = Tests passing (>90 % coverage)
	needs = unit-tests
	require = coverage >= 90

	[step release]
	needs = M5
	run = touch released
	EOF
	COVERAGE=85 run_orch
	expect_status 1
	expect_contains stdout "$output" "Milestone M5 not reached: Tests passing (>90 % coverage) (require: coverage is 85 %, needs >= 90)"
	expect_contains stderr "$stderr" "milestone M5 not reached: require: coverage is 85 %, needs >= 90"
	[ ! -e released ]
	! grep -q '"ev":"milestone"' .orch/journal.jsonl
	COVERAGE=85 run_orch --status
	expect_contains stdout "$output" "0 of 1 milestone reached"
	COVERAGE=93 run_orch
	expect_status 0
	expect_contains stdout "$output" "Milestone M5 reached"
	[ -e released ]
}

@test "check_require is a check's success condition on the metrics it reports" {
	cat > Orchfile <<-'EOF'
	[step canary]
	run = true
	hold = 30s
	check = n=$(cat n 2>/dev/null || echo 0); n=$((n + 1)); echo $n > n
	        if [ $n -ge 2 ]; then echo "error_rate=0.05" >> "$ORCH_METRICS"; else echo "error_rate=0.001" >> "$ORCH_METRICS"; fi
	check_every = 300ms
	check_failures = 1
	check_require = error_rate <= 0.01
	EOF
	run_orch
	expect_status 1
	expect_contains stdout "$output" "check ok canary"
	expect_contains stdout "$output" "check FAILED canary: check_require: error_rate is 0.05, needs <= 0.01 (1 of 1 in a row)"
	expect_contains stderr "$stderr" "step canary failed: check failed 1 time in a row (check_require: error_rate is 0.05, needs <= 0.01)"
	[ "$(grep '"ev":"metric"' .orch/journal.jsonl | grep -c '"step":"canary"')" -eq 2 ]
	# the check's history of the metric, oldest first, beside its latest value
	run_orch --status --json
	expect_same history "0.001 0.05" "$(jq -r '.metrics.steps.canary.error_rate.history | map(.value | tostring) | join(" ")' <<<"$output")"
	expect_same latest 0.05 "$(jq -r '.metrics.steps.canary.error_rate.value' <<<"$output")"
}

@test "a bad requirement is an error at load time, with FILE:LINE and where" {
	cat > Orchfile <<-'EOF'
	[step a]
	run = true
	require = coverage >= ninety
	[step b]
	run = true
	check_require = x < 1
	[milestone m]
	needs = a
	require = (coverage >= 90
	EOF
	expect_bad_orchfile <<-'EOF'
	Orchfile:3: bad require 'coverage >= ninety': expected a number at column 13 ('ninety')
	Orchfile:4: step 'b' has check_require but no check
	Orchfile:9: bad require '(coverage >= 90': expected ')' at the end
	orch: error: Orchfile: 3 errors; nothing was run
	EOF
}
