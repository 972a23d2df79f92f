/* inbox.h — requests to the orch that is running a plan, from other orch processes:
 * `orch --approve GATE`, `--skip STEP`, `--promote STEP`, `--abort STEP` while a run holds the plan. The journal
 * has one writer, the lock holder; a request is a file in .orch/inbox/ that the running
 * orch takes within a second, records, and answers. */
#ifndef ORCH_INBOX_H
#define ORCH_INBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One request, as the running orch reads it. */
struct request {
	char *id;     /* its file's name, without .json */
	char *action; /* "approve" or "skip" */
	char *step;
	char *by;     /* user@host of who asked */
	char *reason; /* --reason (--promote, --abort), NULL when none */
};

/* Post ACTION of STEP (with REASON, which may be NULL) to the orch running the plan
 * whose .orch is DIR. Returns the request's id (a new string), or NULL after an error. */
char *inbox_post(const char *dir, const char *action, const char *step, const char *reason);
/* Wait up to TIMEOUT_MS for the answer to request ID: 1 accepted, 0 refused (the
 * reason in *ANSWER, a new string, for both), -1 no answer yet (the request stays:
 * the next orch to hold the plan takes it). While waiting, stop early (-2) when
 * STILL_RUNNING(ARG) says the running orch is gone. */
int inbox_wait(const char *dir, const char *id, int64_t timeout_ms, char **answer, bool (*still_running)(void *),
               void *arg);
/* The requests waiting in DIR, oldest first, into *OUT (free with inbox_free). */
size_t inbox_take(const char *dir, struct request **out);
/* Answer request R: ACCEPTED or not, with MESSAGE; the request is gone afterwards. */
void inbox_answer(const char *dir, const struct request *r, bool accepted, const char *message);
/* Withdraw request ID (its asker deals with it itself). */
void inbox_withdraw(const char *dir, const char *id);
/* Free what inbox_take returned. */
void inbox_free(struct request *v, size_t n);

#endif
