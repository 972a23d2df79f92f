/* run.h — the engine: runs the steps a set of targets needs, independent steps in
 * parallel, recording every start and result in the journal. */
#ifndef ORCH_RUN_H
#define ORCH_RUN_H

#include <stdbool.h>

#include "graph.h"
#include "journal.h"

enum onfailure {
	ONFAIL_DEFAULT, /* ask on a terminal, else stop */
	ONFAIL_ASK,
	ONFAIL_STOP,
	ONFAIL_SKIP,
};

struct runopts {
	int jobs;          /* steps at once */
	int keepgoing;     /* stop after this many failures; 0 = never */
	enum onfailure onfailure;
	bool interactive;  /* stdin and stderr are terminals: ask at gates and failures */
	bool kill_orphans; /* stop a step an earlier orch left running, instead of waiting */
	bool restore;      /* rolling back: restore SQL steps' backups, not sql_rollback */
};

/* Steps that an earlier orch started and that still run (it died, they did not): wait
 * for each to end, saying so, or with O->kill_orphans stop it. Only the steps marked
 * MARK_SELECTED, or every step when ALL. Returns 0, or EXIT_INTERRUPTED. */
int run_orphans(struct graph *g, struct journal *j, bool all, const struct runopts *o);
/* Run what TARGETS (all when NTARGETS is 0) need. Returns an exit status of SPEC §2. */
int run_targets(struct graph *g, struct journal *j, struct node **targets, size_t ntargets, const struct runopts *o);
/* Roll back STEPS (completed steps), each after every step that needs it; among
 * independent ones the higher ORDER_MS first (by node id: when each completed).
 * Returns an exit status. */
int run_rollback(struct graph *g, struct journal *j, struct vec *steps, const int64_t *order_ms,
                 const struct runopts *o);

/* The phase or step a failed hold's on_fail = rollback asked to roll back once the run
 * ended (NULL: none); taken once. */
struct node *run_take_rollback(void);

#endif
