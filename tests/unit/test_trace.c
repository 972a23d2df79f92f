/* Unit tests of trace.c's spans: an attempt never ends after the event that ended it was
 * written, though its start (the wall clock) and its duration (the monotonic clock) are
 * each cut to the millisecond and their sum can pass it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "orchtest.h"
#include "trace.h"

static void test_attempt_ends_by_its_event(void **state)
{
	char *dir = test_tmpdir();
	struct graph *g = test_plan(dir, "[step c]\nrun = true\n");
	struct journal *j = test_open(g);
	struct node *c = test_node(g, "c");
	int64_t now = wall_ms();
	/* one whose duration says it ended a minute after its end was written; one that
	 * ended well before */
	struct outcome late = {.attempt = 1, .exit_status = 1, .start_ms = now - 5, .duration_ms = 60000};
	struct outcome early = {.attempt = 2, .exit_status = 0, .start_ms = now - 5, .duration_ms = 2};
	struct span *v;
	size_t n;

	(void)state;
	assert_int_equal(test_append(j, EV_START, c, &late), 0);
	assert_int_equal(test_append(j, EV_FAIL, c, &late), 0);
	assert_int_equal(test_append(j, EV_START, c, &early), 0);
	assert_int_equal(test_append(j, EV_OK, c, &early), 0);
	n = trace_spans(g, j, 0, &v, now + 120000);
	assert_int_equal(n, 2);
	assert_int_equal(v[0].start_ms, now - 5);
	assert_int_equal(v[0].end_ms, journal_event(j, 1)->time_ms);
	assert_int_equal(v[1].start_ms, now - 5);
	assert_int_equal(v[1].end_ms, now - 3);
	free(v);
	test_close(g, j);
	test_rmrf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_attempt_ends_by_its_event),
	};

	verbosity = -2;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
