/* export.c — the Prometheus text format (version 0.0.4) of a plan: steps' states and
 * durations, phases' progress, milestones, holds and their checks, and the latest value
 * of every reported metric with its step, component and phase, written whole through
 * write_file_atomic so that a collector never reads half a file. */
#include "export.h"

#include <stdlib.h>
#include <string.h>

#include "history.h"
#include "metric.h"
#include "state.h"
#include "util.h"

const char *export_path(const struct graph *g)
{
	static char *dflt;
	const char *on = getenv("ENABLE_METRICS");

	if (g->metrics)
		return g->metrics;
	if (on && (strcmp(on, "true") == 0 || strcmp(on, "1") == 0 || strcmp(on, "yes") == 0)) {
		if (!dflt)
			dflt = xasprintf("%s/metrics.prom", g->statedir);
		return dflt;
	}
	return NULL;
}

/* A label value, escaped as the format says (\\, \" and \n). */
static void label(struct buf *b, const char *key, const char *v, bool first)
{
	buf_printf(b, "%s%s=\"", first ? "" : ",", key);
	for (v = v ? v : ""; *v; v++) {
		if (*v == '\\' || *v == '"')
			buf_printf(b, "\\%c", *v);
		else if (*v == '\n')
			buf_puts(b, "\\n");
		else
			buf_add(b, v, 1);
	}
	buf_puts(b, "\"");
}

static void family(struct buf *b, const char *name, const char *type, const char *help)
{
	buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* The labels of step N: step, phase, component. */
static void step_labels(struct buf *b, const struct node *n)
{
	label(b, "step", n->name, true);
	label(b, "phase", n->phase ? n->phase->name : "", false);
	label(b, "component", n->x->component, false);
}

static void seconds(struct buf *b, int64_t ms)
{
	buf_printf(b, " %.3f\n", (double)ms / 1000.0);
}

int export_write(struct graph *g, struct journal *j)
{
	const char *path = export_path(g);
	const struct histories *hs = state_histories();
	static const enum stepstate states[] = {ST_NOTRUN, ST_DONE, ST_STALE, ST_FAILED, ST_INTERRUPTED,
	                                        ST_SKIPPED, ST_CHANGED, ST_ROLLBACK_INTERRUPTED, ST_HOLDING};
	struct buf b = {0};
	int64_t now = wall_ms();
	int r;

	if (!path)
		return 0;
	family(&b, "orch_step_state", "gauge", "1 for the state each step is in.");
	for (size_t i = 0; i < g->steps.n; i++) {
		struct node *n = g->steps.v[i];

		for (size_t k = 0; k < sizeof(states) / sizeof(states[0]); k++) {
			buf_puts(&b, "orch_step_state{");
			step_labels(&b, n);
			label(&b, "state", state_name(states[k]), false);
			buf_printf(&b, "} %d\n", state_of(n) == states[k]);
		}
	}
	family(&b, "orch_step_estimate_seconds", "gauge", "A step's estimate.");
	for (size_t i = 0; i < g->steps.n; i++) {
		struct node *n = g->steps.v[i];

		if (n->est_ms < 0)
			continue;
		buf_puts(&b, "orch_step_estimate_seconds{");
		step_labels(&b, n);
		buf_puts(&b, "}");
		seconds(&b, n->est_ms);
	}
	family(&b, "orch_step_duration_seconds", "gauge", "How long a done step took (its completion).");
	for (size_t i = 0; i < g->steps.n; i++) {
		struct node *n = g->steps.v[i];
		const struct jevent *e = history_event(j, state_history(n)->done);

		if (!e || e->duration_ms < 0)
			continue;
		buf_puts(&b, "orch_step_duration_seconds{");
		step_labels(&b, n);
		buf_puts(&b, "}");
		seconds(&b, e->duration_ms);
	}
	family(&b, "orch_phase_steps", "gauge", "Steps in a phase.");
	for (size_t i = 0; i < g->phases.n; i++) {
		struct node *ph = g->phases.v[i];

		buf_puts(&b, "orch_phase_steps{");
		label(&b, "phase", ph->name, true);
		buf_printf(&b, "} %u\n", ph->x->steps.n);
	}
	family(&b, "orch_phase_steps_done", "gauge", "Steps of a phase that are done (or skipped).");
	for (size_t i = 0; i < g->phases.n; i++) {
		struct node *ph = g->phases.v[i];
		size_t done = 0;

		for (size_t k = 0; k < ph->x->steps.n; k++)
			done += state_satisfied(ph->x->steps.v[k]);
		buf_puts(&b, "orch_phase_steps_done{");
		label(&b, "phase", ph->name, true);
		buf_printf(&b, "} %zu\n", done);
	}
	family(&b, "orch_milestone_reached", "gauge", "1 when a milestone is reached.");
	for (size_t i = 0; i < g->milestones.n; i++) {
		struct node *m = g->milestones.v[i];

		buf_puts(&b, "orch_milestone_reached{");
		label(&b, "milestone", m->name, true);
		buf_printf(&b, "} %d\n", state_satisfied(m));
	}
	family(&b, "orch_hold_seconds_left", "gauge", "What is left of a holding step's hold.");
	for (size_t i = 0; i < g->steps.n; i++) {
		struct node *n = g->steps.v[i];
		int64_t until = state_hold_until(n);

		if (until < 0)
			continue;
		buf_puts(&b, "orch_hold_seconds_left{");
		step_labels(&b, n);
		buf_puts(&b, "}");
		seconds(&b, until > now ? until - now : 0);
	}
	family(&b, "orch_hold_checks", "gauge", "Health checks of a holding step's hold, by result.");
	for (size_t i = 0; i < g->steps.n; i++) {
		struct node *n = g->steps.v[i];
		const struct history *h = state_history(n);

		if (state_of(n) != ST_HOLDING || !n->ro || !n->ro->check)
			continue;
		for (int pass = 0; pass < 2; pass++) {
			buf_puts(&b, "orch_hold_checks{");
			step_labels(&b, n);
			label(&b, "result", pass ? "failed" : "passed", false);
			buf_printf(&b, "} %d\n", pass ? h->checks_failed : h->checks_ok);
		}
	}
	family(&b, "orch_metric", "gauge", "The latest value of each metric a step, check or validate reported.");
	for (size_t i = 0; i < g->nodes.n; i++) {
		struct node *n = g->nodes.v[i];
		struct vec names = {0};

		/* newest first: the first of each name is its latest */
		for (size_t k = j ? journal_count(j) : 0; k-- > hs->from;) {
			const struct jevent *e = journal_event(j, k);
			struct metric m;
			bool seen = false;

			if (e->node != n || !metric_of(e, &m))
				continue;
			for (size_t x = 0; x < names.n && !seen; x++)
				seen = strcmp(names.v[x], m.name) == 0;
			if (seen)
				continue;
			vec_push(&names, xstrdup(m.name));
			buf_puts(&b, "orch_metric{");
			label(&b, "name", m.name, true);
			label(&b, "unit", m.unit, false);
			label(&b, "step", n->name, false);
			label(&b, "phase", n->phase ? n->phase->name : "", false);
			label(&b, "component", e->x->component, false);
			buf_printf(&b, "} %.17g\n", m.value);
		}
		for (size_t x = 0; x < names.n; x++)
			free(names.v[x]);
		vec_free(&names);
	}
	r = write_file_atomic(path, b.s ? b.s : "", b.len, false); /* replaced whole; a cache of the journal */
	if (r < 0)
		warn("cannot write the metrics to %s:", path);
	buf_free(&b);
	return r < 0 ? -1 : 0;
}
