/* journal.h — the append-only JSON Lines journal in .orch/journal.jsonl (format in
 * journal.c and docs/journal.md), the plan lock (.orch/lock), and the events the
 * engine records through this module only. */
#ifndef ORCH_JOURNAL_H
#define ORCH_JOURNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "graph.h"

enum evkind {
	EV_START,       /* a step attempt started */
	EV_OK,          /* it succeeded: the signature it completed with is recorded */
	EV_FAIL,        /* it failed (exit status, signal, timeout, missing output, ...) */
	EV_INTERRUPTED, /* orch was stopped (or died) while it ran */
	EV_SKIP,        /* marked skipped (--skip, or --on-failure skip) */
	EV_APPROVE,     /* a manual gate approved */
	EV_FORCE,       /* forgotten: runs again next time (--force) */
	EV_ROLLBACK_START,
	EV_ROLLBACK_OK, /* the step is no longer done */
	EV_ROLLBACK_FAIL,
	EV_MILESTONE,      /* a milestone reached */
	EV_MILESTONE_LOST, /* a milestone no longer holds (after rollback) */
	EV_RESET,          /* all progress forgotten */
};

/* What happened to one attempt; fields that do not apply are 0 / NULL. */
struct outcome {
	int attempt;        /* 1, 2, ... */
	int exit_status;    /* of the step's command, -1 when it did not exit */
	int signal;         /* signal that ended it, 0 when none */
	bool timed_out;
	int64_t start_ms;   /* wall clock, ms since the epoch */
	int64_t duration_ms;
	const char *log;    /* path of the attempt's log, relative to the plan directory */
	const char *message;/* one line for the user: why it failed */
};

struct journal;

enum {
	JOURNAL_LOCK = 1, /* take .orch/lock (exit 3 naming the holder if another orch has it) */
	JOURNAL_CREATE = 2, /* create .orch/ when missing */
};
/* Open the plan's journal, loading every event (exit 4 naming the line on damage; a
 * torn last line is dropped with a warning). Returns NULL only when there is no
 * journal and JOURNAL_CREATE is not given. */
struct journal *journal_open(struct graph *g, int flags);
/* Append one event for node N (NULL for plan-wide events such as EV_RESET). The run id,
 * time, host, user, format version and N's current signature are added here. Returns 0,
 * or -1 after reporting a write error. */
int journal_append(struct journal *j, enum evkind kind, struct node *n, const struct outcome *o);
/* Make every appended event durable (one fdatasync for all since the last sync). */
int journal_sync(struct journal *j);
/* The run id of this orch process ("20261126T051200-4821"). */
const char *journal_runid(const struct journal *j);
/* Release the lock and close the file. */
void journal_close(struct journal *j);

#endif
