/* metric.h — the metrics steps, checks and validations report (NAME=VALUE [UNIT] lines
 * in $ORCH_METRICS, journalled as metric events): one event's line parsed, and the
 * latest value of a metric for a step or for the whole plan. */
#ifndef ORCH_METRIC_H
#define ORCH_METRIC_H

#include <stdbool.h>
#include <stddef.h>

#include "graph.h"
#include "journal.h"

/* One reported value. */
struct metric {
	char name[64];
	double value;
	const char *unit; /* "" when none; points into the event's message */
	const struct jevent *ev;
};

/* Parse E, a metric event ("coverage=93.5 %"), into M. False when it is not one. */
bool metric_of(const struct jevent *e, struct metric *m);
/* The latest value of NAME reported by STEP (NULL: by any step) in J since event FROM.
 * False when there is none. */
bool metric_latest(struct journal *j, size_t from, const struct node *step, const char *name, struct metric *m);

#endif
