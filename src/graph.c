/* graph.c — steps, phases, milestones and pools; edges; targets; cycle check;
 * priorities and topological order. Every walk is iterative and linear in
 * steps + edges, so a plan of 100,000 steps in one chain costs no stack. */
#include "graph.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


const struct nodex nodex_default = {
	.timeout_ms = -1, .retry_delay_ms = -1, .lock_timeout_ms = -1, .statement_timeout_ms = -1};

struct nodex *node_x(struct node *n)
{
	if (n->x == &nodex_default) {
		struct nodex *x = xcalloc(1, sizeof(*x));

		*x = nodex_default;
		n->x = x;
	}
	return (struct nodex *)n->x;
}

/* Every graph ever made, so that one kept until exit stays reachable. */
static struct vec graphs;

static const char *node_key(const void *n)
{
	return ((const struct node *)n)->name;
}

static const char *pool_key(const void *p)
{
	return ((const struct pool *)p)->name;
}

struct graph *graph_new(const char *file, const char *dir)
{
	struct graph *g = xcalloc(1, sizeof(*g));
	const char *base = strrchr(dir, '/');

	table_init(&g->names, node_key);
	table_init(&g->poolnames, pool_key);

	g->file = xstrdup(file);
	g->dir = xstrdup(dir);
	g->name = xstrdup(base && base[1] ? base + 1 : dir);
	g->statedir = xstrdup(".orch");
	g->changelog = xstrdup("CHANGELOG.md"); /* [orch] changelog, "none" for none */
	g->lock_timeout_ms = g->statement_timeout_ms = -1;
	vec_push(&graphs, g);
	return g;
}

char *graph_strdup(struct graph *g, const char *s)
{
	return arena_strndup(&g->mem, s, strlen(s));
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

void graph_split_words(struct graph *g, const char *s, struct vec *out)
{
	size_t n = 0;
	const char *t;

	for (t = s; *t; t++) /* count the words, then take them */
		n += !is_blank(*t) && (t == s || is_blank(t[-1]));
	if (!n)
		return;
	out->v = arena_alloc(&g->mem, n * sizeof(*out->v));
	out->n = out->cap = n;
	n = 0;
	while (*s) {
		while (is_blank(*s))
			s++;
		for (t = s; *t && !is_blank(*t); t++)
			;
		if (t > s)
			out->v[n++] = arena_strndup(&g->mem, s, (size_t)(t - s));
		s = t;
	}
}

struct node *graph_add(struct graph *g, enum nodekind kind, const char *name, int line)
{
	/* one hash of the name; when it is taken, the copies stay unused in the arena */
	struct node *n = arena_alloc(&g->mem, sizeof(*n));

	n->name = graph_strdup(g, name);
	if (table_put(&g->names, n))
		return NULL;
	n->kind = kind;
	n->line = line;
	n->id = g->nodes.n;
	n->transaction = true;
	n->est_ms = -1;
	n->x = &nodex_default;
	vec_push(&g->nodes, n);
	if (kind == NODE_STEP)
		vec_push(&g->steps, n);
	else if (kind == NODE_PHASE)
		vec_push(&g->phases, n);
	else
		vec_push(&g->milestones, n);
	return n;
}

struct pool *graph_addpool(struct graph *g, const char *name, int line)
{
	struct pool *p = xcalloc(1, sizeof(*p));

	p->name = xstrdup(name);
	if (table_put(&g->poolnames, p)) {
		free(p->name);
		free(p);
		return NULL;
	}
	p->line = line;
	p->id = g->pools.n;
	p->depth = 1;
	vec_push(&g->pools, p);
	return p;
}

struct node *graph_find(struct graph *g, const char *name)
{
	return table_get(&g->names, name);
}

struct pool *graph_findpool(struct graph *g, const char *name)
{
	return table_get(&g->poolnames, name);
}

void graph_reservedeps(struct node *n, size_t more)
{
	if (n->depcap - n->ndeps < more) {
		n->depcap = n->ndeps + more;
		n->deps = xreallocarray(n->deps, n->depcap, sizeof(*n->deps));
	}
}

void graph_adddep(struct node *n, struct node *dep, int line, enum edgekind why)
{
	if (n->ndeps == n->depcap) {
		n->depcap = n->depcap ? n->depcap * 2 : 4;
		n->deps = xreallocarray(n->deps, n->depcap, sizeof(*n->deps));
	}
	n->deps[n->ndeps++] = (struct edge){dep, line, why};
}

struct node *graph_barrier(struct graph *g, struct node *phase)
{
	struct node *b;

	if (phase->x->barrier)
		return phase->x->barrier;
	b = arena_alloc(&g->mem, sizeof(*b));
	b->kind = NODE_PHASE;
	b->isbarrier = true;
	b->name = phase->name;
	b->title = phase->name;
	b->line = phase->line;
	b->number = phase->number;
	b->phase = phase;
	b->id = g->nodes.n;
	b->est_ms = -1;
	b->x = &nodex_default;
	vec_push(&g->nodes, b);
	node_x(phase)->barrier = b;
	return b;
}

const struct edge *graph_nextdep(struct depiter *it)
{
	const struct node *n = it->n;

	while (it->i < n->ndeps) {
		const struct node *d = n->deps[it->i].dep;

		if (!d->isbarrier) {
			it->j = 0;
			return &n->deps[it->i++];
		}
		if (it->j < d->ndeps)
			return &d->deps[it->j++];
		it->j = 0;
		it->i++;
	}
	return NULL;
}

/* Each node's users (reverse edges), in the graph's arena: exactly their size, no
 * allocation each. */
static void fill_users(struct graph *g)
{
	for (size_t i = 0; i < g->nodes.n; i++) {
		struct node *n = g->nodes.v[i];

		for (size_t j = 0; j < n->ndeps; j++)
			n->deps[j].dep->nusers++;
	}
	for (size_t i = 0; i < g->nodes.n; i++) {
		struct node *n = g->nodes.v[i];

		n->users = n->nusers ? arena_alloc(&g->mem, n->nusers * sizeof(*n->users)) : NULL;
		n->nusers = 0;
	}
	for (size_t i = 0; i < g->nodes.n; i++) {
		struct node *n = g->nodes.v[i];

		for (size_t j = 0; j < n->ndeps; j++) {
			struct node *d = n->deps[j].dep;

			d->users[d->nusers++] = n;
		}
	}
}

static int cmp_phase(const void *a, const void *b)
{
	const struct node *x = *(struct node *const *)a, *y = *(struct node *const *)b;

	if (x->number != y->number)
		return x->number < y->number ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* Report the cycle closed by the edge PATH[n-1] -> PATH[from], as declared: a barrier
 * on it is left out, the step's edge into it shown as the barrier's edge out. */
static void report_cycle(struct graph *g, struct node **path, size_t *edge, size_t from, size_t n)
{
	struct buf b = {0};
	size_t len = n - from, k = 0;

	while (k < len && path[from + k]->isbarrier)
		k++;
	for (size_t m = 0; m < len; m++) {
		const struct node *u = path[from + (k + m) % len];

		if (!u->isbarrier)
			buf_printf(&b, "%s -> ", u->name);
	}
	buf_puts(&b, path[from + k]->name);
	diag(g->file, path[from + k]->deps[edge[from + k]].line, "dependency cycle: %s", buf_str(&b));
	for (size_t m = 0; m < len; m++) {
		size_t i = from + (k + m) % len;
		const struct edge *e = &path[i]->deps[edge[i]];
		const char *verb;

		if (path[i]->isbarrier)
			continue;
		if (e->dep->isbarrier) {
			size_t next = from + (k + m + 1) % len;

			e = &path[next]->deps[edge[next]];
		}
		verb = e->why == EDGE_AFTER ? "runs after" : e->why == EDGE_PHASE ? "contains" : "needs";
		diag(g->file, e->line, "  %s %s %s %s", node_kindname(path[i]),
		        path[i]->name, verb, e->dep->name);
	}
	buf_free(&b);
}

/* Whether the cycle PATH[from..n-1] goes through a step's after edge while that step's
 * phase is on the cycle too: the phase's own after edge closes a shorter cycle through
 * the same phases, which is the one worth reading ("phase a runs after b"). POS is each
 * node's place on the path. */
static bool implied_cycle(struct node **path, const size_t *edge, const size_t *pos, size_t from, size_t n)
{
	for (size_t i = from; i < n; i++) {
		const struct node *u = path[i], *ph = u->phase;

		if (u->kind == NODE_STEP && u->deps[edge[i]].why == EDGE_AFTER && ph && ph->mark == MARK_SELECTED &&
		    pos[ph->id] >= from)
			return true;
	}
	return false;
}

/* Iterative depth-first search: MARK_NONE unvisited, MARK_SELECTED on the path,
 * MARK_FINISHED finished. Each back edge closes a cycle; with QUIET, one that
 * implied_cycle says another cycle tells better is counted in *IMPLIED, not reported. */
static int find_cycles(struct graph *g, bool quiet, size_t *implied)
{
	size_t n = g->nodes.n, depth;
	struct node **path = xcalloc(n, sizeof(*path));
	size_t *edge = xcalloc(n, sizeof(*edge));
	size_t *pos = xcalloc(n ? n : 1, sizeof(*pos));
	int cycles = 0;

	graph_clearmarks(g);
	for (size_t i = 0; i < n && cycles < 10; i++) {
		struct node *root = g->nodes.v[i];

		if (root->mark)
			continue;
		depth = 0;
		pos[root->id] = depth;
		path[depth] = root, edge[depth] = 0, depth++;
		root->mark = MARK_SELECTED;
		while (depth > 0) {
			struct node *u = path[depth - 1];
			struct node *v;

			if (edge[depth - 1] == u->ndeps) {
				u->mark = MARK_FINISHED;
				depth--;
				if (depth)
					edge[depth - 1]++;
				continue;
			}
			v = u->deps[edge[depth - 1]].dep;
			if (v->mark == MARK_NONE) {
				v->mark = MARK_SELECTED;
				pos[v->id] = depth;
				path[depth] = v, edge[depth] = 0, depth++;
				continue;
			}
			if (v->mark == MARK_SELECTED && cycles < 10) {
				size_t from = pos[v->id];

				if (quiet && implied_cycle(path, edge, pos, from, depth)) {
					(*implied)++;
				} else {
					report_cycle(g, path, edge, from, depth);
					cycles++;
				}
			}
			edge[depth - 1]++;
		}
	}
	free(path);
	free(edge);
	free(pos);
	graph_clearmarks(g);
	return cycles;
}

/* Kahn's algorithm over the users edges: the one topological order every pass over
 * the whole graph (signatures, priorities, the ETA) walks. */
static void toposort(struct graph *g)
{
	size_t n = g->nodes.n, head = 0, tail = 0;
	size_t *left = xcalloc(n ? n : 1, sizeof(*left));

	g->topo = xcalloc(n ? n : 1, sizeof(*g->topo));
	for (size_t i = 0; i < n; i++) {
		struct node *x = g->nodes.v[i];

		left[i] = x->ndeps;
		if (!x->ndeps)
			g->topo[tail++] = x;
	}
	while (head < tail) {
		struct node *x = g->topo[head++];

		for (size_t j = 0; j < x->nusers; j++)
			if (--left[x->users[j]->id] == 0)
				g->topo[tail++] = x->users[j];
	}
	free(left);
}

/* prio = own estimate + the longest prio among the nodes that need it, computed in
 * reverse topological order. */
static void compute_priorities(struct graph *g)
{
	for (size_t i = g->nodes.n; i-- > 0;) {
		struct node *x = g->topo[i];
		int64_t best = 0;

		for (size_t j = 0; j < x->nusers; j++)
			if (x->users[j]->prio_ms > best)
				best = x->users[j]->prio_ms;
		x->prio_ms = best + (x->est_ms > 0 ? x->est_ms : 0);
	}
}

int graph_finish(struct graph *g)
{
	size_t implied = 0;
	int cycles;

	if (g->phases.n) /* qsort wants a valid pointer even for no elements */
		qsort(g->phases.v, g->phases.n, sizeof(*g->phases.v), cmp_phase);
	cycles = find_cycles(g, true, &implied);
	if (!cycles && implied) /* never quiet about every cycle there is */
		cycles = find_cycles(g, false, &implied);
	if (cycles)
		return cycles;
	fill_users(g);
	toposort(g);
	compute_priorities(g);
	return 0;
}

int graph_target(struct graph *g, const char *target, struct node **out)
{
	struct node *n;

	*out = NULL;
	if (strcmp(target, "all") == 0)
		return 0;
	n = graph_find(g, target);
	if (!n && strncmp(target, "phase", 5) == 0) {
		long num = parse_count(target + 5, 1000000);

		for (size_t i = 0; num >= 0 && i < g->phases.n; i++)
			if (((struct node *)g->phases.v[i])->number == num)
				n = g->phases.v[i];
	}
	if (!n)
		return -1;
	*out = n;
	return 0;
}

size_t graph_select(struct graph *g, struct node **targets, size_t ntargets, enum mark mark)
{
	struct vec stack = {0};
	size_t steps = 0;

	for (size_t i = 0; i < ntargets && targets; i++)
		if (!targets[i])
			targets = NULL;
	if (!targets) {
		for (size_t i = 0; i < g->nodes.n; i++)
			((struct node *)g->nodes.v[i])->mark = mark;
		return g->steps.n;
	}
	for (size_t i = 0; i < ntargets; i++)
		if (targets[i]->mark != mark)
			targets[i]->mark = mark, vec_push(&stack, targets[i]);
	while (stack.n) {
		struct node *n = stack.v[--stack.n];

		if (n->kind == NODE_STEP)
			steps++;
		for (size_t j = 0; j < n->ndeps; j++) {
			struct node *d = n->deps[j].dep;

			if (d->mark != mark)
				d->mark = mark, vec_push(&stack, d);
		}
	}
	vec_free(&stack);
	return steps;
}

/* graph_order's ready node N: into the queue, or, a barrier, complete at once (it takes
 * no place of its own in the order, as the edges it stands for took none). */
static void order_ready(struct readyq *q, struct node *n, size_t *left, enum mark mark, struct vec *out)
{
	struct vec now = {0};

	if (!n->isbarrier) {
		readyq_push(q, n);
		return;
	}
	vec_push(&now, n);
	while (now.n) {
		struct node *b = now.v[--now.n];

		vec_push(out, b);
		for (size_t j = 0; j < b->nusers; j++) {
			struct node *u = b->users[j];

			if (u->mark == mark && --left[u->id] == 0) {
				if (u->isbarrier)
					vec_push(&now, u);
				else
					readyq_push(q, u);
			}
		}
	}
	vec_free(&now);
}

void graph_order(struct graph *g, enum mark mark, bool byphase, struct vec *out)
{
	size_t *left = xcalloc(g->nodes.n, sizeof(*left));
	struct readyq q = {0};
	struct node *n;

	q.byphase = byphase;
	for (size_t i = 0; i < g->nodes.n; i++) {
		n = g->nodes.v[i];
		if (n->mark != mark)
			continue;
		for (size_t j = 0; j < n->ndeps; j++)
			if (n->deps[j].dep->mark == mark)
				left[i]++;
		if (!left[i])
			order_ready(&q, n, left, mark, out);
	}
	while ((n = readyq_pop(&q))) {
		vec_push(out, n);
		for (size_t j = 0; j < n->nusers; j++) {
			struct node *u = n->users[j];

			if (u->mark == mark && --left[u->id] == 0)
				order_ready(&q, u, left, mark, out);
		}
	}
	readyq_free(&q);
	free(left);
}

/* graph_schedule's run: what each node waits for, the completed nodes that take no
 * turn, the ready queue. */
struct sched {
	const unsigned char *role;
	enum mark mark;
	size_t *pending;
	struct vec instant;
	struct readyq q;
};

static void sched_ready(struct sched *s, struct node *n)
{
	if (s->role[n->id] == SCHED_INSTANT)
		vec_push(&s->instant, n);
	else if (s->role[n->id] != SCHED_BLOCKED)
		readyq_push(&s->q, n);
}

static void sched_complete(struct sched *s, struct node *n)
{
	for (size_t j = 0; j < n->nusers; j++) {
		struct node *u = n->users[j];

		if (u->mark == s->mark && s->role[u->id] != SCHED_DONE && --s->pending[u->id] == 0)
			sched_ready(s, u);
	}
}

/* run.c's init_runtime, node_ready, drain_instant, start_ready and ask_gates, one job at
 * a time: the nodes that take no turn complete before the next turn is taken (the order
 * they complete in changes nothing: the queue's order is total). */
void graph_schedule(struct graph *g, enum mark mark, const unsigned char *role, struct vec *out)
{
	struct sched s = {role, mark, xcalloc(g->nodes.n ? g->nodes.n : 1, sizeof(size_t)), {0}, {0}};
	struct vec gates = {0};
	struct node *n;

	for (size_t i = 0; i < g->nodes.n; i++) {
		n = g->nodes.v[i];
		if (n->mark != mark || role[i] == SCHED_DONE)
			continue;
		for (size_t j = 0; j < n->ndeps; j++)
			s.pending[i] += role[n->deps[j].dep->id] != SCHED_DONE;
	}
	for (size_t i = 0; i < g->nodes.n; i++) {
		n = g->nodes.v[i];
		if (n->mark == mark && role[i] != SCHED_DONE && !s.pending[i])
			sched_ready(&s, n);
	}
	for (;;) {
		if (s.instant.n) {
			sched_complete(&s, s.instant.v[--s.instant.n]);
		} else if ((n = readyq_pop(&s.q))) {
			if (role[n->id] == SCHED_GATE) {
				vec_push(&gates, n);
				continue;
			}
			vec_push(out, n);
			sched_complete(&s, n);
		} else if (gates.n) {
			/* nothing else can start: the gates set aside are approved, in order */
			for (size_t i = 0; i < gates.n; i++) {
				vec_push(out, gates.v[i]);
				sched_complete(&s, gates.v[i]);
			}
			gates.n = 0;
		} else {
			break;
		}
	}
	readyq_free(&s.q);
	vec_free(&s.instant);
	vec_free(&gates);
	free(s.pending);
}

void graph_clearmarks(struct graph *g)
{
	for (size_t i = 0; i < g->nodes.n; i++)
		((struct node *)g->nodes.v[i])->mark = MARK_NONE;
}

const char *step_kindname(const struct node *n)
{
	static const char *names[] = {"run", "sql", "manual"};

	return names[n->stepkind];
}

const char *node_kindname(const struct node *n)
{
	static const char *names[] = {"step", "phase", "milestone"};

	return names[n->kind];
}

/* The phase number a node sorts by: a phase's own, a step's phase's, else after all. */
static int phase_rank(const struct node *n)
{
	if (n->kind == NODE_PHASE)
		return n->number;
	return n->phase ? n->phase->number : INT_MAX;
}

static bool before(const struct readyq *q, const struct node *a, const struct node *b)
{
	if (q->byphase && phase_rank(a) != phase_rank(b))
		return phase_rank(a) < phase_rank(b);
	int64_t ka = q->key_ms ? q->key_ms[a->id] : a->prio_ms, kb = q->key_ms ? q->key_ms[b->id] : b->prio_ms;

	if (ka != kb)
		return ka > kb;
	return a->id < b->id;
}

void readyq_push(struct readyq *q, struct node *n)
{
	size_t i;

	if (q->n == q->cap) {
		q->cap = q->cap ? q->cap * 2 : 16;
		q->v = xreallocarray(q->v, q->cap, sizeof(*q->v));
	}
	for (i = q->n++; i > 0 && before(q, n, q->v[(i - 1) / 2]); i = (i - 1) / 2)
		q->v[i] = q->v[(i - 1) / 2];
	q->v[i] = n;
}

struct node *readyq_pop(struct readyq *q)
{
	struct node *top, *last;
	size_t i = 0;

	if (!q->n)
		return NULL;
	top = q->v[0];
	last = q->v[--q->n];
	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= q->n)
			break;
		if (c + 1 < q->n && before(q, q->v[c + 1], q->v[c]))
			c++;
		if (!before(q, q->v[c], last))
			break;
		q->v[i] = q->v[c];
		i = c;
	}
	if (q->n)
		q->v[i] = last;
	return top;
}

void readyq_free(struct readyq *q)
{
	free(q->v);
	q->v = NULL;
	q->n = q->cap = 0;
}

const char *edge_kindname(enum edgekind k)
{
	static const char *names[] = {[EDGE_NEEDS] = "needs", [EDGE_AFTER] = "after", [EDGE_PHASE] = "phase"};

	return names[k];
}
