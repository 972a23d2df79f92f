/* pg.h — SQL steps on PostgreSQL through libpq, asynchronously so the engine's poll loop
 * keeps running other steps: connections kept per database and reused for the run, the
 * plan's advisory lock on each database touched, a step's SQL and its verify in one
 * transaction, the exactly-once registry (schema orch), and table backups. */
#ifndef ORCH_PG_H
#define ORCH_PG_H

#include <stdbool.h>
#include <stdint.h>

#include "graph.h"
#include "util.h"

enum pgwhat {
	PG_APPLY,  /* sql, then sql_verify, then the registry row: one transaction */
	PG_REVERT, /* sql_rollback (or restore the backup tables), and delete the registry row */
	PG_RESTORE, /* restore the backup tables (not sql_rollback), and delete the registry row */
};

struct pgjob;

/* pg_lock's answer when SIGINT, SIGTERM or SIGHUP came while it waited for the lock (the
 * signal is left for os_signals_take); pg_start returns NULL then. */
#define PG_INTERRUPTED (-2)

/* The connection string N's SQL uses (step database, [orch] database, DATABASE_URL),
 * or NULL when none is set. */
const char *pg_conninfo(struct graph *g, struct node *n);
/* From now on every step's database is CONNINFO (--test-rollback's scratch database). */
void pg_scratch(const char *conninfo);
/* Start N's SQL on a connection to its database (connecting and taking the plan's
 * advisory lock on first use of that database: that part blocks, up to connect_timeout
 * and ORCH_LOCK_TIMEOUT; see pg_lock). The first command is in flight on return.
 * SIG is the signature to record in the registry. Returns NULL on immediate failure with a message in *ERR (a new string;
 * passwords masked); sets *LOCKED when another orch holds the database's lock. */
struct pgjob *pg_start(struct graph *g, struct node *n, enum pgwhat what, const char *sig, char **err, bool *locked);
/* The exact SQL N's WHAT would send, appended to OUT as a script: orch's commands and
 * the files' statements (variables expanded, secrets masked), parameters as comments,
 * what depends on the server (backups' copies, \gexec) said in comments. Connects to
 * nothing. SIG is the signature the registry row would get. Returns 0, or -1 with *ERR. */
int pg_sql(struct graph *g, struct node *n, enum pgwhat what, const char *sig, struct buf *out, char **err);
/* The socket to poll: always POLLIN, and POLLOUT too when *WANTWRITE. */
int pg_fd(struct pgjob *job, bool *wantwrite);
/* When the job, waiting to retry a transient error (deadlock, serialization failure,
 * lock timeout), wants pg_advance called though its socket is quiet (now_ms), or 0;
 * pg_fd is -1 meanwhile. */
int64_t pg_wake(const struct pgjob *job);
/* Advance after poll says the socket is ready. Server output (notices, errors with
 * SQLSTATE, message, detail, hint and the file's line:column) is appended to LOG.
 * Returns 0 while running, 1 when the transaction committed, 2 when only its COMMIT is
 * left (pg_hold_commit), -1 on failure (*ERR). */
int pg_advance(struct pgjob *job, struct buf *log, char **err);
/* Make the job stop before its final COMMIT: pg_advance then returns 2 instead of 1,
 * and pg_commit_with ends the transaction. False (nothing changed) for a job without
 * one transaction of its own (PG_APPLY with transaction = yes). */
bool pg_hold_commit(struct pgjob *job);
/* The connection string of the job's database. */
const char *pg_job_conninfo(const struct pgjob *job);
/* A job pg_advance said is ready to commit (2): run SQL (NP text PARAMS) in its
 * transaction, then COMMIT, blocking: both or neither. Returns 0, or -1 with *ERR (a
 * new string) after rolling back (a lost connection: nobody knows; the server rolled
 * back unless the COMMIT got through). The job is finished either way. */
int pg_commit_with(struct pgjob *job, const char *sql, int np, const char *const *params, char **err);
/* Ask the server to cancel the job's query (Ctrl-C, timeout); keep polling: pg_advance
 * then rolls back and returns -1 (SQLSTATE 57014). */
void pg_cancel(struct pgjob *job);
/* Free a job; a finished job's healthy connection goes back to the database's idle
 * list, an unfinished or broken one is closed (the server rolls back). */
void pg_free(struct pgjob *job);
/* Where the job's backups went ("backup: brands -> orch_backup.\"p__s__brands\"; ..."),
 * a new string, or NULL when it made none: the engine records it in the journal. */
char *pg_backup_note(const struct pgjob *job);
/* Whether the registry of N's database records N as applied with signature SIG:
 * 1 yes, 0 no, -1 unreachable (message in *ERR). Blocking. */
int pg_applied(struct graph *g, struct node *n, const char *sig, char **err);
/* Connect to N's database and take the plan's advisory lock there unless this process
 * holds it already, waiting up to ORCH_LOCK_TIMEOUT (default 30 s) with a message when
 * another orch holds it. Blocking, but for SIGINT, SIGTERM and SIGHUP, which end the
 * wait at once. Returns 0; -1 with *ERR (a new string), and *LOCKED set when the wait
 * timed out; or PG_INTERRUPTED with *ERR when a signal ended the wait. pg_start does
 * this itself; a run calls it before trusting pg_applied, read-only commands
 * (--status, -n) need not. */
int pg_lock(struct graph *g, struct node *n, char **err, bool *locked);
/* What the registry of N's database records for N: 1 with *SIG (a new string) when N
 * is applied, 0 when not (or no registry yet), -1 unreachable (*ERR). Blocking. */
int pg_lookup(struct graph *g, struct node *n, char **sig, char **err);
/* The backup table of TABLE for step N, as SQL: orch_backup."<plan>__<step>__<table>"
 * (shortened with a hash past 63 bytes). A new string. */
char *pg_backup_table(struct graph *g, struct node *n, const char *table);
/* One row of a database's registry (NULL for SQL's NULL). */
struct pgrow {
	char *plan, *step, *signature, *checksum, *applied_at, *applied_by, *script;
};
/* What the registry of one database records of the COUNT steps STEPS (which all use it),
 * whose sql files' checksums (hex) are now CHECKSUMS: the plan's rows first, then any
 * other plan's rows with one of CHECKSUMS; a row's script only when its checksum differs
 * from its step's. One query, no lock. Returns 1 with *ROWS (*NROWS; pg_rows_free), 0
 * when the database has no registry, -1 when it cannot be read (*ERR, a new string). */
int pg_registry_read(struct graph *g, struct node **steps, char **checksums, size_t count, struct pgrow **rows,
                     size_t *nrows, char **err);
void pg_rows_free(struct pgrow *rows, size_t n);
/* `database "x" on host h port p` for N's database (from the connection once there is
 * one, else from its connection string, password left out). */
const char *pg_describe(struct graph *g, struct node *n);
/* Record N as applied with signature SIG and its sql file as it is now, without running
 * it (--baseline, --accept), under the lock (pg_lock's returns and *LOCKED). */
int pg_registry_put(struct graph *g, struct node *n, const char *sig, char **err, bool *locked);
/* Delete the plan's rows from the registry of N's database, under the lock; *COUNT. */
int pg_registry_forget(struct graph *g, struct node *n, long *count, char **err, bool *locked);
/* Where backup_schema keeps the dump of SCHEMA for step N, relative to the plan
 * directory: .orch/backups/<plan>__<step>/<schema>.sql. A new string. */
char *pg_schema_dump(struct graph *g, struct node *n, const char *schema);
/* Close every connection, releasing the advisory locks. Free every job first. */
void pg_close_all(void);

/* S as a SQL string literal ('' for '), appended to B (for messages and scripts). */
void pg_buf_literal(struct buf *b, const char *s);

/* A connection of its own, outside the steps' connections (the plan's state in a
 * database, pgstate.c): blocking queries with text parameters and text results. */
struct pgconn;
/* A query's rows as text: V holds NROWS x NCOLS values, row after row, NULL for SQL's NULL. */
struct pgresult {
	size_t nrows, ncols;
	char **v;
};
/* Connect to CONNINFO; NULL with *ERR (a new string, password masked) when it cannot. */
struct pgconn *pg_conn_open(const char *conninfo, char **err);
/* `database "x" on host h port p`, for messages. */
const char *pg_conn_describe(const struct pgconn *c);
/* Run SQL with the NP text PARAMS, blocking; its rows into *OUT when OUT is not NULL
 * (pg_result_free). Returns 0, or -1 with *ERR (a new string) and pg_conn_sqlstate. */
int pg_conn_exec(struct pgconn *c, const char *sql, int np, const char *const *params, struct pgresult *out,
                 char **err);
/* The SQLSTATE of the last failed pg_conn_exec ("08006" for a lost connection). */
const char *pg_conn_sqlstate(const struct pgconn *c);
/* The connection's socket, for poll() (LISTEN's notifications), -1 when closed. */
int pg_conn_fd(const struct pgconn *c);
/* Read what the server sent: the number of notifications that came (dropped), or -1
 * when the connection is lost. Does not block. */
int pg_conn_notified(struct pgconn *c);
/* pg_conn_notified, calling EACH with ARG and the payload of each notification. */
int pg_conn_notified_each(struct pgconn *c, void (*each)(void *arg, const char *payload), void *arg);
/* Close C (NULL is fine): the server releases its session locks. */
void pg_conn_close(struct pgconn *c);
/* The value at ROW, COL of R, NULL for SQL's NULL or outside R. */
const char *pg_value(const struct pgresult *r, size_t row, size_t col);
/* Free what pg_conn_exec put in R. */
void pg_result_free(struct pgresult *r);

#endif
