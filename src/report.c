/* report.c — `orch --report [FILE]`: one self-contained HTML page (inline CSS and SVG,
 * no script, no network, readable printed) a team can read: the plan and its target,
 * overall and per-phase progress, a timeline of every attempt of every step on real
 * time with its estimate beside it and the milestones as markers, the failures with
 * their last log lines, the gates waiting, and the runs. Made from the journal at any
 * time, also during a run ([orch] report keeps it current), written atomically. */
#include "report.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "claims.h"
#include "history.h"
#include "journal.h"
#include "state.h"
#include "status.h"
#include "trace.h"

#define AXIS_W 900  /* px of the timeline's time axis */
#define LABEL_W 230 /* px of its step names */
#define ROW_H 18
#define LOG_LINES 8

/* S escaped for HTML text and attributes, into B. */
static void esc(struct buf *b, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&': buf_puts(b, "&amp;"); break;
		case '<': buf_puts(b, "&lt;"); break;
		case '>': buf_puts(b, "&gt;"); break;
		case '"': buf_puts(b, "&quot;"); break;
		default: buf_putc(b, *s);
		}
	}
}

static const char *when(int64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
	return buf;
}

static const char css[] =
	"body{font:14px/1.4 -apple-system,Helvetica,Arial,sans-serif;color:#222;margin:24px;max-width:1200px}"
	"h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd}"
	".sub{color:#666}table{border-collapse:collapse}td,th{padding:3px 10px;text-align:left;"
	"border-bottom:1px solid #eee}th{color:#555;font-weight:600}"
	".bar{display:inline-block;width:160px;height:10px;background:#eee;border-radius:3px;vertical-align:middle}"
	".bar i{display:block;height:10px;background:#4a9a5b;border-radius:3px}"
	".st{padding:1px 6px;border-radius:3px;font-size:12px}"
	".done{background:#b7e4a7}.failed{background:#f4a09c}.running{background:#9ecae1}.waiting{background:#d9b3e6}"
	".stale,.changed{background:#f7e08b}.skipped{background:#d9d9d9}.interrupted{background:#f7b26b}"
	".holding{background:#a6e3e0}.rollback-interrupted{background:#f2b6d2}.todo{background:#f3f3f3}pre{background:#f7f7f7;padding:8px;overflow-x:auto;font-size:12px}"
	"svg text{font:11px Helvetica,Arial,sans-serif}"
	"@media print{body{margin:0}h2{break-after:avoid}svg{max-width:100%}}";

struct report {
	struct graph *g;
	struct journal *j;
	const char **words;
	struct span *spans;
	size_t nspans;
	int64_t *actual; /* per node: the time its done attempts took, ms; -1 when none */
	int64_t t0, t1, now;
	struct buf out;
};

static void head(struct report *r)
{
	struct graph *g = r->g;
	size_t done = 0, reached = 0;
	char t[32];

	for (size_t i = 0; i < g->steps.n; i++)
		done += state_satisfied(g->steps.v[i]);
	for (size_t i = 0; i < g->milestones.n; i++)
		reached += state_satisfied(g->milestones.v[i]);
	buf_puts(&r->out, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>");
	esc(&r->out, g->name);
	buf_printf(&r->out, " — orch report</title>\n<style>%s</style></head><body>\n<h1>Plan ", css);
	esc(&r->out, g->name);
	if (g->target) {
		buf_puts(&r->out, ", target ");
		esc(&r->out, g->target);
	}
	buf_printf(&r->out,
	           "</h1>\n<p class=\"sub\">%zu of %u steps done (%d%%), %zu of %u milestones reached; "
	           "report made %s from the journal</p>\n",
	           done, g->steps.n, g->steps.n ? (int)(done * 100 / g->steps.n) : 100, reached, g->milestones.n,
	           when(r->now, t, sizeof(t)));
}

static void progress_bar(struct buf *b, size_t done, size_t total)
{
	buf_printf(b, "<span class=\"bar\"><i style=\"width:%d%%\"></i></span> %zu/%zu",
	           total ? (int)(done * 100 / total) : 100, done, total);
}

/* The time each step's done attempts took (a run that went on to hold counts, its hold
 * does not), in one pass over the spans. */
static void actual_times(struct report *r)
{
	r->actual = xreallocarray(NULL, r->g->nodes.n ? r->g->nodes.n : 1, sizeof(*r->actual));
	for (size_t i = 0; i < r->g->nodes.n; i++)
		r->actual[i] = -1;
	for (size_t i = 0; i < r->nspans; i++) {
		const struct span *s = &r->spans[i];
		int64_t *sum = &r->actual[s->n->id];

		if (s->kind == SPAN_ATTEMPT && s->end && (s->end->kind == EV_OK || s->end->kind == EV_HOLD) && !s->rollback)
			*sum = (*sum < 0 ? 0 : *sum) + s->end_ms - s->start_ms;
	}
}

/* The time a step's done attempts took, ms; -1 when none is recorded. */
static int64_t actual_ms(struct report *r, const struct node *n)
{
	return r->actual[n->id];
}

static void phases(struct report *r)
{
	struct graph *g = r->g;
	char a[32], b[32];

	buf_puts(&r->out, "<h2>Phases</h2>\n<table><tr><th>#</th><th>phase</th><th>progress</th><th>estimate</th>"
	                  "<th>actual</th></tr>\n");
	for (size_t i = 0; i < g->phases.n; i++) {
		struct node *ph = g->phases.v[i];
		size_t done = 0;
		int64_t est = 0, act = 0;

		for (size_t k = 0; k < ph->x->steps.n; k++) {
			struct node *n = ph->x->steps.v[k];
			int64_t x = actual_ms(r, n);

			done += state_satisfied(n);
			est += n->est_ms > 0 ? n->est_ms : 0;
			act += x > 0 ? x : 0;
		}
		buf_printf(&r->out, "<tr><td>%d</td><td>", ph->number);
		esc(&r->out, ph->title);
		buf_puts(&r->out, "</td><td>");
		progress_bar(&r->out, done, ph->x->steps.n);
		buf_printf(&r->out, "</td><td>%s</td><td>%s</td></tr>\n", format_duration(est, a, sizeof(a)),
		           format_duration(act, b, sizeof(b)));
	}
	buf_puts(&r->out, "</table>\n");
}

static double x_of(struct report *r, int64_t ms)
{
	return LABEL_W + (double)(ms - r->t0) * AXIS_W / (double)(r->t1 - r->t0);
}

static const char *fill_of(const struct span *s)
{
	if (s->kind == SPAN_CHECK)
		return s->end->exit_status == 0 ? "#2e7d32" : "#c62828";
	if (s->kind == SPAN_HOLD)
		return !s->end ? "#cfe3f1" : s->end->kind == EV_OK ? "#cde8d3" : s->end->kind == EV_FAIL ? "#f4c7c5" : "#e0e0e0";
	if (!s->end)
		return "#9ecae1";
	switch (s->end->kind) {
	case EV_OK:
	case EV_HOLD: return "#4a9a5b";
	case EV_ROLLBACK_OK: return "#8c6bb1";
	case EV_INTERRUPTED: return "#f7b26b";
	default: return "#d9534f";
	}
}

/* The steps in phase order, those without a phase last. */
static void step_order(struct graph *g, struct vec *out)
{
	for (size_t i = 0; i < g->phases.n; i++) {
		struct node *ph = g->phases.v[i];

		for (size_t k = 0; k < ph->x->steps.n; k++)
			vec_push(out, ph->x->steps.v[k]);
	}
	for (size_t i = 0; i < g->steps.n; i++)
		if (!((struct node *)g->steps.v[i])->phase)
			vec_push(out, g->steps.v[i]);
}

static void timeline(struct report *r)
{
	struct vec order = {0};
	size_t *row;
	int height;
	char t[32];

	buf_puts(&r->out, "<h2>Timeline</h2>\n");
	if (!r->nspans) {
		buf_puts(&r->out, "<p>Nothing has run yet.</p>\n");
		return;
	}
	step_order(r->g, &order);
	row = xcalloc(r->g->nodes.n, sizeof(*row));
	for (size_t i = 0; i < order.n; i++)
		row[((struct node *)order.v[i])->id] = i;
	height = (int)order.n * ROW_H + 40;
	buf_printf(&r->out,
	           "<p class=\"sub\">Each attempt on real time, coloured by its result (green ok, red failed, orange "
	           "interrupted, blue running, purple rolled back); the grey bar under it is the step's estimate. A "
	           "step that holds after its run has a pale bar for the hold (green ended ok, red failed, blue "
	           "holding now) with a tick for each health check (dark green passed, dark red failed).</p>\n"
	           "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\">\n",
	           LABEL_W + AXIS_W + 20, height, LABEL_W + AXIS_W + 20, height);
	for (size_t i = 0; i < order.n; i++) {
		const struct node *n = order.v[i];
		int y = (int)i * ROW_H + 20;

		if (i % 2)
			buf_printf(&r->out, "<rect x=\"0\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#f8f8f8\"/>\n", y,
			           LABEL_W + AXIS_W + 20, ROW_H);
		buf_printf(&r->out, "<text x=\"4\" y=\"%d\">", y + 13);
		esc(&r->out, n->name);
		buf_puts(&r->out, "</text>\n");
	}
	/* the axis: five ticks */
	for (int k = 0; k <= 4; k++) {
		int64_t ms = r->t0 + (r->t1 - r->t0) * k / 4;
		double x = x_of(r, ms);

		buf_printf(&r->out, "<line x1=\"%.1f\" y1=\"16\" x2=\"%.1f\" y2=\"%d\" stroke=\"#ddd\"/>", x, x, height - 4);
		/* the start as a time, the others as time since it */
		if (k == 0)
			when(ms, t, sizeof(t));
		else
			t[0] = '+', format_duration(ms - r->t0, t + 1, sizeof(t) - 1);
		buf_printf(&r->out, "<text x=\"%.1f\" y=\"12\" text-anchor=\"%s\">%s</text>\n", x,
		           k == 0 ? "start" : k == 4 ? "end" : "middle", t);
	}
	/* holds first: the ticks of their checks go over them */
	for (size_t k = 0; k < 2 * r->nspans; k++) {
		const struct span *s = &r->spans[k % r->nspans];
		int y = (int)row[s->n->id] * ROW_H + 20;
		double x = x_of(r, s->start_ms), w = x_of(r, s->end_ms) - x;

		if ((k < r->nspans) != (s->kind == SPAN_HOLD))
			continue;
		if (s->kind == SPAN_HOLD) {
			buf_printf(&r->out, "<rect class=\"hold\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"8\" fill=\"%s\">"
			                    "<title>", x, y + 3, w < 2 ? 2 : w, fill_of(s));
			esc(&r->out, s->n->name);
			buf_printf(&r->out, ": hold, %s</title></rect>\n", !s->end ? "holding" : journal_kindname(s->end->kind));
			continue;
		}
		if (s->kind == SPAN_CHECK) {
			buf_printf(&r->out, "<rect class=\"check\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"12\" fill=\"%s\">"
			                    "<title>", x, y + 1, w < 2 ? 2 : w, fill_of(s));
			esc(&r->out, s->n->name);
			buf_printf(&r->out, ": check %s", s->end->exit_status == 0 ? "passed" : "failed");
			if (s->end->x->message) {
				buf_puts(&r->out, ": ");
				esc(&r->out, s->end->x->message);
			}
			buf_puts(&r->out, "</title></rect>\n");
			continue;
		}
		if (s->n->est_ms > 0 && !s->rollback) {
			double we = (double)s->n->est_ms * AXIS_W / (double)(r->t1 - r->t0);

			buf_printf(&r->out, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"3\" fill=\"#bbb\"/>", x,
			           y + 13, we > LABEL_W + AXIS_W - x ? LABEL_W + AXIS_W - x : we);
		}
		buf_printf(&r->out, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"10\" rx=\"2\" fill=\"%s\"><title>",
		           x, y + 2, w < 2 ? 2 : w, fill_of(s));
		esc(&r->out, s->n->name);
		buf_printf(&r->out, ": %s%s</title></rect>\n", s->rollback ? "rollback " : "",
		           s->end ? journal_kindname(s->end->kind) : "running");
	}
	/* milestones: a dashed line where each was reached */
	for (size_t i = 0; i < r->g->milestones.n; i++) {
		struct node *m = r->g->milestones.v[i];
		const struct jevent *e = history_event(r->j, state_history(m)->completion);
		double x;

		if (!e || e->time_ms < r->t0)
			continue;
		x = x_of(r, e->time_ms);
		buf_printf(&r->out, "<line x1=\"%.1f\" y1=\"16\" x2=\"%.1f\" y2=\"%d\" stroke=\"#e08a00\" "
		                    "stroke-dasharray=\"4 3\"/><text x=\"%.1f\" y=\"%d\" fill=\"#b36b00\">",
		           x, x, height - 4, x + 2, height - 6);
		esc(&r->out, m->name);
		buf_puts(&r->out, "</text>\n");
	}
	buf_puts(&r->out, "</svg>\n");
	free(row);
	vec_free(&order);
}

static void steps(struct report *r)
{
	struct vec order = {0};
	char a[32], b[32];

	step_order(r->g, &order);
	buf_puts(&r->out, "<h2>Steps</h2>\n<table><tr><th>step</th><th>phase</th><th>state</th><th>estimate</th>"
	                  "<th>actual</th><th>attempts</th></tr>\n");
	for (size_t i = 0; i < order.n; i++) {
		const struct node *n = order.v[i];
		const char *w = r->words[n->id];
		int64_t act = actual_ms(r, n);

		buf_puts(&r->out, "<tr><td>");
		esc(&r->out, n->name);
		if (strcmp(n->name, n->title)) {
			buf_puts(&r->out, " <span class=\"sub\">");
			esc(&r->out, n->title);
			buf_puts(&r->out, "</span>");
		}
		buf_puts(&r->out, "</td><td>");
		esc(&r->out, n->phase ? n->phase->name : "-");
		buf_printf(&r->out, "</td><td><span class=\"st %s\">%s</span></td><td>%s</td><td>%s</td><td>%d</td></tr>\n", w,
		           w, n->est_ms >= 0 ? format_duration(n->est_ms, a, sizeof(a)) : "-",
		           act >= 0 ? format_duration(act, b, sizeof(b)) : "-", state_history(n)->attempts);
	}
	buf_puts(&r->out, "</table>\n");
	vec_free(&order);
}

/* The last LOG_LINES lines of E's log, escaped, into B: from its file here, or for a
 * step a worker ran elsewhere, from orch.claims. */
static void log_tail(struct report *r, const struct node *n, const struct jevent *e)
{
	struct buf *b = &r->out;
	size_t len = 0;
	char *text = e->x->log && history_log_here(e) ? read_file(e->x->log, &len) : NULL, *worker = NULL;

	if (!text && n->x->runs_on && journal_pgstate(r->j) &&
	    (text = claims_log(journal_pgstate(r->j), r->g, n->name, &worker)))
		len = strlen(text);
	if (!text)
		return;
	if (worker) {
		buf_puts(b, "<p>Its output on worker ");
		esc(b, worker);
		buf_puts(b, " (orch.claims):</p>\n");
	}
	buf_puts(b, "<pre>");
	esc(b, text + last_lines(text, len, LOG_LINES));
	buf_puts(b, "</pre>\n");
	free(text);
	free(worker);
}

static void failures(struct report *r)
{
	bool any = false;

	for (size_t i = 0; i < r->g->steps.n; i++) {
		struct node *n = r->g->steps.v[i];
		const struct jevent *e = history_event(r->j, state_history(n)->last);

		if (strcmp(r->words[n->id], "failed") != 0 || !e)
			continue;
		if (!any)
			buf_puts(&r->out, "<h2>Failures</h2>\n");
		any = true;
		buf_puts(&r->out, "<p><b>");
		esc(&r->out, n->name);
		buf_puts(&r->out, "</b>: ");
		esc(&r->out, e->x->message ? e->x->message : "failed");
		buf_puts(&r->out, "</p>\n");
		log_tail(r, n, e);
	}
}

static void gates(struct report *r)
{
	bool any = false;

	for (size_t i = 0; i < r->g->steps.n; i++) {
		struct node *n = r->g->steps.v[i];

		if (strcmp(r->words[n->id], "waiting") != 0)
			continue;
		if (!any)
			buf_puts(&r->out, "<h2>Waiting for approval</h2>\n<ul>\n");
		any = true;
		buf_puts(&r->out, "<li><b>");
		esc(&r->out, n->name);
		buf_puts(&r->out, "</b> ");
		esc(&r->out, n->title);
		if (n->x->prompt) {
			buf_puts(&r->out, " — ");
			esc(&r->out, n->x->prompt);
		}
		buf_puts(&r->out, " <code>orch --approve ");
		esc(&r->out, n->name);
		buf_puts(&r->out, "</code></li>\n");
	}
	if (any)
		buf_puts(&r->out, "</ul>\n");
}

static void milestones(struct report *r)
{
	char t[32];

	if (!r->g->milestones.n)
		return;
	buf_puts(&r->out, "<h2>Milestones</h2>\n<table><tr><th>milestone</th><th>state</th><th>reached</th></tr>\n");
	for (size_t i = 0; i < r->g->milestones.n; i++) {
		struct node *m = r->g->milestones.v[i];
		const struct jevent *e = history_event(r->j, state_history(m)->done);
		bool ok = state_satisfied(m);

		buf_puts(&r->out, "<tr><td>");
		esc(&r->out, m->name);
		buf_puts(&r->out, " <span class=\"sub\">");
		esc(&r->out, m->title);
		buf_printf(&r->out, "</span></td><td><span class=\"st %s\">%s</span></td><td>%s</td></tr>\n",
		           ok ? "done" : "todo", ok ? "reached" : "not reached", ok && e ? when(e->time_ms, t, sizeof(t)) : "-");
	}
	buf_puts(&r->out, "</table>\n");
}

/* The runs, newest first: when each began and ended, what it did. */
static void runs(struct report *r)
{
	struct vec ids = {0};
	char a[32], b[32];

	if (!r->j)
		return;
	for (size_t i = state_histories()->from; i < journal_count(r->j); i++) {
		const struct jevent *e = journal_event(r->j, i);

		if (e->x->run && (!ids.n || strcmp(journal_event(r->j, (size_t)(intptr_t)ids.v[ids.n - 1])->x->run, e->x->run)))
			vec_push(&ids, (void *)(intptr_t)i);
	}
	if (!ids.n)
		return;
	buf_puts(&r->out, "<h2>Runs</h2>\n<table><tr><th>run</th><th>began</th><th>last event</th><th>ok</th>"
	                  "<th>failed</th></tr>\n");
	for (size_t k = ids.n; k-- > 0;) {
		size_t first = (size_t)(intptr_t)ids.v[k], end = k + 1 < ids.n ? (size_t)(intptr_t)ids.v[k + 1] : journal_count(r->j);
		const struct jevent *e0 = journal_event(r->j, first), *last = journal_event(r->j, end - 1);
		int ok = 0, failed = 0;

		for (size_t i = first; i < end; i++) {
			const struct jevent *e = journal_event(r->j, i);

			ok += e->kind == EV_OK || e->kind == EV_APPROVE;
			failed += e->kind == EV_FAIL;
		}
		buf_puts(&r->out, "<tr><td>");
		esc(&r->out, e0->x->run);
		buf_printf(&r->out, "</td><td>%s</td><td>%s</td><td>%d</td><td>%d</td></tr>\n", when(e0->time_ms, a, sizeof(a)),
		           when(last->time_ms, b, sizeof(b)), ok, failed);
	}
	buf_puts(&r->out, "</table>\n");
	vec_free(&ids);
}

int report_write(struct graph *g, struct journal *j, const char *path, bool quiet)
{
	struct report r = {.g = g, .j = j, .now = wall_ms()};
	int rc;

	if (j)
		r.nspans = trace_spans(g, j, state_histories()->from, &r.spans, r.now);
	r.t0 = r.nspans ? r.spans[0].start_ms : r.now;
	r.t1 = r.t0;
	for (size_t i = 0; i < r.nspans; i++) {
		r.t0 = r.spans[i].start_ms < r.t0 ? r.spans[i].start_ms : r.t0;
		r.t1 = r.spans[i].end_ms > r.t1 ? r.spans[i].end_ms : r.t1;
	}
	if (r.t1 <= r.t0)
		r.t1 = r.t0 + 1000;
	r.words = status_words(g, j);
	actual_times(&r);
	head(&r);
	if (g->phases.n)
		phases(&r);
	milestones(&r);
	timeline(&r);
	failures(&r);
	gates(&r);
	steps(&r);
	runs(&r);
	buf_puts(&r.out, "<p class=\"sub\">Made by orch from the journal; <code>orch --report</code> makes it again.</p>\n"
	                 "</body></html>\n");
	rc = write_file_atomic(path, r.out.s, r.out.len, true);
	if (rc < 0)
		error("cannot write the report %s:", path);
	else if (!quiet)
		printf("wrote the report to %s\n", path);
	buf_free(&r.out);
	free(r.spans);
	free(r.words);
	free(r.actual);
	return rc < 0 ? EXIT_FAILED : EXIT_DONE;
}
