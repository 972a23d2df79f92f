/* status.h — where a plan stands: `orch --status [--json]` (phases, milestones, failed,
 * running, waiting and stale steps, times, rates, ETA). */
#ifndef ORCH_STATUS_H
#define ORCH_STATUS_H

#include <stdbool.h>
#include <stdint.h>

#include "graph.h"
#include "journal.h"

/* Print the status of G on stdout, as text or as one JSON document (schema in
 * docs/status.md). J is the journal opened without the lock (NULL when none exists) and
 * the state is loaded (state_load); JOBS is the -j the ETA assumes. Returns an exit
 * status. */
int status_show(struct graph *g, struct journal *j, bool json, int jobs);

/* The time left: LEFT_MS[node id] is each node's remaining estimate (0 when done or
 * unknown). Returns max(longest path of remaining estimates, their sum / JOBS rounded
 * up), and sets *CRITICAL_MS and *WORK_MS (either may be NULL) to the two terms' inputs:
 * the longest path and the sum. */
int64_t status_eta(struct graph *g, const int64_t *left_ms, int jobs, int64_t *critical_ms, int64_t *work_ms);

/* Each node's state in one word, by node id, as --status --json says it for steps
 * ("done", "running", "failed", "waiting", "stale", "skipped", "interrupted", "changed",
 * "todo"); a phase or milestone "done" or "todo". A new array (free it). */
const char **status_words(struct graph *g, struct journal *j);

#endif
