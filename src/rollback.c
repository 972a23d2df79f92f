/* rollback.c — `orch --rollback TARGET`. The steps of TARGET (a step; a phase's steps;
 * what a milestone names; everything for all) that are completed, plus every completed
 * step that depends on them, are undone newest dependency first: the engine runs them
 * in reverse topological order, and among independent ones the latest completed first.
 * A step that cannot be undone stops everything before anything runs. */
#include "rollback.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "changelog.h"
#include "history.h"
#include "pg.h"
#include "record.h"
#include "state.h"
#include "term.h"

/* The width of a column of the names of the nodes in V: at least MIN, as wide as the
 * longest name (up to a sane 200). */
static int name_width(const struct vec *v, int min)
{
	int w = min;

	for (size_t i = 0; i < v->n; i++) {
		size_t len = strlen(((const struct node *)v->v[i])->name);

		if (len > (size_t)w)
			w = len < 200 ? (int)len : 200;
	}
	return w;
}

static bool completed(const struct node *n)
{
	enum stepstate st = state_of(n);

	/* a rollback that started and did not finish is still to be done */
	/* a step that holds, or whose hold failed, ran: what it did is in place */
	return n->kind == NODE_STEP && (st == ST_DONE || st == ST_STALE || st == ST_CHANGED ||
	                                st == ST_ROLLBACK_INTERRUPTED || st == ST_HOLDING || state_hold_failed(n));
}

static bool can_undo(const struct node *n)
{
	return n->x->rollback || n->x->sql_rollback || n->stepkind == STEP_MANUAL ||
	       (n->stepkind == STEP_SQL && (n->x->backup.n || n->x->backup_schema.n));
}

static const char *how(const struct node *n)
{
	if (n->stepkind == STEP_MANUAL)
		return "take the approval back";
	if (n->x->sql_rollback)
		return "sql_rollback";
	if (n->stepkind == STEP_SQL && (n->x->backup.n || n->x->backup_schema.n) && !n->x->rollback)
		return n->x->backup.n ? "restore the backup tables" : "restore the schema dumps";
	return "rollback";
}

/* Mark the members of TARGET (MARK_UNDO): a step; a phase's steps; what a milestone
 * needs, through phases and milestones (MARK_WALKED) but not through steps' own
 * dependencies, nor through a phase's after (what it waits for is not part of it). */
static void mark_members(struct graph *g, struct node *target)
{
	struct vec stack = {0};

	if (!target) {
		for (size_t i = 0; i < g->steps.n; i++)
			((struct node *)g->steps.v[i])->mark = MARK_UNDO;
		return;
	}
	vec_push(&stack, target);
	while (stack.n) {
		struct node *n = stack.v[--stack.n];

		if (n->mark)
			continue;
		n->mark = n->kind == NODE_STEP ? MARK_UNDO : MARK_WALKED;
		if (n->kind == NODE_STEP)
			continue;
		for (size_t i = 0; i < n->ndeps; i++)
			if (n->deps[i].why != EDGE_AFTER)
				vec_push(&stack, n->deps[i].dep);
	}
	vec_free(&stack);
}

/* Add (MARK_UNDO) every step that depends on a member, through any kind of node
 * (MARK_DEPENDENT). */
static void mark_dependents(struct graph *g)
{
	struct vec stack = {0};

	for (size_t i = 0; i < g->steps.n; i++) {
		struct node *n = g->steps.v[i];

		if (n->mark == MARK_UNDO)
			vec_push(&stack, n);
	}
	while (stack.n) {
		struct node *n = stack.v[--stack.n];

		for (size_t i = 0; i < n->nusers; i++) {
			struct node *u = n->users[i];

			if (u->mark != MARK_UNDO && u->mark != MARK_DEPENDENT) {
				u->mark = u->kind == NODE_STEP ? MARK_UNDO : MARK_DEPENDENT;
				vec_push(&stack, u);
			}
		}
	}
	vec_free(&stack);
}

/* --to KEEP: KEEP and everything it needs, transitively, stay (MARK_NONE). What is left
 * to undo still holds every dependent of each step in it: a kept step's dependencies
 * are all kept. */
static void unmark_kept(struct graph *g, struct node *keep)
{
	bool *seen = xcalloc(g->nodes.n, sizeof(*seen));
	struct vec stack = {0};

	vec_push(&stack, keep);
	seen[keep->id] = true;
	while (stack.n) {
		struct node *n = stack.v[--stack.n];

		if (n->kind == NODE_STEP)
			n->mark = MARK_NONE;
		for (size_t i = 0; i < n->ndeps; i++)
			if (!seen[n->deps[i].dep->id]) {
				seen[n->deps[i].dep->id] = true;
				vec_push(&stack, n->deps[i].dep);
			}
	}
	vec_free(&stack);
	free(seen);
}

/* When each node last completed (by node id, 0: never), from its history: the newest
 * is undone first. A new array. */
static int64_t *completion_times(struct graph *g, struct journal *j)
{
	int64_t *ms = xcalloc(g->nodes.n ? g->nodes.n : 1, sizeof(*ms));

	for (size_t i = 0; i < g->nodes.n; i++) {
		const struct jevent *ev = history_event(j, state_history(g->nodes.v[i])->finished);

		ms[i] = ev ? ev->time_ms : 0;
	}
	return ms;
}

/* The order a one-at-a-time rollback would take, for the plan shown to the user. */
static void plan_order(struct graph *g, struct vec *set, const int64_t *order_ms, struct vec *out)
{
	size_t *left = xcalloc(g->nodes.n, sizeof(*left));
	struct readyq q = {.key_ms = order_ms};
	struct vec instant = {0};

	for (size_t i = 0; i < set->n; i++)
		((struct node *)set->v[i])->mark = MARK_ORDERED;
	for (size_t i = 0; i < g->nodes.n; i++) {
		struct node *n = g->nodes.v[i];

		left[n->id] = n->nusers;
		if (!n->nusers) {
			if (n->mark == MARK_ORDERED)
				readyq_push(&q, n);
			else
				vec_push(&instant, n);
		}
	}
	for (;;) {
		struct node *n;

		if (instant.n)
			n = instant.v[--instant.n];
		else if (!(n = readyq_pop(&q)))
			break;
		else
			vec_push(out, n);
		for (size_t i = 0; i < n->ndeps; i++) {
			struct node *d = n->deps[i].dep;

			if (--left[d->id] == 0) {
				if (d->mark == MARK_ORDERED)
					readyq_push(&q, d);
				else
					vec_push(&instant, d);
			}
		}
	}
	readyq_free(&q);
	vec_free(&instant);
	free(left);
}

/* Milestones reached before and no longer holding: record them lost. What is reached
 * is in the history; one pass over the graph in topological order finds what still
 * holds (every step it needs, transitively, is done). */
static void record_lost_milestones(struct graph *g, struct journal *j)
{
	bool *holds = xcalloc(g->nodes.n, sizeof(*holds));
	struct recorder r = {g, j, NULL};

	for (size_t i = 0; i < g->nodes.n; i++) {
		struct node *n = g->topo[i];

		holds[n->id] = n->kind != NODE_STEP || state_satisfied(n);
		for (size_t k = 0; k < n->ndeps && holds[n->id]; k++)
			holds[n->id] = holds[n->deps[k].dep->id];
	}
	for (size_t i = 0; i < g->milestones.n; i++) {
		struct node *m = g->milestones.v[i];

		const struct history *h = state_history(m);

		if (h->completion >= 0 && h->lost < 0 && !holds[m->id] && record(&r, m, RESULT_MILESTONE_LOST, NULL) == 0)
			record_say(&r, m, RESULT_MILESTONE_LOST, NULL);
	}
	free(holds);
}

int rollback_target(struct graph *g, struct journal *j, struct node *target, const struct rollbackopts *ro,
                    const struct runopts *o)
{
	struct vec set = {0}, order = {0}, stuck = {0}, skipped = {0};
	struct recorder r = {g, j, NULL};
	int64_t *order_ms;
	int status;

	graph_clearmarks(g);
	mark_members(g, target);
	mark_dependents(g);
	if (ro->keep)
		unmark_kept(g, ro->keep);
	for (size_t i = 0; i < g->steps.n; i++) {
		struct node *n = g->steps.v[i];

		if (n->mark == MARK_UNDO && completed(n))
			vec_push(can_undo(n) ? &set : &stuck, n);
		else if (n->mark == MARK_UNDO && state_of(n) == ST_SKIPPED)
			vec_push(&skipped, n); /* nothing ran: rolling it back takes the skip back */
	}
	graph_clearmarks(g);
	if (stuck.n && !ro->force) {
		for (size_t i = 0; i < stuck.n; i++) {
			struct node *n = stuck.v[i];

			error("step %s (%s:%d) is completed and has no rollback", n->name, g->file, n->line);
		}
		notice("nothing was rolled back; add rollback = ... to %s, or use --force to forget %s",
		       stuck.n == 1 ? "it" : "them", stuck.n == 1 ? "it" : "them");
		vec_free(&set);
		vec_free(&stuck);
		vec_free(&skipped);
		return EXIT_USAGE;
	}
	order_ms = completion_times(g, j);
	plan_order(g, &set, order_ms, &order);
	graph_clearmarks(g);
	if (!set.n && !stuck.n && !skipped.n) {
		printf("orch: nothing to roll back: no step of %s%s%s is completed\n", target ? target->name : "all",
		       ro->keep ? " after " : "", ro->keep ? ro->keep->name : "");
		status = EXIT_DONE;
		goto out;
	}
	printf("rollback of %s%s%s: %u step%s, newest first:\n", target ? target->name : "all",
	       ro->keep ? " to " : "", ro->keep ? ro->keep->name : "", order.n, order.n == 1 ? "" : "s");
	/* the titles in a column: the names 24 wide (20 after forget, unskip), wider for a
	 * longer name (a Flyway file's) */
	int w = name_width(&order, 24), w2 = name_width(&stuck, 20);

	if (name_width(&skipped, 20) > w2)
		w2 = name_width(&skipped, 20);
	for (size_t i = 0; i < order.n; i++) {
		struct node *n = order.v[i];

		printf("  %3zu. %-*s %s  (%s)\n", i + 1, w, n->name, n->title, how(n));
	}
	for (size_t i = 0; i < stuck.n; i++) {
		struct node *n = stuck.v[i];

		printf("  forget %-*s %s  (no rollback; --force)\n", w2, n->name, n->title);
	}
	for (size_t i = 0; i < skipped.n; i++) {
		struct node *n = skipped.v[i];

		printf("  unskip %-*s %s  (skipped: the skip is taken back)\n", w2, n->name, n->title);
	}
	status = EXIT_DONE;
	if (ro->dryrun)
		goto out;
	if (o->interactive && !ro->yes) {
		size_t total = order.n + stuck.n + skipped.n;
		char *q = xasprintf("Roll back %zu step%s? [y/N] ", total, total == 1 ? "" : "s");
		int c = term_ask(q, NULL);

		free(q);
		if (c != 'y') {
			printf("orch: rollback cancelled; nothing changed\n");
			goto out;
		}
	}
	if ((status = run_orphans(g, j, true, o)))
		goto out;
	for (size_t i = 0; i < stuck.n; i++)
		record(&r, stuck.v[i], RESULT_FORGET, NULL);
	for (size_t i = 0; i < skipped.n; i++)
		record(&r, skipped.v[i], RESULT_UNSKIP, NULL);
	if (journal_sync(j) < 0) {
		status = EXIT_RECORD;
		goto out;
	}
	for (size_t i = 0; i < stuck.n; i++)
		record_say(&r, stuck.v[i], RESULT_FORGET, NULL);
	for (size_t i = 0; i < skipped.n; i++)
		record_say(&r, skipped.v[i], RESULT_UNSKIP, NULL);
	status = order.n ? run_rollback(g, j, &set, order_ms, o) : EXIT_DONE;
	record_lost_milestones(g, j);
	if (journal_sync(j) == 0)
		changelog_write(g, j, NULL, true); /* with what the engine's run did not see */
out:
	free(order_ms);
	vec_free(&set);
	vec_free(&order);
	vec_free(&stuck);
	vec_free(&skipped);
	return status;
}

int rollback_restore(struct graph *g, struct journal *j, struct node *n, const struct rollbackopts *ro,
                     const struct runopts *o)
{
	struct runopts restore = *o;
	struct vec set = {0}, users = {0};
	int64_t *order_ms;
	int status;

	if (n->kind != NODE_STEP || n->stepkind != STEP_SQL || (!n->x->backup.n && !n->x->backup_schema.n)) {
		error("--restore: %s %s (%s:%d) has no backup = tables (nor backup_schema) to restore", node_kindname(n),
		      n->name, g->file, n->line);
		return EXIT_USAGE;
	}
	printf("restore of %s from its backups, in one transaction (%s):\n", n->name,
	       n->x->sql_rollback ? "its sql_rollback is not run" : "as its rollback does");
	for (size_t i = 0; i < n->x->backup_schema.n; i++) {
		char *t = pg_schema_dump(g, n, n->x->backup_schema.v[i]);

		printf("  schema %s <- %s\n", (char *)n->x->backup_schema.v[i], t);
		free(t);
	}
	for (size_t i = 0; i < n->x->backup.n; i++) {
		char *t = pg_backup_table(g, n, n->x->backup.v[i]);

		printf("  %s <- %s\n", (char *)n->x->backup.v[i], t);
		free(t);
	}
	for (size_t i = 0; i < n->nusers; i++)
		if (n->users[i]->kind == NODE_STEP && completed(n->users[i]))
			vec_push(&users, n->users[i]->name);
	if (users.n) {
		struct buf b = {0};

		for (size_t i = 0; i < users.n; i++)
			buf_printf(&b, "%s%s", i ? ", " : "", (char *)users.v[i]);
		printf("  (steps that need it stay done: %s)\n", buf_str(&b));
		buf_free(&b);
	}
	vec_free(&users);
	if (ro->dryrun)
		return EXIT_DONE;
	if (o->interactive && !ro->yes) {
		int c = term_ask("Restore them? [y/N] ", NULL);

		if (c != 'y') {
			printf("orch: restore cancelled; nothing changed\n");
			return EXIT_DONE;
		}
	}
	if ((status = run_orphans(g, j, true, o)))
		return status;
	restore.restore = true;
	vec_push(&set, n);
	order_ms = completion_times(g, j);
	status = run_rollback(g, j, &set, order_ms, &restore);
	record_lost_milestones(g, j);
	if (journal_sync(j) == 0)
		changelog_write(g, j, NULL, true); /* with what the engine's run did not see */
	free(order_ms);
	vec_free(&set);
	return status;
}
