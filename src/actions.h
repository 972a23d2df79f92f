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
/* --reset [--yes] [--database]: forget all progress, keeping the journal as
 * .orch/journal.jsonl.N; with DATABASE, the plan's rows in each database's registry too
 * (without, say what the registries still hold). Without YES, ask on a terminal and
 * refuse elsewhere. */
int action_reset(struct graph *g, bool yes, bool database);
/* --accept STEP [--reason WHY]: an applied SQL step whose file changed is recorded as
 * applied as it is now (Flyway's repair), in its database's registry and the journal,
 * with who and why. */
int action_accept(struct graph *g, const char *step, const char *why);
/* --baseline TARGET [--reason WHY]: the steps of TARGET (NULL: all) that are not done
 * are recorded as applied without running them: SQL steps in their database's registry,
 * every one in the journal. Asks on a terminal unless YES; DRYRUN (-n) lists them. */
int action_baseline(struct graph *g, struct node *target, const char *why, bool yes, bool dryrun);
/* --promote STEP / --abort STEP [--reason WHY]: end the hold of STEP now, as done
 * (PROMOTE) or failed, with who and why; through the running orch when one holds the
 * plan. */
int action_endhold(struct graph *g, const char *step, bool promote, const char *why);
/* --why STEP: say whether STEP would run and why (every key, file or dependency that
 * changed), or that it is up to date. */
int action_why(struct graph *g, const char *step);
/* The journal part of --check: the journal must load, and no applied step with
 * on_change = error (SQL steps by default) may have changed. 0, 1 or 4. */
int action_check_journal(struct graph *g);
/* --state-export [FILE]: the lines of the plan's journal in its state database (every
 * row checked, under the lock) into FILE (default: the state directory's journal.jsonl,
 * which orch reads once [orch] state is removed; "-": standard output). */
int action_state_export(struct graph *g, const char *file);
/* --state-import: the state directory's journal.jsonl (every line checked) into the
 * plan's state database, in one transaction, under the lock; refused when the database
 * holds other events of the plan and target already. */
int action_state_import(struct graph *g);

#endif
