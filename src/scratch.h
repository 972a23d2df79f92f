/* scratch.h — orch --test-rollback: deploy, roll back and deploy again on a scratch
 * database (ORCH_SCRATCH_URL), comparing a schema dump of each pass. */
#ifndef ORCH_SCRATCH_H
#define ORCH_SCRATCH_H

#include "graph.h"
#include "run.h"

/* Run TARGETS (all when NTARGETS is 0), roll everything back and run them again, each
 * SQL step on ORCH_SCRATCH_URL whatever its database, with a journal of its own in a
 * new directory under /tmp; compare pg_dump --schema-only of the database before the
 * deploy with after the rollback, and after both deploys. Only SQL steps may be
 * selected. Returns 0 when both pairs are the same, else an exit status of SPEC §2. */
int scratch_test_rollback(struct graph *g, struct node **targets, size_t ntargets, const struct runopts *o);

#endif
