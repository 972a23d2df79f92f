/* registry.c — the database is the truth about SQL: each database's registry read once
 * (pg_registry_read: one query), every SQL step's row set against the file it has now
 * and against the journal, and the state made to agree (docs/postgresql.md, "The views
 * ask the database").
 *
 * A step's row is found by plan and step; its checksum (XXH3-128 of the sql file as
 * applied) says whether the file is still what was applied. A step without a row whose
 * SQL is in another plan's row was applied under another identity (a renamed plan): it
 * is refused, never applied twice. A database without a registry while the journal
 * records steps applied to it lost its registry: refused, loudly. */
#include "registry.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "history.h"
#include "os.h"
#include "pg.h"
#include "state.h"
#include "table.h"
#include "util.h"

/* What one database holds of the plan's steps. */
struct regdb {
	const char *conninfo;
	struct vec steps;   /* struct node * using it */
	char **sums;        /* their sql files' checksums now (hex), by position in steps */
	struct pgrow *rows;
	size_t nrows;
	int rc;             /* pg_registry_read's answer */
	char *err;
	size_t applied;     /* of its steps, how many the journal records applied */
};

struct regstep {
	enum regsays says;
	const struct pgrow *row; /* its own row (applied, changed), the other plan's (elsewhere) */
	struct regdb *db;
	char sum[33];            /* its sql file's checksum now, "" when unreadable */
	char *note;              /* where the journal and the database disagree, or NULL */
};

static struct {
	struct graph *g;
	struct regstep *step; /* by node id, NULL before a reconcile */
	struct vec dbs;       /* struct regdb * */
	struct node *nodb;    /* the first SQL step of the view with no database set here */
	size_t nnodb;         /* and how many there are */
} R;

const char *registry_word(enum regsays s)
{
	static const char *const words[] = {
		[REG_UNASKED] = "not asked",      [REG_UNREACHABLE] = "unreachable", [REG_NONE] = "no registry",
		[REG_NOT_APPLIED] = "not applied", [REG_APPLIED] = "applied",        [REG_CHANGED] = "applied, changed since",
		[REG_ELSEWHERE] = "applied under another plan",
	};
	return words[s];
}

enum regsays registry_says(const struct node *n)
{
	return R.step && n->id < R.g->nodes.n ? R.step[n->id].says : REG_UNASKED;
}

void registry_free(void)
{
	for (size_t i = 0; i < R.dbs.n; i++) {
		struct regdb *d = R.dbs.v[i];

		for (size_t k = 0; k < d->steps.n; k++)
			free(d->sums[k]);
		free(d->sums);
		vec_free(&d->steps);
		pg_rows_free(d->rows, d->nrows);
		free(d->err);
		free(d);
	}
	vec_free(&R.dbs);
	for (size_t i = 0; R.step && i < R.g->nodes.n; i++)
		free(R.step[i].note);
	free(R.step);
	memset(&R, 0, sizeof(R));
}

static struct regdb *db_of(const char *conninfo)
{
	struct regdb *d;

	for (size_t i = 0; i < R.dbs.n; i++)
		if (strcmp(((struct regdb *)R.dbs.v[i])->conninfo, conninfo) == 0)
			return R.dbs.v[i];
	d = xcalloc(1, sizeof(*d));
	d->conninfo = conninfo;
	vec_push(&R.dbs, d);
	return d;
}

static bool journal_applied(enum stepstate st)
{
	return st == ST_DONE || st == ST_STALE || st == ST_CHANGED || st == ST_HOLDING;
}

/* Group the SQL steps of the view by database. */
static void gather(struct graph *g, bool only_selected)
{
	for (size_t i = 0; i < g->steps.n; i++) {
		struct node *n = g->steps.v[i];
		const char *ci;
		struct regdb *d;

		if (n->stepkind != STEP_SQL || (only_selected && n->mark != MARK_SELECTED))
			continue;
		if (!(ci = pg_conninfo(g, n))) {
			if (state_of(n) != ST_SKIPPED && !R.nnodb++)
				R.nodb = n;
			continue;
		}
		d = db_of(ci);
		vec_push(&d->steps, n);
		R.step[n->id].db = d;
		state_file_checksum(n->sql, R.step[n->id].sum); /* hashed already by state_load */
		if (journal_applied(state_of(n)))
			d->applied++;
	}
	for (size_t i = 0; i < R.dbs.n; i++) {
		struct regdb *d = R.dbs.v[i];

		d->sums = xcalloc(d->steps.n, sizeof(*d->sums));
		for (size_t k = 0; k < d->steps.n; k++)
			d->sums[k] = xstrdup(R.step[((struct node *)d->steps.v[k])->id].sum);
	}
}

static bool same_sig(const struct pgrow *w, const struct node *n)
{
	return w->signature && state_signature(n) && strcmp(w->signature, state_signature(n)) == 0;
}

/* The key of a step in match_rows' table: its SQL's checksum. */
static const char *step_sum(const void *n)
{
	return R.step[((const struct node *)n)->id].sum;
}

/* Set each step of D from D's rows: its own row first, else another plan's with its SQL. */
static void match_rows(struct graph *g, struct regdb *d)
{
	struct table bysum;
	/* the steps of one checksum, chained from the first (two steps of the same SQL) */
	struct node **same = xcalloc(g->nodes.n ? g->nodes.n : 1, sizeof(*same));

	table_init(&bysum, step_sum);

	for (size_t k = 0; k < d->steps.n; k++) {
		struct node *n = d->steps.v[k], *first;

		R.step[n->id].says = d->rc < 0 ? REG_UNREACHABLE : d->rc == 0 ? REG_NONE : REG_NOT_APPLIED;
		if (d->rc > 0 && R.step[n->id].sum[0] && (first = table_put(&bysum, n))) {
			while (same[first->id])
				first = same[first->id];
			same[first->id] = n;
		}
	}
	for (size_t i = 0; d->rc > 0 && i < d->nrows; i++) {
		const struct pgrow *w = &d->rows[i];
		struct node *n;
		struct regstep *s;

		if (w->plan && strcmp(w->plan, g->name) == 0) {
			if (!w->step || !(n = graph_find(g, w->step)) || n->kind != NODE_STEP || R.step[n->id].db != d)
				continue; /* a step no longer in the plan, or one of another database */
			s = &R.step[n->id];
			s->row = w;
			if (w->checksum)
				s->says = strcmp(w->checksum, s->sum) == 0 ? REG_APPLIED : REG_CHANGED;
			else /* a row from before checksums: its signature is all there is */
				s->says = same_sig(w, n) ? REG_APPLIED : REG_CHANGED;
		} else if (w->checksum && (n = table_get(&bysum, w->checksum))) {
			struct node *pick = NULL;

			/* the step of that name if it is one of them, else the first without a row */
			for (; n; n = same[n->id]) {
				if (R.step[n->id].row)
					continue;
				if (!pick || (w->step && strcmp(n->name, w->step) == 0))
					pick = n;
				if (w->step && strcmp(n->name, w->step) == 0)
					break;
			}
			if (pick) {
				R.step[pick->id].row = w;
				R.step[pick->id].says = REG_ELSEWHERE;
			}
		}
	}
	free(same);
	table_free(&bysum);
}

/* "on 2026-12-01 10:00:00 UTC by ana" from a row. */
static char *when_by(const struct pgrow *w)
{
	return xasprintf("%s%s%s%s", w->applied_at ? " on " : "", w->applied_at ? w->applied_at : "",
	                 w->applied_by ? " by " : "", w->applied_by ? w->applied_by : "");
}

/* What a changed step's state becomes, by its on_change. */
static enum stepstate changed_state(const struct node *n)
{
	return n->on_change == ONCHANGE_IGNORE ? ST_DONE : n->on_change == ONCHANGE_RERUN ? ST_STALE : ST_CHANGED;
}

/* Whether something N needs is still to run: a step would then be applied before N,
 * which is applied already (Flyway's out-of-order). */
static bool needs_pending(const struct node *n)
{
	for (size_t i = 0; i < n->ndeps; i++)
		if (!state_satisfied(n->deps[i].dep))
			return true;
	return false;
}

/* N is applied with the file it has now: it is done, unless the journal knows better
 * (APPLIED: it completed, and is stale or changed since): N runs always; it reruns
 * when anything changes (on_change = rerun); its inputs or outputs changed; or
 * something it needs is still to run. What only changed upstream, since applied
 * again or accepted, or in its verify, does not apply it again. */
static bool journal_knows_better(const struct node *n, const struct regstep *s, bool applied)
{
	const char *why = state_reason(n);

	if (n->always)
		return true;
	if (!applied || same_sig(s->row, n))
		return false;
	return n->on_change == ONCHANGE_RERUN || strncmp(why, "input", 5) == 0 || strncmp(why, "output", 6) == 0 ||
	       needs_pending(n);
}

/* Make N's state agree with what the registry says; with REC, record what it found
 * applied. Returns -1 after a write error. */
static int agree(struct graph *g, struct recorder *rec, struct node *n)
{
	struct regstep *s = &R.step[n->id];
	enum stepstate st = state_of(n);
	const char *db = pg_describe(g, n);
	bool applied = journal_applied(st);
	char *why = NULL, *wb;
	int rc = 0;

	switch (s->says) {
	case REG_NOT_APPLIED:
		if (applied || st == ST_ROLLBACK_INTERRUPTED) {
			/* an interrupted rollback that committed is finished, whatever the journal missed */
			why = xasprintf("journal: %s; %s: not applied", applied ? "applied" : "rollback interrupted", db);
			state_set(n, ST_NOTRUN, why);
		}
		break;
	case REG_NONE:
		if (applied) {
			why = xasprintf("journal: applied; %s: no registry (schema orch)", db);
			state_set(n, ST_NOTRUN, why);
		}
		break;
	case REG_APPLIED:
		if (st != ST_DONE && st != ST_HOLDING && /* a hold is the journal's to end */
		    !journal_knows_better(n, s, applied)) {
			struct outcome o = {.exit_status = -1};

			wb = when_by(s->row);
			why = xasprintf("journal: %s; %s: applied%s", applied ? "applied with another definition" : "not applied",
			                db, wb);
			free(wb);
			o.message = why;
			if (rec) {
				if ((rc = record(rec, n, RESULT_REGISTRY, &o)) == 0 && (rc = journal_sync(rec->j)) == 0)
					record_say(rec, n, RESULT_REGISTRY, &o);
			}
			state_set(n, ST_DONE, why);
		}
		break;
	case REG_CHANGED:
		wb = when_by(s->row);
		why = xasprintf("%s changed since it was applied to %s%s", n->sql, db, wb);
		free(wb);
		state_set(n, changed_state(n), why);
		break;
	case REG_ELSEWHERE:
		wb = when_by(s->row);
		why = xasprintf("its SQL (%s) was applied to %s as step '%s' of plan '%s'%s", n->sql, db,
		                s->row->step ? s->row->step : "?", s->row->plan ? s->row->plan : "?", wb);
		free(wb);
		state_set(n, ST_CHANGED, why);
		break;
	default:
		break;
	}
	s->note = why;
	return rc;
}

size_t registry_ndbs(void)
{
	return R.dbs.n;
}

struct node *registry_db(size_t i, size_t *applied, bool *read)
{
	struct regdb *d = R.dbs.v[i];

	*applied = 0;
	for (size_t k = 0; k < d->steps.n; k++) {
		enum regsays says = R.step[((struct node *)d->steps.v[k])->id].says;

		*applied += says == REG_APPLIED || says == REG_CHANGED;
	}
	*read = d->rc >= 0;
	return d->steps.v[0];
}

const char *registry_note(const struct node *n)
{
	return R.step && n->id < R.g->nodes.n ? R.step[n->id].note : NULL;
}

void registry_summary(struct graph *g)
{
	for (size_t i = 0; i < R.dbs.n; i++) {
		struct regdb *d = R.dbs.v[i];
		size_t applied = 0, differ = 0;

		for (size_t k = 0; k < d->steps.n; k++) {
			const struct regstep *s = &R.step[((struct node *)d->steps.v[k])->id];

			applied += s->says == REG_APPLIED || s->says == REG_CHANGED;
			differ += s->note != NULL;
		}
		if (d->rc < 0)
			printf("Database: %s cannot be reached: its %u SQL step%s as the journal has them (journal)\n",
			       pg_describe(g, d->steps.v[0]), d->steps.n, d->steps.n == 1 ? "" : "s");
		else
			printf("Database: %s: %zu of %u SQL step%s applied%s\n", pg_describe(g, d->steps.v[0]), applied,
			       d->steps.n, d->steps.n == 1 ? "" : "s", d->rc == 0 ? " (no registry yet)" : "");
		for (size_t k = 0; k < d->steps.n && differ; k++) {
			const struct node *n = d->steps.v[k];
			const struct regstep *s = &R.step[n->id];

			if (s->note)
				printf("  %s: %s\n", n->name, s->note);
		}
	}
}

/* Take the lock of each database (a run). */
static int lock_all(struct graph *g)
{
	for (size_t i = 0; i < R.dbs.n; i++) {
		struct regdb *d = R.dbs.v[i];
		char *err = NULL;
		bool locked = false;
		int rc = pg_lock(g, d->steps.v[0], &err, &locked);

		if (rc == PG_INTERRUPTED || (rc < 0 && locked)) {
			if (rc == PG_INTERRUPTED)
				notice("%s", err);
			else
				error("%s", err);
			free(err);
			return rc == PG_INTERRUPTED ? EXIT_INTERRUPTED : EXIT_LOCKED;
		}
		if (rc < 0) { /* unreachable: not asked again (another connect_timeout) to read it */
			d->rc = -1;
			d->err = err;
		}
	}
	return 0;
}

/* A database that lost its registry, the journal recording steps applied to it. */
static void say_gone(struct graph *g, struct regdb *d)
{
	const char *db = pg_describe(g, d->steps.v[0]);

	error("the registry (schema orch) is gone from %s, but the journal records %zu applied step%s; "
	                     "orch will not apply %s again. Restore the registry, or run 'orch --baseline TARGET' "
	                     "(the database has them) or 'orch --reset' (it does not)",
	                     db, d->applied, d->applied == 1 ? "" : "s", d->applied == 1 ? "it" : "them");
}

/* "step 'a' has no database[ here] (and N more SQL steps)" of the last reconcile's view */
static void say_no_database(struct graph *g, bool run)
{
	char more[64] = "";

	if (R.nnodb > 1)
		snprintf(more, sizeof(more), " (and %zu more SQL step%s)", R.nnodb - 1, R.nnodb == 2 ? "" : "s");
	if (run)
		diag(g->file, R.nodb->line, "step '%s' has no database%s: set DATABASE_URL, the step's database "
		     "or [orch] database; nothing was run", R.nodb->name, more);
	else
		diag(g->file, R.nodb->line, "warning: step '%s' has no database here%s: a run refuses it until "
		     "DATABASE_URL, the step's database or [orch] database is set", R.nodb->name, more);
}

void registry_warn_no_database(struct graph *g)
{
	if (R.nnodb)
		say_no_database(g, false);
}

int registry_reconcile(struct graph *g, struct journal *j, struct recorder *rec, bool only_selected, bool lock)
{
	int rc = 0;

	registry_free();
	R.g = g;
	for (size_t i = 0; i < g->steps.n; i++)
		if (((struct node *)g->steps.v[i])->stepkind == STEP_SQL) {
			R.step = xcalloc(g->nodes.n, sizeof(*R.step));
			break;
		}
	if (!R.step)
		return 0; /* no SQL step: nothing to ask a database (a plan of a million shell steps pays nothing) */
	gather(g, only_selected);
	/* an unset ${DATABASE_URL} is left to the run, so a plan can be listed and checked
	 * anywhere; a run refuses before it starts anything, rather than failing each such
	 * step when its turn comes (-n and --check warn: registry_warn_no_database) */
	if (R.nnodb && lock) {
		say_no_database(g, true);
		return EXIT_USAGE;
	}
	if (lock && (rc = lock_all(g)))
		return rc;
	for (size_t i = 0; i < R.dbs.n; i++) {
		struct regdb *d = R.dbs.v[i];

		if (!d->err)
			d->rc = pg_registry_read(g, (struct node **)d->steps.v, d->sums, d->steps.n, &d->rows, &d->nrows,
			                         &d->err);
		if (d->rc < 0)
			warn("cannot read the registry of %s (%s): the journal's view of its %u SQL step%s%s",
			     pg_describe(g, d->steps.v[0]), d->err, d->steps.n, d->steps.n == 1 ? "" : "s",
			     lock ? " stands" : " is shown, marked (journal)");
		match_rows(g, d);
		if (d->rc == 0 && d->applied) {
			say_gone(g, d);
			rc = EXIT_FAILED;
		}
	}
	if (rc && lock)
		return rc;
	for (size_t i = 0; i < g->steps.n; i++) {
		struct node *n = g->steps.v[i];
		const struct jevent *last = history_event(j, state_history(n)->last);

		/* a skipped step is the user's decision; a forced one is meant to be applied again */
		if (!R.step[n->id].db || state_of(n) == ST_SKIPPED || (last && last->kind == EV_FORCE))
			continue;
		if (agree(g, rec, n) < 0)
			return EXIT_RECORD;
	}
	return rc;
}

/* A unified diff of what was applied (TEXT) against FILE now, on stderr. */
static void show_diff(const char *text, const char *file, const char *label)
{
	char *tmp = temp_template("applied");
	int fd = mkstemp(tmp);
	char *argv[] = {"diff", "-u", "--label", (char *)label, "--label", (char *)file, tmp, (char *)file, NULL};

	if (fd < 0) {
		warn("cannot show what changed: cannot create %s:", tmp);
		free(tmp);
		return;
	}
	if (write_all(fd, text, strlen(text)) < 0) {
		warn("cannot show what changed: writing %s:", tmp);
	} else {
		/* diff writes to stdout: lend it stderr meanwhile */
		int saved;

		fflush(stdout);
		fflush(stderr);
		saved = dup(STDOUT_FILENO);
		if (saved < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0 || os_run(argv, NULL) < 0)
			warn("cannot show what changed: cannot run diff:");
		if (saved >= 0) {
			dup2(saved, STDOUT_FILENO);
			close(saved);
		}
	}
	close(fd);
	unlink(tmp);
	free(tmp);
}

/* Add to HELD the steps marked MARK that need N, transitively (SEEN by node id). */
static void dependents(struct node *n, enum mark mark, bool *seen, struct vec *held)
{
	for (size_t i = 0; i < n->nusers; i++) {
		struct node *u = n->users[i];

		if (seen[u->id])
			continue;
		seen[u->id] = true;
		if (u->kind == NODE_STEP && u->mark == mark)
			vec_push(held, u);
		dependents(u, mark, seen, held);
	}
}

/* The error of one changed step N (its own file, another plan's row, or what it needs
 * inserted before it), with the checksums and the diff when the registry has the text. */
static void refuse_one(struct graph *g, struct node *n, bool check)
{
	const struct regstep *s = R.step && n->id < g->nodes.n ? &R.step[n->id] : NULL;
	char *msg;

	if (s && s->says == REG_ELSEWHERE) {
		error("step %s: %s; orch will not apply it again (if the plan was renamed, 'orch --baseline %s' records "
		      "it as applied under plan '%s')",
		      n->name, state_reason(n), n->name, g->name);
		return;
	}
	if (check) /* --check: where the step is, and what to do */
		msg = xasprintf("%s:%d: step '%s' was applied and has changed since (%s); with on_change = error orch "
		                "will not apply it again: roll it back, undo the change, 'orch --accept %s', or set "
		                "on_change",
		                g->file, n->line, n->name, state_reason(n), n->name);
	else
		msg = state_refusal(n);
	error("%s", msg);
	free(msg);
	if (s && s->says == REG_CHANGED && s->row) {
		fprintf(stderr, "  checksum applied %s, now %s\n", s->row->checksum ? s->row->checksum : "(not recorded)",
		        s->sum[0] ? s->sum : "(unreadable)");
		if (s->row->script) {
			char *label = xasprintf("%s (applied)", n->sql);

			show_diff(s->row->script, n->sql, label);
			free(label);
		}
	}
}

size_t registry_refuse_changed(struct graph *g, enum mark mark, bool check)
{
	struct vec held = {0};
	bool *seen = xcalloc(g->nodes.n ? g->nodes.n : 1, sizeof(*seen));
	size_t own = 0;

	/* the steps that changed themselves, one error each; what needs them is held back */
	for (size_t i = 0; i < g->steps.n; i++) {
		struct node *n = g->steps.v[i];

		if (n->mark != mark || state_of(n) != ST_CHANGED || strncmp(state_reason(n), "dependency ", 11) == 0)
			continue;
		own++;
		refuse_one(g, n, check);
		seen[n->id] = true;
		dependents(n, mark, seen, &held);
	}
	/* changed through a dependency that did not change itself (a step inserted before
	 * it: out of order): an error of its own too */
	for (size_t i = 0; i < g->steps.n; i++) {
		struct node *n = g->steps.v[i];

		if (!seen[n->id] && n->mark == mark && state_of(n) == ST_CHANGED) {
			own++;
			refuse_one(g, n, check);
			seen[n->id] = true;
			dependents(n, mark, seen, &held);
		}
	}
	if (held.n) {
		struct buf b = {0};

		for (size_t i = 0; i < held.n && i < 8; i++)
			buf_printf(&b, "%s%s", i ? ", " : "", ((struct node *)held.v[i])->name);
		if (held.n > 8)
			buf_printf(&b, ", ... (%u more)", held.n - 8);
		notice("%u more step%s held back, as %s on a changed step: %s", held.n, held.n == 1 ? " is" : "s are",
		       held.n == 1 ? "it depends" : "they depend", buf_str(&b));
		buf_free(&b);
	}
	vec_free(&held);
	free(seen);
	return own;
}
