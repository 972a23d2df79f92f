/* flyway.h — a Flyway migrations directory read into the graph: V<version>__ files as
 * SQL steps in version order, U<version>__ files as their rollback, R__ files as
 * repeatable steps after them all. */
#ifndef ORCH_FLYWAY_H
#define ORCH_FLYWAY_H

#include "graph.h"
#include "util.h"

/* Compare Flyway versions A and B ("1.2.10", "1_1"): parts split at '.' or '_',
 * compared as numbers, missing parts counting as 0. <0, 0 or >0. */
int flyway_vercmp(const char *a, const char *b);
/* Add the migrations under DIR (relative to G's directory, searched recursively) to G:
 * each V<version>__<description>.sql a SQL step named after its file, needing the one
 * of the version before; U<version>__*.sql its sql_rollback; each R__<description>.sql
 * a step after the last versioned one that runs again when it changes (on_change =
 * rerun), in description order. DATABASE, when not NULL, is every step's database.
 * Nodes get LINE. The steps are appended to STEPS. Returns the number of errors, each
 * printed as DIR/FILE: message. */
int flyway_add(struct graph *g, const char *dir, const char *database, int line, struct vec *steps);

#endif
