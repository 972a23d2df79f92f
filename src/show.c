/* show.c — read-only views of a plan: --list (text and JSON), --graph (DOT), the dry
 * run's listing (-n) and what would run (-q), and the tools -t targets, -t commands and
 * -t query. */
#include "show.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "jout.h"
#include "state.h"

static const char *phase_name(const struct node *n)
{
	return n->phase ? n->phase->name : "-";
}

static char *estimate(const struct node *n, char *buf, size_t len)
{
	if (n->est_ms < 0)
		snprintf(buf, len, "-");
	else
		format_duration(n->est_ms, buf, len);
	return buf;
}

static json_t *names_of(struct edge *deps, size_t n, enum edgekind why)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		if (deps[i].why == why)
			json_array_append_new(a, json_string(deps[i].dep->name));
	return a;
}

/* The phases a phase runs after, as the Orchfile names them. */
static json_t *phase_after_json(const struct node *n)
{
	json_t *after = json_array();

	/* as its steps see them (a phase without steps shows none) */
	if (n->x->steps.n)
		for (size_t j = 0; j < n->ndeps; j++)
			if (n->deps[j].why == EDGE_AFTER)
				json_array_append_new(after, json_string(n->deps[j].dep->name));
	return after;
}

/* --list --json, one step (one phase, one milestone) built, written and freed at a time. */
static void list_json(struct graph *g, FILE *f)
{
	struct jout out;

	jout_init(&out, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	jout_open(&out, '{');
	jout_set(&out, "plan", json_string(g->name));
	jout_set(&out, "file", json_string(g->file));
	jout_key(&out, "steps");
	jout_open(&out, '[');
	for (size_t i = 0; i < g->steps.n; i++) {
		struct node *n = g->steps.v[i];

		jout_open(&out, '{');
		jout_str(&out, "name", n->name);
		jout_str(&out, "title", n->title);
		jout_str(&out, "phase", n->phase ? n->phase->name : NULL);
		jout_key(&out, "needs");
		jout_open(&out, '[');
		for (size_t j = 0; j < n->ndeps; j++)
			if (n->deps[j].why == EDGE_NEEDS)
				jout_str(&out, NULL, n->deps[j].dep->name);
		jout_close(&out, ']');
		if (n->est_ms < 0)
			jout_null(&out, "estimate_s");
		else
			jout_int(&out, "estimate_s", n->est_ms / 1000);
		jout_bool(&out, "manual", n->stepkind == STEP_MANUAL);
		jout_str(&out, "kind", step_kindname(n));
		jout_int(&out, "line", (int64_t)n->line);
		jout_close(&out, '}');
	}
	jout_close(&out, ']');
	jout_key(&out, "phases");
	jout_open(&out, '[');
	for (size_t i = 0; i < g->phases.n; i++) {
		struct node *n = g->phases.v[i];
		int64_t est = 0;

		jout_open(&out, '{');
		jout_set(&out, "name", json_string(n->name));
		jout_set(&out, "number", json_integer(n->number));
		jout_set(&out, "target", json_sprintf("phase%d", n->number));
		jout_set(&out, "title", json_string(n->title));
		jout_set(&out, "after", phase_after_json(n));
		jout_key(&out, "steps");
		jout_open(&out, '[');
		for (size_t j = 0; j < n->x->steps.n; j++) {
			struct node *st = n->x->steps.v[j];

			jout_str(&out, NULL, st->name);
			est += st->est_ms > 0 ? st->est_ms : 0;
		}
		jout_close(&out, ']');
		jout_set(&out, "estimate_s", json_integer(est / 1000));
		jout_close(&out, '}');
	}
	jout_close(&out, ']');
	jout_key(&out, "milestones");
	jout_open(&out, '[');
	for (size_t i = 0; i < g->milestones.n; i++) {
		struct node *n = g->milestones.v[i];
		json_t *o = json_object();

		json_object_set_new(o, "name", json_string(n->name));
		json_object_set_new(o, "title", json_string(n->title));
		json_object_set_new(o, "needs", names_of(n->deps, n->ndeps, EDGE_NEEDS));
		json_object_set_new(o, "validate", json_boolean(n->x->validate != NULL));
		jout_value(&out, o);
	}
	jout_close(&out, ']');
	jout_close(&out, '}');
}

static int width(struct vec *nodes, int min)
{
	int w = min;

	for (size_t i = 0; i < nodes->n; i++) {
		int len = (int)strlen(((struct node *)nodes->v[i])->name);

		if (len > w)
			w = len;
	}
	return w;
}

void show_list(struct graph *g, bool json, FILE *out)
{
	char est[32];
	int w, pw;

	if (json) {
		list_json(g, out);
		fputc('\n', out);
		return;
	}
	fprintf(out, "plan %s: %u step%s, %u phase%s, %u milestone%s\n", g->name, g->steps.n,
	        g->steps.n == 1 ? "" : "s", g->phases.n, g->phases.n == 1 ? "" : "s", g->milestones.n,
	        g->milestones.n == 1 ? "" : "s");
	w = width(&g->steps, 4);
	pw = width(&g->phases, 12);
	fprintf(out, "\nsteps:\n");
	for (size_t i = 0; i < g->steps.n; i++) {
		struct node *n = g->steps.v[i];

		fprintf(out, "  %-*s  %-*s %-6s %6s  %s\n", w, n->name, pw, phase_name(n), step_kindname(n),
		        estimate(n, est, sizeof(est)), n->title);
	}
	if (g->phases.n)
		fprintf(out, "\nphases:\n");
	for (size_t i = 0; i < g->phases.n; i++) {
		struct node *n = g->phases.v[i];
		char target[32];

		snprintf(target, sizeof(target), "phase%d", n->number);
		fprintf(out, "  %-8s %-*s %3u step%s  %s\n", target, pw + 2, n->name, n->x->steps.n,
		        n->x->steps.n == 1 ? " " : "s", n->title);
	}
	if (g->milestones.n)
		fprintf(out, "\nmilestones:\n");
	w = width(&g->milestones, 2);
	for (size_t i = 0; i < g->milestones.n; i++) {
		struct node *n = g->milestones.v[i];

		fprintf(out, "  %-*s  %s\n", w, n->name, n->title);
	}
}

char *dot_quote(const char *s)
{
	struct buf b = {0};

	buf_putc(&b, '"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			buf_putc(&b, '\\');
		if (*s == '\n')
			buf_puts(&b, "\\n");
		else
			buf_putc(&b, *s);
	}
	buf_putc(&b, '"');
	return b.s;
}

static bool shown(const struct node *n, enum mark mark)
{
	return mark == MARK_NONE || n->mark == mark;
}

/* The colours of --graph --state, by the words of status_words. */
static const struct {
	const char *word, *fill;
} state_colours[] = {
	{"done", "#b7e4a7"},   {"running", "#9ecae1"},     {"failed", "#f4a09c"},  {"stale", "#f7e08b"},
	{"changed", "#f7c56b"}, {"waiting", "#d9b3e6"},    {"skipped", "#d9d9d9"},
	{"holding", "#a6e3e0"},     {"interrupted", "#f7b26b"}, {"rollback-interrupted", "#f2b6d2"},
	{"todo", "#ffffff"},
};

static const char *fill_of(const char *word)
{
	for (size_t i = 0; i < sizeof(state_colours) / sizeof(state_colours[0]); i++)
		if (strcmp(word, state_colours[i].word) == 0)
			return state_colours[i].fill;
	return "#ffffff";
}

/* TEXT cut into lines of about WIDTH characters at blanks, into B. */
static void wrap(struct buf *b, const char *text, size_t width)
{
	size_t col = 0;

	for (const char *w = text; *w;) {
		size_t len = strcspn(w, " ");

		if (col && col + 1 + len > width) {
			buf_putc(b, '\n');
			col = 0;
		} else if (col) {
			buf_putc(b, ' ');
			col++;
		}
		buf_add(b, w, len);
		col += len;
		w += len;
		w += strspn(w, " ");
	}
}

static void dot_node(const struct node *n, FILE *out, const char *indent, const char *word)
{
	char *id = dot_quote(n->name);
	struct buf label = {0};
	char *ql;
	const char *shape = n->kind == NODE_MILESTONE ? "diamond" :
	                    n->stepkind == STEP_MANUAL ? "octagon" :
	                    n->stepkind == STEP_SQL ? "cylinder" : "box";

	buf_puts(&label, n->name);
	if (n->kind == NODE_MILESTONE || strcmp(n->name, n->title)) {
		buf_putc(&label, '\n');
		wrap(&label, n->title, 24);
	}
	if (word) {
		buf_printf(&label, "\n(%s)", word);
	}
	ql = dot_quote(buf_str(&label));
	fprintf(out, "%s%s [label=%s, shape=%s", indent, id, ql, shape);
	if (word)
		fprintf(out, ", style=filled, fillcolor=\"%s\"", fill_of(word));
	fprintf(out, "];\n");
	free(id);
	buf_free(&label);
	free(ql);
}

/* --graph --state: what each colour means. */
static void dot_legend(FILE *out)
{
	fprintf(out, "  subgraph cluster_legend {\n    label=\"state\";\n    node [shape=box, style=filled];\n");
	for (size_t i = 0; i < sizeof(state_colours) / sizeof(state_colours[0]); i++)
		fprintf(out, "    \"legend %s\" [label=\"%s\", fillcolor=\"%s\"];\n", state_colours[i].word,
		        state_colours[i].word, state_colours[i].fill);
	/* one row */
	fprintf(out, "    { rank=same;");
	for (size_t i = 0; i < sizeof(state_colours) / sizeof(state_colours[0]); i++)
		fprintf(out, " \"legend %s\";", state_colours[i].word);
	fprintf(out, " }\n  }\n");
}

static char *cluster_id(const struct node *ph)
{
	char *s = xasprintf("cluster_%s", ph->name);
	char *q = dot_quote(s);

	free(s);
	return q;
}

/* An edge into the phase P is drawn from its first step, clipped at the cluster. */
static void dot_edge(const struct node *from, const struct node *to, FILE *out)
{
	const struct node *a = from, *b = to;
	char *qa, *qb, *ca = NULL, *cb = NULL;

	if (from->kind == NODE_PHASE) {
		if (!from->x->steps.n)
			return;
		a = from->x->steps.v[0];
		ca = cluster_id(from);
	}
	if (to->kind == NODE_PHASE) {
		if (!to->x->steps.n)
			return;
		b = to->x->steps.v[0];
		cb = cluster_id(to);
	}
	qa = dot_quote(a->name);
	qb = dot_quote(b->name);
	fprintf(out, "  %s -> %s", qa, qb);
	if (ca || cb) {
		fprintf(out, " [");
		if (ca)
			fprintf(out, "ltail=%s%s", ca, cb ? ", " : "");
		if (cb)
			fprintf(out, "lhead=%s", cb);
		fprintf(out, "]");
	}
	fprintf(out, ";\n");
	free(qa);
	free(qb);
	free(ca);
	free(cb);
}

void show_dot(struct graph *g, enum mark mark, FILE *out, const char **words)
{
	const struct edge *e;
	char *name = dot_quote(g->name);

	/* top to bottom, phases in order, titles wrapped: a plan of 30-odd steps fits a page */
	fprintf(out, "digraph %s {\n  compound=true;\n  newrank=true;\n  rankdir=TB;\n  ranksep=0.35;\n"
	             "  nodesep=0.25;\n  node [fontname=\"Helvetica\", fontsize=10];\n",
	        name);
	free(name);
	if (words)
		dot_legend(out);
	for (size_t i = 0; i < g->phases.n; i++) {
		struct node *ph = g->phases.v[i];
		char *qc = cluster_id(ph);
		char *label = xasprintf("%d. %s", ph->number, ph->title), *ql = dot_quote(label);
		bool any = false;

		for (size_t j = 0; j < ph->x->steps.n; j++)
			any |= shown(ph->x->steps.v[j], mark);
		if (any) {
			fprintf(out, "  subgraph %s {\n    label=%s;\n", qc, ql);
			for (size_t j = 0; j < ph->x->steps.n; j++)
				if (shown(ph->x->steps.v[j], mark))
					dot_node(ph->x->steps.v[j], out, "    ", words ? words[((struct node *)ph->x->steps.v[j])->id] : NULL);
			fprintf(out, "  }\n");
		}
		free(qc), free(label), free(ql);
	}
	for (size_t i = 0; i < g->nodes.n; i++) {
		struct node *n = g->nodes.v[i];

		if (shown(n, mark) && n->kind != NODE_PHASE && !(n->kind == NODE_STEP && n->phase))
			dot_node(n, out, "  ", words ? words[n->id] : NULL);
	}
	for (size_t i = 0; i < g->nodes.n; i++) {
		struct node *n = g->nodes.v[i];

		if (!shown(n, mark) || n->kind == NODE_PHASE)
			continue;
		for (struct depiter it = {.n = n}; (e = graph_nextdep(&it));) {
			/* one edge per phase barrier, drawn between the clusters */
			if (e->why == EDGE_AFTER && n->phase && n->phase->x->steps.v[0] != n)
				continue;
			if (shown(e->dep, mark))
				dot_edge(e->dep, e->why == EDGE_AFTER ? n->phase : n, out);
		}
	}
	/* phases one under the other, in their order: an unseen edge from each phase's last
	 * step to the next phase's first */
	for (size_t i = 1; i < g->phases.n; i++) {
		struct node *a = g->phases.v[i - 1], *b = g->phases.v[i];
		char *qa, *qb;

		if (!a->x->steps.n || !b->x->steps.n || !shown(a->x->steps.v[a->x->steps.n - 1], mark) || !shown(b->x->steps.v[0], mark))
			continue;
		qa = dot_quote(((struct node *)a->x->steps.v[a->x->steps.n - 1])->name);
		qb = dot_quote(((struct node *)b->x->steps.v[0])->name);
		fprintf(out, "  %s -> %s [style=invis, weight=5];\n", qa, qb);
		free(qa);
		free(qb);
	}
	fprintf(out, "}\n");
}

/* How each selected node takes part in the run, as run.c's init_runtime and node_ready
 * decide: a satisfied step is done from the start, unless it has inputs that something
 * upstream runs first and may rewrite (then it is checked again when it is ready, and
 * taken here to be still satisfied); a milestone with a validate to pass is a job; one
 * that a skipped step holds back is not reached, and what needs it waits. */
static unsigned char *dry_roles(struct graph *g)
{
	unsigned char *role = xcalloc(g->nodes.n ? g->nodes.n : 1, 1);
	unsigned char *plan = xcalloc(g->nodes.n ? g->nodes.n : 1, 1);

	state_start_plan(g, plan); /* as the engine starts */
	for (size_t i = 0; i < g->nodes.n; i++) {
		struct node *n = g->nodes.v[i];

		if (n->mark != MARK_SELECTED)
			continue;
		if (n->kind == NODE_PHASE)
			role[n->id] = SCHED_INSTANT;
		else if (n->kind == NODE_MILESTONE)
			role[n->id] = state_milestone_blocked(n)               ? SCHED_BLOCKED
			              : n->x->validate && !state_satisfied(n) ? SCHED_JOB
			                                                     : SCHED_INSTANT;
		else if (plan[n->id] == START_DONE)
			role[n->id] = SCHED_DONE;
		else
			role[n->id] = plan[n->id] == START_RECHECK ? SCHED_INSTANT
			              : n->stepkind == STEP_MANUAL  ? SCHED_GATE
			                                            : SCHED_JOB;
	}
	free(plan);
	return role;
}

/* The milestones a skipped step holds back, and the steps that would not run for
 * waiting on them (selected, not satisfied, and not in ORDER). */
static void dry_held(struct graph *g, const unsigned char *role, struct vec *order)
{
	bool *ordered = xcalloc(g->nodes.n ? g->nodes.n : 1, sizeof(*ordered));
	struct buf waiting = {0};
	size_t nwaiting = 0, nheld = 0;

	for (size_t i = 0; i < order->n; i++)
		ordered[((struct node *)order->v[i])->id] = true;
	for (size_t i = 0; i < g->milestones.n; i++) {
		struct node *m = g->milestones.v[i];

		if (m->mark == MARK_SELECTED && role[m->id] == SCHED_BLOCKED) {
			printf("milestone %s would not be reached: %s\n", m->name, state_reason(m));
			nheld++;
		}
	}
	for (size_t i = 0; i < g->steps.n; i++) {
		struct node *n = g->steps.v[i];

		if (n->mark == MARK_SELECTED && !state_satisfied(n) && !ordered[n->id]) {
			buf_printf(&waiting, " %s", n->name);
			nwaiting++;
		}
	}
	if (nwaiting)
		printf("%zu step%s would wait for %s and not run:%s\n", nwaiting, nwaiting == 1 ? "" : "s",
		       nheld == 1 ? "it" : "them", buf_str(&waiting));
	buf_free(&waiting);
	free(ordered);
}

static bool untitled(const struct node *n)
{
	return !n->title || !*n->title || strcmp(n->title, n->name) == 0;
}

int show_dry(struct graph *g, struct node **targets, size_t ntargets)
{
	struct vec order = {0};
	const struct node *phase = NULL;
	unsigned char *role;
	int64_t est = 0;
	size_t count = 0, uptodate = 0;
	bool first = true;
	char buf[32];
	int width = 24;

	graph_clearmarks(g);
	graph_select(g, ntargets ? targets : NULL, ntargets, MARK_SELECTED);
	role = dry_roles(g);
	/* the order a run at -j 1 starts the steps in (and approves the gates) */
	graph_schedule(g, MARK_SELECTED, role, &order);
	for (size_t i = 0; i < g->steps.n; i++) {
		struct node *n = g->steps.v[i];

		if (n->mark == MARK_SELECTED && state_satisfied(n))
			uptodate++;
	}
	/* names in one column, as wide as the longest (24 at least: the usual plan's
	 * columns do not move when a long Flyway or sqitch name comes along) */
	for (size_t i = 0; i < order.n; i++) {
		struct node *n = order.v[i];

		if (n->kind == NODE_STEP && (int)strlen(n->name) > width)
			width = (int)strlen(n->name);
	}
	for (size_t i = 0; i < order.n; i++) {
		struct node *n = order.v[i];

		if (n->kind != NODE_STEP)
			continue;
		if (first || n->phase != phase) {
			if (n->phase)
				printf("%sphase %d %s: %s\n", first ? "" : "\n", n->phase->number, n->phase->name,
				       n->phase->title);
			else
				printf("%s(no phase)\n", first ? "" : "\n");
			phase = n->phase;
			first = false;
		}
		/* an untitled step's title is its name: said once */
		printf("  %-*s %-6s %6s  %s%s(%s)\n", width, n->name, step_kindname(n),
		       n->est_ms < 0 ? "-" : format_duration(n->est_ms, buf, sizeof(buf)), untitled(n) ? "" : n->title,
		       untitled(n) ? "" : "  ", state_reason(n));
		est += n->est_ms > 0 ? n->est_ms : 0;
		count++;
	}
	printf("%s%zu step%s would run, estimated %s; %zu up to date\n", count ? "\n" : "", count,
	       count == 1 ? "" : "s", format_duration(est, buf, sizeof(buf)), uptodate);
	dry_held(g, role, &order);
	free(role);
	vec_free(&order);
	return EXIT_DONE;
}

size_t show_pending(struct graph *g, struct node **targets, size_t ntargets, struct vec *out)
{
	struct vec order = {0};
	size_t before = out->n;

	graph_clearmarks(g);
	graph_select(g, ntargets ? targets : NULL, ntargets, MARK_SELECTED);
	graph_order(g, MARK_SELECTED, true, &order);
	for (size_t i = 0; i < order.n; i++) {
		struct node *n = order.v[i];

		if (n->kind == NODE_STEP && !state_satisfied(n))
			vec_push(out, n);
	}
	vec_free(&order);
	return out->n - before;
}

void show_targets(struct graph *g, FILE *out)
{
	for (size_t i = 0; i < g->steps.n; i++)
		fprintf(out, "%s\n", ((struct node *)g->steps.v[i])->name);
	for (size_t i = 0; i < g->phases.n; i++) {
		struct node *n = g->phases.v[i];

		fprintf(out, "%s\nphase%d\n", n->name, n->number);
	}
	for (size_t i = 0; i < g->milestones.n; i++)
		fprintf(out, "%s\n", ((struct node *)g->milestones.v[i])->name);
	fprintf(out, "all\n");
}

/* "# NAME (KEY)" and the value of KEY, a command or a file, line by line. */
static void command(const struct node *n, const char *key, const char *value, FILE *out)
{
	size_t len;

	if (!value)
		return;
	len = strlen(value);
	fprintf(out, "# %s (%s)\n%s%s", n->name, key, value, len && value[len - 1] == '\n' ? "" : "\n");
}

void show_commands(struct graph *g, struct node **targets, size_t ntargets, FILE *out)
{
	struct vec order = {0};

	graph_clearmarks(g);
	graph_select(g, ntargets ? targets : NULL, ntargets, MARK_SELECTED);
	graph_order(g, MARK_SELECTED, true, &order);
	for (size_t i = 0; i < order.n; i++) {
		struct node *n = order.v[i];

		if (n->kind == NODE_MILESTONE) {
			command(n, "validate", n->x->validate, out);
		} else if (n->kind == NODE_STEP && n->stepkind == STEP_MANUAL) {
			fprintf(out, "# %s (manual)\n", n->name);
		} else if (n->kind == NODE_STEP) {
			command(n, "run", n->run, out);
			command(n, "sql", n->sql, out);
			command(n, "sql_verify", n->x->sql_verify, out);
			command(n, "verify", n->x->verify, out);
		}
	}
	vec_free(&order);
}

static void query_edge(const struct node *n, const struct edge *e, FILE *out)
{
	fprintf(out, "    %s %s (%s)\n", node_kindname(n), n->name, edge_kindname(e->why));
}

void show_query(struct graph *g, const struct node *n, FILE *out)
{
	const struct edge *e;
	bool any = false;

	if (n->kind == NODE_STEP && n->phase)
		fprintf(out, "%s: %s %s in phase %s: %s\n", n->name, step_kindname(n), node_kindname(n),
		        n->phase->name, n->title);
	else if (n->kind == NODE_STEP)
		fprintf(out, "%s: %s %s: %s\n", n->name, step_kindname(n), node_kindname(n), n->title);
	else if (n->kind == NODE_PHASE)
		fprintf(out, "%s: phase%d: %s\n", n->name, n->number, n->title);
	else
		fprintf(out, "%s: milestone: %s\n", n->name, n->title);
	fprintf(out, "  needs:\n");
	for (struct depiter it = {.n = n}; (e = graph_nextdep(&it)); any = true)
		query_edge(e->dep, e, out);
	if (!any)
		fprintf(out, "    nothing\n");
	any = false;
	fprintf(out, "  needed by:\n");
	for (size_t i = 0; i < g->nodes.n; i++) {
		struct node *u = g->nodes.v[i];

		if (u->isbarrier)
			continue; /* its steps say it */
		for (struct depiter it = {.n = u}; (e = graph_nextdep(&it));)
			if (e->dep == n)
				query_edge(u, e, out), any = true;
	}
	if (!any)
		fprintf(out, "    nothing\n");
}
