#!/usr/bin/env bats
# t8004-check-includes — tests/check-includes (run by tests/run-all on src/) on small
# made-up source trees: every include cycle among modules is found and shown with its
# #include lines, and a library header included outside its owner file is reported.

load lib

check() { run --separate-stderr env SRC="$TEST_DIR/s" "$TOP/tests/check-includes" "$@"; }

@test "check-includes: no cycle, no stray library header: both checks pass" {
	mkdir s
	printf '#include "a.h"\n#include "b.h"\n#include <stdio.h>\n' > s/a.c
	printf '#include "b.h"\n#include <libpq-fe.h>\n' > s/pg.c
	printf '#include "b.h"\n' > s/a.h
	printf '#include "nosuch.h"\n#include <ini.h>\n' > s/orchfile.c
	: > s/b.h
	check cycles
	expect_status 0
	expect_stdout < /dev/null
	check owners
	expect_status 0
	expect_stdout < /dev/null
}

@test "check-includes cycles: each cycle once, x.c and x.h one module, with its #include lines" {
	mkdir s
	printf '#include "a.h"\n#include "b.h"\n' > s/a.c
	printf '#include "c.h"\n' > s/b.h
	printf '  #  include "a.h" /* back */\n' > s/c.c
	printf '#include "a.h"\n' > s/b.c
	: > s/a.h
	: > s/c.h
	check cycles
	expect_status 1
	expect_stdout <<-EOF
	include cycle: a -> b -> a
	    $TEST_DIR/s/a.c:2: #include "b.h"
	    $TEST_DIR/s/b.c:1: #include "a.h"
	include cycle: a -> b -> c -> a
	    $TEST_DIR/s/a.c:2: #include "b.h"
	    $TEST_DIR/s/b.h:1: #include "c.h"
	    $TEST_DIR/s/c.c:1:   #  include "a.h" /* back */
	EOF
}

@test "check-includes owners: libpq-fe.h, xxhash.h and ini.h outside pg.c, hash.c, orchfile.c and sqitch.c" {
	mkdir s
	printf '#include <libpq-fe.h>\n#include <xxhash.h>\n' > s/pg.c
	printf '#include <xxhash.h>\n' > s/hash.c
	printf '#include <ini.h>\n' > s/sqitch.c
	printf '#include <ini.h>\n#include "ini.h"\n' > s/run.h
	check owners
	expect_status 1
	expect_stdout <<-EOF
	$TEST_DIR/s/pg.c:2: includes <xxhash.h>, which only src/hash.c may include (it owns that library)
	$TEST_DIR/s/run.h:1: includes <ini.h>, which only src/orchfile.c and src/sqitch.c may include (they own that library)
	$TEST_DIR/s/run.h:2: includes <ini.h>, which only src/orchfile.c and src/sqitch.c may include (they own that library)
	EOF
}
