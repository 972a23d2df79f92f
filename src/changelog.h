/* changelog.h — the Markdown changelog the engine appends to on every step result. */
#ifndef ORCH_CHANGELOG_H
#define ORCH_CHANGELOG_H

#include "graph.h"
#include "journal.h"

/* Append one Markdown entry for step N's RESULT ("success", "failed", "failed,
 * retrying", "rolled back", ...) to the [orch] changelog, if the plan names one (a path
 * relative to the plan directory, the working directory of a run). The first entry of
 * the process starts with a "## Run <id>" heading. One write() on an O_APPEND file
 * and an fdatasync: an entry is whole or absent, and existing text is never touched.
 * O may be NULL. Errors are warnings: the run goes on. */
void changelog_add(struct graph *g, struct journal *j, struct node *n, const char *result, const struct outcome *o);

#endif
