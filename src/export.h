/* export.h — `[orch] metrics = FILE` (or ENABLE_METRICS=true: .orch/metrics.prom): the
 * plan's progress in the Prometheus text format, for node_exporter's textfile collector. */
#ifndef ORCH_EXPORT_H
#define ORCH_EXPORT_H

#include <stdbool.h>

#include "graph.h"
#include "journal.h"

/* The file G's metrics go to (relative to the plan directory), or NULL when none. */
const char *export_path(const struct graph *g);
/* Write the metrics of G (its state and the journal J) to export_path, atomically.
 * Returns 0, or -1 after a warning (a metrics file is never worth stopping a run). */
int export_write(struct graph *g, struct journal *j);

#endif
