/* pg.c — SQL steps on PostgreSQL through libpq, the one user of libpq.
 *
 * Per database (per connection string) orch keeps a control connection, which holds the
 * plan's advisory lock for the whole run and reads the registry, and a list of idle
 * connections that steps borrow: parallel steps on one database each get their own.
 * A step is a list of commands sent one after the other on its connection without
 * blocking (the engine polls the socket): for PG_APPLY, BEGIN, the backups, the sql
 * file (sent whole: the server parses it; a BEGIN ... COMMIT wrapper of its own left out,
 * a BEGIN ... ROLLBACK one run as a savepoint rolled back), the sql_verify file, the
 * registry row, COMMIT.
 * Any error ends the list and rolls back whatever transaction is open.
 *
 * The registry, created on first use (docs/postgresql.md):
 *
 *	CREATE TABLE orch.registry (plan text, step text, signature text,
 *		applied_at timestamptz, applied_by text, backup text, checksum text, script text,
 *		PRIMARY KEY (plan, step))
 *
 * checksum is the XXH3-128 of the sql file as applied and script its text: a migration
 * is known by its content as well as by its plan and step (a renamed plan, a changed
 * file). Registries made before these two columns get them on first use.
 *
 * Backups are tables orch_backup."<plan>__<step>__<table>" (see pg_backup_table). */
#include "pg.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "hash.h"
#include "os.h"
#include "sqlsplit.h"

#define LOCK_TIMEOUT_DEFAULT_MS 30000
/* Transient errors (deadlock, serialization failure, lock not available): attempts in
 * all, and the wait before the first retry, doubled for each next one */
#define SQL_ATTEMPTS 3
#define SQL_RETRY_MS 200
/* After a signal canceled the wait for the lock, how long the server has to say so */
#define CANCEL_GRACE_MS 5000

struct pgdb {
	char *conninfo; /* as given: may hold a password, never printed */
	char *bad;      /* why CONNINFO cannot be parsed (password masked), or NULL */
	char *desc;     /* `database "x" on host h port p`, for messages */
	PGconn *ctl;    /* holds the lock, reads and creates the registry */
	bool locked;    /* the plan's lock is held for this database */
	bool registry;  /* orch.registry is known to exist */
	struct vec idle;
};

static struct vec dbs; /* struct pgdb * */

struct pgjob;

struct pgcmd {
	char *sql;
	char *params[8];
	int nparams;
	const char *what;          /* for errors in orch's own commands ("registry", ...) */
	struct sqlfile *file;      /* the user's file this command runs, or NULL */
	size_t stmt, nstmts;       /* its statements in FILE: the failing one is stmt + nok */
	char *whatbuf;             /* WHAT when allocated */
	int (*cb)(struct pgjob *, struct pgcmd *, PGresult *); /* on each successful result */
	size_t arg;
	size_t nok; /* successful results so far */
	bool dyn;   /* inserted by a callback while the job ran: goes when the job retries */
	bool notices; /* the server's notices are orch's own lines for the log */
};

/* JOB_READY: only its COMMIT is left, held for pg_commit_with (pg_hold_commit) */
enum jobstate { JOB_RUNNING, JOB_OK, JOB_FAILED, JOB_READY };

struct pgjob {
	struct graph *g;
	struct node *n;
	struct pgdb *db;
	PGconn *conn;
	enum pgwhat what;
	char *sig;
	struct sqlfile files[2 + PG_SCHEMAS_MAX]; /* the files, or a restore's schema dumps */
	size_t nfiles;
	struct pgcmd *cmds;
	size_t ncmds, capcmds, cur;
	bool flushing, copyout, canceled, rollingback, lost, incommit;
	bool holdcommit; /* stop before the last COMMIT: JOB_READY (pg_hold_commit) */
	size_t txfrom;  /* the last command sent outside a transaction block */
	size_t redo;    /* where a retry of a transient error starts */
	bool retry;     /* the current error is transient and is retried */
	bool restore;   /* restores the backups (not sql_rollback) */
	int tries;      /* retries made so far */
	int64_t wake_ms; /* waiting to retry until then (now_ms), or 0 */
	char retrymsg[128]; /* the transient error's message */
	enum jobstate state;
	char *err;
	struct buf out;          /* log lines not yet handed to the engine */
	char **tables, **btables, **cols; /* backup: live table, backup table, column list */
	size_t ntables, nresolved;
};

/* Messages */

static char *replace_all(const char *s, const char *needle, const char *with)
{
	struct buf b = {0};
	size_t nl = strlen(needle);
	const char *p;

	while ((p = strstr(s, needle))) {
		buf_add(&b, s, (size_t)(p - s));
		buf_puts(&b, with);
		s = p + nl;
	}
	buf_puts(&b, s);
	buf_str(&b);
	return b.s;
}

/* MSG (freed) on one line. Passwords need no scrubbing here: orch never builds a
 * message from a connection string but through mask_password, the server never sees
 * the connection string, and libpq repeats it only when it cannot parse it, which
 * db_get checks before connecting (see bad_conninfo). */
static char *scrub(char *msg)
{
	char *t, *u;
	size_t n = strlen(msg);

	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		msg[--n] = '\0';
	t = replace_all(msg, "\n\t", " ");
	free(msg);
	u = replace_all(t, "\n", "; ");
	free(t);
	t = replace_all(u, ":  ", ": "); /* "FATAL:  ..." */
	free(u);
	return t;
}

/* libpq's message MSG about CONNINFO, which it cannot parse: the connection string
 * with its password masked, and MSG with each "quoted" part that the masked string
 * does not show (the password, or a piece of it) as "***". A new string. */
static char *bad_conninfo(const char *conninfo, const char *msg)
{
	char *masked = mask_password(conninfo), *m = scrub(xstrdup(msg)), *s;
	struct buf b = {0};
	const char *p = m, *q, *end;

	while ((q = strchr(p, '"')) && (end = strchr(q + 1, '"'))) {
		char *tok = xstrndup(q + 1, (size_t)(end - q - 1));
		char *mt = mask_password(tok);

		buf_add(&b, p, (size_t)(q + 1 - p));
		buf_puts(&b, strstr(masked, mt) ? mt : "***");
		buf_putc(&b, '"');
		free(tok);
		free(mt);
		p = end + 1;
	}
	buf_puts(&b, p);
	s = xasprintf("bad connection string '%s': %s", masked, buf_str(&b));
	buf_free(&b);
	free(masked);
	free(m);
	return s;
}

static char *describe(PGconn *c)
{
	const char *db = c ? PQdb(c) : NULL;
	const char *host = c ? PQhost(c) : NULL;
	const char *port = c ? PQport(c) : NULL;

	return xasprintf("database \"%s\" on host %s port %s", db && *db ? db : "?",
	                 host && *host ? host : "?", port && *port ? port : "?");
}

static void notice_drop(void *arg, const PGresult *r)
{
	(void)arg;
	(void)r;
}

/* Connections */

static PGconn *db_connect(struct pgdb *db, char **err)
{
	const char *kw[] = {"application_name", "connect_timeout", "client_encoding", "dbname", NULL};
	const char *val[] = {"orch", "10", "UTF8", db->conninfo, NULL};
	PGconn *c;
	char *d;

	if (db->bad) {
		*err = xasprintf("cannot connect: %s", db->bad);
		return NULL;
	}
	if (!(c = PQconnectdbParams(kw, val, 1)))
		fatal("out of memory connecting to PostgreSQL");
	if (PQstatus(c) != CONNECTION_OK) {
		d = describe(c);
		*err = scrub(xasprintf("cannot connect to %s: %s", d, PQerrorMessage(c)));
		free(d);
		PQfinish(c);
		return NULL;
	}
	if (!db->desc)
		db->desc = describe(c);
	debug("connected to %s (server pid %d)", db->desc, PQbackendPID(c));
	PQsetNoticeReceiver(c, notice_drop, NULL);
	return c;
}

/* Whether C is still connected (reads what the server sent: a restarted server's
 * goodbye shows up here). */
static bool conn_alive(PGconn *c)
{
	/* twice: the first read may get the server's last message, the second its EOF */
	for (int i = 0; i < 2; i++)
		if (PQstatus(c) != CONNECTION_OK || !PQconsumeInput(c))
			return false;
	return PQstatus(c) == CONNECTION_OK && PQtransactionStatus(c) == PQTRANS_IDLE;
}

/* A database not yet connected to, its connection string checked (not in dbs). */
static struct pgdb *db_new(const char *conninfo)
{
	struct pgdb *db;
	PQconninfoOption *opts;
	char *perr = NULL;

	db = xcalloc(1, sizeof(*db));
	db->conninfo = xstrdup(conninfo);
	/* what libpq takes for a connection string rather than a database name */
	if (strncmp(conninfo, "postgresql://", 13) == 0 || strncmp(conninfo, "postgres://", 11) == 0 ||
	    strchr(conninfo, '=')) {
		if ((opts = PQconninfoParse(conninfo, &perr)))
			PQconninfoFree(opts);
		else
			db->bad = bad_conninfo(conninfo, perr ? perr : "cannot parse it");
		PQfreemem(perr);
	}
	return db;
}

static struct pgdb *db_get(const char *conninfo)
{
	struct pgdb *db;

	for (size_t i = 0; i < dbs.n; i++) {
		db = dbs.v[i];
		if (strcmp(db->conninfo, conninfo) == 0)
			return db;
	}
	db = db_new(conninfo);
	vec_push(&dbs, db);
	return db;
}

/* The control connection, (re)opened when needed. */
static int db_control(struct pgdb *db, char **err)
{
	if (db->ctl && conn_alive(db->ctl))
		return 0;
	if (db->ctl) {
		if (db->locked)
			warn("lost the connection holding the lock on %s; taking the lock again", db->desc);
		PQfinish(db->ctl);
		db->ctl = NULL;
		db->locked = false;
		db->registry = false;
	}
	db->ctl = db_connect(db, err);
	return db->ctl ? 0 : -1;
}

/* Run SQL with text PARAMS on C, blocking; NULL result on error with *ERR set. */
static PGresult *exec(struct pgdb *db, PGconn *c, const char *sql, int np, const char *const *params,
                      char **err, char *state)
{
	PGresult *r = np ? PQexecParams(c, sql, np, NULL, params, NULL, NULL, 0) : PQexec(c, sql);
	ExecStatusType st = PQresultStatus(r);

	if (state)
		*state = '\0';
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return r;
	if (state && PQresultErrorField(r, PG_DIAG_SQLSTATE))
		snprintf(state, 6, "%s", PQresultErrorField(r, PG_DIAG_SQLSTATE));
	*err = scrub(xasprintf("%s: %s", db->desc ? db->desc : "database", PQerrorMessage(c)));
	PQclear(r);
	return NULL;
}

/* The advisory lock's key: one per database, so that two plans never migrate it at once;
 * one per plan when the plan says it shares the database ([orch] share_database). */
static int64_t lock_key(struct graph *g)
{
	char *s = g->share_database ? xasprintf("orch:%s", g->name ? g->name : "") : xstrdup("orch:database");
	uint64_t h = hash_bytes(s, strlen(s));

	free(s);
	return (int64_t)h;
}

static int64_t lock_timeout_ms(void)
{
	const char *s = getenv("ORCH_LOCK_TIMEOUT");
	long n;
	int64_t ms;

	if (!s || !*s)
		return LOCK_TIMEOUT_DEFAULT_MS;
	if ((n = parse_count(s, 1000000)) >= 0)
		return (int64_t)n * 1000;
	if ((ms = parse_duration(s)) >= 0 && ms <= 1000000000)
		return ms;
	warn("ORCH_LOCK_TIMEOUT=%s is not a number of seconds; using %ds", s, LOCK_TIMEOUT_DEFAULT_MS / 1000);
	return LOCK_TIMEOUT_DEFAULT_MS;
}

/* Who holds the advisory lock KEY on C's database: "pid N, application_name X, ...",
 * and in PID and START the holder's pid and backend start (to recognise ourselves). */
static char *lock_holder(struct pgdb *db, PGconn *c, int64_t key, char *pid, char *start)
{
	char classid[16], objid[16];
	const char *p[2] = {classid, objid};
	char *err = NULL, *s;
	PGresult *r;

	*pid = *start = '\0';
	snprintf(classid, sizeof(classid), "%" PRIu32, (uint32_t)((uint64_t)key >> 32));
	snprintf(objid, sizeof(objid), "%" PRIu32, (uint32_t)key);
	r = exec(db, c,
	         "SELECT l.pid, coalesce(a.application_name, ''), coalesce(a.client_addr::text, 'local'),"
	         " a.backend_start::text FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid"
	         " WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1"
	         " AND l.classid = $1::oid AND l.objid = $2::oid"
	         " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
	         2, p, &err, NULL);
	if (!r) {
		free(err);
		return xstrdup("unknown holder");
	}
	if (PQntuples(r) == 0) {
		PQclear(r);
		return xstrdup("holder gone");
	}
	snprintf(pid, 16, "%s", PQgetvalue(r, 0, 0));
	snprintf(start, 64, "%s", PQgetvalue(r, 0, 3));
	s = xasprintf("pid %s, application_name %s, client %s", PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1),
	              PQgetvalue(r, 0, 2));
	PQclear(r);
	return s;
}

/* Whether the lock holder PID/START is one of this process's own control connections
 * (the same database reached through another connection string). */
static bool holder_is_us(struct pgdb *self, const char *pid, const char *start)
{
	for (size_t i = 0; i < dbs.n; i++) {
		struct pgdb *d = dbs.v[i];
		char *err = NULL;
		PGresult *r;
		bool same;

		if (d == self || !d->ctl || !d->locked || PQbackendPID(d->ctl) != atoi(pid))
			continue;
		r = exec(d, d->ctl, "SELECT backend_start::text FROM pg_stat_activity WHERE pid = pg_backend_pid()",
		         0, NULL, &err, NULL);
		if (!r) {
			free(err);
			continue;
		}
		same = PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), start) == 0;
		PQclear(r);
		if (same)
			return true;
	}
	return false;
}

/* Send pg_advisory_lock and wait for its answer without blocking in libpq, so that
 * SIGINT, SIGTERM or SIGHUP (*SIG) ends the wait at once: the query is canceled and
 * its answer read (the lock may have come at the same moment). The result as exec's;
 * a control connection that does not answer is closed. */
static PGresult *lock_wait(struct pgdb *db, const char *const *params, char **err, char *state, int *sig)
{
	PGconn *c = db->ctl;
	PGresult *r, *last = NULL;
	int64_t canceled_ms = 0;
	char ebuf[256];

	*sig = 0;
	*state = '\0';
	if (!PQsendQueryParams(c, "SELECT pg_advisory_lock($1::bigint)", 1, NULL, params, NULL, NULL, 0))
		goto lost;
	for (;;) {
		struct pollfd pfd = {.fd = PQsocket(c), .events = POLLIN};
		int w, s = 0;

		if (!PQconsumeInput(c))
			goto lost;
		while (!PQisBusy(c)) {
			if (!(r = PQgetResult(c)))
				goto done;
			PQclear(last);
			last = r;
		}
		if (canceled_ms && now_ms() - canceled_ms > CANCEL_GRACE_MS)
			goto lost;
		/* once canceled, only the server's answer is awaited */
		w = canceled_ms ? poll(&pfd, 1, 100) : os_wait(pfd.fd, POLLIN, -1, &s);
		if (w < 0 && errno != EINTR)
			goto lost;
		if (s && !canceled_ms) {
			PGcancel *pc = PQgetCancel(c);

			*sig = s;
			canceled_ms = now_ms();
			if (!pc || !PQcancel(pc, ebuf, sizeof(ebuf)))
				canceled_ms -= CANCEL_GRACE_MS; /* no cancel: the connection goes */
			PQfreeCancel(pc);
		}
	}
done:
	if (last && (PQresultStatus(last) == PGRES_TUPLES_OK || PQresultStatus(last) == PGRES_COMMAND_OK))
		return last;
	if (last && PQresultErrorField(last, PG_DIAG_SQLSTATE))
		snprintf(state, 6, "%s", PQresultErrorField(last, PG_DIAG_SQLSTATE));
	*err = scrub(xasprintf("%s: %s", db->desc, last ? PQresultErrorMessage(last) : PQerrorMessage(c)));
	PQclear(last);
	return NULL;
lost:
	*err = scrub(xasprintf("lost the connection to %s while waiting for the lock: %s", db->desc,
	                       PQerrorMessage(c)));
	PQclear(last);
	PQfinish(c);
	db->ctl = NULL;
	db->registry = false;
	return NULL;
}

/* Take the plan's advisory lock on DB, waiting up to ORCH_LOCK_TIMEOUT. Returns 0, -1
 * (*LOCKED when the wait timed out), or PG_INTERRUPTED. */
static int db_lock(struct graph *g, struct pgdb *db, char **err, bool *locked)
{
	char keys[24], pid[16], start[64], state[6], ms[64];
	const char *p[1] = {keys};
	int64_t key = lock_key(g), timeout;
	PGresult *r;
	char *holder;
	bool got;
	int sig = 0;

	if (db_control(db, err) < 0)
		return -1;
	if (db->locked)
		return 0;
	snprintf(keys, sizeof(keys), "%" PRId64, key);
	if (!(r = exec(db, db->ctl, "SELECT pg_try_advisory_lock($1::bigint)", 1, p, err, NULL)))
		return -1;
	got = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	PQclear(r);
	if (got) {
		db->locked = true;
		return 0;
	}
	holder = lock_holder(db, db->ctl, key, pid, start);
	if (*pid && holder_is_us(db, pid, start)) {
		/* our own lock, taken through another connection string */
		free(holder);
		db->locked = true;
		return 0;
	}
	timeout = lock_timeout_ms();
	if ((sig = os_signal_caught())) {
		/* interrupted already: no waiting, no word of it */
		*err = xasprintf("%s before waiting for the lock on %s; nothing was run", strsignal(sig), db->desc);
		free(holder);
		return PG_INTERRUPTED;
	}
	if (timeout > 0) {
		warn("waiting for the lock on %s held by another orch (%s), up to %" PRId64 "s (ORCH_LOCK_TIMEOUT)",
		     db->desc, holder, (timeout + 999) / 1000);
		snprintf(ms, sizeof(ms), "SET lock_timeout = %" PRId64, timeout);
		if (!(r = exec(db, db->ctl, ms, 0, NULL, err, NULL))) {
			free(holder);
			return -1;
		}
		PQclear(r);
		r = lock_wait(db, p, err, state, &sig);
		if (db->ctl)
			PQclear(PQexec(db->ctl, "RESET lock_timeout"));
		if (r) {
			PQclear(r);
			db->locked = true;
		}
		if (sig) {
			free(*err);
			*err = xasprintf("%s while waiting for the lock on %s; nothing was run", strsignal(sig), db->desc);
			free(holder);
			return PG_INTERRUPTED;
		}
		if (r) {
			free(holder);
			return 0;
		}
		if (strcmp(state, "55P03") != 0) {
			free(holder);
			return -1;
		}
		free(*err);
	}
	*err = xasprintf("%s is locked by another orch %s (%s); gave up after %" PRId64 "s (ORCH_LOCK_TIMEOUT)",
	                 db->desc, g->share_database ? "running this plan" : "migrating it", holder, timeout / 1000);
	*locked = true;
	free(holder);
	return -1;
}

/* The registry's two columns that came later, for a registry made before them. */
static const char registry_upgrade[] =
	"ALTER TABLE orch.registry ADD COLUMN IF NOT EXISTS checksum text,"
	" ADD COLUMN IF NOT EXISTS script text";

/* Whether DB has a registry (1), none (0), or -1 (*ERR); one made before the checksum and
 * script columns gets them (that needs the lock: the caller holds it). */
static int db_has_registry(struct pgdb *db, bool upgrade, char **err)
{
	PGresult *r;
	int have, cols;

	if (db->registry)
		return 1;
	if (!(r = exec(db, db->ctl,
	               "SELECT to_regclass('orch.registry') IS NOT NULL, (SELECT count(*) FROM pg_attribute"
	               " WHERE attrelid = to_regclass('orch.registry') AND attname IN ('checksum', 'script')"
	               " AND NOT attisdropped)",
	               0, NULL, err, NULL)))
		return -1;
	have = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	cols = atoi(PQgetvalue(r, 0, 1));
	PQclear(r);
	if (have && cols < 2 && upgrade) {
		if (!(r = exec(db, db->ctl, registry_upgrade, 0, NULL, err, NULL)))
			return -1;
		PQclear(r);
		cols = 2;
	}
	db->registry = have && cols == 2;
	return have ? 1 : 0;
}

static int db_registry(struct pgdb *db, char **err)
{
	PGresult *r;
	int have;

	if ((have = db_has_registry(db, true, err)) < 0)
		return -1;
	if (!have) {
		r = exec(db, db->ctl,
		         "CREATE SCHEMA IF NOT EXISTS orch;"
		         " CREATE TABLE IF NOT EXISTS orch.registry ("
		         "  plan text NOT NULL,"
		         "  step text NOT NULL,"
		         "  signature text,"
		         "  applied_at timestamptz NOT NULL DEFAULT now(),"
		         "  applied_by text,"
		         "  backup text,"
		         "  checksum text,"
		         "  script text,"
		         "  PRIMARY KEY (plan, step))",
		         0, NULL, err, NULL);
		if (!r) {
			char *e = *err;

			*err = xasprintf("creating the registry orch.registry: %s", e);
			free(e);
			return -1;
		}
		PQclear(r);
	}
	db->registry = true;
	return 0;
}

static const char *scratch; /* --test-rollback: every step's database */

void pg_scratch(const char *conninfo)
{
	scratch = conninfo;
}

const char *pg_conninfo(struct graph *g, struct node *n)
{
	const char *s;

	if (scratch)
		return scratch;
	if (n && n->x->database && *n->x->database)
		return n->x->database;
	if (g && g->database && *g->database)
		return g->database;
	s = getenv("DATABASE_URL");
	return s && *s ? s : NULL;
}

static struct pgdb *node_db(struct graph *g, struct node *n, char **err)
{
	const char *ci = pg_conninfo(g, n);

	if (!ci) {
		*err = xasprintf("step '%s': no database: set database, [orch] database or DATABASE_URL", n->name);
		return NULL;
	}
	return db_get(ci);
}

int pg_lock(struct graph *g, struct node *n, char **err, bool *locked)
{
	struct pgdb *db;

	*err = NULL;
	*locked = false;
	if (!(db = node_db(g, n, err)))
		return -1;
	return db_lock(g, db, err, locked);
}

/* Jobs: the command list */

static struct pgcmd *job_insert(struct pgjob *job, size_t at, const char *what)
{
	struct pgcmd *c;

	if (job->ncmds == job->capcmds) {
		job->capcmds = job->capcmds ? job->capcmds * 2 : 16;
		job->cmds = xreallocarray(job->cmds, job->capcmds, sizeof(*job->cmds));
	}
	memmove(job->cmds + at + 1, job->cmds + at, (job->ncmds - at) * sizeof(*job->cmds));
	job->ncmds++;
	c = &job->cmds[at];
	memset(c, 0, sizeof(*c));
	c->what = what;
	return c;
}

static struct pgcmd *job_push(struct pgjob *job, const char *sql, const char *what)
{
	struct pgcmd *c = job_insert(job, job->ncmds, what);

	c->sql = xstrdup(sql);
	return c;
}

static int cb_status(struct pgjob *job, struct pgcmd *c, PGresult *r);
static int cb_gexec(struct pgjob *job, struct pgcmd *c, PGresult *r);
static int cb_echo(struct pgjob *job, struct pgcmd *c, PGresult *r);
static int cb_wrapped(struct pgjob *job, struct pgcmd *c, PGresult *r);

/* The commands that run file F: in one transaction (WHOLE), its plain statements in
 * runs sent at once (the server parses them); else statement by statement. \gexec
 * queries, COPY FROM stdin and \echo are commands of their own. A whole file wrapped in
 * BEGIN ... COMMIT runs without its wrapper, inside orch's transaction; one wrapped in
 * BEGIN ... ROLLBACK inside a savepoint rolled back after it. */
static void job_pushfile(struct pgjob *job, struct sqlfile *f, bool whole)
{
	struct pgcmd *c;
	enum sqlwrap wrap;
	size_t first, last;

	if (!f->nstmts) { /* nothing but comments: the server says so (its log line) */
		c = job_push(job, "", NULL);
		c->file = f;
		c->cb = cb_status;
		return;
	}
	wrap = whole ? sqlfile_wrap(f) : SQL_WRAP_NONE;
	first = wrap ? 1 : 0;
	last = wrap ? f->nstmts - 1 : f->nstmts;
	if (wrap == SQL_WRAP_ROLLBACK)
		job_push(job, "SAVEPOINT orch_wrapped", "savepoint")->cb = cb_wrapped;
	for (size_t i = first; i < last;) {
		const struct sqlstmt *st = &f->stmts[i];
		size_t k = i + 1;

		if (whole && st->kind == SQL_PLAIN)
			while (k < last && f->stmts[k].kind == SQL_PLAIN)
				k++;
		c = job_insert(job, job->ncmds, NULL);
		c->sql = st->kind == SQL_ECHO ? xstrdup("") : xstrndup(f->text + st->start, f->stmts[k - 1].end - st->start);
		c->file = f;
		c->stmt = i;
		c->nstmts = k - i;
		c->cb = st->kind == SQL_GEXEC ? cb_gexec : st->kind == SQL_ECHO ? cb_echo : cb_status;
		i = k;
	}
	if (wrap == SQL_WRAP_ROLLBACK)
		job_push(job, "ROLLBACK TO SAVEPOINT orch_wrapped; RELEASE SAVEPOINT orch_wrapped", "savepoint")->cb =
			cb_wrapped;
}

static void out_cmdstatus(struct pgjob *job, PGresult *r)
{
	const char *s = PQcmdStatus(r);

	if (s && *s)
		buf_printf(&job->out, "%s\n", s);
}

/* The backup table's name inside orch_backup: "<plan>__<step>__<table>", shortened with a
 * hash when longer than PostgreSQL's 63 bytes. */
static char *backup_name(struct graph *g, struct node *n, const char *table)
{
	char *s = xasprintf("%s__%s__%s", g->name ? g->name : "", n->name, table);
	size_t len = strlen(s), cut = 46;
	uint64_t h;
	char *t;

	if (len <= 63)
		return s;
	while (cut > 0 && ((unsigned char)s[cut] & 0xc0) == 0x80)
		cut--;
	h = hash_bytes(s, len);
	s[cut] = '\0';
	t = xasprintf("%s_%016" PRIx64, s, h);
	free(s);
	return t;
}

char *pg_backup_table(struct graph *g, struct node *n, const char *table)
{
	char *name = backup_name(g, n, table);
	struct buf b = {0};

	buf_puts(&b, "orch_backup.\"");
	for (const char *p = name; *p; p++) {
		if (*p == '"')
			buf_putc(&b, '"');
		buf_putc(&b, *p);
	}
	buf_putc(&b, '"');
	free(name);
	return b.s;
}

static const char resolve_sql[] =
	"SELECT to_regclass($1)::text, to_regclass($2)::text,"
	" (SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute"
	"  WHERE attrelid = to_regclass($3) AND attnum > 0 AND NOT attisdropped AND attgenerated = '')";

static int cb_copied(struct pgjob *job, struct pgcmd *c, PGresult *r)
{
	if (strncmp(PQcmdStatus(r), "INSERT", 6) == 0)
		buf_printf(&job->out, "backup: %s -> %s (%s rows)\n", job->tables[c->arg], job->btables[c->arg],
		           PQcmdTuples(r));
	return 0;
}

char *pg_backup_note(const struct pgjob *job)
{
	struct buf b = {0};

	for (size_t i = 0; job->what == PG_APPLY && i < job->ntables; i++)
		buf_printf(&b, "%s%s -> %s", i ? "; " : "backup: ", job->tables[i], job->btables[i]);
	for (size_t i = 0; job->what == PG_APPLY && i < job->n->x->backup_schema.n; i++) {
		char *d = pg_schema_dump(job->g, job->n, job->n->x->backup_schema.v[i]);

		buf_printf(&b, "%sschema %s -> %s", b.len ? "; " : "backup: ", (char *)job->n->x->backup_schema.v[i], d);
		free(d);
	}
	return b.s;
}

char *pg_schema_dump(struct graph *g, struct node *n, const char *schema)
{
	struct buf b = {0};

	buf_printf(&b, ".orch/backups/%s__%s/", g->name ? g->name : "", n->name);
	for (const char *p = schema; *p; p++)
		buf_putc(&b, isalnum((unsigned char)*p) || *p == '_' || *p == '-' || (*p == '.' && p != schema) ? *p : '_');
	buf_puts(&b, ".sql");
	return b.s;
}

/* backup_schema: each schema dumped with pg_dump (plain SQL, without owners) before
 * the step's transaction, into pg_schema_dump's file (replaced only once the dump is
 * whole). Blocking. Returns 0, or -1 with *ERR. */
static int dump_schemas(struct pgjob *job, char **err)
{
	struct node *n = job->n;

	for (size_t i = 0; i < n->x->backup_schema.n; i++) {
		const char *schema = n->x->backup_schema.v[i];
		char *rel = pg_schema_dump(job->g, n, schema);
		char *path = xasprintf("%s/%s", job->g->dir, rel), *tmp = xasprintf("%s.tmp", path);
		char *dir = xstrndup(path, (size_t)(strrchr(path, '/') - path));
		char *argv[] = {"pg_dump", "--no-owner", "-n", (char *)schema, "-f", tmp, "-d", job->db->conninfo, NULL};
		int rc = os_mkdirs(dir, 0777) < 0 ? -2 : os_run(argv, NULL);

		if (rc == 0 && rename(tmp, path) < 0)
			rc = -3;
		if (rc == 0) {
			buf_printf(&job->out, "backup: schema %s -> %s\n", schema, rel);
		} else {
			*err = rc == -2   ? xasprintf("backup_schema: cannot create %s: %s", dir, strerror(errno))
			       : rc == -3 ? xasprintf("backup_schema: cannot rename %s: %s", tmp, strerror(errno))
			       : rc < 0   ? xasprintf("backup_schema: cannot run pg_dump: %s", strerror(errno))
			                  : xasprintf("backup_schema: pg_dump -n %s of %s failed (exit %d)", schema,
			                              job->db->desc ? job->db->desc : "the database", rc);
			unlink(tmp);
		}
		free(rel);
		free(path);
		free(tmp);
		free(dir);
		if (rc != 0)
			return -1;
	}
	return 0;
}

void pg_buf_literal(struct buf *b, const char *s)
{
	buf_putc(b, '\'');
	for (; *s; s++) {
		if (*s == '\'')
			buf_putc(b, '\'');
		buf_putc(b, *s);
	}
	buf_putc(b, '\'');
}

/* What a restore needs that the copy itself does not keep, as JSON in the backup
 * table's comment: the table's name, its columns' defaults, the sequences its serial
 * columns own, its identity columns and its foreign keys. $T is the live table. */
static const char backup_meta_sql[] =
	"json_build_object("
	"'table', (SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c"
	"  JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = $T),"
	"'defaults', (SELECT coalesce(json_object_agg(a.attname, pg_get_expr(d.adbin, d.adrelid)), '{}')"
	"  FROM pg_attrdef d JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum"
	"  WHERE d.adrelid = $T AND a.attgenerated = '' AND NOT a.attisdropped),"
	"'sequences', (SELECT coalesce(json_object_agg(a.attname, pg_get_serial_sequence($T::text, a.attname)), '{}')"
	"  FROM pg_attribute a WHERE a.attrelid = $T AND a.attnum > 0 AND NOT a.attisdropped"
	"  AND a.attidentity = '' AND pg_get_serial_sequence($T::text, a.attname) IS NOT NULL),"
	"'identity', (SELECT coalesce(json_agg(a.attname), '[]') FROM pg_attribute a"
	"  WHERE a.attrelid = $T AND a.attnum > 0 AND NOT a.attisdropped AND a.attidentity <> ''),"
	"'seqopts', (SELECT coalesce(json_object_agg(a.attname, format('AS %s INCREMENT BY %s MINVALUE %s MAXVALUE %s"
	"  START WITH %s CACHE %s %s', q.seqtypid::regtype, q.seqincrement, q.seqmin, q.seqmax, q.seqstart, q.seqcache,"
	"  CASE WHEN q.seqcycle THEN 'CYCLE' ELSE 'NO CYCLE' END)), '{}')"
	"  FROM pg_attribute a JOIN pg_sequence q ON q.seqrelid = pg_get_serial_sequence($T::text, a.attname)::regclass"
	"  WHERE a.attrelid = $T AND a.attnum > 0 AND NOT a.attisdropped),"
	"'fkeys', (SELECT coalesce(json_agg(json_build_array(conname, pg_get_constraintdef(oid)) ORDER BY conname), '[]')"
	"  FROM pg_constraint WHERE conrelid = $T AND contype = 'f'))";

/* The live table is resolved: copy it (structure and rows) into orch_backup. The copy
 * takes no defaults, so that it shares no sequence (nor function) with the original;
 * they are kept in its comment for the restore. */
static int cb_backup(struct pgjob *job, struct pgcmd *c, PGresult *r)
{
	size_t i = c->arg;
	char *live, *b, *cols, *meta;
	struct buf lit = {0}, bl = {0};
	struct pgcmd *nc;

	if (PQgetisnull(r, 0, 0)) {
		free(job->err);
		job->err = xasprintf("backup: no table %s on %s", job->tables[i], job->db->desc);
		return -1;
	}
	live = PQgetvalue(r, 0, 0);
	cols = PQgetvalue(r, 0, 2);
	b = job->btables[i];
	pg_buf_literal(&lit, live);
	buf_puts(&lit, "::regclass");
	pg_buf_literal(&bl, b);
	meta = replace_all(backup_meta_sql, "$T", buf_str(&lit));
	nc = job_insert(job, job->cur + 1, "backup");
	nc->dyn = true;
	nc->sql = xasprintf("CREATE SCHEMA IF NOT EXISTS orch_backup;"
	                    " DROP TABLE IF EXISTS %s;"
	                    " CREATE TABLE %s (LIKE %s INCLUDING ALL EXCLUDING DEFAULTS);"
	                    " DO $orch$ BEGIN EXECUTE format('COMMENT ON TABLE %%s IS %%L', %s, %s::text); END $orch$;"
	                    " INSERT INTO %s (%s) OVERRIDING SYSTEM VALUE SELECT %s FROM %s",
	                    b, b, live, buf_str(&bl), meta, b, cols, cols, live);
	nc->cb = cb_copied;
	nc->arg = i;
	free(meta);
	buf_free(&lit);
	buf_free(&bl);
	return 0;
}

/* The restore, one statement: each live table (as the backup's comment names it) is
 * dropped, its serial sequences kept, and made again from its backup: structure, rows,
 * defaults, serial sequences, identity positions, then the foreign keys. */
static const char restore_sql[] =
	"DO $orch$\n"
	"DECLARE\n"
	"  b text[] := ARRAY[%s]; w text[] := ARRAY[%s]; live text[]; meta json[];\n"
	"  drops text := ''; r record; n bigint; cols text; seq text;\n"
	"BEGIN\n"
	"  FOR i IN 1 .. array_length(b, 1) LOOP\n"
	"    IF to_regclass(b[i]) IS NULL THEN RAISE EXCEPTION 'no backup table %% for %%', b[i], w[i]; END IF;\n"
	"    meta[i] := obj_description(to_regclass(b[i]), 'pg_class')::json;\n"
	"    IF meta[i]->>'table' IS NULL THEN\n"
	"      RAISE EXCEPTION 'backup table %% has no structure recorded (made by an older orch): restore it by hand', b[i];\n"
	"    END IF;\n"
	"    live[i] := meta[i]->>'table';\n"
	"    IF to_regclass(live[i]) IS NOT NULL THEN\n"
	"      FOR seq IN SELECT d.objid::regclass::text FROM pg_depend d JOIN pg_class s ON s.oid = d.objid\n"
	"          WHERE d.classid = 'pg_class'::regclass AND d.refobjid = to_regclass(live[i])\n"
	"          AND d.deptype = 'a' AND s.relkind = 'S' LOOP\n"
	"        EXECUTE format('ALTER SEQUENCE %%s OWNED BY NONE', seq);\n"
	"      END LOOP;\n"
	"      drops := drops || CASE WHEN drops = '' THEN '' ELSE ', ' END || live[i];\n"
	"    END IF;\n"
	"  END LOOP;\n"
	"  IF drops <> '' THEN EXECUTE 'DROP TABLE ' || drops; END IF;\n"
	"  FOR i IN 1 .. array_length(b, 1) LOOP\n"
	"    EXECUTE format('CREATE TABLE %%s (LIKE %%s INCLUDING ALL)', live[i], b[i]);\n"
	"    SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) INTO cols FROM pg_attribute\n"
	"      WHERE attrelid = to_regclass(b[i]) AND attnum > 0 AND NOT attisdropped AND attgenerated = '';\n"
	"    EXECUTE format('INSERT INTO %%s (%%s) OVERRIDING SYSTEM VALUE SELECT %%s FROM %%s', live[i], cols, cols, b[i]);\n"
	"    GET DIAGNOSTICS n = ROW_COUNT;\n"
	"    FOR r IN SELECT key, value FROM json_each_text(meta[i]->'sequences') LOOP\n"
	"      IF to_regclass(r.value) IS NULL THEN\n"
	"        EXECUTE format('CREATE SEQUENCE %%s %%s', r.value, meta[i]->'seqopts'->>r.key);\n"
	"        EXECUTE format('SELECT setval(%%L, coalesce((SELECT max(%%I) FROM %%s), 0) + 1, false)', r.value, r.key, live[i]);\n"
	"      END IF;\n"
	"      EXECUTE format('ALTER SEQUENCE %%s OWNED BY %%s.%%I', r.value, live[i], r.key);\n"
	"    END LOOP;\n"
	"    FOR r IN SELECT key, value FROM json_each_text(meta[i]->'defaults') LOOP\n"
	"      EXECUTE format('ALTER TABLE %%s ALTER COLUMN %%I SET DEFAULT %%s', live[i], r.key, r.value);\n"
	"    END LOOP;\n"
	"    FOR r IN SELECT value AS col FROM json_array_elements_text(meta[i]->'identity') LOOP\n"
	"      EXECUTE format('ALTER SEQUENCE %%s %%s', pg_get_serial_sequence(live[i], r.col), meta[i]->'seqopts'->>r.col);\n"
	"      EXECUTE format('SELECT setval(pg_get_serial_sequence(%%L, %%L), coalesce((SELECT max(%%I) FROM %%s), 0) + 1, false)',\n"
	"        live[i], r.col, r.col, live[i]);\n"
	"    END LOOP;\n"
	"    RAISE NOTICE 'restore: %% <- %% (%% rows)', w[i], b[i], n;\n"
	"  END LOOP;\n"
	"  FOR i IN 1 .. array_length(b, 1) LOOP\n"
	"    FOR r IN SELECT value->>0 AS name, value->>1 AS def FROM json_array_elements(meta[i]->'fkeys') LOOP\n"
	"      EXECUTE format('ALTER TABLE %%s ADD CONSTRAINT %%I %%s', live[i], r.name, r.def);\n"
	"    END LOOP;\n"
	"  END LOOP;\n"
	"END $orch$";

/* The restore of the step's backups, in the order listed. */
static void job_pushrestore(struct pgjob *job)
{
	const struct vec *v = &job->n->x->backup;
	struct buf b = {0}, w = {0};
	struct pgcmd *c;

	for (size_t i = 0; i < v->n; i++) {
		char *t = pg_backup_table(job->g, job->n, v->v[i]);

		buf_puts(&b, i ? ", " : "");
		pg_buf_literal(&b, t);
		buf_puts(&w, i ? ", " : "");
		pg_buf_literal(&w, v->v[i]);
		free(t);
	}
	c = job_push(job, "", "restore");
	free(c->sql);
	c->sql = xasprintf(restore_sql, buf_str(&b), buf_str(&w));
	c->notices = true;
	buf_free(&b);
	buf_free(&w);
}

/* The commands that resolve the backup tables; cb_backup adds the copies. */
static void job_pushbackup(struct pgjob *job)
{
	const struct vec *v = &job->n->x->backup;

	job->ntables = v->n;
	job->tables = xcalloc(v->n, sizeof(char *));
	job->btables = xcalloc(v->n, sizeof(char *));
	job->cols = xcalloc(v->n, sizeof(char *));
	for (size_t i = 0; i < v->n; i++) {
		struct pgcmd *c = job_push(job, resolve_sql, "backup");

		job->tables[i] = xstrdup(v->v[i]);
		job->btables[i] = pg_backup_table(job->g, job->n, v->v[i]);
		c->params[0] = xstrdup(v->v[i]);
		c->params[1] = xstrdup(job->btables[i]);
		c->params[2] = xstrdup(v->v[i]);
		c->nparams = 3;
		c->cb = cb_backup;
		c->arg = i;
	}
}

static int cb_status(struct pgjob *job, struct pgcmd *c, PGresult *r)
{
	(void)c;
	out_cmdstatus(job, r);
	return 0;
}

/* A step's registry row, applied (or recorded as applied): $1 plan, $2 step, $3 signature,
 * $4 applied_by ('' for the session's role), $5 backup, $6 checksum, $7 script. */
static const char registry_put[] =
	"INSERT INTO orch.registry (plan, step, signature, applied_at, applied_by, backup, checksum, script)"
	" VALUES ($1, $2, $3, now(), coalesce(nullif($4, ''), session_user), $5, $6, $7)"
	" ON CONFLICT (plan, step) DO UPDATE SET signature = EXCLUDED.signature,"
	" applied_at = EXCLUDED.applied_at, applied_by = EXCLUDED.applied_by,"
	" backup = EXCLUDED.backup, checksum = EXCLUDED.checksum, script = EXCLUDED.script";
static int cb_echo(struct pgjob *job, struct pgcmd *c, PGresult *r)
{
	const struct sqlstmt *st = &c->file->stmts[c->stmt];

	(void)r;
	buf_add(&job->out, c->file->extra.s + st->data, st->datalen);
	buf_putc(&job->out, '\n');
	return 0;
}

/* \gexec: each value of the query's result, row by row, is a statement run next. */
static int cb_gexec(struct pgjob *job, struct pgcmd *c, PGresult *r)
{
	size_t at = job->cur + 1;
	struct sqlpos pos;
	char *where;

	sqlfile_pos(c->file, c->file->stmts[c->stmt].start, &pos);
	where = xasprintf("%s:%d: \\gexec", pos.src->path, pos.line);
	for (int row = 0; row < PQntuples(r); row++)
		for (int col = 0; col < PQnfields(r); col++) {
			struct pgcmd *nc;

			if (PQgetisnull(r, row, col))
				continue;
			nc = job_insert(job, at++, NULL);
			nc->sql = xstrdup(PQgetvalue(r, row, col));
			nc->whatbuf = xstrdup(where);
			nc->what = nc->whatbuf;
			nc->cb = cb_status;
			nc->dyn = true;
		}
	free(where);
	return 0;
}

/* The savepoint of a file wrapped in BEGIN ... ROLLBACK, rolled back: say so once. */
static int cb_wrapped(struct pgjob *job, struct pgcmd *c, PGresult *r)
{
	(void)r;
	if (strncmp(c->sql, "ROLLBACK", 8) == 0 && c->nok == 0)
		buf_printf(&job->out, "ROLLBACK TO SAVEPOINT (the file's own ROLLBACK)\n");
	return 0;
}

static void job_pushregistry(struct pgjob *job)
{
	struct pgcmd *c;
	const char *user = user_name();
	struct buf b = {0};

	if (job->what == PG_APPLY) {
		char hex[33];

		c = job_push(job, registry_put, "registry");
		for (size_t i = 0; i < job->n->x->backup.n; i++) {
			char *t = pg_backup_table(job->g, job->n, job->n->x->backup.v[i]);

			buf_printf(&b, "%s%s", i ? " " : "", t);
			free(t);
		}
		c->params[0] = xstrdup(job->g->name ? job->g->name : "");
		c->params[1] = xstrdup(job->n->name);
		c->params[2] = job->sig ? xstrdup(job->sig) : NULL;
		c->params[3] = xstrdup(user ? user : "");
		c->params[4] = b.s;
		/* the file as written, not as sent: its variables (secrets too) stay out */
		hash128_hex(hash128_bytes(job->files[0].srcs[0].text, job->files[0].srcs[0].len), hex);
		c->params[5] = xstrdup(hex);
		c->params[6] = xstrndup(job->files[0].srcs[0].text, job->files[0].srcs[0].len);
		c->nparams = 7;
	} else {
		c = job_push(job, "DELETE FROM orch.registry WHERE plan = $1 AND step = $2", "registry");
		c->params[0] = xstrdup(job->g->name ? job->g->name : "");
		c->params[1] = xstrdup(job->n->name);
		c->nparams = 2;
	}
}

/* lock_timeout and statement_timeout, the step's else [orch]'s: SET LOCAL in the
 * step's transaction, or SET for the session (reset before the next step) without. */
static void job_pushtimeouts(struct pgjob *job, bool tx)
{
	int64_t lt = job->n->x->lock_timeout_ms >= 0 ? job->n->x->lock_timeout_ms : job->g->lock_timeout_ms;
	int64_t st = job->n->x->statement_timeout_ms >= 0 ? job->n->x->statement_timeout_ms : job->g->statement_timeout_ms;
	char *sql;

	if (lt >= 0) {
		sql = xasprintf("SET%s lock_timeout = %" PRId64, tx ? " LOCAL" : "", lt);
		job_push(job, sql, "lock_timeout");
		free(sql);
	}
	if (st >= 0) {
		sql = xasprintf("SET%s statement_timeout = %" PRId64, tx ? " LOCAL" : "", st);
		job_push(job, sql, "statement_timeout");
		free(sql);
	}
}

/* Send the current command; 0, or -1 when the connection is gone. */
static int job_send(struct pgjob *job)
{
	struct pgcmd *c = &job->cmds[job->cur];
	int ok, fl;

	job->incommit = strcmp(c->sql, "COMMIT") == 0;
	if (PQtransactionStatus(job->conn) == PQTRANS_IDLE)
		job->txfrom = job->cur;
	if (c->nparams)
		ok = PQsendQueryParams(job->conn, c->sql, c->nparams, NULL, (const char *const *)c->params, NULL,
		                       NULL, 0);
	else
		ok = PQsendQuery(job->conn, c->sql);
	if (!ok)
		return -1;
	fl = PQflush(job->conn);
	if (fl < 0)
		return -1;
	job->flushing = fl == 1;
	return 0;
}

/* Errors */

/* The first line of S (N bytes), at most 100 bytes, with " ..." when there is more. */
static void first_line(struct buf *b, const char *s, size_t n, bool dots)
{
	size_t k = 0;

	while (k < n && s[k] != '\n' && k < 100)
		k++;
	while (k > 0 && k < n && ((unsigned char)s[k] & 0xc0) == 0x80)
		k--; /* not inside a character */
	buf_add(b, s, k);
	if (dots && k < n)
		buf_puts(b, " ...");
}

/* Whether SQLSTATE STATE is a transient error, worth running the transaction again:
 * deadlock_detected, serialization_failure, lock_not_available (lock_timeout, NOWAIT). */
static bool transient(const char *state)
{
	return strcmp(state, "40P01") == 0 || strcmp(state, "40001") == 0 || strcmp(state, "55P03") == 0;
}

/* Record the error R of the current command: *err gets one line, the log the whole. */
static void job_error(struct pgjob *job, PGresult *r)
{
	struct pgcmd *c = &job->cmds[job->cur];
	const char *sev = PQresultErrorField(r, PG_DIAG_SEVERITY);
	const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	const char *msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
	const char *detail = PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL);
	const char *hint = PQresultErrorField(r, PG_DIAG_MESSAGE_HINT);
	const char *ctx = PQresultErrorField(r, PG_DIAG_CONTEXT);
	const char *pos = PQresultErrorField(r, PG_DIAG_STATEMENT_POSITION);
	struct buf where = {0}, more = {0};
	char *head;

	if (!msg)
		msg = PQresultErrorMessage(r);
	if (c->file && c->file->nstmts) {
		struct sqlfile *f = c->file;
		size_t sidx = c->stmt + (c->nok < c->nstmts ? c->nok : c->nstmts - 1);
		const struct sqlstmt *st = &f->stmts[sidx];
		size_t base = f->stmts[c->stmt].start;
		const char *cl = ctx && st->kind == SQL_COPY ? strstr(ctx, ", line ") : NULL;
		struct sqlpos p;

		if (cl && atoi(cl + 7) > 0) {
			/* a bad row of the inline data: its line in the file */
			buf_printf(&where, "%s:%d: ", f->srcs[st->datasrc].path, st->dataline + atoi(cl + 7) - 1);
		} else if (pos && atol(pos) > 0) {
			size_t off = base;

			/* the server counts characters from 1 */
			for (long k = atol(pos) - 1; k > 0 && off < f->len; k--) {
				off++;
				while (off < f->len && ((unsigned char)f->text[off] & 0xc0) == 0x80)
					off++;
			}
			sqlfile_pos(f, off, &p);
			buf_printf(&where, "%s:%d:%d: ", p.src->path, p.line, p.col);
			buf_printf(&more, "%5d | ", p.line);
			first_line(&more, p.src->text + p.linestart, p.src->len - p.linestart, false);
			buf_puts(&more, "\n      | ");
			for (size_t k = p.linestart; k < p.off; k++)
				if (((unsigned char)p.src->text[k] & 0xc0) != 0x80)
					buf_putc(&more, p.src->text[k] == '\t' ? '\t' : ' ');
			buf_puts(&more, "^\n");
		} else {
			sqlfile_pos(f, st->start, &p);
			buf_printf(&where, "%s:%d: ", p.src->path, p.line);
			buf_puts(&more, "STATEMENT: ");
			first_line(&more, f->text + st->start, st->end - st->start, true);
			buf_putc(&more, '\n');
		}
	} else if (c->what) {
		buf_printf(&where, "%s: ", c->what);
	}
	head = xasprintf("%s%s %s: %s", buf_str(&where), sev ? sev : "ERROR", state ? state : "?????", msg);
	if (state && transient(state) && !job->canceled) {
		if (job->tries + 1 < SQL_ATTEMPTS) {
			job->retry = true;
			/* a transaction block is gone whole: it starts again at its BEGIN */
			job->redo = job->cur > job->txfrom ? job->txfrom : job->cur;
			snprintf(job->retrymsg, sizeof(job->retrymsg), "%s", msg);
		} else {
			char *h = xasprintf("%s (%d attempts)", head, SQL_ATTEMPTS);

			free(head);
			head = h;
		}
	}
	buf_printf(&job->out, "%s\n", head);
	if (detail)
		buf_printf(&job->out, "DETAIL: %s\n", detail);
	if (hint)
		buf_printf(&job->out, "HINT: %s\n", hint);
	if (ctx)
		buf_printf(&job->out, "CONTEXT: %s\n", ctx);
	buf_puts(&job->out, buf_str(&more));
	free(job->err);
	job->err = scrub(head);
	buf_free(&where);
	buf_free(&more);
}

static void notice_job(void *arg, const PGresult *r)
{
	struct pgjob *job = arg;
	struct pgcmd *c = job->cur < job->ncmds ? &job->cmds[job->cur] : NULL;
	const char *sev = PQresultErrorField(r, PG_DIAG_SEVERITY);
	const char *msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
	const char *detail = PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL);

	if (c && c->notices && msg) {
		buf_printf(&job->out, "%s\n", msg);
		return;
	}
	if (!c || !c->file)
		return; /* orch's own commands: "schema already exists, skipping" and such */
	buf_printf(&job->out, "%s: %s\n", sev ? sev : "NOTICE", msg ? msg : "");
	if (detail)
		buf_printf(&job->out, "DETAIL: %s\n", detail);
}

/* The connection is gone. */
static void job_lost(struct pgjob *job)
{
	char *m = scrub(xstrdup(PQerrorMessage(job->conn)));

	job->lost = true;
	free(job->err);
	if (job->incommit)
		job->err = xasprintf("lost the connection to %s during COMMIT: %s; whether step '%s' was applied is"
		                     " unknown until the next run reads the registry", job->db->desc, m, job->n->name);
	else
		job->err = xasprintf("lost the connection to %s: %s; step '%s' was not %s", job->db->desc, m,
		                     job->n->name, job->what == PG_APPLY ? "applied" : "rolled back");
	buf_printf(&job->out, "%s\n", job->err);
	free(m);
	job->state = JOB_FAILED;
}

static void cmd_free(struct pgcmd *c)
{
	free(c->sql);
	free(c->whatbuf);
	for (int k = 0; k < c->nparams; k++)
		free(c->params[k]);
}

/* A transient error, rolled back: wait (without blocking the engine) and run again from
 * job->redo. What callbacks added from there on goes; they add it again. */
static void job_retry_later(struct pgjob *job)
{
	int64_t delay = (int64_t)SQL_RETRY_MS << job->tries;
	size_t k = 0;

	delay += rand() % (delay / 2 + 1); /* two victims of one conflict do not meet again */
	if (job->rollingback) {
		cmd_free(&job->cmds[--job->ncmds]); /* the ROLLBACK */
		job->rollingback = false;
	}
	for (size_t i = 0; i < job->ncmds; i++) {
		if (i >= job->redo && job->cmds[i].dyn) {
			cmd_free(&job->cmds[i]);
			continue;
		}
		if (i >= job->redo)
			job->cmds[i].nok = 0;
		job->cmds[k++] = job->cmds[i];
	}
	job->ncmds = k;
	job->tries++;
	buf_printf(&job->out, "%s; retrying (%d/%d) in %.1fs\n", job->retrymsg, job->tries + 1, SQL_ATTEMPTS,
	           (double)delay / 1000);
	free(job->err);
	job->err = NULL;
	job->retry = false;
	job->cur = job->redo;
	job->wake_ms = now_ms() + delay;
}

/* Send the current command, after its file's "-- FILE" line when it starts a file. */
static void job_go(struct pgjob *job)
{
	if (job->cmds[job->cur].file &&
	    (job->cur == 0 || job->cmds[job->cur - 1].file != job->cmds[job->cur].file))
		buf_printf(&job->out, "-- %s\n", job->cmds[job->cur].file->path);
	if (job_send(job) < 0)
		job_lost(job);
}

/* Whether the current command is the last statement of a file run statement by statement
 * (transaction = no) and left a transaction open: closing the connection would lose it. */
static bool open_after_file(struct pgjob *job)
{
	struct pgcmd *c = &job->cmds[job->cur];

	if (!c->file || job->n->transaction || (job->cur + 1 < job->ncmds && job->cmds[job->cur + 1].file == c->file))
		return false;
	return PQtransactionStatus(job->conn) != PQTRANS_IDLE;
}

/* The current command is finished: send the next, ROLLBACK after an error, or end. */
static void job_next(struct pgjob *job)
{
	bool failed = job->err != NULL || job->canceled;

	if (failed && !job->err)
		job->err = xasprintf("step '%s' canceled", job->n->name);
	if (!failed && open_after_file(job)) {
		struct sqlfile *f = job->cmds[job->cur].file;

		job->err = xasprintf("%s: leaves a transaction open (BEGIN without COMMIT): with transaction = no nothing"
		                     " commits it; end the file with COMMIT", f->path);
		buf_printf(&job->out, "%s\n", job->err);
		failed = true;
	}
	if (failed) {
		PGTransactionStatusType ts = PQtransactionStatus(job->conn);

		if (job->retry && !job->canceled && (job->rollingback || ts == PQTRANS_IDLE)) {
			job_retry_later(job);
			return;
		}
		if (!job->rollingback && (ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR)) {
			job->rollingback = true;
			job->cur = job->ncmds;
			job_push(job, "ROLLBACK", "rollback");
			buf_puts(&job->out, "ROLLBACK\n");
			if (job_send(job) < 0)
				job_lost(job);
			return;
		}
		job->state = JOB_FAILED;
		return;
	}
	if (++job->cur >= job->ncmds) {
		job->state = JOB_OK;
		return;
	}
	if (job->holdcommit && job->cur == job->ncmds - 1 && strcmp(job->cmds[job->cur].sql, "COMMIT") == 0) {
		job->state = JOB_READY;
		return;
	}
	job_go(job);
}

static void job_result(struct pgjob *job, PGresult *r)
{
	struct pgcmd *c = &job->cmds[job->cur];

	switch (PQresultStatus(r)) {
	case PGRES_COMMAND_OK:
	case PGRES_TUPLES_OK:
	case PGRES_EMPTY_QUERY:
		if (!job->err && c->cb && c->cb(job, c, r) < 0)
			buf_printf(&job->out, "%s\n", job->err);
		c->nok++;
		break;
	case PGRES_COPY_IN:
		if (c->file && c->file->nstmts && c->file->stmts[c->stmt + c->nok].kind == SQL_COPY) {
			const struct sqlstmt *st = &c->file->stmts[c->stmt + c->nok];
			int ok;

			/* the rows are in memory: sent blocking, as libpq's buffers take them */
			PQsetnonblocking(job->conn, 0);
			ok = (st->datalen == 0 || PQputCopyData(job->conn, c->file->extra.s + st->data, (int)st->datalen) == 1) &&
			     PQputCopyEnd(job->conn, NULL) == 1;
			PQsetnonblocking(job->conn, 1);
			if (!ok)
				job_lost(job);
		} else {
			PQputCopyEnd(job->conn, "COPY FROM STDIN has no inline data here: write the rows after it, ended by \\.");
		}
		break;
	case PGRES_COPY_OUT:
		job->copyout = true;
		break;
	default:
		if (!job->err && !job->rollingback)
			job_error(job, r);
		break;
	}
}

static char *job_mask(const struct pgjob *job, const char *s);

/* A job for N's WHAT, its files read (and checked), not yet connected; NULL with *ERR. */
static struct pgjob *job_new(struct graph *g, struct node *n, enum pgwhat what, const char *sig, char **err)
{
	struct pgjob *job;
	struct pgdb *db;
	const char *files[2] = {NULL, NULL};
	bool restore = false;

	if (what == PG_APPLY) {
		if (!n->sql) {
			*err = xasprintf("step '%s' has no sql", n->name);
			return NULL;
		}
		files[0] = n->sql;
		files[1] = n->x->sql_verify;
	} else if (n->x->sql_rollback && what == PG_REVERT) {
		files[0] = n->x->sql_rollback;
	} else if (n->x->backup.n || n->x->backup_schema.n) {
		restore = true;
	} else {
		*err = xasprintf("step '%s' has neither sql_rollback nor backup to roll back with", n->name);
		return NULL;
	}
	if (!(db = node_db(g, n, err)))
		return NULL;

	job = xcalloc(1, sizeof(*job));
	job->g = g;
	job->n = n;
	job->db = db;
	job->what = what;
	job->restore = restore;
	job->sig = sig ? xstrdup(sig) : NULL;
	/* a restore runs the schema dumps, each after a DROP SCHEMA (job_build) */
	for (size_t i = 0; restore && i < n->x->backup_schema.n; i++) {
		char *rel = pg_schema_dump(g, n, n->x->backup_schema.v[i]);
		int rc = sqlfile_read(g->dir, rel, &job->files[job->nfiles++], err);

		free(rel);
		if (rc < 0) {
			char *e = *err;

			*err = xasprintf("restore: no dump of schema %s: %s", (char *)n->x->backup_schema.v[i], e);
			free(e);
			goto fail;
		}
	}
	for (int i = 0; i < 2; i++) {
		struct sqlfile *f;
		const struct sqlstmt *st;

		if (!files[i])
			continue;
		f = &job->files[job->nfiles++];
		if (sqlfile_read_vars(g->dir, files[i], &g->sqlvars, f, err) < 0)
			goto fail;
		if (n->transaction && (st = sqlfile_txstmt(f))) {
			struct sqlpos p;

			sqlfile_pos(f, st->start, &p);
			*err = xasprintf("%s:%d: %s ends orch's transaction: remove it, or set transaction = no", p.src->path,
			                 p.line, st->word[0]);
			goto fail;
		}
	}
	return job;
fail:
	pg_free(job);
	return NULL;
}

/* The job's commands; REUSED: its connection ran an earlier step. */
static void job_build(struct pgjob *job, bool reused)
{
	struct node *n = job->n;
	bool tx = n->transaction;

	/* a clean session: nothing an earlier step SET (search_path, role, ...) is left;
	 * DISCARD ALL cannot run inside a transaction block, so it comes before BEGIN */
	if (reused)
		job_push(job, "DISCARD ALL", "session reset");
	if (tx)
		job_push(job, "BEGIN", "begin");
	job_pushtimeouts(job, tx);
	if (job->what == PG_APPLY && n->x->backup.n) {
		if (!tx)
			job_push(job, "BEGIN", "begin");
		job_pushbackup(job);
		if (!tx)
			job_push(job, "COMMIT", "backup");
	}
	if (job->restore) {
		if (!tx)
			job_push(job, "BEGIN", "begin");
		for (size_t i = 0; i < job->nfiles; i++) {
			char *drop = xasprintf("DROP SCHEMA IF EXISTS %s CASCADE", (char *)n->x->backup_schema.v[i]);

			job_push(job, drop, "restore");
			free(drop);
			buf_printf(&job->out, "restore: schema %s <- %s\n", (char *)n->x->backup_schema.v[i], job->files[i].path);
			job_pushfile(job, &job->files[i], true);
		}
		if (n->x->backup.n)
			job_pushrestore(job);
		if (!tx)
			job_push(job, "COMMIT", "restore");
	}
	for (size_t i = 0; !job->restore && i < job->nfiles; i++)
		job_pushfile(job, &job->files[i], tx);
	/* the registry row is written as the role that connected, whatever SET ROLE the
	 * files left in force */
	job_push(job, "RESET SESSION AUTHORIZATION", "registry");
	job_pushregistry(job);
	if (tx)
		job_push(job, "COMMIT", "commit");
}

struct pgjob *pg_start(struct graph *g, struct node *n, enum pgwhat what, const char *sig, char **err,
                       bool *locked)
{
	struct pgjob *job;
	struct pgdb *db;
	bool reused = false;
	PGconn *conn = NULL;

	*err = NULL;
	*locked = false;
	if (!(job = job_new(g, n, what, sig, err)))
		return NULL;
	db = job->db;
	if (db_lock(g, db, err, locked) < 0 || db_registry(db, err) < 0)
		goto fail;
	if (what == PG_APPLY && dump_schemas(job, err) < 0)
		goto fail;
	while (db->idle.n && !conn) {
		conn = db->idle.v[--db->idle.n];
		if (!conn_alive(conn)) {
			PQfinish(conn);
			conn = NULL;
		}
		reused = conn != NULL;
	}
	if (!conn && !(conn = db_connect(db, err)))
		goto fail;
	job->conn = conn;
	PQsetnonblocking(conn, 1);
	PQsetNoticeReceiver(conn, notice_job, job);
	job_build(job, reused);

	job->cur = 0;
	if (job->cmds[0].file)
		buf_printf(&job->out, "-- %s\n", job->cmds[0].file->path);
	if (job_send(job) < 0) {
		char *m = scrub(xstrdup(PQerrorMessage(conn)));

		*err = xasprintf("lost the connection to %s: %s", db->desc, m);
		free(m);
		job->lost = true;
		pg_free(job);
		return NULL;
	}
	return job;

fail:
	pg_free(job);
	return NULL;
}

/* Comment lines ("-- ...") for TEXT, appended to B. */
static void comment_lines(struct buf *b, const char *prefix, const char *text, size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t e = i;

		while (e < len && text[e] != '\n')
			e++;
		buf_printf(b, "%s%.*s\n", prefix, (int)(e - i), text + i);
		i = e + 1;
	}
}

int pg_sql(struct graph *g, struct node *n, enum pgwhat what, const char *sig, struct buf *out, char **err)
{
	struct pgjob *job;
	struct buf b = {0};
	char *ci, *m;

	*err = NULL;
	if (!(job = job_new(g, n, what, sig, err)))
		return -1;
	job_build(job, false);
	ci = mask_password(pg_conninfo(g, n));
	buf_printf(&b, "-- step %s: %s on %s (DISCARD ALL first on a connection an earlier step used)\n", n->name,
	           what == PG_APPLY ? "apply" : what == PG_RESTORE ? "restore" : "rollback", ci);
	free(ci);
	for (size_t i = 0; i < job->ncmds; i++) {
		const struct pgcmd *c = &job->cmds[i];

		if (c->file && (i == 0 || job->cmds[i - 1].file != c->file))
			buf_printf(&b, "-- %s\n", c->file->path);
		if (c->file && c->file->nstmts && c->file->stmts[c->stmt].kind == SQL_ECHO) {
			const struct sqlstmt *st = &c->file->stmts[c->stmt];

			comment_lines(&b, "-- \\echo ", c->file->extra.s + st->data, st->datalen);
			continue;
		}
		if (c->sql && *c->sql) {
			size_t l = strlen(c->sql);

			buf_puts(&b, c->sql);
			if (c->sql[l - 1] != ';' && c->sql[l - 1] != '\n')
				buf_putc(&b, ';');
			if (c->sql[l - 1] != '\n')
				buf_putc(&b, '\n');
		}
		for (int k = 0; k < c->nparams; k++) {
			char *q = c->params[k] ? xasprintf("'%s'", c->params[k]) : xstrdup("NULL");

			buf_printf(&b, "--   $%d = %s\n", k + 1, q);
			free(q);
		}
		if (c->cb == cb_backup)
			buf_printf(&b, "-- then: %s (LIKE %s INCLUDING ALL EXCLUDING DEFAULTS) and its rows\n",
			           job->btables[c->arg], job->tables[c->arg]);
		if (c->file && c->file->nstmts) {
			const struct sqlstmt *st = &c->file->stmts[c->stmt];

			if (st->kind == SQL_GEXEC)
				buf_puts(&b, "-- \\gexec: each value of the result then runs as a statement\n");
			if (st->kind == SQL_COPY) {
				buf_add(&b, c->file->extra.s + st->data, st->datalen);
				buf_puts(&b, "\\.\n");
			}
		}
	}
	m = job_mask(job, buf_str(&b));
	buf_puts(out, m);
	free(m);
	buf_free(&b);
	pg_free(job);
	return 0;
}

/* S with the values of the files' secret variables masked: a new string. */
static char *job_mask(const struct pgjob *job, const char *s)
{
	char *r = xstrdup(s);

	for (size_t i = 0; i < job->nfiles; i++) {
		char *t = sqlfile_mask(&job->files[i], r);

		free(r);
		r = t;
	}
	return r;
}

int pg_fd(struct pgjob *job, bool *wantwrite)
{
	*wantwrite = job->flushing;
	return job->wake_ms ? -1 : PQsocket(job->conn);
}

int64_t pg_wake(const struct pgjob *job)
{
	return job->wake_ms;
}

int pg_advance(struct pgjob *job, struct buf *log, char **err)
{
	*err = NULL;
	if (job->state == JOB_RUNNING && job->wake_ms) {
		if (now_ms() < job->wake_ms && !job->canceled)
			goto out;
		job->wake_ms = 0;
		if (job->canceled) {
			job->err = xasprintf("step '%s' canceled while waiting to retry", job->n->name);
			job->state = JOB_FAILED;
			goto out;
		}
		job_go(job);
	}
	if (job->state == JOB_RUNNING) {
		if (job->flushing) {
			int fl = PQflush(job->conn);

			if (fl < 0)
				job_lost(job);
			job->flushing = fl == 1;
		}
		if (job->state == JOB_RUNNING && !PQconsumeInput(job->conn))
			job_lost(job);
		while (job->state == JOB_RUNNING) {
			PGresult *r;

			if (job->copyout) {
				char *data;
				int k = PQgetCopyData(job->conn, &data, 1);

				if (k > 0) {
					buf_add(&job->out, data, (size_t)k);
					PQfreemem(data);
					continue;
				}
				if (k == 0)
					break;
				job->copyout = false;
			}
			if (PQisBusy(job->conn))
				break;
			r = PQgetResult(job->conn);
			if (r) {
				job_result(job, r);
				PQclear(r);
				continue;
			}
			if (PQstatus(job->conn) == CONNECTION_BAD) {
				job_lost(job);
				break;
			}
			job_next(job);
			if (job->state == JOB_RUNNING && (job->flushing || job->wake_ms))
				break;
		}
	}
out:
	if (job->out.len) {
		char *m = job_mask(job, buf_str(&job->out));

		if (log)
			buf_puts(log, m);
		free(m);
		job->out.len = 0;
	}
	if (job->state == JOB_RUNNING)
		return 0;
	if (job->state == JOB_OK)
		return 1;
	if (job->state == JOB_READY)
		return 2;
	*err = job_mask(job, job->err ? job->err : "failed");
	return -1;
}

bool pg_hold_commit(struct pgjob *job)
{
	if (job->what != PG_APPLY || !job->n->transaction || !job->ncmds ||
	    strcmp(job->cmds[job->ncmds - 1].sql, "COMMIT") != 0)
		return false;
	job->holdcommit = true;
	return true;
}

const char *pg_job_conninfo(const struct pgjob *job)
{
	return job->db->conninfo;
}

int pg_commit_with(struct pgjob *job, const char *sql, int np, const char *const *params, char **err)
{
	PGresult *r;
	char *e2 = NULL;

	*err = NULL;
	if (job->state != JOB_READY) {
		*err = xasprintf("step '%s': its transaction is not waiting for its COMMIT", job->n->name);
		return -1;
	}
	if (!(r = exec(job->db, job->conn, sql, np, params, err, NULL))) {
		if ((r = exec(job->db, job->conn, "ROLLBACK", 0, NULL, &e2, NULL)))
			PQclear(r);
		free(e2);
		job->state = JOB_FAILED;
		return -1;
	}
	PQclear(r);
	job->incommit = true;
	if (!(r = exec(job->db, job->conn, "COMMIT", 0, NULL, err, NULL))) {
		job->state = JOB_FAILED;
		job->lost = PQstatus(job->conn) != CONNECTION_OK;
		return -1;
	}
	PQclear(r);
	job->state = JOB_OK;
	job->cur = job->ncmds;
	return 0;
}

void pg_cancel(struct pgjob *job)
{
	PGcancel *pc;
	char ebuf[256];

	if (job->state != JOB_RUNNING || job->canceled)
		return;
	job->canceled = true;
	if (job->wake_ms) {
		job->wake_ms = now_ms(); /* pg_advance ends it at once */
		return;
	}
	if ((pc = PQgetCancel(job->conn))) {
		if (!PQcancel(pc, ebuf, sizeof(ebuf)))
			buf_printf(&job->out, "cancel request failed: %s\n", ebuf);
		PQfreeCancel(pc);
	}
}

void pg_free(struct pgjob *job)
{
	if (!job)
		return;
	if (job->conn) {
		PQsetNoticeReceiver(job->conn, notice_drop, NULL);
		if (job->state != JOB_RUNNING && !job->lost && conn_alive(job->conn)) {
			PQsetnonblocking(job->conn, 0);
			vec_push(&job->db->idle, job->conn);
		} else {
			PQfinish(job->conn); /* busy or broken: the server rolls back what is open */
		}
	}
	for (size_t i = 0; i < job->ncmds; i++)
		cmd_free(&job->cmds[i]);
	free(job->cmds);
	for (size_t i = 0; i < job->nfiles; i++)
		sqlfile_free(&job->files[i]);
	for (size_t i = 0; i < job->ntables; i++) {
		free(job->tables[i]);
		free(job->btables[i]);
		free(job->cols[i]);
	}
	free(job->tables);
	free(job->btables);
	free(job->cols);
	free(job->sig);
	free(job->err);
	buf_free(&job->out);
	free(job);
}

int pg_lookup(struct graph *g, struct node *n, char **sig, char **err)
{
	const char *p[2] = {g->name ? g->name : "", n->name};
	struct pgdb *db;
	PGresult *r;
	char state[6];
	int found;

	*err = NULL;
	*sig = NULL;
	if (!(db = node_db(g, n, err)) || db_control(db, err) < 0)
		return -1;
	r = exec(db, db->ctl, "SELECT signature FROM orch.registry WHERE plan = $1 AND step = $2", 2, p, err,
	         state);
	if (!r) {
		if (strcmp(state, "42P01") == 0 || strcmp(state, "3F000") == 0) {
			free(*err);
			*err = NULL;
			return 0; /* no registry yet: nothing applied */
		}
		return -1;
	}
	found = PQntuples(r) > 0;
	if (found)
		*sig = xstrdup(PQgetisnull(r, 0, 0) ? "" : PQgetvalue(r, 0, 0));
	PQclear(r);
	return found;
}

int pg_applied(struct graph *g, struct node *n, const char *sig, char **err)
{
	char *have;
	int r = pg_lookup(g, n, &have, err);

	if (r == 1) {
		r = sig && strcmp(have, sig) == 0;
		free(have);
	}
	return r;
}

/* A text[] literal of WORDS (hex digits and step names: no quoting is needed, but
 * each is quoted all the same). */
static char *text_array(char *const *words, size_t n)
{
	struct buf b = {0};

	buf_putc(&b, '{');
	for (size_t i = 0; i < n; i++) {
		buf_printf(&b, "%s\"", i ? "," : "");
		for (const char *c = words[i]; *c; c++) {
			if (*c == '"' || *c == '\\')
				buf_putc(&b, '\\');
			buf_putc(&b, *c);
		}
		buf_putc(&b, '"');
	}
	buf_putc(&b, '}');
	return b.s;
}

static char *value_or_null(PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? NULL : xstrdup(PQgetvalue(r, row, col));
}

int pg_registry_read(struct graph *g, struct node **steps, char **checksums, size_t count, struct pgrow **rows,
                     size_t *nrows, char **err)
{
	char **names = xcalloc(count ? count : 1, sizeof(*names));
	char *p[3] = {g->name, NULL, NULL};
	struct pgdb *db;
	PGresult *r;
	int have;

	*err = NULL;
	*rows = NULL;
	*nrows = 0;
	if (!count || !(db = node_db(g, steps[0], err)) || db_control(db, err) < 0 ||
	    (have = db_has_registry(db, false, err)) < 0) {
		free(names);
		return count ? -1 : 0;
	}
	if (!have) {
		free(names);
		return 0;
	}
	for (size_t i = 0; i < count; i++)
		names[i] = steps[i]->name;
	p[1] = text_array(names, count);
	p[2] = text_array(checksums, count);
	/* the plan's rows, and any plan's rows of the same SQL; the old text only where
	 * the step's file is not what was applied (a registry before checksums: NULL) */
	r = exec(db, db->ctl,
	         db->registry
	             ? "WITH cur(step, checksum) AS (SELECT * FROM unnest($2::text[], $3::text[]))"
	               " SELECT r.plan, r.step, r.signature, r.checksum,"
	               " to_char(r.applied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || ' UTC', r.applied_by,"
	               " CASE WHEN r.checksum IS DISTINCT FROM c.checksum THEN r.script END"
	               " FROM orch.registry r LEFT JOIN cur c ON r.plan = $1 AND c.step = r.step"
	               " WHERE r.plan = $1 OR r.checksum IN (SELECT checksum FROM cur) ORDER BY r.plan = $1 DESC"
	             : "SELECT plan, step, signature, NULL,"
	               " to_char(applied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || ' UTC', applied_by,"
	               " NULL FROM orch.registry WHERE plan = $1 AND $2::text[] IS NOT NULL AND $3::text[] IS NOT NULL",
	         3, (const char *const *)p, err, NULL);
	free(p[1]);
	free(p[2]);
	free(names);
	if (!r)
		return -1;
	*nrows = (size_t)PQntuples(r);
	*rows = xcalloc(*nrows ? *nrows : 1, sizeof(**rows));
	for (size_t i = 0; i < *nrows; i++) {
		struct pgrow *w = &(*rows)[i];
		int k = (int)i;

		w->plan = value_or_null(r, k, 0);
		w->step = value_or_null(r, k, 1);
		w->signature = value_or_null(r, k, 2);
		w->checksum = value_or_null(r, k, 3);
		w->applied_at = value_or_null(r, k, 4);
		w->applied_by = value_or_null(r, k, 5);
		w->script = value_or_null(r, k, 6);
	}
	PQclear(r);
	return 1;
}

void pg_rows_free(struct pgrow *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(rows[i].plan);
		free(rows[i].step);
		free(rows[i].signature);
		free(rows[i].checksum);
		free(rows[i].applied_at);
		free(rows[i].applied_by);
		free(rows[i].script);
	}
	free(rows);
}

const char *pg_describe(struct graph *g, struct node *n)
{
	char *err = NULL;
	struct pgdb *db = node_db(g, n, &err);

	free(err);
	if (!db)
		return "no database";
	if (!db->desc && !db->bad) {
		PQconninfoOption *opts = PQconninfoParse(db->conninfo, NULL);
		const char *name = NULL, *host = NULL, *port = NULL;

		for (PQconninfoOption *o = opts; o && o->keyword; o++) {
			if (strcmp(o->keyword, "dbname") == 0)
				name = o->val;
			else if (strcmp(o->keyword, "host") == 0)
				host = o->val;
			else if (strcmp(o->keyword, "port") == 0)
				port = o->val;
		}
		if (!opts) /* a bare database name */
			name = db->conninfo;
		/* what libpq would take for what the string leaves out */
		if (!host || !*host)
			host = getenv("PGHOST") && *getenv("PGHOST") ? getenv("PGHOST") : "localhost";
		if (!port || !*port)
			port = getenv("PGPORT") && *getenv("PGPORT") ? getenv("PGPORT") : "5432";
		if (!name || !*name)
			name = getenv("PGDATABASE") && *getenv("PGDATABASE") ? getenv("PGDATABASE") : "?";
		db->desc = xasprintf("database \"%s\" on host %s port %s", name, host, port);
		PQconninfoFree(opts);
	}
	return db->desc ? db->desc : "database (bad connection string)";
}

/* Run SQL with PARAMS on N's database under the lock, in the registry; *COUNT rows. */
static int registry_exec(struct graph *g, struct node *n, const char *sql, int np, const char *const *params,
                         long *count, char **err, bool *locked)
{
	struct pgdb *db;
	PGresult *r;
	int rc;

	if ((rc = pg_lock(g, n, err, locked)) < 0)
		return rc;
	db = node_db(g, n, err);
	if (db_registry(db, err) < 0 || !(r = exec(db, db->ctl, sql, np, params, err, NULL)))
		return -1;
	if (count)
		*count = atol(PQcmdTuples(r));
	PQclear(r);
	return 0;
}

int pg_registry_put(struct graph *g, struct node *n, const char *sig, char **err, bool *locked)
{
	const char *user = user_name();
	char hex[33], *path = n->sql[0] == '/' ? xstrdup(n->sql) : xasprintf("%s/%s", g->dir, n->sql);
	size_t len;
	/* the file as written, as a run records it */
	char *text = read_file(path, &len);
	int rc;

	*err = NULL;
	*locked = false;
	if (!text) {
		*err = xasprintf("cannot read %s: %s", n->sql, strerror(errno));
		free(path);
		return -1;
	}
	hash128_hex(hash128_bytes(text, len), hex);
	{
		const char *p[7] = {g->name, n->name, sig, user ? user : "", NULL, hex, text};

		rc = registry_exec(g, n, registry_put, 7, p, NULL, err, locked);
	}
	free(text);
	free(path);
	return rc;
}

int pg_registry_forget(struct graph *g, struct node *n, long *count, char **err, bool *locked)
{
	const char *p[1] = {g->name};
	struct pgdb *db;
	int rc;

	*err = NULL;
	*locked = false;
	*count = 0;
	/* a database without a registry has nothing to forget: none is made for it */
	if ((rc = pg_lock(g, n, err, locked)) < 0)
		return rc;
	db = node_db(g, n, err);
	if ((rc = db_has_registry(db, false, err)) <= 0)
		return rc;
	return registry_exec(g, n, "DELETE FROM orch.registry WHERE plan = $1", 1, p, count, err, locked);
}

void pg_close_all(void)
{
	for (size_t i = 0; i < dbs.n; i++) {
		struct pgdb *db = dbs.v[i];

		for (size_t k = 0; k < db->idle.n; k++)
			PQfinish(db->idle.v[k]);
		vec_free(&db->idle);
		if (db->ctl)
			PQfinish(db->ctl);
		free(db->conninfo);
		free(db->bad);
		free(db->desc);
		free(db);
	}
	vec_free(&dbs);
}

/* Connections of their own (pgstate.c): blocking queries, text in and out */

struct pgconn {
	struct pgdb *db; /* not in dbs: its ctl is this connection */
	char state[6];   /* SQLSTATE of the last error */
};

struct pgconn *pg_conn_open(const char *conninfo, char **err)
{
	struct pgconn *c = xcalloc(1, sizeof(*c));

	*err = NULL;
	c->db = db_new(conninfo);
	if (!(c->db->ctl = db_connect(c->db, err))) {
		pg_conn_close(c);
		return NULL;
	}
	return c;
}

const char *pg_conn_describe(const struct pgconn *c)
{
	return c->db->desc ? c->db->desc : "database";
}

int pg_conn_exec(struct pgconn *c, const char *sql, int np, const char *const *params, struct pgresult *out,
                 char **err)
{
	PGresult *r;
	size_t nr, nc;

	*err = NULL;
	if (out)
		memset(out, 0, sizeof(*out));
	if (!c->db->ctl || PQstatus(c->db->ctl) != CONNECTION_OK) {
		snprintf(c->state, sizeof(c->state), "08006");
		*err = xasprintf("lost the connection to %s", pg_conn_describe(c));
		return -1;
	}
	if (!(r = exec(c->db, c->db->ctl, sql, np, params, err, c->state)))
		return -1;
	if (out) {
		nr = (size_t)PQntuples(r), nc = (size_t)PQnfields(r);
		out->nrows = nr, out->ncols = nc;
		out->v = nr && nc ? xreallocarray(NULL, nr * nc, sizeof(char *)) : NULL;
		for (size_t i = 0; i < nr; i++)
			for (size_t k = 0; k < nc; k++)
				out->v[i * nc + k] = PQgetisnull(r, (int)i, (int)k)
				                         ? NULL
				                         : xstrndup(PQgetvalue(r, (int)i, (int)k),
				                                    (size_t)PQgetlength(r, (int)i, (int)k));
	}
	PQclear(r);
	return 0;
}

const char *pg_conn_sqlstate(const struct pgconn *c)
{
	return c->state;
}

int pg_conn_fd(const struct pgconn *c)
{
	return c->db->ctl ? PQsocket(c->db->ctl) : -1;
}

int pg_conn_notified(struct pgconn *c)
{
	return pg_conn_notified_each(c, NULL, NULL);
}

int pg_conn_notified_each(struct pgconn *c, void (*each)(void *arg, const char *payload), void *arg)
{
	PGnotify *nf;
	int n = 0;

	if (!c->db->ctl || !PQconsumeInput(c->db->ctl) || PQstatus(c->db->ctl) != CONNECTION_OK)
		return -1;
	while ((nf = PQnotifies(c->db->ctl))) {
		n++;
		if (each)
			each(arg, nf->extra ? nf->extra : "");
		PQfreemem(nf);
	}
	return n;
}

void pg_conn_close(struct pgconn *c)
{
	if (!c)
		return;
	if (c->db->ctl)
		PQfinish(c->db->ctl);
	free(c->db->conninfo);
	free(c->db->bad);
	free(c->db->desc);
	free(c->db);
	free(c);
}

const char *pg_value(const struct pgresult *r, size_t row, size_t col)
{
	return row < r->nrows && col < r->ncols ? r->v[row * r->ncols + col] : NULL;
}

void pg_result_free(struct pgresult *r)
{
	for (size_t i = 0; i < r->nrows * r->ncols; i++)
		free(r->v[i]);
	free(r->v);
	memset(r, 0, sizeof(*r));
}
