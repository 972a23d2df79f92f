#!/usr/bin/env bats
# t2007-metrics-export — [orch] metrics = FILE and ENABLE_METRICS=true: the plan in the
# Prometheus text format, read back with a real parser (python3-prometheus-client).

load lib

# the orch a test left holding goes too
teardown() {
	[ -z "${pid-}" ] || kill "$pid" 2>/dev/null || true
	cd / && rm -rf "$TEST_DIR"
}

# parse FILE: every sample as "name{labels} value" lines, sorted, via the Debian
# package's parser (the system python3, where apt puts it)
parse() {
	/usr/bin/python3 - "$1" <<-'EOF'
	import sys
	from prometheus_client.parser import text_string_to_metric_families
	out = []
	for fam in text_string_to_metric_families(open(sys.argv[1]).read()):
	    for s in fam.samples:
	        labels = ",".join("%s=%s" % kv for kv in sorted(s.labels.items()))
	        out.append("%s{%s} %g" % (s.name, labels, s.value))
	print("\n".join(sorted(out)))
	EOF
}

@test "[orch] metrics writes steps, phases, milestones, holds and reported metrics, parsed by prometheus_client" {
	/usr/bin/python3 -c 'import prometheus_client' || skip "python3-prometheus-client is missing (contrib/bootstrap installs it)"
	cat > Orchfile <<-'EOF'
	[orch]
	metrics = out/orch.prom

	[phase canary]
	number = 1

	[step unit]
	phase = canary
	component = "api"
	estimate = 2m
	run = mkdir -p out; echo 'coverage=93.5 %' >> "$ORCH_METRICS"

	[step deploy]
	phase = canary
	needs = unit
	run = true
	hold = 1h
	check = echo 'error_rate=0.002' >> "$ORCH_METRICS"
	check_every = 200ms

	[milestone M1]
	needs = unit
	EOF
	"$ORCH" > run.out 2>&1 3>&- &
	pid=$!
	for _ in $(seq 100); do
		grep -q 'check ok deploy' run.out 2>/dev/null && [ -s out/orch.prom ] && grep -q error_rate out/orch.prom && break
		sleep 0.1
	done
	run parse out/orch.prom
	[ "$status" -eq 0 ] || { echo "$output"; cat out/orch.prom; kill "$pid"; false; }
	expect_contains samples "$output" 'orch_step_state{component="api",phase=canary,state=done,step=unit} 1'
	expect_contains samples "$output" 'orch_step_state{component=,phase=canary,state=holding,step=deploy} 1'
	expect_contains samples "$output" 'orch_step_state{component=,phase=canary,state=todo,step=deploy} 0'
	expect_contains samples "$output" 'orch_step_estimate_seconds{component="api",phase=canary,step=unit} 120'
	expect_contains samples "$output" 'orch_phase_steps{phase=canary} 2'
	expect_contains samples "$output" 'orch_phase_steps_done{phase=canary} 1'
	expect_contains samples "$output" 'orch_milestone_reached{milestone=M1} 1'
	expect_contains samples "$output" 'orch_hold_checks{component=,phase=canary,result=passed,step=deploy}'
	expect_contains samples "$output" 'orch_metric{component="api",name=coverage,phase=canary,step=unit,unit=%} 93.5'
	expect_contains samples "$output" 'orch_metric{component=,name=error_rate,phase=canary,step=deploy,unit=} 0.002'
	left=$(echo "$output" | sed -n 's/^orch_hold_seconds_left{.*step=deploy} //p')
	[ "${left%.*}" -gt 3500 ] && [ "${left%.*}" -le 3600 ]
	grep -q '^orch_step_duration_seconds{step="unit",phase="canary",component="\\"api\\""} ' out/orch.prom
	run_orch --promote deploy
	expect_status 0
	wait "$pid"
	run parse out/orch.prom
	expect_contains samples "$output" 'orch_step_state{component=,phase=canary,state=done,step=deploy} 1'
	expect_contains samples "$output" 'orch_phase_steps_done{phase=canary} 2'
	! grep -q '^orch_hold_seconds_left{' out/orch.prom
}

@test "ENABLE_METRICS=true writes .orch/metrics.prom; without it, nothing" {
	printf '[step a]\nrun = true\n' > Orchfile
	run_orch
	expect_status 0
	[ ! -e .orch/metrics.prom ]
	ENABLE_METRICS=true run_orch --force a
	ENABLE_METRICS=true run_orch
	expect_status 0
	grep -q '^orch_step_state{step="a",phase="",component="",state="done"} 1$' .orch/metrics.prom
	# written whole: no temp file left beside it
	[ "$(ls .orch | grep -c metrics)" -eq 1 ]
}
