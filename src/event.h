/* event.h — one journal event as orch holds it in memory: its kind and what it says.
 * Shared by the journal (journal.c), which reads and writes them, and its binary index
 * (jindex.c), which keeps them parsed. */
#ifndef ORCH_EVENT_H
#define ORCH_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hash.h"

struct arena;

struct node;

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
	EV_HOLD,           /* its run succeeded and it holds: start and dur_ms say until when */
	EV_CHECK,          /* a health check while it holds: exit 0 passed, else failed (msg) */
	EV_METRIC,         /* a metric its step, check or validate reported: msg NAME=VALUE [UNIT] */
};
enum { EV_NKINDS = EV_METRIC + 1 };

/* What an event says besides its kind, times, attempt and signature: who wrote it (run,
 * author), its message and log, a start's process (pgid, pstart, boot), who asked for an
 * approval or a skip (by), a metric's component, the name of a step no longer in the
 * Orchfile. Kept out of line and shared: events close together that say the same (every
 * ok of a run a compacted journal keeps) point at one (jextra_intern). */
struct jextra {
	const char *run;       /* the run id that wrote it ("" when not recorded) */
	const char *author;    /* who ran the orch that wrote it: "author", else "user"; NULL: neither */
	const char *message;   /* NULL when none */
	const char *log;       /* NULL when none */
	const char *name;      /* the step or milestone as recorded when no node has that name,
	                        * NULL when one has (or the event is plan-wide): see event_name */
	const char *boot;      /* start: the boot it started in, NULL when not recorded */
	const char *by;        /* approve, skip: who asked for it (user@host), NULL when not recorded */
	const char *component; /* metric: the step's component, NULL when none */
	int64_t pstart;        /* start: when that shell started (clock ticks since boot), 0 */
	int pgid;              /* start: the step's process group (its shell's pid), 0 when none */
};
enum { JEXTRA_STRINGS = 8 }; /* its strings, run to component */
/* The extra that says nothing (all NULL and 0): an event's until it is filled in. */
extern const struct jextra jextra_none;

/* The extras kept last, newest at next - 1, which the next event's are compared with:
 * at -jN one step's end follows other steps' starts. */
enum { JEXTRA_RECENT = 4 };
struct jrecent {
	const struct jextra *v[JEXTRA_RECENT];
	unsigned next;
};
/* One of R's extras when it says the same as V, else V kept in A (and in R), its strings
 * copied (LEN: their lengths, in the order of struct jextra; NULL: each NUL-terminated)
 * but those the newest of R has, which are shared. journal.c. */
const struct jextra *jextra_intern(struct arena *a, const struct jextra *v, const uint32_t *len,
                                   struct jrecent *r);

/* One event as loaded (or appended by this process). The fields are ordered by size, so
 * that a million of them carry no padding between. */
struct jevent {
	struct node *node;   /* NULL: plan-wide, or a name no longer in the Orchfile */
	const struct jextra *x; /* what else it says; never NULL */
	int64_t time_ms;     /* when it was written, ms since the epoch */
	int64_t start_ms;    /* when the attempt started, 0 when not recorded */
	int64_t duration_ms; /* -1 when not recorded */
	int64_t off;         /* byte offset of the line in the file */
	struct hash128 sig;  /* the signature, when hassig (16 bytes: its hex is made when asked) */
	uint32_t line;       /* 1-based line in the journal file (a journal of more is refused) */
	uint32_t len;        /* its length, without the newline (a longer line is refused) */
	enum evkind kind;
	int attempt, exit_status, signal;
	bool hassig;
	bool timed_out;
};

/* The step or milestone E is about, as recorded ("" when plan-wide); journal.c. */
const char *event_name(const struct jevent *e);

#endif
