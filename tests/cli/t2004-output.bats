#!/usr/bin/env bats
# A step's output: streamed to its log as it comes, a bounded tail kept in memory for
# what orch prints, so that a step printing 100 MB costs orch no memory.

load lib

@test "a step printing 100 MB: all of it in the log, the tail on the screen, orch stays small" {
	cat > Orchfile <<-'EOF'
	[step big]
	run = yes 0123456789012345678901234567890123456789 | head -c 100000000; echo; echo last line
	[step bad]
	needs = big
	run = yes failing | head -n 100000; exit 3
	EOF
	run --separate-stderr /usr/bin/time -f 'maxrss %M' "$ORCH"
	expect_status 1
	# the peak resident size, in KiB, is far below the output's size
	rss=$(grep -o 'maxrss [0-9]*' <<<"$stderr" | cut -d' ' -f2)
	[ "$rss" -lt 102400 ] || { echo "orch grew to $rss KiB"; false; }
	[ "$(stat -c %s .orch/logs/big.log)" -gt 100000000 ]
	[ "$(tail -n 1 .orch/logs/big.log)" = "last line" ]
	expect_contains stdout "$output" "last line"
	expect_contains stdout "$output" " earlier lines in the log)"
	# a failure shows its last 50 lines and counts the rest
	expect_contains stdout "$output" "... (99950 earlier lines in the log)"
	[ "$(grep -c '^failing$' .orch/logs/bad.log)" -eq 100000 ]
}
