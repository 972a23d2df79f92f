/* status.c — where a plan stands, told from the Orchfile, the files on disk (through
 * state.c) and the journal: `orch --status` as text for people and as one JSON document
 * for scripts (docs/status.md).
 *
 * Definitions (docs/status.md says the same for users):
 * - done: a step that needs no run (done, skipped, or stale with on_change = ignore);
 *   the text counts the skipped ones apart ("3 of 10 steps done (30%), 1 skipped"; the
 *   percent without them), the JSON's done and percent count them, as they always have;
 *   percent = done * 100 / total, rounded down, so 100% means everything is done;
 * - actual time of a step: the duration of the successful attempt it is done with;
 *   of a phase: the sum over its done steps (work time, not the wall-clock span, so
 *   parallel steps add up); failed attempts are not counted;
 * - efficiency: the estimates of the done steps that have an estimate and an actual
 *   time, divided by their actual time (above 1: faster than estimated); beyond 20x
 *   either way the text gives the two times instead of the ratio;
 * - error rate: failed attempts / attempts (starts) since the last reset;
 * - running: the last event of a step is a start written by the orch process that holds
 *   the plan lock now (its run id ends in its pid); a start of any other run was
 *   interrupted;
 * - active phase: the lowest-numbered phase with a running step, else the
 *   lowest-numbered phase that is not complete;
 * - ETA = max(C, ceil(W / jobs)), where W is the sum of the remaining estimates (a
 *   running step's estimate minus the time it has run) and C the longest path of them
 *   through the dependency graph. It is a lower bound: no schedule at -j jobs can be
 *   faster; pools and gates waiting for a person can make it slower. */
#include "status.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "claims.h"
#include "history.h"
#include "jout.h"
#include "metric.h"
#include "os.h"
#include "pgstate.h"
#include "proc.h"
#include "registry.h"
#include "state.h"
#include "term.h"
#include "util.h"

enum { STATUS_SCHEMA = 1, BAR_WIDTH = 14, TITLE_WIDTH = 24, WIDTH = 79, STATUS_LOG_LINES = 8 };

/* What the journal and the state say about one step. */
struct stepinfo {
	int attempts, failures;     /* starts and failed attempts since the last reset */
	const struct jevent *ok;    /* the success it is done with (NULL after a rollback or force) */
	const struct jevent *last;  /* its last event */
	const struct jevent *start; /* its last start or rollback start */
	bool done, skipped, running, failed, interrupted, waiting, stale;
	bool orphan;                /* running, but started by an orch that is gone */
	bool holding;               /* its run succeeded and it holds (hold = ...) */
	int64_t actual_ms;          /* duration of the success it is done with; -1 unknown */
	int64_t left_ms;            /* remaining estimate */
};

struct msinfo {
	const struct jevent *reached, *lost; /* the last milestone / milestone-lost events */
	size_t steps, stepsdone, stepsskipped; /* the steps it needs, transitively (done
	                                        * counts the skipped ones too) */
	bool ok;
};

struct phaseinfo {
	struct node *phase; /* NULL: the steps without a phase */
	size_t total, done, skipped; /* done counts the skipped steps too */
	int64_t est_ms, actual_ms; /* actual_ms: -1 until a done step has a duration */
	int attempts, failures;
};

struct status {
	struct graph *g;
	struct journal *j;
	int jobs;
	long holder; /* pid of the orch holding the lock, -1 held by an unknown pid, 0 none */
	char *who;   /* with the state in a database: "user@host, pid N, since T, ..." of the holder */
	int64_t now;
	struct stepinfo *si;  /* by node id */
	struct msinfo *mi;    /* by node id */
	struct phaseinfo *pi;
	size_t npi;
	struct phaseinfo *active;
	const struct jevent *lastev;
	size_t nholding;
	size_t total, done, skipped, nfailed, nrunning, ninterrupted, nwaiting, nstale, reached, unestimated;
	int attempts, failures;
	int64_t est_ms, est_done_ms, est_skipped_ms, eff_est_ms, eff_actual_ms;
	size_t eff_steps;
	int64_t eta_ms, critical_ms, work_ms;
};

/* ---- gathering ---- */

static bool live(const struct status *st, const struct jevent *e)
{
	char suffix[32];
	size_t n, len;

	if (st->holder <= 0 || !e->x->run)
		return false;
	n = (size_t)snprintf(suffix, sizeof(suffix), "-%ld", st->holder);
	len = strlen(e->x->run);
	return len > n && strcmp(e->x->run + len - n, suffix) == 0;
}

static bool deps_done(const struct node *n)
{
	for (size_t i = 0; i < n->ndeps; i++)
		if (!state_satisfied(n->deps[i].dep))
			return false;
	return true;
}

/* What the history says of each step and milestone. */
static void read_history(struct status *st)
{
	struct graph *g = st->g;

	st->lastev = history_event(st->j, state_histories()->last);
	for (size_t i = 0; i < g->nodes.n; i++) {
		struct node *n = g->nodes.v[i];
		const struct history *h = state_history(n);

		if (n->kind == NODE_MILESTONE) {
			st->mi[n->id].reached = history_event(st->j, h->completion);
			st->mi[n->id].lost = history_event(st->j, h->lost);
		} else if (n->kind == NODE_STEP) {
			struct stepinfo *s = &st->si[n->id];

			s->attempts = h->attempts;
			s->failures = h->failures;
			s->ok = history_event(st->j, h->done);
			s->last = history_event(st->j, h->last);
			s->start = history_event(st->j, h->start);
		}
	}
}

static void classify(struct status *st)
{
	for (size_t i = 0; i < st->g->steps.n; i++) {
		struct node *n = st->g->steps.v[i];
		struct stepinfo *s = &st->si[n->id];
		enum stepstate ss = state_of(n);
		enum evkind last = s->last ? s->last->kind : EV_RESET;

		s->running = (last == EV_START || last == EV_ROLLBACK_START) && live(st, s->last);
		/* a step whose orch died, still running: not interrupted, and not to run beside it */
		s->orphan = !s->running && (ss == ST_INTERRUPTED || ss == ST_ROLLBACK_INTERRUPTED) && s->start &&
		            s->start->x->pgid > 0 && proc_group_alive(s->start->x->pgid, s->start->x->pstart, s->start->x->boot);
		s->running |= s->orphan;
		s->done = !s->running && state_satisfied(n);
		s->skipped = s->done && ss == ST_SKIPPED;
		s->failed = !s->running && (last == EV_FAIL || last == EV_ROLLBACK_FAIL);
		s->interrupted = !s->running && !s->failed && (ss == ST_INTERRUPTED || ss == ST_ROLLBACK_INTERRUPTED);
		s->stale = ss == ST_STALE || ss == ST_CHANGED;
		s->waiting = n->stepkind == STEP_MANUAL && !s->done && deps_done(n);
		s->holding = ss == ST_HOLDING;
		s->actual_ms = s->done && s->ok && s->ok->duration_ms >= 0 ? s->ok->duration_ms : -1;
		if (s->done) {
			s->left_ms = 0;
		} else {
			s->left_ms = n->est_ms > 0 ? n->est_ms : 0;
			if (s->running && s->start) {
				int64_t since = s->start->start_ms ? s->start->start_ms : s->start->time_ms;

				s->left_ms = s->left_ms > st->now - since ? s->left_ms - (st->now - since) : 0;
			}
			if (n->est_ms < 0 && !s->holding)
				st->unestimated++;
			if (s->holding) /* what is left of its hold is what is left of it */
				s->left_ms = state_hold_until(n) > st->now ? state_hold_until(n) - st->now : 0;
		}
		st->nholding += s->holding;
		st->total++;
		st->done += s->done;
		st->skipped += s->skipped;
		st->nfailed += s->failed;
		st->nrunning += s->running;
		st->ninterrupted += s->interrupted;
		st->nwaiting += s->waiting;
		st->nstale += s->stale;
		st->attempts += s->attempts;
		st->failures += s->failures;
		st->est_ms += n->est_ms > 0 ? n->est_ms : 0;
		if (s->done)
			st->est_done_ms += n->est_ms > 0 ? n->est_ms : 0;
		if (s->skipped)
			st->est_skipped_ms += n->est_ms > 0 ? n->est_ms : 0;
		if (s->actual_ms > 0 && n->est_ms > 0) {
			st->eff_est_ms += n->est_ms;
			st->eff_actual_ms += s->actual_ms;
			st->eff_steps++;
		}
	}
}

static void phases(struct status *st)
{
	struct graph *g = st->g;
	size_t *index = xcalloc(g->nodes.n ? g->nodes.n : 1, sizeof(*index));
	bool nophase = false;

	for (size_t i = 0; i < g->steps.n; i++)
		nophase |= ((struct node *)g->steps.v[i])->phase == NULL;
	st->npi = g->phases.n + nophase;
	st->pi = xcalloc(st->npi ? st->npi : 1, sizeof(*st->pi));
	for (size_t i = 0; i < g->phases.n; i++) {
		struct node *p = g->phases.v[i];

		st->pi[i].phase = p;
		index[p->id] = i;
	}
	for (size_t i = 0; i < st->npi; i++)
		st->pi[i].actual_ms = -1;
	for (size_t i = 0; i < g->steps.n; i++) {
		struct node *n = g->steps.v[i];
		struct stepinfo *s = &st->si[n->id];
		struct phaseinfo *p = &st->pi[n->phase ? index[n->phase->id] : st->npi - 1];

		p->total++;
		p->done += s->done;
		p->skipped += s->skipped;
		p->est_ms += n->est_ms > 0 ? n->est_ms : 0;
		p->attempts += s->attempts;
		p->failures += s->failures;
		if (s->actual_ms >= 0)
			p->actual_ms = (p->actual_ms < 0 ? 0 : p->actual_ms) + s->actual_ms;
		if (s->running && (!st->active || !st->active->phase ||
		                   (n->phase && n->phase->number < st->active->phase->number)))
			st->active = p;
	}
	for (size_t i = 0; i < st->npi && !st->active; i++)
		if (st->pi[i].done < st->pi[i].total)
			st->active = &st->pi[i];
	free(index);
}

static void milestones(struct status *st)
{
	struct graph *g = st->g;

	for (size_t i = 0; i < g->milestones.n; i++) {
		struct node *m = g->milestones.v[i];
		struct msinfo *mi = &st->mi[m->id];

		graph_clearmarks(g);
		graph_select(g, &m, 1, MARK_SELECTED);
		for (size_t k = 0; k < g->steps.n; k++) {
			struct node *n = g->steps.v[k];

			if (n->mark == MARK_SELECTED) {
				mi->steps++;
				mi->stepsdone += st->si[n->id].done;
				mi->stepsskipped += st->si[n->id].skipped;
			}
		}
		mi->ok = state_of(m) == ST_DONE && mi->reached;
		st->reached += mi->ok;
	}
	graph_clearmarks(g);
}

int64_t status_eta(struct graph *g, const int64_t *left_ms, int jobs, int64_t *critical_ms, int64_t *work_ms)
{
	size_t nn = g->nodes.n;
	int64_t *finish = xcalloc(nn ? nn : 1, sizeof(*finish));
	int64_t critical = 0, work = 0, eta;

	/* in topological order, each node finishes its own remaining time after its latest
	 * dependency */
	for (size_t i = 0; i < nn; i++) {
		struct node *n = g->topo[i];
		int64_t start = 0;

		for (size_t k = 0; k < n->ndeps; k++)
			if (finish[n->deps[k].dep->id] > start)
				start = finish[n->deps[k].dep->id];
		finish[n->id] = start + left_ms[n->id];
		work += left_ms[n->id];
		if (finish[n->id] > critical)
			critical = finish[n->id];
	}
	free(finish);
	if (jobs < 1)
		jobs = 1;
	eta = (work + jobs - 1) / jobs;
	if (critical > eta)
		eta = critical;
	if (critical_ms)
		*critical_ms = critical;
	if (work_ms)
		*work_ms = work;
	return eta;
}

static void eta(struct status *st)
{
	int64_t *left = xcalloc(st->g->nodes.n ? st->g->nodes.n : 1, sizeof(*left));

	for (size_t i = 0; i < st->g->steps.n; i++) {
		struct node *n = st->g->steps.v[i];

		left[n->id] = st->si[n->id].left_ms;
	}
	st->eta_ms = status_eta(st->g, left, st->jobs, &st->critical_ms, &st->work_ms);
	free(left);
}

/* ---- text ---- */


static const char *plural(size_t n)
{
	return n == 1 ? "" : "s";
}

/* Characters (UTF-8 code points) in S. */
static int width_of(const char *s)
{
	return (int)text_width(s);
}

/* Print S in WIDTH characters: cut with "..." when longer, padded when PAD. */
static void put_fit(const char *s, int width, bool pad)
{
	int w = width_of(s);

	if (w <= width) {
		printf("%s%*s", s, pad ? width - w : 0, "");
		return;
	}
	fwrite(s, 1, text_prefix(s, width > 3 ? (size_t)width - 3 : 0), stdout);
	fputs("...", stdout);
}

static char *when(int64_t ms, char out[32])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%d %H:%M:%S", &tm);
	return out;
}

static int percent(size_t part, size_t whole)
{
	return whole ? (int)(part * 100 / whole) : 100;
}

static void phase_row(struct status *st, struct phaseinfo *p)
{
	char est[32], act[32], err[16], num[16];
	/* '#' for the steps done, '-' for the skipped ones after them */
	int through = p->total ? (int)(p->done * BAR_WIDTH / p->total) : BAR_WIDTH;
	int fill = p->total ? (int)((p->done - p->skipped) * BAR_WIDTH / p->total) : BAR_WIDTH;
	bool active = p == st->active;

	if (p->phase)
		snprintf(num, sizeof(num), "%d", p->phase->number);
	else
		snprintf(num, sizeof(num), "-");
	if (p->attempts)
		snprintf(err, sizeof(err), "%d%%", (p->failures * 100 + p->attempts / 2) / p->attempts);
	else
		snprintf(err, sizeof(err), "-");
	printf("%c %2s %s", active ? '>' : ' ', num, term_code(active ? TERM_BOLD : ""));
	put_fit(p->phase ? p->phase->title : "(no phase)", TITLE_WIDTH, true);
	printf("%s [%s%.*s%s%s%.*s%s%*s] %2zu/%-2zu %9s %8s %7s\n", term_code(active ? TERM_RESET : ""),
	       term_code(p->done == p->total && !p->skipped ? TERM_GREEN : TERM_CYAN), fill, "################",
	       term_code(TERM_RESET), term_code(through > fill ? TERM_YELLOW : ""), through - fill, "----------------",
	       term_code(through > fill ? TERM_RESET : ""), BAR_WIDTH - through, "", p->done - p->skipped, p->total,
	       format_known_duration(p->est_ms, est), format_known_duration(p->actual_ms, act), err);
}

/* The name column of a list: the longest name listed, at most 20. */
static int name_width(struct status *st, bool (*pick)(const struct stepinfo *))
{
	int w = 4;

	for (size_t i = 0; i < st->g->steps.n; i++) {
		struct node *n = st->g->steps.v[i];

		if (pick(&st->si[n->id]) && width_of(n->name) > w)
			w = width_of(n->name);
	}
	return w > 20 ? 20 : w;
}

static bool is_failed(const struct stepinfo *s) { return s->failed; }
static bool is_running(const struct stepinfo *s) { return s->running; }
static bool is_interrupted(const struct stepinfo *s) { return s->interrupted; }
static bool is_waiting(const struct stepinfo *s) { return s->waiting; }
static bool is_stale(const struct stepinfo *s) { return s->stale; }
static bool is_skipped(const struct stepinfo *s) { return s->skipped; }

/* When N's next check is due (it holds, with a check): from its hold's start and the
 * checks recorded, as the engine schedules them; 0 when none. */
static int64_t next_check(const struct node *n)
{
	const struct history *h = state_history(n);

	if (!n->ro || !n->ro->check || state_hold_until(n) < 0)
		return 0;
	return state_hold_until(n) - n->ro->hold_ms + n->ro->check_every_ms * (h->checks_ok + h->checks_failed + 1);
}

/* The latest value of each metric per step (BYCOMP: per component, the newest of its
 * steps'), oldest first, into OUT (struct metric * each, to free). */
static void latest_metrics(struct status *st, bool bycomp, struct vec *out)
{
	size_t from = state_histories()->from;

	for (size_t i = from, n = st->j ? journal_count(st->j) : 0; i < n; i++) {
		const struct jevent *e = journal_event(st->j, i);
		struct metric m, *x = NULL;

		if (!e->node || !metric_of(e, &m) || (bycomp && !e->x->component))
			continue;
		for (size_t k = 0; k < out->n && !x; k++) {
			struct metric *y = out->v[k];

			if (strcmp(y->name, m.name) == 0 &&
			    (bycomp ? strcmp(y->ev->x->component, e->x->component) == 0 : y->ev->node == e->node))
				x = y;
		}
		if (!x) {
			x = xcalloc(1, sizeof(*x));
			vec_push(out, x);
		}
		*x = m;
	}
}

static void free_metrics(struct vec *v)
{
	for (size_t i = 0; i < v->n; i++)
		free(v->v[i]);
	vec_free(v);
}

/* "Metrics:": the latest value of each per step, then per component. */
static void list_metrics(struct status *st)
{
	struct vec steps = {0}, comps = {0};

	latest_metrics(st, false, &steps);
	latest_metrics(st, true, &comps);
	if (steps.n)
		printf("\n%sMetrics:%s\n", term_code(TERM_BOLD), term_code(TERM_RESET));
	for (size_t i = 0; i < st->g->nodes.n; i++) {
		struct node *n = st->g->nodes.v[i];
		bool any = false;

		for (size_t k = 0; k < steps.n; k++) {
			struct metric *m = steps.v[k];

			if (m->ev->node != n)
				continue;
			printf("%s%s=%g%s%s", any ? ", " : "  ", m->name, m->value, m->unit[0] ? " " : "", m->unit);
			any = true;
		}
		if (any)
			printf("  (%s%s%s)\n", n->name, n->x->component ? ", component " : "", n->x->component ? n->x->component : "");
	}
	for (size_t k = 0; k < comps.n; k++) {
		struct metric *m = comps.v[k];

		printf("  component %s: %s=%g%s%s (%s, %s)\n", m->ev->x->component, m->name, m->value, m->unit[0] ? " " : "",
		       m->unit, event_name(m->ev), when(m->ev->time_ms, (char[32]){0}));
	}
	free_metrics(&steps);
	free_metrics(&comps);
}

static json_t *jtime(int64_t ms);

/* "metrics": {"steps": {STEP: {NAME: {value, unit, at}}}, "components": {COMPONENT:
 * {NAME: {value, unit, step, at}}}}. */
/* Every value of metric M's name that M's step reported, oldest first: a check's
 * history. */
static json_t *metric_history(struct status *st, const struct metric *m)
{
	json_t *a = json_array();

	for (size_t i = state_histories()->from, n = journal_count(st->j); i < n; i++) {
		const struct jevent *e = journal_event(st->j, i);
		struct metric x;

		if (e->node == m->ev->node && metric_of(e, &x) && strcmp(x.name, m->name) == 0)
			json_array_append_new(a, json_pack("{s:f,s:o}", "value", x.value, "at", jtime(e->time_ms)));
	}
	return a;
}

static json_t *json_metrics(struct status *st)
{
	struct vec steps = {0}, comps = {0};
	json_t *o = json_object(), *js = json_object(), *jc = json_object();

	latest_metrics(st, false, &steps);
	latest_metrics(st, true, &comps);
	for (int pass = 0; pass < 2; pass++) {
		struct vec *v = pass ? &comps : &steps;

		for (size_t k = 0; k < v->n; k++) {
			struct metric *m = v->v[k];
			const char *key = pass ? m->ev->x->component : event_name(m->ev);
			json_t *group = json_object_get(pass ? jc : js, key), *x = json_object();

			if (!group) {
				group = json_object();
				json_object_set_new(pass ? jc : js, key, group);
			}
			json_object_set_new(x, "value", json_real(m->value));
			json_object_set_new(x, "unit", m->unit[0] ? json_string(m->unit) : json_null());
			if (pass)
				json_object_set_new(x, "step", json_string(event_name(m->ev)));
			json_object_set_new(x, "at", jtime(m->ev->time_ms));
			if (!pass)
				json_object_set_new(x, "history", metric_history(st, m));
			json_object_set_new(group, m->name, x);
		}
	}
	json_object_set_new(o, "steps", js);
	json_object_set_new(o, "components", jc);
	free_metrics(&steps);
	free_metrics(&comps);
	return o;
}

/* "Holding:": each hold, its time left, its checks. */
static void list_holding(struct status *st)
{
	char a[32], b[32];

	printf("\n%sHolding:%s\n", term_code(TERM_BOLD), term_code(TERM_RESET));
	for (size_t i = 0; i < st->g->steps.n; i++) {
		struct node *n = st->g->steps.v[i];
		const struct history *h = state_history(n);
		int64_t until = state_hold_until(n), next = next_check(n);

		if (!st->si[n->id].holding)
			continue;
		printf("  %s holding: %s left (until %s)", n->name,
		       format_duration(until > st->now ? until - st->now : 0, a, sizeof(a)), when(until, b));
		if (n->ro && n->ro->check)
			printf("; checks %d passed, %d failed; next check in %s", h->checks_ok, h->checks_failed,
			       format_duration(next > st->now ? next - st->now : 0, a, sizeof(a)));
		putchar('\n');
	}
}

static void item(struct node *n, int w, const char *color)
{
	int nw = width_of(n->name) > w ? width_of(n->name) : w, rest = WIDTH - nw - 4;

	printf("  %s", term_code(color));
	put_fit(n->name, nw, true);
	printf("%s  ", term_code(color[0] ? TERM_RESET : ""));
	put_fit(n->title, rest < 10 ? 10 : rest, false);
	putchar('\n');
}

/* An attempt's outcome in words: "exit 1", "timed out after 5s", the recorded message. */
static void outcome_text(const struct jevent *e, struct buf *b)
{
	if (e->x->message)
		buf_puts(b, e->x->message);
	else if (e->timed_out)
		buf_puts(b, "timed out");
	else if (e->signal)
		buf_printf(b, "killed by signal %d", e->signal);
	else
		buf_printf(b, "exit %d", e->exit_status);
}

/* A failed step's log: its file, or on a machine other than the one that ran it, the
 * end of what its worker reported (orch.claims), so the whole team sees why. */
static void failed_log(struct status *st, const struct node *n, const struct jevent *e, int w)
{
	char *log = NULL, *worker = NULL;
	const char *end;

	if (n->x->runs_on && journal_pgstate(st->j) && !history_log_here(e))
		log = claims_log(journal_pgstate(st->j), st->g, n->name, &worker);
	if (!log) {
		if (e->x->log)
			printf("  %*s  log: %s\n", w, "", e->x->log);
		return;
	}
	printf("  %*s  log: orch.claims (its worker %s), ending:\n", w, "", worker ? worker : "unknown");
	for (end = log + last_lines(log, strlen(log), STATUS_LOG_LINES); *end;) {
		size_t k = strcspn(end, "\n");

		printf("  %*s    %.*s\n", w, "", (int)k, end);
		end += k + (end[k] == '\n');
	}
	free(log);
	free(worker);
}

static void list_failed(struct status *st)
{
	int w = name_width(st, is_failed);
	char t[32], d[32];

	printf("\n%sFailed:%s\n", term_code(TERM_BOLD), term_code(TERM_RESET));
	for (size_t i = 0; i < st->g->steps.n; i++) {
		struct node *n = st->g->steps.v[i];
		const struct jevent *e = st->si[n->id].last;
		struct buf b = {0};

		if (!st->si[n->id].failed)
			continue;
		item(n, w, TERM_RED);
		if (e->kind == EV_ROLLBACK_FAIL)
			buf_puts(&b, "rollback failed: ");
		outcome_text(e, &b);
		printf("  %*s  %s, %s", w, "", buf_str(&b), when(e->time_ms, t));
		if (e->duration_ms >= 0)
			printf(" after %s", format_known_duration(e->duration_ms, d));
		if (e->attempt > 1)
			printf(", attempt %d", e->attempt);
		putchar('\n');
		failed_log(st, n, e, w);
		buf_free(&b);
	}
}

static void list_started(struct status *st, bool running)
{
	int w = name_width(st, running ? is_running : is_interrupted);
	char t[32], d[32];

	if (running && st->who)
		printf("\n%sRunning%s (orch %s):\n", term_code(TERM_BOLD), term_code(TERM_RESET), st->who);
	else if (running && st->holder > 0)
		printf("\n%sRunning%s (orch pid %ld):\n", term_code(TERM_BOLD), term_code(TERM_RESET), st->holder);
	else if (running)
		printf("\n%sRunning:%s\n", term_code(TERM_BOLD), term_code(TERM_RESET));
	else
		printf("\n%sInterrupted%s (these run again next time):\n", term_code(TERM_BOLD), term_code(TERM_RESET));
	for (size_t i = 0; i < st->g->steps.n; i++) {
		struct node *n = st->g->steps.v[i];
		struct stepinfo *s = &st->si[n->id];
		const struct jevent *e = s->start;
		int64_t since;

		if (running ? !s->running : !s->interrupted)
			continue;
		item(n, w, running ? TERM_CYAN : TERM_YELLOW);
		if (!e) {
			printf("  %*s  %s\n", w, "", state_reason(n));
			continue;
		}
		since = e->start_ms ? e->start_ms : e->time_ms;
		if (s->orphan)
			printf("  %*s  still running from an earlier orch, pid %d, %ssince %s (%s)", w, "", e->x->pgid,
			       e->kind == EV_ROLLBACK_START ? "rollback " : "", when(since, t),
			       format_known_duration(st->now - since, d));
		else if (!running && state_of(n) == ST_ROLLBACK_INTERRUPTED)
			printf("  %*s  rollback interrupted (orch --rollback finishes it): started %s", w, "", when(since, t));
		else
			printf("  %*s  %s%s %s", w, "", e->kind == EV_ROLLBACK_START ? "rollback " : "",
			       running ? "since" : "started", when(since, t));
		if (s->orphan)
			;
		else if (running)
			printf(" (%s)", format_known_duration(st->now - since, d));
		else
			printf(", run %s", e->x->run);
		if (e->attempt > 1)
			printf(", attempt %d", e->attempt);
		putchar('\n');
		if (history_log(e))
			printf("  %*s  log: %s\n", w, "", e->x->log);
	}
}

/* Gates approved, and by whom: a team wants to know who let the rollout go on. */
static void list_approved(struct status *st)
{
	char t[32];
	bool any = false;

	for (size_t i = 0; i < st->g->steps.n; i++) {
		struct node *n = st->g->steps.v[i];
		const struct jevent *e = st->si[n->id].ok;

		if (n->stepkind != STEP_MANUAL || !st->si[n->id].done || !e || e->kind != EV_APPROVE)
			continue;
		if (!any)
			printf("\n%sApproved:%s\n", term_code(TERM_BOLD), term_code(TERM_RESET));
		any = true;
		printf("  %s  by %s, %s\n", n->name, e->x->by ? e->x->by : "(not recorded)", when(e->time_ms, t));
	}
}

static void list_waiting(struct status *st)
{
	int w = name_width(st, is_waiting);

	printf("\n%sWaiting for approval%s (orch --approve STEP):\n", term_code(TERM_BOLD), term_code(TERM_RESET));
	for (size_t i = 0; i < st->g->steps.n; i++) {
		struct node *n = st->g->steps.v[i];

		if (!st->si[n->id].waiting)
			continue;
		item(n, w, TERM_YELLOW);
		if (n->x->prompt) {
			printf("  %*s  ", w, "");
			put_fit(n->x->prompt, WIDTH - w - 4, false);
			putchar('\n');
		}
	}
}

static void list_stale(struct status *st)
{
	int w = name_width(st, is_stale);

	printf("\n%sStale%s (changed since done):\n", term_code(TERM_BOLD), term_code(TERM_RESET));
	for (size_t i = 0; i < st->g->steps.n; i++) {
		struct node *n = st->g->steps.v[i];

		if (!st->si[n->id].stale)
			continue;
		item(n, w, TERM_YELLOW);
		printf("  %*s  %s%s\n", w, "", state_of(n) == ST_CHANGED ? "applied and changed (on_change = error): " : "",
		       state_reason(n));
	}
}

/* "not reached: s1 is skipped (allow_skipped = yes accepts it)" from column COL, the
 * part in parentheses on a line of its own when the whole does not fit. */
static void held_back(const struct node *m, int col)
{
	const char *r = state_reason(m), *paren = strstr(r, " (");

	if (col + (int)strlen("not reached: ") + width_of(r) <= WIDTH || !paren)
		printf("not reached: %s\n", r);
	else
		printf("not reached: %.*s\n%*s%s\n", (int)(paren - r), r, col, "", paren + 1);
}

/* The skipped steps, apart: they count as done for what needs them, but nothing ran. */
static void list_skipped(struct status *st)
{
	int w = name_width(st, is_skipped);
	char t[32];

	printf("\n%sSkipped%s (counted apart; orch --force STEP runs one):\n", term_code(TERM_BOLD),
	       term_code(TERM_RESET));
	for (size_t i = 0; i < st->g->steps.n; i++) {
		struct node *n = st->g->steps.v[i];
		const struct stepinfo *s = &st->si[n->id];

		if (!s->skipped)
			continue;
		item(n, w, TERM_YELLOW);
		printf("  %*s  skipped", w, "");
		if (s->last && s->last->kind == EV_SKIP)
			printf(" %s", when(s->last->time_ms, t));
		if (s->failures)
			printf(", after %d failed attempt%s", s->failures, plural((size_t)s->failures));
		putchar('\n');
	}
}

static void text_milestones(struct status *st)
{
	struct graph *g = st->g;
	int w = 2;
	char t[32];

	for (size_t i = 0; i < g->milestones.n; i++) {
		struct node *m = g->milestones.v[i];

		if (width_of(m->name) > w)
			w = width_of(m->name);
	}
	w = w > 16 ? 16 : w;
	printf("\n%sMilestones:%s %zu of %u reached (%d%%)\n", term_code(TERM_BOLD), term_code(TERM_RESET), st->reached,
	       g->milestones.n, percent(st->reached, g->milestones.n));
	for (size_t i = 0; i < g->milestones.n; i++) {
		struct node *m = g->milestones.v[i];
		struct msinfo *mi = &st->mi[m->id];

		printf("  %s", term_code(mi->ok ? TERM_GREEN : ""));
		put_fit(m->name, w, true);
		printf("%s  ", term_code(mi->ok ? TERM_RESET : ""));
		put_fit(m->title, w < 16 ? 30 : 46 - w, true);
		printf("  ");
		if (mi->ok)
			printf("reached %s\n", when(mi->reached->time_ms, t));
		else if (state_milestone_blocked(m))
			held_back(m, 2 + w + 2 + (w < 16 ? 30 : 46 - w) + 2);
		else if (mi->lost)
			printf("lost %s\n", when(mi->lost->time_ms, t));
		else if (mi->reached)
			printf("no longer holds: %s\n", state_reason(m));
		else if (mi->stepsdone < mi->steps && mi->stepsskipped)
			printf("%zu of %zu step%s done, %zu skipped\n", mi->stepsdone - mi->stepsskipped, mi->steps,
			       plural(mi->steps), mi->stepsskipped);
		else if (mi->stepsdone < mi->steps)
			printf("%zu of %zu step%s done\n", mi->stepsdone, mi->steps, plural(mi->steps));
		else if (m->x->validate)
			printf("steps done; validate has not passed\n");
		else
			printf("steps done; not recorded yet\n");
	}
}

/* "3 of 10 steps done (30%), 1 skipped": a skipped step is not done (nothing ran), and
 * is counted apart. */
static void steps_done(struct status *st)
{
	printf("%zu of %zu step%s done (%d%%)", st->done - st->skipped, st->total, plural(st->total),
	       percent(st->done - st->skipped, st->total));
	if (st->skipped)
		printf(", %zu skipped", st->skipped);
}

/* Estimates ÷ actual time of the done steps. Estimates are of people's time: when steps
 * run more than EFF_FAR times faster (or slower) than estimated, the ratio says nothing
 * about the plan, and the times are shown instead. */
#define EFF_FAR 20.0
static void efficiency(struct status *st)
{
	char a[32], b[32];
	double r;

	if (!st->eff_steps) {
		printf("Efficiency: - (no done step with an estimate and a recorded time)\n");
		return;
	}
	r = (double)st->eff_est_ms / (double)st->eff_actual_ms;
	format_known_duration(st->eff_est_ms, a);
	format_known_duration(st->eff_actual_ms, b);
	if (r > EFF_FAR)
		printf("Efficiency: far faster than estimated (the estimates are of people's time):\n");
	else if (r < 1 / EFF_FAR)
		printf("Efficiency: far slower than estimated:\n");
	else {
		printf("Efficiency: %.2f (estimated %s / actual %s over %zu done step%s)\n", r, a, b, st->eff_steps,
		       plural(st->eff_steps));
		return;
	}
	printf("            %zu done step%s took %s against %s estimated\n", st->eff_steps, plural(st->eff_steps), b, a);
}

static void text(struct status *st)
{
	struct graph *g = st->g;
	char a[32], b[32], c[32];

	printf("%sPlan %s%s%s:%s ", term_code(TERM_BOLD), g->name, g->target ? ", target " : "", g->target ? g->target : "",
	       term_code(TERM_RESET));
	steps_done(st);
	putchar('\n');
	if (st->active && st->active->phase)
		printf("Active phase: %d %s (%s)\n", st->active->phase->number, st->active->phase->name,
		       st->active->phase->title);
	else if (st->active)
		printf("Active phase: none (steps without a phase)\n");
	else
		printf("Active phase: none, every phase is complete\n");
	if (st->lastev)
		printf("Last activity: %s, run %s\n", when(st->lastev->time_ms, a), st->lastev->x->run);
	else
		printf("Last activity: none, nothing has run yet\n");
	if (journal_pgstate(st->j)) {
		printf("State: %s in %s, ", journal_path(st->j), pgstate_where(journal_pgstate(st->j)));
		if (st->who)
			printf("locked by %s\n", st->who);
		else
			printf("not locked (no orch runs the plan)\n");
	}
	registry_summary(g);

	printf("\n%s%c %2s %-24s %-16s %5s %9s %8s %7s%s\n", term_code(TERM_BOLD), ' ', "#", "phase", "progress", "done",
	       "estimate", "actual", "errors", term_code(TERM_RESET));
	for (size_t i = 0; i < st->npi; i++)
		phase_row(st, &st->pi[i]);
	if (g->milestones.n)
		text_milestones(st);
	if (st->nfailed)
		list_failed(st);
	if (st->nrunning)
		list_started(st, true);
	if (st->nholding)
		list_holding(st);
	list_metrics(st);
	if (st->ninterrupted)
		list_started(st, false);
	if (st->nwaiting)
		list_waiting(st);
	list_approved(st);
	if (st->nstale)
		list_stale(st);
	if (st->skipped)
		list_skipped(st);

	printf("\n%sOverall:%s ", term_code(TERM_BOLD), term_code(TERM_RESET));
	steps_done(st);
	if (g->milestones.n)
		printf(", %zu of %u milestone%s reached (%d%%)", st->reached, g->milestones.n, plural(g->milestones.n),
		       percent(st->reached, g->milestones.n));
	printf("\nTime: estimated %s, done %s of it, ", format_known_duration(st->est_ms, a),
	       format_known_duration(st->est_done_ms - st->est_skipped_ms, b));
	if (st->skipped)
		printf("%s skipped, ", format_known_duration(st->est_skipped_ms, b));
	printf("%s left\n", format_known_duration(st->work_ms, c));
	efficiency(st);
	if (st->attempts)
		printf("Errors: %d of %d attempt%s failed (%d%%)\n", st->failures, st->attempts, plural((size_t)st->attempts),
		       (st->failures * 100 + st->attempts / 2) / st->attempts);
	else
		printf("Errors: - (no attempts yet)\n");
	printf("ETA: %s at -j %d (critical path %s, work left %s)", format_known_duration(st->eta_ms, a), st->jobs,
	       format_known_duration(st->critical_ms, b), format_known_duration(st->work_ms, c));
	if (st->unestimated)
		printf("; %zu step%s without an estimate", st->unestimated, plural(st->unestimated));
	putchar('\n');
}

/* ---- JSON ---- */

static json_t *jtime(int64_t ms)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;

	if (ms <= 0)
		return json_null();
	gmtime_r(&s, &tm);
	return json_sprintf("%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
	                    tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

static json_t *jms(int64_t ms)
{
	return ms < 0 ? json_null() : json_integer(ms);
}

static json_t *jrate(int part, int whole)
{
	return whole ? json_real((double)part / whole) : json_null();
}

static json_t *jstr(const char *s)
{
	return s ? json_string(s) : json_null();
}

static const char *step_word(const struct stepinfo *s, const struct node *n)
{
	if (s->running)
		return "running";
	if (s->failed)
		return "failed";
	if (s->waiting)
		return "waiting";
	if (s->holding)
		return "holding";
	return state_name(state_of(n));
}

static char *two(char *p, int v)
{
	p[0] = (char)('0' + v / 10 % 10);
	p[1] = (char)('0' + v % 10);
	return p + 2;
}

/* A time as jtime writes it, into B; NULL when not recorded. A step's events mostly
 * fall in the second before, so the calendar of the last second is kept. */
static const char *stime(char b[64], int64_t ms)
{
	static time_t last = (time_t)-1;
	static struct tm tm;
	time_t s = (time_t)(ms / 1000);
	int y, milli = (int)(ms % 1000);
	char *p = b;

	if (ms <= 0)
		return NULL;
	if (s != last) {
		gmtime_r(&s, &tm);
		last = s;
	}
	y = tm.tm_year + 1900;
	if (y < 1000 || y > 9999) {
		snprintf(b, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", y, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		         tm.tm_min, tm.tm_sec, milli);
		return b;
	}
	p = two(p, y / 100);
	p = two(p, y % 100);
	*p++ = '-';
	p = two(p, tm.tm_mon + 1);
	*p++ = '-';
	p = two(p, tm.tm_mday);
	*p++ = 'T';
	p = two(p, tm.tm_hour);
	*p++ = ':';
	p = two(p, tm.tm_min);
	*p++ = ':';
	p = two(p, tm.tm_sec);
	*p++ = '.';
	*p++ = (char)('0' + milli / 100);
	p = two(p, milli % 100);
	*p++ = 'Z';
	*p = '\0';
	return b;
}

/* KEY: V when it is KNOWN, else null. */
static void jout_intornull(struct jout *out, const char *key, bool known, int64_t v)
{
	if (known)
		jout_int(out, key, v);
	else
		jout_null(out, key);
}

static void jout_ms(struct jout *out, const char *key, int64_t ms)
{
	jout_intornull(out, key, ms >= 0, ms);
}

static void jout_time(struct jout *out, const char *key, int64_t ms)
{
	char b[64];

	jout_str(out, key, stime(b, ms));
}

static void json_event(struct jout *out, const struct jevent *e)
{
	jout_open(out, '{');
	jout_str(out, "event", journal_kindname(e->kind));
	jout_time(out, "at", e->time_ms);
	jout_str(out, "run", e->x->run);
	jout_intornull(out, "attempt", e->attempt, e->attempt);
	jout_time(out, "started", e->start_ms);
	jout_ms(out, "duration_ms", e->duration_ms);
	jout_intornull(out, "exit_status", e->kind == EV_FAIL || e->kind == EV_ROLLBACK_FAIL || e->kind == EV_OK,
	            e->exit_status);
	jout_intornull(out, "signal", e->signal, e->signal);
	jout_bool(out, "timed_out", e->timed_out);
	jout_str(out, "message", e->x->message);
	jout_str(out, "log", history_log(e));
	jout_close(out, '}');
}

/* What the worker that ran failed step N reported of its output (orch.claims), the
 * same on every machine. */
static void json_worker_output(struct status *st, struct jout *out, const struct node *n)
{
	char *worker = NULL, *log = claims_log(journal_pgstate(st->j), st->g, n->name, &worker);

	if (!log)
		return;
	jout_key(out, "worker_output");
	jout_open(out, '{');
	jout_str(out, "worker", worker);
	jout_str(out, "output", log);
	jout_close(out, '}');
	free(log);
	free(worker);
}

/* The steps, one object at a time, each value written as it is known. */
static void json_steps(struct status *st, struct jout *out)
{
	jout_open(out, '[');
	for (size_t i = 0; i < st->g->steps.n; i++) {
		struct node *n = st->g->steps.v[i];
		struct stepinfo *s = &st->si[n->id];

		jout_open(out, '{');
		jout_str(out, "name", n->name);
		jout_str(out, "title", n->title);
		jout_str(out, "phase", n->phase ? n->phase->name : NULL);
		jout_str(out, "kind", step_kindname(n));
		jout_str(out, "state", step_word(s, n));
		jout_str(out, "reason", state_reason(n));
		if (registry_says(n) != REG_UNASKED) {
			jout_str(out, "database", registry_word(registry_says(n)));
			jout_str(out, "disagreement", registry_note(n));
		}
		jout_bool(out, "done", s->done);
		jout_bool(out, "stale", s->stale);
		jout_ms(out, "estimate_ms", n->est_ms);
		jout_ms(out, "actual_ms", s->actual_ms);
		jout_int(out, "left_ms", s->left_ms);
		jout_int(out, "attempts", s->attempts);
		jout_int(out, "failed_attempts", s->failures);
		if (s->done && s->ok)
			jout_time(out, "done_at", s->ok->time_ms);
		else
			jout_null(out, "done_at");
		jout_str(out, "approved_by", s->done && s->ok && s->ok->kind == EV_APPROVE ? s->ok->x->by : NULL);
		jout_key(out, "last");
		if (s->last)
			json_event(out, s->last);
		else
			jout_null(out, NULL);
		if (s->failed && n->x->runs_on && journal_pgstate(st->j))
			json_worker_output(st, out, n);
		jout_close(out, '}');
	}
	jout_close(out, ']');
}

static json_t *json_phases(struct status *st)
{
	json_t *a = json_array();

	for (size_t i = 0; i < st->npi; i++) {
		struct phaseinfo *p = &st->pi[i];
		json_t *o = json_object();

		json_object_set_new(o, "name", p->phase ? json_string(p->phase->name) : json_null());
		json_object_set_new(o, "number", p->phase ? json_integer(p->phase->number) : json_null());
		json_object_set_new(o, "title", p->phase ? json_string(p->phase->title) : json_null());
		json_object_set_new(o, "active", json_boolean(p == st->active));
		json_object_set_new(o, "steps", json_integer((json_int_t)p->total));
		json_object_set_new(o, "done", json_integer((json_int_t)p->done));
		json_object_set_new(o, "skipped", json_integer((json_int_t)p->skipped));
		json_object_set_new(o, "completed", json_integer((json_int_t)(p->done - p->skipped)));
		json_object_set_new(o, "percent", json_integer(percent(p->done, p->total)));
		json_object_set_new(o, "estimate_ms", json_integer(p->est_ms));
		json_object_set_new(o, "actual_ms", jms(p->actual_ms));
		json_object_set_new(o, "attempts", json_integer(p->attempts));
		json_object_set_new(o, "failed_attempts", json_integer(p->failures));
		json_object_set_new(o, "error_rate", jrate(p->failures, p->attempts));
		json_array_append_new(a, o);
	}
	return a;
}

static json_t *json_milestones(struct status *st)
{
	json_t *a = json_array();

	for (size_t i = 0; i < st->g->milestones.n; i++) {
		struct node *m = st->g->milestones.v[i];
		struct msinfo *mi = &st->mi[m->id];
		json_t *o = json_object();

		json_object_set_new(o, "name", json_string(m->name));
		json_object_set_new(o, "title", json_string(m->title));
		json_object_set_new(o, "reached", json_boolean(mi->ok));
		json_object_set_new(o, "reached_at", mi->reached ? jtime(mi->reached->time_ms) : json_null());
		json_object_set_new(o, "lost_at", mi->lost ? jtime(mi->lost->time_ms) : json_null());
		json_object_set_new(o, "reason", json_string(mi->ok ? "reached" : state_reason(m)));
		json_object_set_new(o, "steps", json_integer((json_int_t)mi->steps));
		json_object_set_new(o, "steps_done", json_integer((json_int_t)mi->stepsdone));
		json_object_set_new(o, "steps_skipped", json_integer((json_int_t)mi->stepsskipped));
		json_object_set_new(o, "validate", json_boolean(m->x->validate != NULL));
		json_object_set_new(o, "allow_skipped", json_boolean(m->x->allow_skipped));
		json_object_set_new(o, "held_by_skip", state_milestone_blocked(m) && state_skipped_need(m)
		                                           ? json_string(state_skipped_need(m)->name) : json_null());
		json_array_append_new(a, o);
	}
	return a;
}

/* The steps PICK selects, each with what matters about it in that list, one object
 * at a time. */
static void json_list(struct status *st, struct jout *out, bool (*pick)(const struct stepinfo *))
{
	jout_open(out, '[');
	for (size_t i = 0; i < st->g->steps.n; i++) {
		struct node *n = st->g->steps.v[i];
		struct stepinfo *s = &st->si[n->id];
		const struct jevent *e = pick == is_failed ? s->last : s->start;

		if (!pick(s))
			continue;
		jout_open(out, '{');
		jout_str(out, "name", n->name);
		jout_str(out, "title", n->title);
		jout_str(out, "phase", n->phase ? n->phase->name : NULL);
		if (pick == is_failed) {
			jout_bool(out, "rollback", e->kind == EV_ROLLBACK_FAIL);
			jout_intornull(out, "exit_status", e->exit_status >= 0, e->exit_status);
			jout_intornull(out, "signal", e->signal != 0, e->signal);
			jout_bool(out, "timed_out", e->timed_out);
			jout_str(out, "message", e->x->message);
			jout_time(out, "at", e->time_ms);
			jout_ms(out, "duration_ms", e->duration_ms);
			jout_int(out, "attempt", e->attempt);
			jout_str(out, "log", e->x->log);
		} else if (pick == is_running || pick == is_interrupted) {
			int64_t since = e ? (e->start_ms ? e->start_ms : e->time_ms) : 0;

			jout_bool(out, "rollback", e && e->kind == EV_ROLLBACK_START);
			if (e)
				jout_time(out, "since", since);
			else
				jout_null(out, "since");
			jout_intornull(out, "elapsed_ms", e && pick == is_running, st->now - since);
			jout_str(out, "run", e ? e->x->run : NULL);
			jout_intornull(out, "attempt", e != NULL, e ? e->attempt : 0);
			jout_str(out, "log", history_log(e));
			if (pick == is_running) {
				jout_bool(out, "orphan", s->orphan);
				jout_intornull(out, "pid", e && e->x->pgid > 0, e ? e->x->pgid : 0);
			}
		} else if (pick == is_waiting) {
			jout_str(out, "prompt", n->x->prompt);
		} else if (pick == is_skipped) {
			const struct jevent *k = s->last && s->last->kind == EV_SKIP ? s->last : NULL;

			if (k)
				jout_time(out, "at", k->time_ms);
			else
				jout_null(out, "at");
			jout_str(out, "run", k ? k->x->run : NULL);
			jout_int(out, "failed_attempts", s->failures);
		} else {
			jout_str(out, "reason", state_reason(n));
			jout_bool(out, "on_change_error", state_of(n) == ST_CHANGED);
		}
		jout_close(out, '}');
	}
	jout_close(out, ']');
}

/* "holding": each hold's end, time left and checks (docs/status.md). */
static json_t *json_holding(struct status *st)
{
	json_t *a = json_array();

	for (size_t i = 0; i < st->g->steps.n; i++) {
		struct node *n = st->g->steps.v[i];
		const struct history *h;
		int64_t until, next;
		json_t *o;

		if (!st->si[n->id].holding)
			continue;
		h = state_history(n);
		until = state_hold_until(n);
		next = next_check(n);
		o = json_object();
		json_object_set_new(o, "step", json_string(n->name));
		json_object_set_new(o, "until", jtime(until));
		json_object_set_new(o, "left_ms", json_integer(until > st->now ? until - st->now : 0));
		json_object_set_new(o, "checks_passed", json_integer(h->checks_ok));
		json_object_set_new(o, "checks_failed", json_integer(h->checks_failed));
		json_object_set_new(o, "failures_in_a_row", json_integer(h->check_streak));
		json_object_set_new(o, "next_check", next ? jtime(next) : json_null());
		json_array_append_new(a, o);
	}
	return a;
}

static void json(struct status *st)
{
	struct graph *g = st->g;
	json_t *sum = json_object(), *eta = json_object(), *run;
	struct jout out;

	jout_init(&out, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
	jout_open(&out, '{');
	jout_set(&out, "schema", json_integer(STATUS_SCHEMA));
	jout_set(&out, "plan", json_string(g->name));
	jout_set(&out, "target", jstr(g->target));
	jout_set(&out, "file", json_string(g->file));
	jout_set(&out, "generated_at", jtime(st->now));
	if (journal_pgstate(st->j)) {
		json_t *o = json_object();

		json_object_set_new(o, "journal", json_string(journal_path(st->j)));
		json_object_set_new(o, "database", json_string(pgstate_where(journal_pgstate(st->j))));
		json_object_set_new(o, "holder", st->who ? json_string(st->who) : json_null());
		jout_set(&out, "state", o);
	}
	if (st->holder) {
		run = json_object();
		json_object_set_new(run, "pid", st->holder > 0 ? json_integer(st->holder) : json_null());
		if (st->who)
			json_object_set_new(run, "holder", json_string(st->who));
		jout_set(&out, "live_run", run);
	} else {
		jout_set(&out, "live_run", json_null());
	}
	jout_set(&out, "last_activity", st->lastev ? jtime(st->lastev->time_ms) : json_null());
	jout_set(&out, "last_run", st->lastev ? jstr(st->lastev->x->run) : json_null());
	jout_set(&out, "active_phase",
	         st->active && st->active->phase ? json_string(st->active->phase->name) : json_null());

	json_object_set_new(sum, "steps", json_integer((json_int_t)st->total));
	json_object_set_new(sum, "done", json_integer((json_int_t)st->done));
	json_object_set_new(sum, "skipped", json_integer((json_int_t)st->skipped));
	json_object_set_new(sum, "failed", json_integer((json_int_t)st->nfailed));
	json_object_set_new(sum, "running", json_integer((json_int_t)st->nrunning));
	json_object_set_new(sum, "interrupted", json_integer((json_int_t)st->ninterrupted));
	json_object_set_new(sum, "waiting", json_integer((json_int_t)st->nwaiting));
	json_object_set_new(sum, "stale", json_integer((json_int_t)st->nstale));
	json_object_set_new(sum, "percent", json_integer(percent(st->done, st->total)));
	json_object_set_new(sum, "completed", json_integer((json_int_t)(st->done - st->skipped)));
	json_object_set_new(sum, "completed_percent", json_integer(percent(st->done - st->skipped, st->total)));
	json_object_set_new(sum, "estimate_ms", json_integer(st->est_ms));
	json_object_set_new(sum, "estimate_done_ms", json_integer(st->est_done_ms));
	json_object_set_new(sum, "estimate_skipped_ms", json_integer(st->est_skipped_ms));
	json_object_set_new(sum, "estimate_left_ms", json_integer(st->work_ms));
	json_object_set_new(sum, "efficiency", st->eff_steps ? json_real((double)st->eff_est_ms /
	                                                                 (double)st->eff_actual_ms) : json_null());
	json_object_set_new(sum, "efficiency_steps", json_integer((json_int_t)st->eff_steps));
	json_object_set_new(sum, "efficiency_estimate_ms", json_integer(st->eff_est_ms));
	json_object_set_new(sum, "efficiency_actual_ms", json_integer(st->eff_actual_ms));
	json_object_set_new(sum, "attempts", json_integer(st->attempts));
	json_object_set_new(sum, "failed_attempts", json_integer(st->failures));
	json_object_set_new(sum, "error_rate", jrate(st->failures, st->attempts));
	json_object_set_new(sum, "milestones", json_integer((json_int_t)g->milestones.n));
	json_object_set_new(sum, "milestones_reached", json_integer((json_int_t)st->reached));
	json_object_set_new(sum, "milestone_rate", jrate((int)st->reached, (int)g->milestones.n));
	jout_set(&out, "summary", sum);

	json_object_set_new(eta, "eta_ms", json_integer(st->eta_ms));
	json_object_set_new(eta, "jobs", json_integer(st->jobs));
	json_object_set_new(eta, "critical_path_ms", json_integer(st->critical_ms));
	json_object_set_new(eta, "work_left_ms", json_integer(st->work_ms));
	json_object_set_new(eta, "unestimated_steps", json_integer((json_int_t)st->unestimated));
	jout_set(&out, "eta", eta);

	jout_set(&out, "phases", json_phases(st));
	jout_set(&out, "milestones", json_milestones(st));
	jout_key(&out, "failed");
	json_list(st, &out, is_failed);
	jout_key(&out, "running");
	json_list(st, &out, is_running);
	jout_set(&out, "holding", json_holding(st));
	jout_set(&out, "metrics", json_metrics(st));
	jout_key(&out, "interrupted");
	json_list(st, &out, is_interrupted);
	jout_key(&out, "waiting");
	json_list(st, &out, is_waiting);
	jout_key(&out, "stale");
	json_list(st, &out, is_stale);
	jout_key(&out, "skipped");
	json_list(st, &out, is_skipped);
	jout_key(&out, "steps");
	json_steps(st, &out);
	jout_close(&out, '}');
	putchar('\n');
}

const char **status_words(struct graph *g, struct journal *j)
{
	struct status st = {0};
	size_t nn = g->nodes.n ? g->nodes.n : 1;
	const char **w = xcalloc(nn, sizeof(*w));

	st.g = g;
	st.j = j;
	st.jobs = 1;
	st.now = wall_ms();
	st.holder = j ? journal_lock_holder(g) : 0;
	st.si = xcalloc(nn, sizeof(*st.si));
	st.mi = xcalloc(nn, sizeof(*st.mi));
	read_history(&st);
	classify(&st);
	for (size_t i = 0; i < g->nodes.n; i++) {
		struct node *n = g->nodes.v[i];

		if (n->kind == NODE_STEP)
			w[n->id] = step_word(&st.si[n->id], n);
		else
			w[n->id] = state_satisfied(n) ? "done" : "todo";
	}
	free(st.si);
	free(st.mi);
	return w;
}

int status_show(struct graph *g, struct journal *j, bool as_json, int jobs)
{
	struct status st = {0};
	size_t nn = g->nodes.n ? g->nodes.n : 1;

	st.g = g;
	st.j = j;
	st.jobs = jobs > 0 ? jobs : 1;
	st.now = wall_ms();
	st.holder = j ? journal_lock_holder_who(g, &st.who) : 0;
	st.si = xcalloc(nn, sizeof(*st.si));
	st.mi = xcalloc(nn, sizeof(*st.mi));
	read_history(&st);
	classify(&st);
	phases(&st);
	milestones(&st);
	eta(&st);
	if (as_json)
		json(&st);
	else
		text(&st);
	free(st.who);
	free(st.si);
	free(st.mi);
	free(st.pi);
	return EXIT_DONE;
}
