/* Unit tests of graph.c: selection of targets, topological order with priorities,
 * cycle detection, and a 100,000-step chain (no recursion, linear time). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "graph.h"
#include "orchfile.h"

static struct graph *parse_ok(const char *text)
{
	int errors = -1;
	struct graph *g = orchfile_parse("g.orch", text, strlen(text), "/plan", &errors);

	assert_int_equal(errors, 0);
	return g;
}

static size_t position(struct vec *order, const char *name)
{
	for (size_t i = 0; i < order->n; i++)
		if (strcmp(((struct node *)order->v[i])->name, name) == 0)
			return i;
	fail_msg("%s not in order", name);
	return 0;
}

/* Every node comes after everything it needs. */
static void assert_topological(struct vec *order)
{
	for (size_t i = 0; i < order->n; i++) {
		struct node *n = order->v[i];

		for (size_t j = 0; j < n->ndeps; j++)
			if (n->deps[j].dep->mark == n->mark)
				assert_true(position(order, n->deps[j].dep->name) < i);
	}
}

static void test_select_and_order(void **state)
{
	struct graph *g;
	struct node *t;
	struct vec order = {0};

	(void)state;
	g = parse_ok("[phase p]\n[step a]\nrun = true\nestimate = 1m\n"
	             "[step b]\nrun = true\nestimate = 10m\n"
	             "[step c]\nneeds = a\nrun = true\nestimate = 1h\nphase = p\n"
	             "[step d]\nneeds = b c\nrun = true\n"
	             "[step lone]\nrun = true\n"
	             "[milestone M]\nneeds = p\n");
	assert_int_equal(graph_target(g, "d", &t), 0);
	assert_int_equal(graph_select(g, &t, 1, 1), 4);
	assert_int_equal(graph_find(g, "lone")->mark, 0);
	graph_order(g, 1, false, &order);
	assert_int_equal(order.n, 4); /* phase p is not needed by d */
	assert_topological(&order);
	/* a leads the longest estimated path (a 1m + c 1h), so it starts before b */
	assert_string_equal(((struct node *)order.v[0])->name, "a");
	vec_free(&order);

	graph_clearmarks(g);
	assert_int_equal(graph_target(g, "M", &t), 0);
	assert_int_equal(graph_select(g, &t, 1, 2), 2); /* c and a */
	assert_int_equal(graph_find(g, "b")->mark, 0);
}

static void test_priority_then_declaration_order(void **state)
{
	struct graph *g;
	struct vec order = {0};

	(void)state;
	g = parse_ok("[step z]\nrun = true\n[step y]\nrun = true\n[step x]\nrun = true\nestimate = 1s\n");
	graph_select(g, NULL, 0, 1);
	graph_order(g, 1, false, &order);
	assert_string_equal(((struct node *)order.v[0])->name, "x");
	assert_string_equal(((struct node *)order.v[1])->name, "z");
	assert_string_equal(((struct node *)order.v[2])->name, "y");
	vec_free(&order);
}

static void test_cycle_through_phase(void **state)
{
	const char *text = "[phase p]\n[step a]\nphase = p\nrun = true\n[step b]\nneeds = p\nrun = true\n"
	                   "[step c]\nneeds = b\nphase = p\nrun = true\n";
	int errors = 0, saved = dup(2);
	FILE *tmp = tmpfile();
	char buf[2048] = "";

	(void)state;
	fflush(stderr);
	dup2(fileno(tmp), 2);
	assert_null(orchfile_parse("g.orch", text, strlen(text), "/plan", &errors));
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(tmp);
	fread(buf, 1, sizeof(buf) - 1, tmp);
	fclose(tmp);
	assert_int_equal(errors, 1);
	assert_non_null(strstr(buf, "dependency cycle: p -> c -> b -> p"));
	assert_non_null(strstr(buf, "g.orch:10:   phase p contains c"));
	assert_non_null(strstr(buf, "g.orch:9:   step c needs b"));
	assert_non_null(strstr(buf, "g.orch:6:   step b needs p"));
}

static void test_chain_100k(void **state)
{
	size_t n = 100000;
	struct buf b = {0};
	struct graph *g;
	struct vec order = {0};
	struct node *t;

	(void)state;
	buf_puts(&b, "[step s0]\nrun = true\n");
	for (size_t i = 1; i < n; i++)
		buf_printf(&b, "[step s%zu]\nneeds = s%zu\nrun = true\nestimate = 1s\n", i, i - 1);
	g = orchfile_parse("big.orch", b.s, b.len, "/plan", NULL);
	assert_non_null(g);
	assert_int_equal(graph_target(g, "s99999", &t), 0);
	assert_int_equal(graph_select(g, &t, 1, 1), n);
	graph_order(g, 1, false, &order);
	assert_int_equal(order.n, n);
	assert_string_equal(((struct node *)order.v[0])->name, "s0");
	assert_string_equal(((struct node *)order.v[n - 1])->name, "s99999");
	vec_free(&order);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_select_and_order),
		cmocka_unit_test(test_priority_then_declaration_order),
		cmocka_unit_test(test_cycle_through_phase),
		cmocka_unit_test(test_chain_100k),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
