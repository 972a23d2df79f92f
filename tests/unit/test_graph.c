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

/* Parse TEXT, expecting errors; returns what was printed on stderr. */
static char *parse_errors(const char *text, int *errors)
{
	int saved = dup(2);
	FILE *tmp = tmpfile();
	static char buf[4096];
	size_t n;

	fflush(stderr);
	dup2(fileno(tmp), 2);
	assert_null(orchfile_parse("g.orch", text, strlen(text), "/plan", errors));
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(tmp);
	n = fread(buf, 1, sizeof(buf) - 1, tmp);
	buf[n] = '\0';
	fclose(tmp);
	return buf;
}

/* A phase depends on the phases its after names (and each of its steps does), so a
 * phase after b waits for what b runs after; edges: one per step and one per phase. */
static void test_phase_after_edges(void **state)
{
	struct graph *g;
	struct node *b;
	size_t after = 0;

	(void)state;
	g = parse_ok("[phase a]\n[phase b]\nafter = a\n[phase c]\nafter = b\n"
	             "[step a1]\nphase = a\nrun = true\n[step b1]\nphase = b\nrun = true\n"
	             "[step b2]\nphase = b\nrun = true\n[step c1]\nphase = c\nrun = true\n");
	b = graph_find(g, "b");
	for (size_t i = 0; i < b->ndeps; i++)
		if (b->deps[i].why == EDGE_AFTER) {
			assert_string_equal(b->deps[i].dep->name, "a");
			after++;
		}
	assert_int_equal(after, 1);
	assert_int_equal(b->ndeps, 3); /* after a, contains b1 and b2 */
	assert_int_equal(graph_find(g, "b1")->ndeps, 1);
	assert_int_equal(graph_find(g, "c1")->ndeps, 1); /* c's own after only, not a */
}

/* A cycle between phases is reported once, phase by phase, not once more through each
 * step of a phase. */
static void test_phase_cycle_once(void **state)
{
	int errors = 0;
	char *msgs;

	(void)state;
	msgs = parse_errors("[phase a]\nafter = b\n[phase b]\nafter = a\n"
	                    "[step a1]\nphase = a\nrun = true\n[step b1]\nphase = b\nrun = true\n"
	                    "[step b2]\nphase = b\nrun = true\n", &errors);
	assert_int_equal(errors, 1);
	assert_string_equal(msgs, "g.orch:2: dependency cycle: a -> b -> a\n"
	                          "g.orch:2:   phase a runs after b\n"
	                          "g.orch:4:   phase b runs after a\n");
	/* steps declared first: the same one cycle */
	msgs = parse_errors("[step a1]\nphase = a\nrun = true\n[step b1]\nphase = b\nrun = true\n"
	                    "[phase a]\nafter = b\n[phase b]\nafter = a\n", &errors);
	assert_int_equal(errors, 1);
	assert_non_null(strstr(msgs, "dependency cycle: b -> a -> b\n"));
	/* a cycle through a step's needs and a phase's after is still told */
	msgs = parse_errors("[phase a]\n[phase b]\nafter = a\n[step a1]\nphase = a\nneeds = b1\nrun = true\n"
	                    "[step b1]\nphase = b\nrun = true\n", &errors);
	assert_int_equal(errors, 1);
	assert_non_null(strstr(msgs, "dependency cycle: a -> a1 -> b1 -> a\n"));
	assert_non_null(strstr(msgs, "g.orch:3:   step b1 runs after a\n"));
}

static const char *names(struct vec *order)
{
	static char buf[256];

	buf[0] = '\0';
	for (size_t i = 0; i < order->n; i++) {
		strcat(buf, i ? " " : "");
		strcat(buf, ((struct node *)order->v[i])->name);
	}
	return buf;
}

/* graph_schedule plays a -j 1 run: what is done from the start releases what needs it
 * at once (graph_order would queue it), a phase completes without a turn, a gate waits
 * until nothing else can start, and nothing after a blocked milestone starts. */
static void test_schedule(void **state)
{
	struct graph *g;
	struct vec order = {0};
	unsigned char role[16];

	(void)state;
	/* u needs s (done): u (declared first) starts before x; graph_order puts x first */
	g = parse_ok("[step u]\nneeds = s\nrun = true\n[step x]\nrun = true\n[step s]\nrun = true\n");
	graph_select(g, NULL, 0, 1);
	memset(role, SCHED_JOB, sizeof(role));
	role[graph_find(g, "s")->id] = SCHED_DONE;
	graph_schedule(g, 1, role, &order);
	assert_string_equal(names(&order), "u x");
	order.n = 0;
	graph_order(g, 1, false, &order);
	assert_string_equal(names(&order), "x s u");
	vec_free(&order);

	/* gates: g is set aside, b runs, then g is approved and a follows */
	g = parse_ok("[step g]\nmanual = yes\n[step a]\nneeds = g\nrun = true\nestimate = 1h\n"
	             "[step b]\nrun = true\n");
	graph_select(g, NULL, 0, 1);
	memset(role, SCHED_JOB, sizeof(role));
	role[graph_find(g, "g")->id] = SCHED_GATE;
	graph_schedule(g, 1, role, &order);
	assert_string_equal(names(&order), "b g a");
	vec_free(&order);

	/* a phase and a milestone take no turn; a blocked milestone holds back what needs it */
	g = parse_ok("[phase p]\n[step p1]\nphase = p\nrun = true\n[step late]\nneeds = p\nrun = true\n"
	             "[milestone M]\nneeds = p1\n[step held]\nneeds = M\nrun = true\nestimate = 1d\n"
	             "[step free]\nrun = true\n");
	graph_select(g, NULL, 0, 1);
	memset(role, SCHED_JOB, sizeof(role));
	role[graph_find(g, "p")->id] = SCHED_INSTANT;
	role[graph_find(g, "M")->id] = SCHED_BLOCKED;
	graph_schedule(g, 1, role, &order);
	assert_string_equal(names(&order), "p1 late free");
	vec_free(&order);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_select_and_order),
		cmocka_unit_test(test_priority_then_declaration_order),
		cmocka_unit_test(test_cycle_through_phase),
		cmocka_unit_test(test_chain_100k),
		cmocka_unit_test(test_phase_after_edges),
		cmocka_unit_test(test_phase_cycle_once),
		cmocka_unit_test(test_schedule),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
