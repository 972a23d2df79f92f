/* pgstate.h — the plan's state in PostgreSQL ([orch] state = database | URL): the
 * journal's lines as rows of the append-only table orch.events, the plan lock as a
 * session advisory lock with a row saying who holds it (orch.holders), and requests to
 * the running orch from any machine (orch.requests, LISTEN/NOTIFY). The journal
 * (journal.c) makes and parses the lines; this module only keeps them. */
#ifndef ORCH_PGSTATE_H
#define ORCH_PGSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "graph.h"
#include "inbox.h"

struct pgstate;
struct pgconn;

/* Connect to the database of G's state. With LOCK, make the tables on first use, take
 * the plan's session advisory lock (EXIT_LOCKED naming the holder: user@host, pid,
 * since, last heartbeat) and write the holder row. Returns 0 with *OUT, or an exit
 * status after reporting the error (EXIT_USAGE: no database; EXIT_JOURNAL, or
 * EXIT_RECORD with LOCK: it cannot be reached). */
int pgstate_open(struct graph *g, bool lock, struct pgstate **out);
/* The name of the journal in messages: orch.events[PLAN] or orch.events[PLAN/TARGET]. */
const char *pgstate_display(const struct pgstate *s);
/* Where it is: `database "x" on host h port p`. */
const char *pgstate_where(const struct pgstate *s);
/* The current journal's number: 0, then 1, 2, ... after each --reset (the journals
 * before it are kept: 0 .. the number - 1). */
int pgstate_journal(const struct pgstate *s);
/* Read journal N instead of the current one (a reader's, never the lock holder's). */
void pgstate_use_journal(struct pgstate *s, int n);
/* The lines of the current journal, oldest first, each ending in a newline, into
 * *TEXT (a new string, *LEN bytes). Returns 0, or EXIT_JOURNAL after reporting a
 * missing row or a database that cannot be read. */
int pgstate_read(struct pgstate *s, char **text, size_t *len);
/* "the row of orch.events WHERE plan = 'p' AND target = '' AND journal = N AND line =
 * LINE" of the current journal, for messages (a new string). */
char *pgstate_row(const struct pgstate *s, size_t line);
/* Append one line (LEN bytes, with its newline): kept until pgstate_sync. */
void pgstate_append(struct pgstate *s, const char *line, size_t len);
/* Write the lines appended since the last sync as one transaction (the sync is its
 * COMMIT), and the holder's heartbeat when it is due. Returns 0, or -1 after
 * reporting the error: the lines are not recorded (a lost connection lost the lock too). */
int pgstate_sync(struct pgstate *s);
/* Whether the state is in the database CONNINFO names (the same connection string). */
bool pgstate_same_database(const struct pgstate *s, const char *conninfo);
struct pgjob;
/* Write the lines appended since the last sync in the transaction of JOB (a SQL step
 * whose only command left is its COMMIT: pg_hold_commit), then commit it: the step's
 * registry row and its events are one transaction. Returns 0, or -1 after reporting the
 * error (neither is recorded; nothing is appended after). */
int pgstate_commit_with(struct pgstate *s, struct pgjob *job);
/* Line LINENO (1-based) of the current journal, without its newline, into *LINE (a new
 * string, *LEN bytes). Returns 0, or -1 when it cannot be read. */
int pgstate_line(struct pgstate *s, size_t lineno, char **line, size_t *len);
/* Start a new journal (the current one stays in the table as journal N): the next
 * appended line is line 1 of journal N + 1. Returns N, or -1 after an error. */
int pgstate_reset(struct pgstate *s);
/* Whether another process holds G's plan lock in its state database: its pid (on its
 * own machine), -1 when held by an orch that wrote no holder row, 0 when free (or the
 * database cannot be asked). *WHO (when not NULL) gets "user@host, pid N, since T, last
 * heartbeat Ns ago" (a new string) when held. */
long pgstate_holder(struct graph *g, char **who);
/* Whether the connection (and with it the lock) was found lost: nothing more is
 * recorded (pgstate_sync fails). */
bool pgstate_lost(const struct pgstate *s);
/* S's connection, for the claims of workers (claims.c). */
struct pgconn *pgstate_conn(struct pgstate *s);
/* The socket to poll for requests (LISTEN), -1 when none. */
int pgstate_fd(struct pgstate *s);
enum { PGSTATE_CHANNEL_MAX = 40 };
/* The channel the holder of PLAN's (and TARGET's, "" for none) lock LISTENs on: a
 * request or a worker's report NOTIFYs it. */
void pgstate_channel(const char *plan, const char *target, char out[PGSTATE_CHANNEL_MAX]);
/* Take the notifications that came on the holder's connection (a request: its id; a
 * worker's report: "claim ID"), calling EACH (NULL: none) with ARG and each payload.
 * Returns how many. */
int pgstate_wake(struct pgstate *s, void (*each)(void *arg, const char *payload), void *arg);
/* The requests other orchs left for the holder of the lock (orch.requests), oldest
 * first: looked at when a notification came, else every few seconds. Keeps the
 * holder's heartbeat. Free with inbox_free. */
size_t pgstate_take(struct pgstate *s, struct request **out);
/* Answer request R (its id is the row's). */
void pgstate_answer(struct pgstate *s, const struct request *r, bool accepted, const char *message);
/* Ask the orch running G (on any machine) to record ACTION of STEP (REASON may be NULL)
 * and wait up to TIMEOUT_MS for its answer, as inbox_wait: 1 accepted, 0 refused (the
 * reason in *ANSWER, a new string), -1 no answer (the request is withdrawn), -2 that
 * orch is gone (withdrawn: the caller records it itself), EXIT_* (> 2) on an error. */
int pgstate_ask(struct graph *g, const char *action, const char *step, const char *reason, int64_t timeout_ms,
                char **answer);
/* Close the connection (releasing the lock), removing the holder row first. */
void pgstate_close(struct pgstate *s);

#endif
