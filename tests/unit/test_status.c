/* Unit tests of status.c's ETA: max(longest path of remaining estimates, their sum / jobs
 * rounded up), with phases and milestones adding no time, done steps none, and a long
 * chain walked without recursion. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "graph.h"
#include "orchfile.h"
#include "status.h"
#include "util.h"

static struct vec graphs; /* kept until exit, as orch keeps its graph */

static struct graph *parse_ok(const char *text)
{
	int errors = -1;
	struct graph *g = orchfile_parse("g.orch", text, strlen(text), "/plan", &errors);

	assert_int_equal(errors, 0);
	vec_push(&graphs, g);
	return g;
}

/* Every step's estimate, by node id: what is left when nothing is done. */
static int64_t *estimates(struct graph *g)
{
	int64_t *left = xcalloc(g->nodes.n, sizeof(*left));

	for (size_t i = 0; i < g->steps.n; i++) {
		struct node *n = g->steps.v[i];

		left[n->id] = n->est_ms > 0 ? n->est_ms : 0;
	}
	return left;
}

static void test_chain_and_branch(void **state)
{
	struct graph *g = parse_ok("[step a]\nrun = x\nestimate = 10s\n"
	                           "[step b]\nrun = x\nneeds = a\nestimate = 20s\n"
	                           "[step c]\nrun = x\nneeds = b\nestimate = 30s\n"
	                           "[step d]\nrun = x\nestimate = 5s\n");
	int64_t *left = estimates(g), crit = -1, work = -1;

	(void)state;
	/* one job: everything one after the other */
	assert_int_equal(status_eta(g, left, 1, &crit, &work), 65000);
	assert_int_equal(crit, 60000);
	assert_int_equal(work, 65000);
	/* four jobs: the chain decides */
	assert_int_equal(status_eta(g, left, 4, NULL, NULL), 60000);
	/* a done step takes no time: the path through it shrinks */
	left[graph_find(g, "a")->id] = 0;
	assert_int_equal(status_eta(g, left, 4, &crit, &work), 50000);
	assert_int_equal(crit, 50000);
	assert_int_equal(work, 55000);
	/* jobs below 1 count as 1 */
	assert_int_equal(status_eta(g, left, 0, NULL, NULL), 55000);
	free(left);
}

static void test_wide_plan_divides_by_jobs(void **state)
{
	struct buf plan = {0};
	struct graph *g;
	int64_t *left, crit, work;

	(void)state;
	for (int i = 0; i < 8; i++)
		buf_printf(&plan, "[step s%d]\nrun = x\nestimate = 10s\n", i);
	g = parse_ok(buf_str(&plan));
	left = estimates(g);
	assert_int_equal(status_eta(g, left, 4, &crit, &work), 20000);
	assert_int_equal(crit, 10000);
	assert_int_equal(work, 80000);
	/* 80s over 3 jobs, rounded up to the millisecond */
	assert_int_equal(status_eta(g, left, 3, NULL, NULL), 26667);
	assert_int_equal(status_eta(g, left, 100, NULL, NULL), 10000);
	free(left);
	buf_free(&plan);
}

static void test_phases_and_milestones_add_nothing(void **state)
{
	struct graph *g = parse_ok("[phase one]\n[phase two]\nafter = one\n"
	                           "[step a]\nphase = one\nrun = x\nestimate = 10s\n"
	                           "[step b]\nphase = one\nrun = x\nestimate = 10s\n"
	                           "[step c]\nphase = two\nrun = x\nestimate = 5s\n"
	                           "[step gate]\nphase = two\nmanual = yes\n"
	                           "[milestone M]\nneeds = two\n"
	                           "[step after-m]\nneeds = M\nrun = x\nestimate = 1m\n");
	int64_t *left = estimates(g), crit, work;

	(void)state;
	/* a and b in parallel, then c (after the phase barrier), then after-m */
	assert_int_equal(status_eta(g, left, 2, &crit, &work), 75000);
	assert_int_equal(crit, 75000);
	assert_int_equal(work, 85000);
	assert_int_equal(status_eta(g, left, 1, NULL, NULL), 85000);
	free(left);
}

static void test_long_chain(void **state)
{
	struct buf plan = {0};
	struct graph *g;
	int64_t *left, crit;
	enum { N = 50000 };

	(void)state;
	buf_puts(&plan, "[step s0]\nrun = x\nestimate = 1s\n");
	for (int i = 1; i < N; i++)
		buf_printf(&plan, "[step s%d]\nrun = x\nneeds = s%d\nestimate = 1s\n", i, i - 1);
	g = parse_ok(buf_str(&plan));
	left = estimates(g);
	assert_int_equal(status_eta(g, left, 8, &crit, NULL), (int64_t)N * 1000);
	assert_int_equal(crit, (int64_t)N * 1000);
	free(left);
	buf_free(&plan);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chain_and_branch),
		cmocka_unit_test(test_wide_plan_divides_by_jobs),
		cmocka_unit_test(test_phases_and_milestones_add_nothing),
		cmocka_unit_test(test_long_chain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
