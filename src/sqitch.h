/* sqitch.h — a sqitch project (sqitch.plan, and sqitch.conf beside it) read into the graph:
 * each change a SQL step, each tag a milestone, plan order and dependencies as edges. */
#ifndef ORCH_SQITCH_H
#define ORCH_SQITCH_H

#include <stdbool.h>
#include <stddef.h>

#include "graph.h"
#include "util.h"

/* Whether the file PATH (its LEN bytes of TEXT) is a sqitch plan: named sqitch.plan, or
 * opening with a %syntax-version or %project pragma. */
bool sqitch_is_plan(const char *path, const char *text, size_t len);
/* Add the changes of the sqitch plan PLAN (relative to G's directory) to G: each change
 * a SQL step (deploy/, verify/, revert/ scripts, the directories sqitch.conf names),
 * needing the change before it and its declared dependencies; each tag a milestone
 * "@TAG". DATABASE, when not NULL, is every step's database; else sqitch.conf's target
 * when neither [orch] database nor DATABASE_URL is set. Nodes get LINE when it is
 * positive, else their line in the plan. The steps are appended to STEPS in plan order;
 * *PROJECT gets the %project (a new string, or NULL). Returns the number of errors,
 * each printed as PLAN:LINE: message. */
int sqitch_add(struct graph *g, const char *plan, const char *database, int line, struct vec *steps,
               char **project);
/* `orch -f sqitch.plan`: the plan at PATH (TEXT, LEN bytes, in directory DIR, absolute)
 * as a whole graph named after its %project. NULL after printing the errors, whose count
 * goes to *NERRORS. */
struct graph *sqitch_graph(const char *path, const char *dir, int *nerrors);

#endif
