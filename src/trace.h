/* trace.h — `orch --trace FILE`: the journal as Chrome trace-event JSON (Perfetto,
 * chrome://tracing): each attempt a complete event on its parallel slot's track. */
#ifndef ORCH_TRACE_H
#define ORCH_TRACE_H

#include "graph.h"
#include "journal.h"

/* Write the trace of G's journal J (NULL: nothing ran yet) to PATH, atomically; say
 * where. Returns an exit status. State must be loaded (state_load). */
int trace_write(struct graph *g, struct journal *j, const char *path);

#endif
