/* clean.h — -t clean: remove the declared outputs of a plan's steps, and nothing else. */
#ifndef ORCH_CLEAN_H
#define ORCH_CLEAN_H

#include <stdbool.h>
#include <stddef.h>

#include "graph.h"

/* Remove the declared outputs of the steps TARGETS need (every step when NTARGETS is 0),
 * from the plan's directory (the working directory): the files and symlinks an output
 * names or its glob matches, and a directory only when an output names it without a
 * glob. Never the plan's directory or one above it, .orch or the Orchfile. Prints each
 * path it removes (with DRYRUN, that it would, and removes nothing). Returns an exit
 * status: 1 when something could not or may not be removed; 3 when another orch runs
 * the plan. */
int clean_outputs(struct graph *g, struct node **targets, size_t ntargets, bool dryrun);

#endif
