/* actions.h — the command-line actions that only read or write the journal: --skip,
 * --force, --approve, --reset, --why and the journal part of --check. Each prints what
 * it did and returns an exit status (SPEC §2); a damaged journal exits 4, a plan another
 * orch is running exits 3. */
#ifndef ORCH_ACTIONS_H
#define ORCH_ACTIONS_H

#include <stdbool.h>
#include <stddef.h>

#include "graph.h"

/* --skip STEP: record STEP as skipped (it counts as done for its dependents). */
int action_skip(struct graph *g, const char *step);
/* --force STEP...: forget that the steps (or a phase's steps) completed. */
int action_force(struct graph *g, char **steps, size_t nsteps);
/* --approve STEP: approve the manual gate STEP (its dependencies must be done). */
int action_approve(struct graph *g, const char *step);
/* --reset [--yes]: forget all progress, keeping the journal as .orch/journal.jsonl.N;
 * without YES, ask on a terminal and refuse elsewhere. */
int action_reset(struct graph *g, bool yes);
/* --why STEP: say whether STEP would run and why (every key, file or dependency that
 * changed), or that it is up to date. */
int action_why(struct graph *g, const char *step);
/* The journal part of --check: the journal must load, and no applied step with
 * on_change = error (SQL steps by default) may have changed. 0, 1 or 4. */
int action_check_journal(struct graph *g);

#endif
