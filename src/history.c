/* history.c — the journal read once into one history per node: what each event kind
 * means for a node's past is decided here and nowhere else (state.c, status.c,
 * rollback.c, run.c and compaction read the summary). A reset forgets everything
 * before it. Linear in events. */
#include "history.h"

#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "util.h"

static const struct history empty = {.last = -1, .done = -1, .completion = -1, .start = -1, .finished = -1,
                                      .lost = -1, .anchor = -1, .hold = -1};

static void clear(struct histories *h)
{
	for (size_t i = 0; h->node && i < h->nnodes; i++)
		h->node[i] = empty;
	h->last = -1;
}

/* The per-node histories are made at the first event of a node: a plan never run
 * (or run only since a reset) costs none. */
static void need_nodes(struct histories *h)
{
	if (h->node)
		return;
	h->node = xcalloc(h->nnodes ? h->nnodes : 1, sizeof(*h->node));
	for (size_t i = 0; i < h->nnodes; i++)
		h->node[i] = empty; /* not clear(): the event being added is the last one */
}

const struct history *history_of(const struct histories *h, size_t id)
{
	return h->node ? &h->node[id] : &empty;
}

void history_add(struct histories *h, struct journal *j, size_t i)
{
	const struct jevent *e = journal_event(j, i);
	struct history *n;
	long at = (long)i;

	if (e->kind == EV_RESET) {
		clear(h);
		h->from = i + 1;
		return;
	}
	h->last = at;
	if (!e->node || e->kind == EV_METRIC) /* a metric is no part of a node's state */
		return;
	need_nodes(h);
	n = &h->node[e->node->id];
	n->last = at;
	/* a check is not an anchor: compaction keeps the hold it belongs to, and every check */
	if (e->kind != EV_START && e->kind != EV_ROLLBACK_START && e->kind != EV_CHECK)
		n->anchor = at;
	switch (e->kind) {
	case EV_START:
		n->attempts++;
		n->start = at;
		break;
	case EV_ROLLBACK_START:
		n->start = at;
		break;
	case EV_FAIL:
		n->failures++;
		break;
	case EV_OK:
	case EV_APPROVE:
		n->done = n->completion = n->finished = at;
		break;
	case EV_MILESTONE:
		n->done = n->completion = at;
		n->lost = -1;
		break;
	case EV_SKIP:
		n->finished = at;
		break;
	case EV_MILESTONE_LOST:
		n->lost = at;
		n->done = -1;
		break;
	case EV_FORCE:
	case EV_ROLLBACK_OK:
		n->done = -1;
		break;
	case EV_HOLD:
		n->hold = n->finished = at;
		n->checks_ok = n->checks_failed = n->check_streak = 0;
		break;
	case EV_CHECK:
		if (e->exit_status == 0 && !e->signal && !e->timed_out) {
			n->checks_ok++;
			n->check_streak = 0;
		} else {
			n->checks_failed++;
			n->check_streak++;
		}
		break;
	case EV_INTERRUPTED:
	case EV_ROLLBACK_FAIL:
	case EV_RESET:
	case EV_METRIC:
		break;
	}
}

void history_load(struct histories *h, struct graph *g, struct journal *j)
{
	h->nnodes = g->nodes.n;
	h->node = NULL;
	h->from = 0;
	clear(h);
	if (journal_count(j) > INT32_MAX)
		fatal("%s: the journal holds %zu events, more than orch can read (%d)",
		      g->file, journal_count(j), INT32_MAX);
	for (size_t i = 0, n = journal_count(j); i < n; i++)
		history_add(h, j, i);
}

void history_free(struct histories *h)
{
	free(h->node);
	memset(h, 0, sizeof(*h));
}

const struct jevent *history_event(struct journal *j, long i)
{
	return i < 0 ? NULL : journal_event(j, (size_t)i);
}

int64_t history_live(const struct histories *h, struct journal *j, bool *live)
{
	int64_t bytes = 0;

	for (size_t i = h->from, n = journal_count(j); i < n; i++) {
		const struct jevent *e = journal_event(j, i);
		const struct history *s;

		if (!e->node || e->kind == EV_METRIC) {
			live[i] = true; /* a node no longer in the Orchfile, a metric: keep its history */
		} else {
			s = history_of(h, e->node->id);
			live[i] = (long)i == s->completion || s->anchor < 0 || (long)i >= s->anchor;
		}
		if (live[i])
			bytes += (int64_t)e->len + 1;
	}
	return bytes;
}

bool history_log_here(const struct jevent *e)
{
	char mark[256], line[4096];
	bool found = false;
	FILE *f;

	if (!e || !e->x->log || !e->x->run || !(f = fopen(e->x->log, "r")))
		return false;
	/* run.c's open_log: "=== step NAME: run RUN, attempt N, WHEN ===" */
	snprintf(mark, sizeof(mark), ": run %s, attempt %d, ", e->x->run, e->attempt);
	while (!found && fgets(line, sizeof(line), f))
		found = strncmp(line, "=== ", 4) == 0 && strstr(line, mark);
	fclose(f);
	return found;
}

const char *history_log(const struct jevent *e)
{
	if (!e || !e->x->log || (e->kind != EV_START && e->kind != EV_ROLLBACK_START))
		return e ? e->x->log : NULL;
	return history_log_here(e) ? e->x->log : NULL;
}
