/* state.h — what is done and what is stale: each step's signature (XXH3-128 of its
 * expanded definition, its inputs' contents and its dependencies' signatures) compared
 * with the one its last success recorded in the journal. */
#ifndef ORCH_STATE_H
#define ORCH_STATE_H

#include <stdbool.h>

#include "graph.h"
#include "history.h"
#include "journal.h"

enum stepstate {
	ST_NOTRUN,        /* never completed */
	ST_DONE,        /* success recorded, signature matches, outputs present */
	ST_STALE,       /* completed, but something changed since (see the reason) */
	ST_FAILED,      /* last attempt failed */
	ST_INTERRUPTED, /* was running when orch stopped or died */
	ST_SKIPPED,     /* marked skipped: counts as done for its dependents */
	ST_CHANGED,     /* applied, changed since, and on_change = error: refuse to go on */
	ST_ROLLBACK_INTERRUPTED, /* its rollback started and did not finish: still to roll back */
	ST_HOLDING,     /* its run succeeded and it holds (hold = ...): done when the hold ends */
};

/* Compute every node's signature from the Orchfile and the files on disk, and decide
 * each step's state from the journal J. */
void state_load(struct graph *g, struct journal *j);
/* state_load for the NROOTS nodes ROOTS and everything they need, transitively (their
 * upstream cone, through phase barriers: graph_select, whose marks it leaves), the rest
 * left without a state (state_of: "never run"; changes in the cone are not passed down
 * to it). Enough to record an event of a root: its signature and parts depend on the
 * cone alone. The stat cache is then not saved (statcache_partial). */
void state_load_cone(struct graph *g, struct journal *j, struct node **roots, size_t nroots);
/* N's state and a one-line reason ("never run", "input src/a.ts changed", ...). */
enum stepstate state_of(const struct node *n);
const char *state_reason(const struct node *n);
/* True when N needs no run: done, skipped, or stale with on_change = ignore; a
 * milestone, reached and not held back by a skipped step (state_milestone_blocked). */
bool state_satisfied(const struct node *n);
/* True when N is a milestone that a skipped step it needs holds back: not reached (nor
 * satisfied) until the step is done or the milestone says allow_skipped = yes. What it
 * needs: the steps it names, the steps of the phases it names and, through the
 * milestones it names, what those need; not what a step needs itself. */
bool state_milestone_blocked(const struct node *n);
/* The first skipped step N (a phase or milestone; or a step) is made of, or NULL. */
const struct node *state_skipped_need(const struct node *n);
/* Re-hash N's inputs now (its dependencies have just completed) and return its
 * signature as 32 hex digits; the engine calls this just before starting N. */
const char *state_refresh(struct node *n);
/* Record in memory that N completed (ok, skip, approve) or not (fail, rollback, force). */
void state_set(struct node *n, enum stepstate st, const char *reason);

/* N's current signature as 32 hex digits; NULL before state_load or for a node without one. */
const char *state_signature(const struct node *n);
/* N's current signature parts (definition keys, input files, dependencies), recorded by
 * the journal with a completion so that --why can name what changed. */
size_t state_parts(const struct node *n, const struct sigpart **parts);
/* Every difference between N's current signature parts and those of its last
 * completion, one line each ("input src/a.ts changed", "dependency b changed"), into
 * OUT. Returns their number (0 when N never completed or nothing changed). */
size_t state_changes(struct node *n, struct vec *out);
/* A name for state ST ("done", "stale", "failed", ...). */
const char *state_name(enum stepstate st);
/* Re-check a node that was satisfied (its dependency just ran): re-hash its inputs and
 * compare again. Returns true when it is no longer satisfied. */
bool state_recheck(struct node *n);
/* The first declared output of N (a path or a glob, relative to the plan) that is
 * missing, or NULL when every one exists. */
const char *state_missing_output(const struct node *n);
/* How a run starts each step marked MARK_SELECTED, by node id (other nodes: START_DONE). */
enum startas {
	START_DONE,    /* satisfied, and nothing upstream runs first that could rewrite its inputs */
	START_RECHECK, /* satisfied, but something upstream runs first: checked again when ready */
	START_RUNS,    /* not satisfied: it runs */
};
/* Fill OUT (one byte per node) for a run of the selected nodes; in topological order,
 * linear in nodes + edges. The engine and the dry run both start from it. */
void state_start_plan(struct graph *g, unsigned char *out);
/* Why gate N cannot be approved now (something it needs is not done), as a new string;
 * NULL when it can. */
char *state_approve_refusal(const struct node *n);
/* Why an applied step N with on_change = error that changed is not run, as a new string. */
char *state_refusal(const struct node *n);
/* When N's hold ends (wall clock, ms since the epoch), when N holds; -1 otherwise. */
int64_t state_hold_until(const struct node *n);
/* Whether N ran and its hold then failed (a check, --abort): what it did is in place,
 * so a rollback undoes it. */
bool state_hold_failed(const struct node *n);
/* The XXH3-128 of plan file REL's bytes, as 32 hex digits into HEX, through the stat cache
 * that state_load filled (a file it hashed is not read again). False when it is missing. */
bool state_file_checksum(const char *rel, char hex[33]);
/* N's history as the journal tells it (NULL before state_load). */
const struct history *state_history(const struct node *n);
/* Every node's history, and the plan's last event. */
const struct histories *state_histories(void);
/* Fill O's signature (and, for a completion of kind KIND, its parts) with N's current
 * ones, for journal_append. */
void state_outcome(const struct node *n, enum evkind kind, struct outcome *o);
/* Take the event at index I, just appended to the journal state_load read, into the
 * history. */
void state_noted(size_t i);
/* Free every node's state (state_load may be called again afterwards). */
void state_free(struct graph *g);

#endif
