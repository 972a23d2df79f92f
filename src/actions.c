/* actions.c — the actions of the command line that only touch the journal: skip, force,
 * approve, reset, why, and the journal half of check. */
#include "actions.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "inbox.h"
#include "pg.h"
#include "journal.h"
#include "pgstate.h"
#include "record.h"
#include "registry.h"
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

/* The same for an action that records events of the NN nodes N only: their signatures
 * and parts, and what their checks look at (a gate's needs), are those of their upstream
 * cone, so only the cone is hashed and decided (state_load_cone). */
static struct journal *open_locked_cone(struct graph *g, struct node **n, size_t nn)
{
	struct journal *j = journal_open(g, JOURNAL_LOCK | JOURNAL_CREATE);

	state_load_cone(g, j, n, nn);
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
static int record_all_why(struct graph *g, struct journal *j, struct node **n, size_t nn, enum result res,
                          const char *why)
{
	struct recorder r = {g, j, NULL};
	struct outcome o = {.exit_status = -1, .by = user_at_host(), .message = why};

	for (size_t i = 0; i < nn; i++)
		if (record(&r, n[i], res, &o) < 0)
			return finish(j, EXIT_RECORD);
	if (journal_sync(j) < 0)
		return finish(j, EXIT_RECORD);
	for (size_t i = 0; i < nn; i++)
		record_say(&r, n[i], res, why ? &o : NULL);
	return finish(j, EXIT_DONE);
}

static int record_all(struct graph *g, struct journal *j, struct node **n, size_t nn, enum result res)
{
	return record_all_why(g, j, n, nn, res, NULL);
}

/* The database's half of --accept and --baseline: N's registry row made what N is now.
 * Returns 0 or an exit status, said. */
static int registry_put(struct graph *g, struct node *n)
{
	char *err = NULL;
	bool locked = false;
	int rc = pg_registry_put(g, n, state_signature(n), &err, &locked);

	if (rc == 0)
		return 0;
	if (rc == PG_INTERRUPTED)
		notice("%s", err);
	else
		error("%s: %s", n->name, err);
	free(err);
	return rc == PG_INTERRUPTED ? EXIT_INTERRUPTED : locked ? EXIT_LOCKED : EXIT_FAILED;
}

int action_accept(struct graph *g, const char *step, const char *why)
{
	struct node *n = find_step(g, step, "--accept");
	struct journal *j;
	int rc;

	if (!n)
		return EXIT_USAGE;
	if (n->stepkind != STEP_SQL) {
		error("--accept: %s is not a SQL step ('orch --force %s' runs it again; a changed step of another kind "
		      "runs again by itself)", n->name, n->name);
		return EXIT_USAGE;
	}
	j = open_locked(g);
	if ((rc = registry_reconcile(g, j, NULL, false, false)) != 0) {
		registry_free();
		return finish(j, rc);
	}
	if (state_of(n) != ST_CHANGED && registry_says(n) != REG_CHANGED && registry_says(n) != REG_ELSEWHERE) {
		error("--accept: %s has not changed since it was applied (%s): nothing to accept", n->name, state_reason(n));
		registry_free();
		return finish(j, EXIT_FAILED);
	}
	if (registry_says(n) == REG_NOT_APPLIED || registry_says(n) == REG_NONE) {
		error("--accept: %s is not applied to %s: run it instead", n->name, pg_describe(g, n));
		registry_free();
		return finish(j, EXIT_FAILED);
	}
	registry_free();
	state_refresh(n);
	/* the database first: it is the truth, and a run reconciles a journal that missed it */
	if ((rc = registry_put(g, n)) != 0) {
		pg_close_all();
		return finish(j, rc);
	}
	rc = record_all_why(g, j, &n, 1, RESULT_ACCEPT, why);
	pg_close_all();
	return rc;
}

int action_baseline(struct graph *g, struct node *target, const char *why, bool yes, bool dryrun)
{
	struct vec todo = {0};
	struct journal *j = dryrun ? journal_open(g, 0) : open_locked(g);
	int rc = EXIT_DONE;

	if (dryrun)
		state_load(g, j);
	graph_clearmarks(g);
	graph_select(g, target ? &target : NULL, target ? 1 : 0, MARK_SELECTED);
	if ((rc = registry_reconcile(g, j, NULL, true, false)) != 0 && rc != EXIT_FAILED)
		goto out;
	rc = EXIT_DONE;
	for (size_t i = 0; i < g->steps.n; i++) {
		struct node *n = g->steps.v[i];

		if (n->mark == MARK_SELECTED && state_of(n) != ST_DONE && state_of(n) != ST_SKIPPED)
			vec_push(&todo, n);
	}
	if (!todo.n) {
		printf("nothing to baseline: the steps of %s are done\n", target ? target->name : "all");
		goto out;
	}
	printf("%s %u step%s as applied, without running %s:\n", dryrun ? "would record" : "recording", todo.n,
	       todo.n == 1 ? "" : "s", todo.n == 1 ? "it" : "them");
	for (size_t i = 0; i < todo.n; i++) {
		struct node *n = todo.v[i];

		printf("  %-24s %s%s%s\n", n->name, step_kindname(n), n->stepkind == STEP_SQL ? " in " : "",
		       n->stepkind == STEP_SQL ? pg_describe(g, n) : "");
	}
	if (dryrun)
		goto out;
	if (!yes) {
		if (!isatty(STDIN_FILENO)) {
			error("--baseline records steps as applied that orch did not run: add --yes to confirm when not on a "
			      "terminal");
			rc = EXIT_USAGE;
			goto out;
		}
		if (term_ask("orch: record them as applied? [y/N] ", NULL) != 'y') {
			printf("nothing was recorded\n");
			goto out;
		}
	}
	registry_free();
	for (size_t i = 0; i < todo.n && rc == EXIT_DONE; i++) {
		struct node *n = todo.v[i];

		state_refresh(n);
		if (n->stepkind == STEP_SQL)
			rc = registry_put(g, n);
	}
	if (rc == EXIT_DONE) {
		rc = record_all_why(g, j, (struct node **)todo.v, todo.n, RESULT_BASELINE, why);
		j = NULL;
	}
out:
	registry_free();
	pg_close_all();
	vec_free(&todo);
	return j ? finish(j, rc) : rc;
}

static bool holder_alive(void *g)
{
	return journal_lock_holder(g) > 0;
}

/* While another orch runs the plan, ask it to record ACTION of N: it takes the request
 * within a second. Returns an exit status, or -1 when that orch has ended meanwhile
 * (the caller records it itself). */
static int ask_running_orch(struct graph *g, const char *action, struct node *n, long pid, const char *why)
{
	char *dir = xasprintf("%s/%s", g->dir, g->statedir), *id = NULL, *answer, *who = NULL;
	int r;

	if (g->state) { /* from any machine: a row of orch.requests, and a NOTIFY */
		journal_lock_holder_who(g, &who);
		r = pgstate_ask(g, action, n->name, why, 10000, &answer);
		if (r > 2) {
			free(who);
			free(dir);
			return r;
		}
		goto answered;
	}
	if (!(id = inbox_post(dir, action, n->name, why))) {
		free(dir);
		return EXIT_RECORD;
	}
	r = inbox_wait(dir, id, 10000, &answer, holder_alive, g);
	if (r < 0)
		inbox_withdraw(dir, id);
answered:
	if (r == 1 && who)
		printf("%s (recorded by the running orch, %s)\n", answer, who);
	else if (r == 1)
		printf("%s (recorded by the running orch, pid %ld)\n", answer, pid);
	else if (r == 0)
		error("%s", answer);
	else if (r == -1 && who)
		error("the orch running this plan (%s) did not take the request in 10 s; nothing was recorded", who);
	else if (r == -1)
		error("the orch running this plan (pid %ld) did not take the request in 10 s; nothing was recorded", pid);
	free(answer);
	free(who);
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
	if ((pid = journal_lock_holder(g)) > 0 && (r = ask_running_orch(g, "skip", n, pid, NULL)) >= 0)
		return r;
	j = open_locked_cone(g, &n, 1);
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
			for (size_t k = 0; k < n->x->steps.n; k++)
				vec_push(&todo, n->x->steps.v[k]);
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
	j = open_locked_cone(g, (struct node **)todo.v, todo.n);
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
		error("--approve: %s is not a manual gate (it has %s = ...; 'orch --skip %s' marks a step done "
		      "without running it)", n->name, n->stepkind == STEP_SQL ? "sql" : "run", n->name);
		return EXIT_USAGE;
	}
	if ((pid = journal_lock_holder(g)) > 0 && (r = ask_running_orch(g, "approve", n, pid, NULL)) >= 0)
		return r;
	j = open_locked_cone(g, &n, 1);
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

int action_endhold(struct graph *g, const char *step, bool promote, const char *why)
{
	const char *opt = promote ? "--promote" : "--abort";
	struct node *n = find_step(g, step, opt);
	struct journal *j;
	long pid;
	int r;

	if (!n)
		return EXIT_USAGE;
	if (!n->ro || !n->ro->hold_ms) {
		error("%s: %s has no hold (hold = DURATION)", opt, n->name);
		return EXIT_USAGE;
	}
	if ((pid = journal_lock_holder(g)) > 0 && (r = ask_running_orch(g, promote ? "promote" : "abort", n, pid, why)) >= 0)
		return r;
	j = open_locked_cone(g, &n, 1);
	if (state_of(n) != ST_HOLDING) {
		error("%s: %s does not hold now (%s)", opt, n->name, state_reason(n));
		return finish(j, EXIT_FAILED);
	}
	return record_all_why(g, j, &n, 1, promote ? RESULT_PROMOTE : RESULT_ABORT, why);
}

/* --reset --database: the plan's rows in each database's registry. Returns 0 or an
 * exit status. */
static int forget_registry(struct graph *g)
{
	for (size_t i = 0; i < registry_ndbs(); i++) {
		size_t applied;
		bool read;
		struct node *n = registry_db(i, &applied, &read);
		char *err = NULL;
		bool locked = false;
		long count;
		int rc = pg_registry_forget(g, n, &count, &err, &locked);

		if (rc < 0) {
			error("--reset --database: %s", err);
			free(err);
			return rc == PG_INTERRUPTED ? EXIT_INTERRUPTED : locked ? EXIT_LOCKED : EXIT_FAILED;
		}
		printf("forgot the %ld registry row%s of plan %s in %s\n", count, count == 1 ? "" : "s", g->name,
		       pg_describe(g, n));
	}
	return EXIT_DONE;
}

/* --reset without --database: what the databases still hold of the plan. */
static void registry_left(struct graph *g)
{
	for (size_t i = 0; i < registry_ndbs(); i++) {
		size_t applied;
		bool read;
		struct node *n = registry_db(i, &applied, &read);

		if (!read)
			printf("the registry of %s could not be read: whatever it records of plan %s stays\n", pg_describe(g, n),
			       g->name);
		else if (applied)
			printf("the registry of %s still records %zu applied step%s of plan %s: the next run counts %s as "
			       "applied ('orch --reset --database' forgets %s too)\n",
			       pg_describe(g, n), applied, applied == 1 ? "" : "s", g->name, applied == 1 ? "it" : "them",
			       applied == 1 ? "it" : "them");
	}
}

int action_reset(struct graph *g, bool yes, bool database)
{
	struct journal *j;
	char *path = xasprintf("%s/%s/journal.jsonl", g->dir, g->statedir);
	bool exists = g->state || access(path, F_OK) == 0; /* a database's: looked at when opened */
	int n, rc;

	free(path);
	if (!exists && !database) {
		printf("nothing to reset: %s has no journal\n", g->name);
		return EXIT_DONE;
	}
	j = exists ? open_locked(g) : NULL;
	if (!j)
		state_load(g, NULL);
	registry_reconcile(g, j, NULL, false, false);
	if (!yes) {
		char *q;
		bool ok;

		if (!isatty(STDIN_FILENO)) {
			error("--reset forgets all progress%s: add --yes to confirm when not on a terminal",
			      database ? " and the plan's rows in the database registry" : "");
			registry_free();
			return j ? finish(j, EXIT_USAGE) : EXIT_USAGE;
		}
		q = xasprintf("orch: forget all progress of %s%s? (the journal is kept as a backup) [y/N] ", g->name,
		              database ? ", and its rows in the database registry (the schema stays as it is)" : "");
		ok = term_ask(q, NULL) == 'y';
		free(q);
		if (!ok) {
			printf("nothing was reset\n");
			registry_free();
			return j ? finish(j, EXIT_DONE) : EXIT_DONE;
		}
	}
	rc = EXIT_DONE;
	if (database && (rc = forget_registry(g)) != EXIT_DONE) {
		registry_free();
		pg_close_all();
		return j ? finish(j, rc) : rc;
	}
	if (j) {
		if ((n = journal_reset(j)) < 0) {
			registry_free();
			return finish(j, EXIT_RECORD);
		}
		if (journal_pgstate(j))
			printf("forgot all progress of %s; the old journal is kept in %s as journal %d\n", g->name,
			       journal_path(j), n);
		else
			printf("forgot all progress of %s; the old journal is kept as %s.%d\n", g->name, journal_path(j), n);
	}
	if (!database)
		registry_left(g);
	registry_free();
	pg_close_all();
	return j ? finish(j, EXIT_DONE) : EXIT_DONE;
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
	registry_reconcile(g, j, NULL, false, false);
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
		if (!changes.n)
			printf("  %s\n", state_reason(n));
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
	registry_free();
	pg_close_all();
	journal_close(j);
	return EXIT_DONE;
}

int action_check_journal(struct graph *g)
{
	struct journal *j = journal_open(g, 0);
	int status;

	/* with or without a journal: the database knows what was applied, in any checkout */
	state_load(g, j);
	status = registry_reconcile(g, j, NULL, false, false) ? EXIT_FAILED : EXIT_DONE;
	registry_warn_no_database(g);
	graph_clearmarks(g);
	if (registry_refuse_changed(g, MARK_NONE, true))
		status = EXIT_FAILED;
	registry_free();
	pg_close_all();
	if (j)
		journal_close(j);
	return status;
}

/* The journal file of G's state directory, absolute. A new string. */
static char *journal_file(struct graph *g)
{
	return xasprintf("%s/%s/journal.jsonl", g->dir, g->statedir);
}

/* The bytes of FILE into *TEXT (*LEN; a new string), complete lines only: a torn last
 * line (which the journal's open warned about) is left out. 0, or -1 after an error. */
static int read_lines(const char *file, char **text, size_t *len)
{
	FILE *f = fopen(file, "rb");
	struct buf b = {0};
	char chunk[65536];
	size_t n;

	if (!f) {
		error("cannot read %s:", file);
		return -1;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(&b, chunk, n);
	if (ferror(f)) {
		error("reading %s:", file);
		fclose(f);
		buf_free(&b);
		return -1;
	}
	fclose(f);
	while (b.len && b.s[b.len - 1] != '\n')
		b.len--;
	buf_str(&b);
	*text = b.s ? b.s : xstrdup("");
	*len = b.len;
	return 0;
}

int action_state_export(struct graph *g, const char *file)
{
	char *def = journal_file(g), *text = NULL;
	const char *to = file && *file ? file : def;
	struct journal *j;
	size_t len = 0, count;
	int r;

	if (!g->state) {
		error("--state-export: the plan's state is the journal file %s/journal.jsonl already "
		      "(--state-export copies a database's state out: [orch] state)", g->statedir);
		free(def);
		return EXIT_USAGE;
	}
	/* under the lock: no run appends while the rows are copied; every row checked */
	if ((r = journal_try_open(g, JOURNAL_LOCK | JOURNAL_CREATE, &j)) != 0) {
		free(def);
		return r;
	}
	count = journal_count(j);
	if (pgstate_read(journal_pgstate(j), &text, &len) != 0) {
		journal_close(j);
		free(def);
		return EXIT_JOURNAL;
	}
	if (strcmp(to, "-") == 0) {
		if (write_all(STDOUT_FILENO, text, len) < 0) {
			error("writing the journal to standard output:");
			r = EXIT_FAILED;
		}
	} else if (access(to, F_OK) == 0) {
		char *old = NULL;
		size_t oldlen = 0;

		if (read_lines(to, &old, &oldlen) < 0 || oldlen != len || memcmp(old, text, len) != 0) {
			error("--state-export: %s exists and is not the database's journal; move it away first", to);
			r = EXIT_FAILED;
		} else {
			printf("%s already holds the %zu events of %s\n", to, count, journal_path(j));
		}
		free(old);
	} else if (write_file_atomic(to, text, len, true) < 0) {
		error("cannot write %s:", to);
		r = EXIT_RECORD;
	} else {
		printf("exported %zu events of %s (%s) to %s\n", count, journal_path(j), pgstate_where(journal_pgstate(j)),
		       to);
		if (to == def)
			printf("without [orch] state, orch now reads that file; with it, the database stays the state\n");
	}
	free(text);
	free(def);
	journal_close(j);
	return r;
}

int action_state_import(struct graph *g)
{
	char *file = journal_file(g), *text = NULL, *have = NULL;
	char *state = g->state;
	struct journal *fj, *j;
	size_t len = 0, havelen = 0, count;
	int r;

	if (!state) {
		error("--state-import: the plan keeps its state in %s/journal.jsonl; set [orch] state = database "
		      "(or a URL) to import that file into a database", g->statedir);
		free(file);
		return EXIT_USAGE;
	}
	/* the file, read as a journal: every line checked (exit 4 on damage) */
	g->state = NULL;
	r = journal_try_open(g, 0, &fj);
	g->state = state;
	if (r != 0 || !fj || access(file, F_OK) != 0) {
		if (r == 0)
			error("--state-import: no journal file %s/journal.jsonl to import", g->statedir);
		journal_close(fj);
		free(file);
		return r ? r : EXIT_USAGE;
	}
	count = journal_count(fj);
	journal_close(fj);
	if (read_lines(file, &text, &len) < 0) {
		free(file);
		return EXIT_JOURNAL;
	}
	if ((r = journal_try_open(g, JOURNAL_LOCK | JOURNAL_CREATE, &j)) != 0) {
		free(text);
		free(file);
		return r;
	}
	if (journal_count(j) > 0) {
		if (pgstate_read(journal_pgstate(j), &have, &havelen) != 0) {
			r = EXIT_JOURNAL;
		} else if (havelen == len && memcmp(have, text, len) == 0) {
			printf("%s already holds the %zu events of %s\n", journal_path(j), count, file);
		} else {
			error("--state-import: %s already holds %zu events of plan %s%s%s, not those of %s: nothing was "
			      "imported ('orch --state-export FILE' copies them out)",
			      journal_path(j), journal_count(j), g->name, g->target ? ", target " : "",
			      g->target ? g->target : "", file);
			r = EXIT_FAILED;
		}
	} else if (len) {
		/* one transaction: all the lines or none */
		for (char *p = text, *nl; p < text + len; p = nl + 1) {
			nl = memchr(p, '\n', (size_t)(text + len - p));
			pgstate_append(journal_pgstate(j), p, (size_t)(nl - p) + 1);
		}
		if (pgstate_sync(journal_pgstate(j)) < 0) {
			r = EXIT_RECORD;
		} else {
			printf("imported %zu events of %s into %s (%s)\n", count, file, journal_path(j),
			       pgstate_where(journal_pgstate(j)));
			printf("the file is not read while [orch] state is set: keep it as a backup, or remove it\n");
		}
	} else {
		printf("nothing to import: %s has no events\n", file);
	}
	free(have);
	free(text);
	free(file);
	journal_close(j);
	return r;
}
