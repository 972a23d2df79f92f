/* trace.h — `orch --trace FILE`: the journal as Chrome trace-event JSON (Perfetto,
 * chrome://tracing): each attempt a complete event on its parallel slot's track. */
#ifndef ORCH_TRACE_H
#define ORCH_TRACE_H

#include "graph.h"
#include "journal.h"

#include <stdbool.h>
#include <stdint.h>

/* What a span is: an attempt (or a rollback) of a step, the hold after its run, or one
 * health check while it held. */
enum spankind { SPAN_ATTEMPT, SPAN_HOLD, SPAN_CHECK };

/* One attempt of a step, one rollback, one hold or one check, on real time. */
struct span {
	const struct jevent *end; /* what ended it (ok, fail, hold, ...; a check: its event), NULL: still open */
	const struct node *n;
	int64_t start_ms, end_ms; /* wall clock; a span still open ends at NOW (a hold: at its end, if sooner) */
	bool rollback;
	enum spankind kind;
};

/* The spans of J's events from index FROM on (each node's start matched with what
 * ended it: its run ends at a hold event, the hold at the ok or fail after it; each
 * check a span of its own), in journal order, into *OUT (free it); their number. */
size_t trace_spans(struct graph *g, struct journal *j, size_t from, struct span **out, int64_t now);
/* Write the trace of G's journal J (NULL: nothing ran yet) to PATH, atomically; say
 * where. Returns an exit status. State must be loaded (state_load). */
int trace_write(struct graph *g, struct journal *j, const char *path);

#endif
