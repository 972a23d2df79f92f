/* Unit tests of history.c: what each event kind means for a node's past, a reset
 * honoured by every field, the plan's last event, and what compaction keeps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "orchtest.h"

static const char *plan = "[step a]\nrun = echo a\n[step b]\nneeds = a\nrun = echo b\n"
                          "[step gate]\nmanual = yes\n[milestone M]\nneeds = a\n";

static void append(struct journal *j, enum evkind kind, struct node *n)
{
	struct outcome o = {.attempt = 1, .exit_status = kind == EV_FAIL ? 1 : 0};

	assert_int_equal(test_append(j, kind, n, &o), 0);
}

static const char *kind_of(struct journal *j, long i)
{
	const struct jevent *e = history_event(j, i);

	return e ? journal_kindname(e->kind) : "none";
}

static void test_kinds(void **state)
{
	char *dir = test_tmpdir();
	struct graph *g = test_plan(dir, plan);
	struct journal *j = test_open(g);
	struct node *a = test_node(g, "a"), *b = test_node(g, "b"), *m = test_node(g, "M");
	const struct history *h;

	(void)state;
	append(j, EV_START, a);
	append(j, EV_FAIL, a);
	append(j, EV_START, a);
	append(j, EV_OK, a);
	append(j, EV_START, b);
	append(j, EV_SKIP, b);
	append(j, EV_MILESTONE, m);
	test_close(g, j);

	/* read back from the file, once */
	j = test_open(g);
	h = state_history(a);
	assert_int_equal(h->attempts, 2);
	assert_int_equal(h->failures, 1);
	assert_string_equal(kind_of(j, h->done), "ok");
	assert_string_equal(kind_of(j, h->last), "ok");
	assert_string_equal(kind_of(j, h->start), "start");
	assert_string_equal(kind_of(j, h->finished), "ok");
	assert_int_equal(h->done, 3);
	h = state_history(b);
	assert_string_equal(kind_of(j, h->done), "none");
	assert_string_equal(kind_of(j, h->finished), "skip");
	assert_string_equal(kind_of(j, state_history(m)->completion), "milestone");
	assert_string_equal(kind_of(j, state_histories()->last), "milestone");

	/* taken in as they are appended: a force undoes the completion, a lost milestone
	 * is lost until it is reached again */
	append(j, EV_FORCE, a);
	append(j, EV_MILESTONE_LOST, m);
	assert_string_equal(kind_of(j, state_history(a)->done), "none");
	assert_string_equal(kind_of(j, state_history(a)->completion), "ok");
	assert_string_equal(kind_of(j, state_history(m)->lost), "milestone-lost");
	assert_string_equal(kind_of(j, state_history(m)->done), "none");
	append(j, EV_MILESTONE, m);
	assert_string_equal(kind_of(j, state_history(m)->lost), "none");
	assert_string_equal(kind_of(j, state_history(m)->done), "milestone");
	test_close(g, j);
	test_rmrf(dir);
	free(dir);
}

/* Everything before a reset is forgotten: completions, attempts, the last event. */
static void test_reset(void **state)
{
	char *dir = test_tmpdir();
	struct graph *g = test_plan(dir, plan);
	struct journal *j = test_open(g);
	struct node *a = test_node(g, "a"), *gate = test_node(g, "gate");
	const struct history *h;

	(void)state;
	append(j, EV_START, a);
	append(j, EV_OK, a);
	append(j, EV_APPROVE, gate);
	append(j, EV_FORCE, gate);
	assert_true(journal_reset(j) > 0);
	test_close(g, j);
	j = test_open(g);
	h = state_history(a);
	assert_int_equal(h->attempts, 0);
	assert_int_equal(h->done, -1);
	assert_int_equal(h->finished, -1);
	assert_int_equal(h->last, -1);
	/* a force before the reset is forgotten too (the registry reconciliation reads it) */
	assert_int_equal(state_history(gate)->last, -1);
	assert_int_equal(state_histories()->last, -1);
	assert_int_equal(state_of(a), ST_NOTRUN);
	test_close(g, j);
	test_rmrf(dir);
	free(dir);
}

/* Compaction keeps each node's completion and everything from its deciding event on. */
static void test_live(void **state)
{
	char *dir = test_tmpdir();
	struct graph *g = test_plan(dir, plan);
	struct journal *j = test_open(g);
	struct node *a = test_node(g, "a"), *b = test_node(g, "b");
	bool live[8] = {false};

	(void)state;
	append(j, EV_START, a); /* 0 */
	append(j, EV_OK, a);    /* 1: a's completion */
	append(j, EV_START, a); /* 2 */
	append(j, EV_FAIL, a);  /* 3: a's deciding event */
	append(j, EV_START, a); /* 4: after it */
	append(j, EV_START, b); /* 5: b has no deciding event: kept */
	assert_int_equal(journal_count(j), 6);
	history_live(state_histories(), j, live);
	assert_false(live[0]);
	assert_true(live[1]);
	assert_false(live[2]);
	assert_true(live[3]);
	assert_true(live[4]);
	assert_true(live[5]);
	test_close(g, j);
	test_rmrf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kinds),
		cmocka_unit_test(test_reset),
		cmocka_unit_test(test_live),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
