/* record.h — the one place a node's result is recorded: its journal event (with the
 * signature, and for a completion its parts), its history and state in memory, and
 * the line the user reads. The engine, the prompts, the gates,
 * rollback and the journal actions all go through it. */
#ifndef ORCH_RECORD_H
#define ORCH_RECORD_H

#include <stddef.h>

#include "graph.h"
#include "journal.h"

enum result {
	RESULT_START,          /* an attempt started */
	RESULT_ROLLBACK_START, /* a rollback started */
	RESULT_OK,             /* the step succeeded */
	RESULT_REGISTRY,       /* applied according to the database registry: done */
	RESULT_FAIL,           /* the step failed (a milestone: its validate failed) */
	RESULT_RETRYING,       /* it failed, and another attempt follows */
	RESULT_INTERRUPTED,    /* orch was stopped while it ran */
	RESULT_SKIP,           /* --skip */
	RESULT_SKIP_FAILED,    /* skipped after it failed (--on-failure skip, the prompt) */
	RESULT_APPROVE,        /* a gate approved */
	RESULT_FORCE,          /* --force: it runs again next time */
	RESULT_FORGET,         /* --rollback --force: completed, no rollback, forgotten */
	RESULT_ROLLBACK_OK,    /* rolled back */
	RESULT_RESTORED,       /* --restore: its backup tables restored, no longer done */
	RESULT_UNAPPROVE,      /* a gate rolled back: its approval taken back */
	RESULT_UNSKIP,         /* a skipped step rolled back: the skip taken back */
	RESULT_ROLLBACK_FAIL,  /* its rollback failed: it stays done */
	RESULT_ROLLBACK_INTERRUPTED, /* orch was stopped while it rolled back: still to roll back */
	RESULT_MILESTONE,      /* a milestone reached */
	RESULT_MILESTONE_LOST, /* a milestone no longer holds */
	RESULT_ACCEPT,         /* --accept: a changed applied file recorded as applied */
	RESULT_BASELINE,       /* --baseline: recorded as applied without running */
	RESULT_HOLD,           /* its run succeeded and it holds (hold = ...) */
	RESULT_CHECK_OK,       /* a health check passed while it holds */
	RESULT_CHECK_FAIL,     /* a health check failed while it holds */
	RESULT_PROMOTE,        /* --promote: its hold ended early, done */
	RESULT_ABORT,          /* --abort: its hold ended as failed */
	RESULT_METRIC,         /* a metric reported (O's message: NAME=VALUE [UNIT]) */
};

/* The engine's counters, for the "[3/10]" of its lines. */
struct progress {
	size_t finished, total;
};

/* Where results go: the plan, its journal (locked), and the engine's counters (NULL
 * outside a run: the lines are then an action's). */
struct recorder {
	struct graph *g;
	struct journal *j;
	const struct progress *p;
};

/* Record result RES of N: the journal event (O may be NULL; its signature and parts
 * are filled in here), the history, the state. The line is said by
 * record_say once the event is synced. Returns 0, or -1 after a write error. */
int record(struct recorder *r, struct node *n, enum result res, const struct outcome *o);
/* Print the line for result RES of N (O may be NULL: no duration, no detail). */
void record_say(struct recorder *r, struct node *n, enum result res, const struct outcome *o);

#endif
