/* trace.c — `orch --trace FILE`: the journal as Chrome trace-event JSON, which Perfetto
 * (ui.perfetto.dev) and chrome://tracing open. Every attempt of every step (and every
 * rollback) is a complete event ("ph":"X") on real time, on one track per parallel slot
 * (the lowest slot free when it started); a step that held has two tracks more, its
 * holds and its health checks, each a complete event too; approvals, skips and
 * milestones are instant events; a step still running ends now. Read from the journal,
 * since its last reset. */
#include "trace.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "history.h"
#include "state.h"

static int cmp_span(const void *a, const void *b)
{
	const struct span *x = a, *y = b;

	return x->start_ms < y->start_ms ? -1 : x->start_ms > y->start_ms;
}

static struct span *more(struct span *v, size_t n, size_t *cap)
{
	return n < *cap ? v : xreallocarray(v, *cap = *cap ? *cap * 2 : 64, sizeof(*v));
}

/* The hold event H closed by E (NULL: not yet, NOW). */
static struct span hold_span(const struct jevent *h, const struct jevent *e, int64_t now)
{
	int64_t start = h->start_ms > 0 ? h->start_ms : h->time_ms;
	int64_t until = h->duration_ms >= 0 ? start + h->duration_ms : now;

	int64_t end = e ? e->time_ms : now;

	/* a hold ends at its time, or sooner (--promote, --abort, its checks, a stop) */
	return (struct span){e, h->node, start, until < end ? until : end, false, SPAN_HOLD};
}

size_t trace_spans(struct graph *g, struct journal *j, size_t from, struct span **out, int64_t now)
{
	long *open = xcalloc(g->nodes.n ? g->nodes.n : 1, sizeof(*open));
	long *holding = xcalloc(g->nodes.n ? g->nodes.n : 1, sizeof(*holding));
	struct span *v = NULL;
	size_t n = 0, cap = 0;

	for (size_t i = 0; i < g->nodes.n; i++)
		open[i] = holding[i] = -1;
	for (size_t i = from; i < journal_count(j); i++) {
		const struct jevent *e = journal_event(j, i);
		const struct node *nd = e->node;
		bool ends = e->kind == EV_OK || e->kind == EV_FAIL || e->kind == EV_INTERRUPTED ||
		            e->kind == EV_ROLLBACK_OK || e->kind == EV_ROLLBACK_FAIL || e->kind == EV_HOLD;

		if (!nd || nd->kind != NODE_STEP)
			continue;
		if (e->kind == EV_CHECK) {
			int64_t start = e->start_ms > 0 ? e->start_ms : e->time_ms;

			v = more(v, n, &cap);
			v[n++] = (struct span){e, nd, start, e->duration_ms >= 0 && e->start_ms > 0 ? start + e->duration_ms
			                                                                              : e->time_ms,
			                       false, SPAN_CHECK};
			continue;
		}
		if (holding[nd->id] >= 0 && e->kind != EV_METRIC) {
			/* the ok or fail that ends a hold (its time up, --promote, --abort, its
			 * checks) spent no time of its own; anything else ends it too */
			v = more(v, n, &cap);
			v[n++] = hold_span(journal_event(j, (size_t)holding[nd->id]), e, now);
			holding[nd->id] = -1;
			if (e->kind == EV_OK || e->kind == EV_FAIL)
				continue;
		}
		if (e->kind == EV_START || e->kind == EV_ROLLBACK_START) {
			open[nd->id] = (long)i;
			continue;
		}
		if (!ends || (open[nd->id] < 0 && e->start_ms <= 0))
			continue; /* an approval, a skip, or an ok the registry gave: no time spent */
		if (e->kind == EV_HOLD) {
			/* the run ended where the hold began; the hold is a span of its own */
			holding[nd->id] = (long)i;
			if (open[nd->id] < 0)
				continue;
			v = more(v, n, &cap);
			v[n] = (struct span){e, nd, journal_event(j, (size_t)open[nd->id])->start_ms, 0, false, SPAN_ATTEMPT};
			if (v[n].start_ms <= 0)
				v[n].start_ms = journal_event(j, (size_t)open[nd->id])->time_ms;
			v[n].end_ms = e->start_ms > 0 ? e->start_ms : e->time_ms;
			n++;
			open[nd->id] = -1;
			continue;
		}
		v = more(v, n, &cap);
		v[n].end = e;
		v[n].n = nd;
		v[n].kind = SPAN_ATTEMPT;
		v[n].rollback = e->kind == EV_ROLLBACK_OK || e->kind == EV_ROLLBACK_FAIL ||
		                (open[nd->id] >= 0 && journal_event(j, (size_t)open[nd->id])->kind == EV_ROLLBACK_START);
		v[n].start_ms = e->start_ms > 0 ? e->start_ms : journal_event(j, (size_t)open[nd->id])->time_ms;
		v[n].end_ms = e->duration_ms >= 0 && e->start_ms > 0 ? e->start_ms + e->duration_ms : e->time_ms;
		/* its start (the wall clock) and its duration (the monotonic one) are each cut to
		 * the millisecond: their sum can pass the time its end was written by one, and
		 * a retry started in that millisecond would seem to overlap it */
		if (v[n].end_ms > e->time_ms)
			v[n].end_ms = e->time_ms;
		n++;
		open[nd->id] = -1;
	}
	for (size_t i = 0; i < g->nodes.n; i++) {
		if (holding[i] < 0)
			continue;
		v = more(v, n, &cap);
		v[n++] = hold_span(journal_event(j, (size_t)holding[i]), NULL, now);
	}
	for (size_t i = 0; i < g->nodes.n; i++) {
		const struct jevent *s;

		if (open[i] < 0)
			continue;
		s = journal_event(j, (size_t)open[i]);
		v = more(v, n, &cap);
		v[n] = (struct span){NULL, s->node, s->start_ms > 0 ? s->start_ms : s->time_ms, now,
		                     s->kind == EV_ROLLBACK_START, SPAN_ATTEMPT};
		n++;
	}
	free(open);
	free(holding);
	*out = v;
	return n;
}

static json_t *jstr_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static const char *span_result(const struct span *s)
{
	if (s->kind == SPAN_CHECK)
		return s->end->exit_status == 0 ? "passed" : "failed";
	if (!s->end)
		return s->kind == SPAN_HOLD ? "holding" : "running";
	return journal_kindname(s->end->kind);
}

static json_t *span_event(const struct span *s, int tid)
{
	json_t *o = json_object(), *args = json_object();
	const struct jevent *e = s->end;

	json_object_set_new(o, "name", s->rollback           ? json_sprintf("rollback %s", s->n->name)
	                               : s->kind == SPAN_HOLD  ? json_sprintf("hold %s", s->n->name)
	                               : s->kind == SPAN_CHECK ? json_sprintf("check %s", s->n->name)
	                                                       : json_string(s->n->name));
	json_object_set_new(o, "cat", json_string(s->n->phase ? s->n->phase->name : "steps"));
	json_object_set_new(o, "ph", json_string("X"));
	json_object_set_new(o, "ts", json_integer(s->start_ms * 1000));
	json_object_set_new(o, "dur", json_integer((s->end_ms > s->start_ms ? s->end_ms - s->start_ms : 0) * 1000));
	json_object_set_new(o, "pid", json_integer(1));
	json_object_set_new(o, "tid", json_integer(tid));
	json_object_set_new(args, "title", json_string(s->n->title));
	json_object_set_new(args, "result", json_string(span_result(s)));
	json_object_set_new(args, "kind", json_string(step_kindname(s->n)));
	json_object_set_new(args, "estimate_ms", s->n->est_ms >= 0 ? json_integer(s->n->est_ms) : json_null());
	if (e && s->kind == SPAN_HOLD) {
		json_object_set_new(args, "run", jstr_or_null(e->x->run));
		json_object_set_new(args, "message", jstr_or_null(e->x->message));
		if (e->x->by)
			json_object_set_new(args, "by", json_string(e->x->by));
	} else if (e) {
		json_object_set_new(args, "attempt", json_integer(e->attempt));
		json_object_set_new(args, "run", jstr_or_null(e->x->run));
		json_object_set_new(args, "exit_status", e->exit_status >= 0 ? json_integer(e->exit_status) : json_null());
		json_object_set_new(args, "message", jstr_or_null(e->x->message));
		json_object_set_new(args, "log", jstr_or_null(e->x->log));
	}
	json_object_set_new(o, "args", args);
	return o;
}

static json_t *meta(const char *what, int tid, const char *name)
{
	json_t *o = json_object(), *args = json_object();

	json_object_set_new(o, "name", json_string(what));
	json_object_set_new(o, "ph", json_string("M"));
	json_object_set_new(o, "pid", json_integer(1));
	json_object_set_new(o, "tid", json_integer(tid));
	json_object_set_new(args, "name", json_string(name));
	json_object_set_new(o, "args", args);
	return o;
}

/* Approvals, skips and milestones: instant events, on the plan's track (tid 0). */
static void instants(struct graph *g, struct journal *j, size_t from, json_t *a)
{
	(void)g;
	for (size_t i = from; i < journal_count(j); i++) {
		const struct jevent *e = journal_event(j, i);
		json_t *o;

		if (!e->node || (e->kind != EV_APPROVE && e->kind != EV_SKIP && e->kind != EV_MILESTONE &&
		                 e->kind != EV_MILESTONE_LOST))
			continue;
		o = json_object();
		json_object_set_new(o, "name", json_sprintf("%s %s", journal_kindname(e->kind), e->node->name));
		json_object_set_new(o, "cat", json_string(e->kind == EV_MILESTONE || e->kind == EV_MILESTONE_LOST
		                                              ? "milestone"
		                                              : "gate"));
		json_object_set_new(o, "ph", json_string("i"));
		json_object_set_new(o, "s", json_string(e->kind == EV_MILESTONE ? "g" : "p"));
		json_object_set_new(o, "ts", json_integer(e->time_ms * 1000));
		json_object_set_new(o, "pid", json_integer(1));
		json_object_set_new(o, "tid", json_integer(0));
		if (e->x->by)
			json_object_set_new(o, "args", json_pack("{s:s}", "by", e->x->by));
		json_array_append_new(a, o);
	}
}

int trace_write(struct graph *g, struct journal *j, const char *path)
{
	json_t *doc = json_object(), *a = json_array();
	struct span *spans = NULL;
	size_t n = 0, from = state_histories()->from, attempts = 0;
	int64_t *slot_end = NULL;
	size_t nslots = 0;
	int *track = NULL, ntracks = 0; /* per node: its hold track's tid, its checks' the next */
	char *text, *title;
	int rc;

	if (j)
		n = trace_spans(g, j, from, &spans, wall_ms());
	if (n)
		qsort(spans, n, sizeof(*spans), cmp_span);
	title = g->target ? xasprintf("orch plan %s (target %s)", g->name, g->target) : xasprintf("orch plan %s", g->name);
	json_array_append_new(a, meta("process_name", 0, title));
	json_array_append_new(a, meta("thread_name", 0, "plan: gates, milestones"));
	free(title);
	for (size_t i = 0; i < n; i++) {
		size_t s = 0;

		if (spans[i].kind != SPAN_ATTEMPT)
			continue;
		attempts++;
		/* the lowest slot free when it started: as many tracks as ever ran at once */
		while (s < nslots && slot_end[s] > spans[i].start_ms)
			s++;
		if (s == nslots) {
			char name[32];

			slot_end = xreallocarray(slot_end, ++nslots, sizeof(*slot_end));
			snprintf(name, sizeof(name), "slot %zu", s + 1);
			json_array_append_new(a, meta("thread_name", (int)s + 1, name));
		}
		slot_end[s] = spans[i].end_ms > spans[i].start_ms ? spans[i].end_ms : spans[i].start_ms + 1;
		json_array_append_new(a, span_event(&spans[i], (int)s + 1));
	}
	/* holds and checks: two tracks of their own for each step that held, after the
	 * slots (a step's holds never overlap, nor do its checks) */
	for (size_t i = 0; i < n; i++) {
		const struct node *nd = spans[i].n;
		char *name;

		if (spans[i].kind == SPAN_ATTEMPT)
			continue;
		if (!track)
			track = xcalloc(g->nodes.n, sizeof(*track));
		if (!track[nd->id]) {
			track[nd->id] = (int)nslots + 1 + 2 * ntracks++;
			name = xasprintf("hold %s", nd->name);
			json_array_append_new(a, meta("thread_name", track[nd->id], name));
			free(name);
			name = xasprintf("checks %s", nd->name);
			json_array_append_new(a, meta("thread_name", track[nd->id] + 1, name));
			free(name);
		}
		json_array_append_new(a, span_event(&spans[i], track[nd->id] + (spans[i].kind == SPAN_CHECK)));
	}
	free(track);
	if (j)
		instants(g, j, from, a);
	json_object_set_new(doc, "traceEvents", a);
	json_object_set_new(doc, "displayTimeUnit", json_string("ms"));
	if (!(text = json_dumps(doc, JSON_COMPACT)))
		fatal("out of memory writing the trace");
	rc = write_file_atomic(path, text, strlen(text), true);
	if (rc < 0)
		error("cannot write the trace %s:", path);
	else
		printf("wrote the trace of %zu attempt%s to %s (open it in ui.perfetto.dev or chrome://tracing)\n",
		       attempts, attempts == 1 ? "" : "s", path);
	free(text);
	free(spans);
	free(slot_end);
	json_decref(doc);
	return rc < 0 ? EXIT_FAILED : EXIT_DONE;
}
