/* tests/unit/orchtest.h — shared helpers of the journal and state unit tests: a fresh
 * plan directory, an Orchfile parsed into it, files written into it, and a complete
 * "run" that records every step as succeeded the way the engine does. */
#ifndef ORCH_TEST_H
#define ORCH_TEST_H

/* (the Makefile sets the feature macros for every file) */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "graph.h"
#include "history.h"
#include "journal.h"
#include "orchfile.h"
#include "state.h"
#include "util.h"

/* Graphs live until exit, as in orch; keeping them reachable keeps LeakSanitizer quiet. */
static struct vec test_graphs;

static inline char *test_tmpdir(void)
{
	char tmpl[] = "/tmp/orch-unit-XXXXXX";
	char *d = mkdtemp(tmpl);

	assert_non_null(d);
	return xstrdup(d);
}

static inline void test_rmrf(const char *dir)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);

	assert_int_equal(system(cmd), 0);
	free(cmd);
}

static inline struct graph *test_plan(const char *dir, const char *text)
{
	int errors = -1;
	struct graph *g = orchfile_parse("Orchfile", text, strlen(text), dir, &errors);

	assert_int_equal(errors, 0);
	assert_non_null(g);
	vec_push(&test_graphs, g);
	return g;
}

static inline void test_write(const char *dir, const char *name, const char *text)
{
	char *p = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(p, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
	free(p);
}

static inline char *test_read(const char *dir, const char *name, size_t *len)
{
	char *p = xasprintf("%s/%s", dir, name), *s = read_file(p, len);

	free(p);
	return s;
}

static inline struct node *test_node(struct graph *g, const char *name)
{
	struct node *n = graph_find(g, name);

	assert_non_null(n);
	return n;
}

/* Append an event for N as the engine does (with N's signature, and its parts for a
 * completion), and take it into the history. 0, or -1 when it could not be written. */
static inline int test_append(struct journal *j, enum evkind kind, struct node *n, const struct outcome *o)
{
	struct outcome ev = o ? *o : (struct outcome){.exit_status = -1};
	long at;

	state_outcome(n, kind, &ev);
	if ((at = journal_append(j, kind, n, &ev)) < 0)
		return -1;
	state_noted((size_t)at);
	return 0;
}

/* Compact J to what the history says is live. */
static inline int test_compact(struct journal *j)
{
	bool *live = xcalloc(journal_count(j) + 1, sizeof(*live));
	int r;

	history_live(state_histories(), j, live);
	r = journal_compact(j, live);
	free(live);
	return r;
}

/* Record every step not satisfied as started and succeeded, in topological order. */
static inline void test_run_all(struct graph *g, struct journal *j)
{
	struct vec order = {0};

	graph_select(g, NULL, 0, MARK_SELECTED);
	graph_order(g, MARK_SELECTED, false, &order);
	for (size_t i = 0; i < order.n; i++) {
		struct node *n = order.v[i];
		struct outcome o = {.attempt = 1, .exit_status = 0, .start_ms = wall_ms(), .duration_ms = 5};

		if (n->kind != NODE_STEP || state_satisfied(n))
			continue;
		state_refresh(n);
		assert_int_equal(test_append(j, EV_START, n, &o), 0);
		assert_int_equal(test_append(j, EV_OK, n, &o), 0);
		state_set(n, ST_DONE, NULL);
	}
	assert_int_equal(journal_sync(j), 0);
	graph_clearmarks(g);
	vec_free(&order);
}

/* Open the journal of G (locked), load the state. */
static inline struct journal *test_open(struct graph *g)
{
	struct journal *j = NULL;

	assert_int_equal(journal_try_open(g, JOURNAL_LOCK | JOURNAL_CREATE, &j), 0);
	assert_non_null(j);
	state_load(g, j);
	return j;
}

static inline void test_close(struct graph *g, struct journal *j)
{
	journal_close(j);
	state_free(g);
}

#endif
