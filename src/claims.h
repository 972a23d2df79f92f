/* claims.h — steps with runs_on = LABEL offered to workers on other machines
 * (orch.claims): the coordinator offers, a worker claims with FOR UPDATE SKIP LOCKED
 * under a lease by the database's clock, runs, and reports; the coordinator records. */
#ifndef ORCH_CLAIMS_H
#define ORCH_CLAIMS_H

#include <stdbool.h>
#include <stdint.h>

#include "graph.h"
#include "pgstate.h"

/* What a claim became, as the coordinator sees it (claims_poll). */
enum claimstate { CLAIM_WAITING, CLAIM_DONE, CLAIM_REFUSED, CLAIM_LOST, CLAIM_ERROR };

struct claimresult {
	int exit;      /* the step's exit status (CLAIM_DONE) */
	char *worker;  /* who claimed it, or NULL */
	char *detail;  /* why it was refused, or lost, or the error (a new string) */
	char *log;     /* the tail of its output (at most CLAIM_LOG_MAX bytes), or NULL */
};

enum { CLAIM_LOG_MAX = 64 << 10 };

/* The step's own content hash, which the worker's copy of the plan must match. */
char *claims_step_hash(const struct node *n);
/* Offer step N to the workers (its start is recorded before). Returns the claim's id,
 * or -1 after reporting the error. */
int64_t claims_offer(struct pgstate *s, struct graph *g, const struct node *n);
/* What claim ID became; R filled for every state but CLAIM_WAITING. */
enum claimstate claims_poll(struct pgstate *s, int64_t id, struct claimresult *r);
/* Withdraw claim ID (the run stops): a worker never starts it after, and one that has
 * begun it stops it at its next renewal. */
void claims_withdraw(struct pgstate *s, int64_t id);
void claims_result_free(struct claimresult *r);
/* The claim id a worker's report notified ("claim ID", written by the worker's report
 * in this file), 0 when PAYLOAD is something else (a request's notification). */
int64_t claims_payload_id(const char *payload);
/* The output tail and worker of the newest claim of G's step STEP that has one (a new
 * string, *WORKER too), or NULL: what --status and --report show of a step a worker ran,
 * on any machine. */
char *claims_log(struct pgstate *s, const struct graph *g, const char *step, char **worker);
/* orch --worker: claim and run G's steps that LABELS (comma-separated, or NULL) allow,
 * up to JOBS at once, until a signal. Returns an exit status. */
int claims_worker(struct graph *g, const char *labels, int jobs);

#endif
