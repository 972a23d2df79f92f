/* history.h — the journal read once: for every node, what each reader needs to know
 * of its past (last event, the completion in force, attempts, failures, milestones
 * reached and lost), counted from the last reset. The one place that knows what each
 * event kind means for a node's history. */
#ifndef ORCH_HISTORY_H
#define ORCH_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "graph.h"
#include "journal.h"

/* One node's history. Events are journal indexes (journal_event), -1 when none; 32
 * bits each (a journal of more than 2^31 events is refused), as a million nodes have one. */
struct history {
	int32_t last;       /* its last event */
	int32_t done;       /* the completion in force (ok, approve, milestone): not undone by a
	                  * later force, rollback-ok or milestone-lost */
	int32_t completion; /* its last completion, even one undone since (a milestone's last
	                  * "reached"; compaction keeps it) */
	int32_t start;      /* its last start or rollback-start */
	int32_t finished;   /* its last ok, approve or skip: when it was last completed, which
	                  * orders a rollback newest first */
	int32_t lost;       /* a milestone's last milestone-lost */
	int32_t anchor;     /* its last event other than a start: what decides its state */
	int32_t hold;       /* its last hold: while it is the last event but checks, it holds */
	int attempts;    /* starts */
	int failures;    /* failed attempts */
	int checks_ok, checks_failed; /* health checks since that hold */
	int check_streak; /* consecutive failed checks, the last ones */
};

/* The histories of every node of a plan. */
struct histories {
	struct history *node; /* by node id; NULL until a node has an event (history_of) */
	size_t nnodes;
	size_t from;          /* the first event after the last reset */
	long last;            /* the last event since the last reset, of any node, -1 */
};

/* Read J (NULL: no journal) once into H for the nodes of G. */
void history_load(struct histories *h, struct graph *g, struct journal *j);
/* Take the event at index I of J, just appended, into H. */
void history_add(struct histories *h, struct journal *j, size_t i);
/* Free what history_load allocated. */
void history_free(struct histories *h);
/* The history of the node with id ID (one with no event yet: every event -1, counts 0). */
const struct history *history_of(const struct histories *h, size_t id);
/* The event at index I of J, or NULL when I is -1. */
const struct jevent *history_event(struct journal *j, long i);
/* The log of E's attempt, or NULL: an end event names it only when the attempt wrote
 * one; a start event (a step running, or left by an orch that is gone) names the path
 * before anything is written, so it counts only once the file holds that attempt's
 * header: the file holds every attempt, and an attempt that printed nothing has none. */
const char *history_log(const struct jevent *e);
/* Whether E's log file is on this machine and holds E's attempt (its header): a step a
 * worker or another machine's orch ran has its log there, not here. */
bool history_log_here(const struct jevent *e);
/* Mark in LIVE (one bool per event of J) the events that decide some node's state, the
 * ones compaction keeps; returns the bytes they take in the file. */
int64_t history_live(const struct histories *h, struct journal *j, bool *live);

#endif
