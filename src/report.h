/* report.h — `orch --report [FILE]`: the plan as one self-contained HTML page (inline
 * CSS and SVG, no script, no network): progress, a timeline of every attempt, failures
 * with their last log lines, waiting gates, milestones and runs. */
#ifndef ORCH_REPORT_H
#define ORCH_REPORT_H

#include <stdbool.h>

#include "graph.h"
#include "journal.h"

/* Write G's report from its journal J (NULL: nothing ran yet) to PATH, atomically; say
 * where unless QUIET. State must be loaded. Returns an exit status. */
int report_write(struct graph *g, struct journal *j, const char *path, bool quiet);

#endif
