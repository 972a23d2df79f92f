/* actions.c — the actions of the command line that only touch the journal: skip, force,
 * approve, reset, why, and the journal half of check. */
#include "actions.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "inbox.h"
#include "journal.h"
#include "record.h"
#include "state.h"
#include "term.h"
#include "util.h"

/* The step named NAME, or NULL after an error naming what is wrong. */
static struct node *find_step(struct graph *g, const char *name, const char *action)
{
	struct node *n = graph_find(g, name);

	if (!n) {
		error("%s: no step '%s' in %s (see 'orch --list')", action, name, g->file);
		return NULL;
	}
	if (n->kind != NODE_STEP) {
		error("%s: '%s' is a %s, not a step", action, name, node_kindname(n));
		return NULL;
	}
	return n;
}

/* Lock and load the plan for an action that writes the journal. */
static struct journal *open_locked(struct graph *g)
{
	struct journal *j = journal_open(g, JOURNAL_LOCK | JOURNAL_CREATE);

	state_load(g, j);
	return j;
}

static int finish(struct journal *j, int status)
{
	if (journal_sync(j) < 0 && status == EXIT_DONE)
		status = EXIT_RECORD;
	journal_close(j);
	return status;
}

/* Record RES for each of the NN nodes N, sync, then say them: nothing is reported
 * before it is on disk. Who asked is recorded with it. */
static int record_all(struct graph *g, struct journal *j, struct node **n, size_t nn, enum result res)
{
	struct recorder r = {g, j, NULL};
	struct outcome o = {.exit_status = -1, .by = user_at_host()};

	for (size_t i = 0; i < nn; i++)
		if (record(&r, n[i], res, &o) < 0)
			return finish(j, EXIT_RECORD);
	if (journal_sync(j) < 0)
		return finish(j, EXIT_RECORD);
	for (size_t i = 0; i < nn; i++)
		record_say(&r, n[i], res, NULL);
	return finish(j, EXIT_DONE);
}

static bool holder_alive(void *g)
{
	return journal_lock_holder(g) > 0;
}

/* While another orch runs the plan, ask it to record ACTION of N: it takes the request
 * within a second. Returns an exit status, or -1 when that orch has ended meanwhile
 * (the caller records it itself). */
static int ask_running_orch(struct graph *g, const char *action, struct node *n, long pid)
{
	char *dir = xasprintf("%s/.orch", g->dir), *id, *answer;
	int r;

	if (!(id = inbox_post(dir, action, n->name))) {
		free(dir);
		return EXIT_RECORD;
	}
	r = inbox_wait(dir, id, 10000, &answer, holder_alive, g);
	if (r < 0)
		inbox_withdraw(dir, id);
	if (r == 1)
		printf("%s (recorded by the running orch, pid %ld)\n", answer, pid);
	else if (r == 0)
		error("%s", answer);
	else if (r == -1)
		error("the orch running this plan (pid %ld) did not take the request in 10 s; nothing was recorded", pid);
	free(answer);
	free(id);
	free(dir);
	return r == 1 ? EXIT_DONE : r == 0 ? EXIT_FAILED : r == -1 ? EXIT_LOCKED : -1;
}

int action_skip(struct graph *g, const char *step)
{
	struct node *n = find_step(g, step, "--skip");
	struct journal *j;
	long pid;
	int r;

	if (!n)
		return EXIT_USAGE;
	if ((pid = journal_lock_holder(g)) > 0 && (r = ask_running_orch(g, "skip", n, pid)) >= 0)
		return r;
	j = open_locked(g);
	if (state_of(n) == ST_SKIPPED) {
		printf("%s is already skipped\n", n->name);
		return finish(j, EXIT_DONE);
	}
	return record_all(g, j, &n, 1, RESULT_SKIP);
}

int action_force(struct graph *g, char **steps, size_t nsteps)
{
	struct vec todo = {0};
	struct journal *j;
	int status = EXIT_DONE;

	/* every name first: nothing is recorded when one is wrong */
	for (size_t i = 0; i < nsteps; i++) {
		struct node *n = graph_find(g, steps[i]);

		if (n && n->kind == NODE_PHASE) {
			for (size_t k = 0; k < n->steps.n; k++)
				vec_push(&todo, n->steps.v[k]);
		} else if ((n = find_step(g, steps[i], "--force"))) {
			vec_push(&todo, n);
		} else {
			status = EXIT_USAGE;
		}
	}
	if (status != EXIT_DONE) {
		vec_free(&todo);
		return status;
	}
	j = open_locked(g);
	status = record_all(g, j, (struct node **)todo.v, todo.n, RESULT_FORCE);
	vec_free(&todo);
	return status;
}

int action_approve(struct graph *g, const char *step)
{
	struct node *n = find_step(g, step, "--approve");
	struct journal *j;
	char *refusal;
	long pid;
	int r;

	if (!n)
		return EXIT_USAGE;
	if (n->stepkind != STEP_MANUAL) {
		error("--approve: %s is not a manual gate (it has %s; 'orch --skip %s' marks a step done "
		      "without running it)", n->name, n->stepkind == STEP_SQL ? "sql" : "run", n->name);
		return EXIT_USAGE;
	}
	if ((pid = journal_lock_holder(g)) > 0 && (r = ask_running_orch(g, "approve", n, pid)) >= 0)
		return r;
	j = open_locked(g);
	if (state_of(n) == ST_DONE) {
		printf("%s is already approved\n", n->name);
		return finish(j, EXIT_DONE);
	}
	if ((refusal = state_approve_refusal(n))) {
		error("%s", refusal);
		free(refusal);
		return finish(j, EXIT_FAILED);
	}
	state_refresh(n);
	return record_all(g, j, &n, 1, RESULT_APPROVE);
}

int action_reset(struct graph *g, bool yes)
{
	struct journal *j;
	char *path = xasprintf("%s/.orch/journal.jsonl", g->dir);
	bool exists = access(path, F_OK) == 0;
	int n;

	free(path);
	if (!exists) {
		printf("nothing to reset: %s has no journal\n", g->name);
		return EXIT_DONE;
	}
	if (!yes) {
		if (!isatty(STDIN_FILENO)) {
			error("--reset forgets all progress: add --yes to confirm when not on a terminal");
			return EXIT_USAGE;
		}
		char *q = xasprintf("orch: forget all progress of %s? (the journal is kept as a backup) [y/N] ", g->name);
		bool ok = term_ask(q, NULL) == 'y';

		free(q);
		if (!ok) {
			printf("nothing was reset\n");
			return EXIT_DONE;
		}
	}
	j = journal_open(g, JOURNAL_LOCK | JOURNAL_CREATE);
	if ((n = journal_reset(j)) < 0)
		return finish(j, EXIT_RECORD);
	printf("forgot all progress of %s; the old journal is kept as %s.%d\n", g->name, journal_path(j), n);
	return finish(j, EXIT_DONE);
}

int action_why(struct graph *g, const char *name)
{
	struct node *n = graph_find(g, name);
	struct journal *j;
	struct vec changes = {0};

	if (!n) {
		error("--why: no step, phase or milestone '%s' in %s (see 'orch --list')", name, g->file);
		return EXIT_USAGE;
	}
	j = journal_open(g, 0);
	state_load(g, j);
	if (n->kind != NODE_PHASE && (state_of(n) == ST_STALE || state_of(n) == ST_CHANGED))
		state_changes(n, &changes);
	switch (state_of(n)) {
	case ST_DONE:
		if (n->kind == NODE_PHASE)
			printf("%s is done: all its steps are done\n", n->name);
		else if (strcmp(state_reason(n), "up to date") == 0)
			printf("%s is up to date: its definition, inputs and dependencies are as when it completed\n", n->name);
		else
			printf("%s is up to date: %s\n", n->name, state_reason(n));
		break;
	case ST_SKIPPED:
		printf("%s is skipped: it counts as done ('orch --force %s' runs it again)\n", n->name, n->name);
		break;
	case ST_CHANGED:
		printf("%s was applied and has changed since; with on_change = error orch will not run it again:\n",
		       n->name);
		break;
	case ST_STALE:
		if (state_satisfied(n))
			printf("%s is up to date: its change is ignored (on_change = ignore):\n", n->name);
		else if (changes.n)
			printf("%s would run: it changed since it completed:\n", n->name);
		else
			printf("%s would run: %s\n", n->name, state_reason(n));
		break;
	default:
		if (n->kind == NODE_STEP && n->stepkind == STEP_MANUAL && state_of(n) == ST_NOTRUN)
			printf("%s waits for approval ('orch --approve %s'): %s\n", n->name, n->name, state_reason(n));
		else
			printf("%s would run: %s\n", n->name, state_reason(n));
	}
	/* what changed since it last completed, one line each */
	for (size_t i = 0; i < changes.n; i++)
		printf("  %s\n", (char *)changes.v[i]);
	for (size_t i = 0; i < changes.n; i++)
		free(changes.v[i]);
	vec_free(&changes);
	journal_close(j);
	return EXIT_DONE;
}

int action_check_journal(struct graph *g)
{
	struct journal *j = journal_open(g, 0);
	int status = EXIT_DONE;

	if (!j)
		return EXIT_DONE;
	state_load(g, j);
	for (size_t i = 0; i < g->steps.n; i++) {
		struct node *n = g->steps.v[i];

		if (state_of(n) != ST_CHANGED)
			continue;
		error("%s:%d: step '%s' was applied and has changed since (%s); with on_change = error orch "
		      "will not apply it again: roll it back, undo the change, or set on_change",
		      g->file, n->line, n->name, state_reason(n));
		status = EXIT_FAILED;
	}
	journal_close(j);
	return status;
}
