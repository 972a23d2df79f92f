/* rollback.h — `orch --rollback TARGET`: which completed steps to undo, in what order,
 * the plan shown before anything runs, and the milestones lost afterwards. */
#ifndef ORCH_ROLLBACK_H
#define ORCH_ROLLBACK_H

#include <stdbool.h>

#include "graph.h"
#include "journal.h"
#include "run.h"

struct rollbackopts {
	bool dryrun; /* -n: print the plan only */
	bool force;  /* forget completed steps that have no rollback */
	bool yes;    /* do not ask for confirmation */
	struct node *keep; /* --to: keep this node and all it needs (sqitch's revert --to), or NULL */
};

/* Roll back the completed steps of TARGET (NULL: all) and every completed step that
 * depends on them, but for RO->keep and what it needs. Returns an exit status of SPEC §2. */
int rollback_target(struct graph *g, struct journal *j, struct node *target, const struct rollbackopts *ro,
                    const struct runopts *o);

/* --restore STEP: restore the SQL step N's backup tables (backup =) and delete its
 * registry row, in one transaction, without its sql_rollback and leaving what needs it
 * alone; recorded as restored (no longer done). Returns an exit status. */
int rollback_restore(struct graph *g, struct journal *j, struct node *n, const struct rollbackopts *ro,
                     const struct runopts *o);

#endif
