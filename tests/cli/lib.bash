# tests/cli/lib.bash — loaded by every tests/cli/*.bats file (git's test-lib, small).
#
# Each test runs in a fresh temporary directory (its working directory). $ORCH is the
# orch binary under test (default: the repository's ./orch; tests/run-all passes the
# normal and the sanitizer build in turn) and $ORCH_HELPER is tests/helper built beside
# it. Every test checks the exit status explicitly: a crash or a sanitizer report
# (exit 99 in tests/run-all) is never an expected failure.

bats_require_minimum_version 1.5.0

TOP=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
ORCH=${ORCH:-$TOP/orch}
ORCH_HELPER=${ORCH_HELPER:-$TOP/build/helper}
# the tests cd to a temporary directory: make the paths absolute
[[ $ORCH == /* ]] || ORCH=$PWD/$ORCH
[[ $ORCH_HELPER == /* ]] || ORCH_HELPER=$PWD/$ORCH_HELPER
export ORCH ORCH_HELPER

setup() { setup_dir; }
teardown() { teardown_dir; }

# setup_dir: the test's own temporary directory, entered, the environment cleaned.
setup_dir() {
	TEST_DIR=$(mktemp -d "${BATS_TMPDIR:-/tmp}/orch-cli.XXXXXX")
	cd "$TEST_DIR" || return 1
	# the environment must not leak into the plans under test
	unset DATABASE_URL ORCH_LOG_LEVEL LOG_LEVEL NO_COLOR ORCH_TARGET ORCH_LOCK_TIMEOUT ORCH_AUTHOR
	# nor git's user.name, which names the author of what orch records (os_author)
	export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
}

teardown_dir() {
	cd / && rm -rf "$TEST_DIR"
}

# pg_setup NAME: setup_dir, and a database of the test's own on the test PostgreSQL
# (PGHOST, from tests/run-all) as $DB and $DATABASE_URL. Without a server the test is
# skipped, and in CI it fails. pg_teardown drops the database.
pg_setup() {
	setup_dir || return 1
	if [ -z "${PGHOST:-}" ]; then
		[ "${CI:-}" != true ] || { echo "CI: no PostgreSQL test server (PGHOST unset)"; return 1; }
		skip "no PostgreSQL test server (PGHOST unset; tests/run-all starts one)"
	fi
	DB=orch_${1}_$$_${BATS_TEST_NUMBER}
	psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" 2>/dev/null
	export DATABASE_URL="postgresql:///$DB"
}

pg_teardown() {
	teardown_dir
	[ -z "${DB:-}" ] || psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" 2>/dev/null || true
}

# copy_plans DIR: the repository's plans copied into DIR (created): the reference plan
# (DIR/orchfile), with what it names (DIR/examples/brand-context-ucr), and every example
# (DIR/examples/NAME), without the state and output a run in the checkout left there.
# A test never runs orch on the checkout's own files: orch would read and write the
# checkout's .orch/ and out/ (tests/run-all fails the run when a test touches them).
copy_plans() {
	mkdir -p "$1" || return 1
	cp "$TOP/orchfile" "$1/" && cp -R "$TOP/examples" "$1/" || return 1
	rm -rf "$1/.orch" "$1/out" "$1"/examples/*/.orch "$1"/examples/*/out \
		"$1"/examples/*/_build "$1"/examples/*/_public
}

# run_orch ARGS...: run $ORCH; $status, $output (stdout) and $stderr are set.
run_orch() {
	run --separate-stderr "$ORCH" "$@"
}

# run_helper ARGS...: the same for $ORCH_HELPER.
run_helper() {
	run --separate-stderr "$ORCH_HELPER" "$@"
}

# Report what the last command printed (shown when a test fails).
show_run() {
	printf 'exit status: %s\n--- stdout:\n%s\n--- stderr:\n%s\n---\n' "$status" "$output" "${stderr-}"
}

# expect_status N: the last run exited with N.
expect_status() {
	if [ "$status" -ne "$1" ]; then
		echo "expected exit status $1, got $status"
		show_run
		return 1
	fi
}

# expect_same NAME EXPECTED ACTUAL: equal strings, else a diff.
expect_same() {
	if [ "$2" != "$3" ]; then
		echo "$1 differs (- expected, + actual):"
		diff -u <(printf '%s\n' "$2") <(printf '%s\n' "$3") | tail -n +3
		return 1
	fi
}

# expect_stdout / expect_stderr: the last run printed exactly stdin (trailing newlines
# aside, as with $(...)).
expect_stdout() {
	expect_same stdout "$(cat)" "$output" || { show_run; return 1; }
}

expect_stderr() {
	expect_same stderr "$(cat)" "$stderr" || { show_run; return 1; }
}

# expect_contains NAME TEXT SUBSTRING
expect_contains() {
	case "$2" in
	*"$3"*) return 0 ;;
	esac
	echo "$1 does not contain: $3"
	show_run
	return 1
}

# expect_bad_orchfile ARGS...: with the Orchfile in the working directory, `orch --check`
# exits 2, prints nothing on stdout and exactly stdin on stderr.
expect_bad_orchfile() {
	local want
	want=$(cat)
	run_orch "$@" --check
	expect_status 2 || return 1
	expect_same stdout "" "$output" || { show_run; return 1; }
	expect_same stderr "$want" "$stderr" || { show_run; return 1; }
}

# dry_run_steps: the step names of `orch -n` output on stdin, in order.
dry_run_steps() {
	awk '/^  [^ ]/ { print $1 }'
}

# checked_hold_plan: a step that holds 1s after a 0.3s run, a health check every 200ms whose
# first run fails ("error rate 9%") and the others pass, and a step after it.
checked_hold_plan() {
	cat >Orchfile <<-'EOF'
	[step deploy]
	run = sleep 0.3
	hold = 1s
	check = n=$(cat n 2>/dev/null || echo 0); echo $((n + 1)) > n; [ $n -ne 1 ] || { echo "error rate 9%"; exit 1; }
	check_every = 200ms
	check_failures = 3
	[step after]
	needs = deploy
	run = true
	EOF
}

# tiny_plan: a small valid plan with two phases, a manual gate and a milestone.
tiny_plan() {
	cat >"${1:-Orchfile}" <<-'EOF'
	[orch]
	name = tiny

	[phase prepare]
	title = Prepare

	[phase switch]
	title = Switch over
	after = prepare

	[step make-dir]
	title    = Create the output directory
	phase    = prepare
	estimate = 5s
	run      = mkdir -p out

	[step add-column]
	title    = Add the email column
	phase    = prepare
	needs    = make-dir
	estimate = 1m
	run      = echo add > out/001.sql

	[step review]
	title  = Review the backfill
	phase  = switch
	manual = yes

	[step deploy]
	title    = Deploy the new code
	phase    = switch
	needs    = review
	estimate = 2m
	run      = echo deployed > out/deployed

	[milestone M1]
	title = Live
	needs = switch
	EOF
}
