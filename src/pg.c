/* pg.c — SQL steps on PostgreSQL through libpq, the one user of libpq.
 *
 * Per database (per connection string) orch keeps a control connection, which holds the
 * plan's advisory lock for the whole run and reads the registry, and a list of idle
 * connections that steps borrow: parallel steps on one database each get their own.
 * A step is a list of commands sent one after the other on its connection without
 * blocking (the engine polls the socket): for PG_APPLY, BEGIN, the backups, the sql
 * file (sent whole: the server parses it), the sql_verify file, the registry row, COMMIT.
 * Any error ends the list and rolls back whatever transaction is open.
 *
 * The registry, created on first use (docs/postgresql.md):
 *
 *	CREATE TABLE orch.registry (plan text, step text, signature text,
 *		applied_at timestamptz, applied_by text, backup text, PRIMARY KEY (plan, step))
 *
 * Backups are tables orch_backup."<plan>__<step>__<table>" (see pg_backup_table). */
#include "pg.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "hash.h"
#include "os.h"
#include "sqlsplit.h"

#define LOCK_TIMEOUT_DEFAULT_MS 30000
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
	char *params[6];
	int nparams;
	const char *what;          /* for errors in orch's own commands ("registry", ...) */
	struct sqlfile *file;      /* the user's file this command runs, or NULL */
	size_t stmt;               /* its first statement in FILE */
	bool whole;                /* the whole file at once: the failing statement is stmt+nok */
	int (*cb)(struct pgjob *, struct pgcmd *, PGresult *); /* on each successful result */
	size_t arg;
	size_t nok; /* successful results so far */
};

enum jobstate { JOB_RUNNING, JOB_OK, JOB_FAILED };

struct pgjob {
	struct graph *g;
	struct node *n;
	struct pgdb *db;
	PGconn *conn;
	enum pgwhat what;
	char *sig;
	struct sqlfile files[2];
	size_t nfiles;
	struct pgcmd *cmds;
	size_t ncmds, capcmds, cur;
	bool flushing, copyout, canceled, rollingback, lost, incommit;
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

static struct pgdb *db_get(const char *conninfo)
{
	struct pgdb *db;
	PQconninfoOption *opts;
	char *perr = NULL;

	for (size_t i = 0; i < dbs.n; i++) {
		db = dbs.v[i];
		if (strcmp(db->conninfo, conninfo) == 0)
			return db;
	}
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

static int64_t lock_key(struct graph *g)
{
	char *s = xasprintf("orch:%s", g->name ? g->name : "");
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
	*err = xasprintf("%s is locked by another orch running plan '%s' (%s); gave up after %" PRId64
	                 "s (ORCH_LOCK_TIMEOUT)", db->desc, g->name, holder, timeout / 1000);
	*locked = true;
	free(holder);
	return -1;
}

static int db_registry(struct pgdb *db, char **err)
{
	PGresult *r;
	bool have;

	if (db->registry)
		return 0;
	if (!(r = exec(db, db->ctl, "SELECT to_regclass('orch.registry') IS NOT NULL", 0, NULL, err, NULL)))
		return -1;
	have = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	PQclear(r);
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

const char *pg_conninfo(struct graph *g, struct node *n)
{
	const char *s;

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

/* The commands that run file F: whole (one transaction) or statement by statement. */
static void job_pushfile(struct pgjob *job, struct sqlfile *f, bool whole)
{
	struct pgcmd *c;

	if (whole) {
		c = job_push(job, f->text, NULL);
		c->file = f;
		c->whole = true;
		return;
	}
	for (size_t i = 0; i < f->nstmts; i++) {
		c = job_insert(job, job->ncmds, NULL);
		c->sql = xstrndup(f->text + f->stmts[i].start, f->stmts[i].end - f->stmts[i].start);
		c->file = f;
		c->stmt = i;
	}
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
	return b.s;
}

/* The live table is resolved: copy it (structure and rows) into orch_backup. */
static int cb_backup(struct pgjob *job, struct pgcmd *c, PGresult *r)
{
	size_t i = c->arg;
	char *live, *b, *cols;
	struct pgcmd *nc;

	if (PQgetisnull(r, 0, 0)) {
		free(job->err);
		job->err = xasprintf("backup: no table %s on %s", job->tables[i], job->db->desc);
		return -1;
	}
	live = PQgetvalue(r, 0, 0);
	cols = PQgetvalue(r, 0, 2);
	b = job->btables[i];
	nc = job_insert(job, job->cur + 1, "backup");
	nc->sql = xasprintf("CREATE SCHEMA IF NOT EXISTS orch_backup;"
	                    " DROP TABLE IF EXISTS %s;"
	                    " CREATE TABLE %s (LIKE %s INCLUDING ALL);"
	                    " INSERT INTO %s (%s) OVERRIDING SYSTEM VALUE SELECT %s FROM %s",
	                    b, b, live, b, cols, cols, live);
	nc->cb = cb_copied;
	nc->arg = i;
	return 0;
}

static int cb_restored(struct pgjob *job, struct pgcmd *c, PGresult *r)
{
	(void)c;
	if (strncmp(PQcmdStatus(r), "INSERT", 6) == 0 && job->nresolved < job->ntables) {
		size_t i = job->nresolved++;

		buf_printf(&job->out, "restore: %s <- %s (%s rows)\n", job->tables[i], job->btables[i],
		           PQcmdTuples(r));
	}
	return 0;
}

/* A table and its backup are resolved; after the last, empty the tables and copy the
 * rows back (the tables in one TRUNCATE, so foreign keys among them do not stop it). */
static int cb_restore(struct pgjob *job, struct pgcmd *c, PGresult *r)
{
	size_t i = c->arg;
	struct buf b = {0};
	struct pgcmd *nc;

	if (PQgetisnull(r, 0, 0) || PQgetisnull(r, 0, 1)) {
		free(job->err);
		job->err = xasprintf("restore: no %s %s on %s", PQgetisnull(r, 0, 0) ? "table" : "backup table",
		                     PQgetisnull(r, 0, 0) ? job->tables[i] : job->btables[i], job->db->desc);
		return -1;
	}
	free(job->tables[i]);
	job->tables[i] = xstrdup(PQgetvalue(r, 0, 0));
	job->cols[i] = xstrdup(PQgetvalue(r, 0, 2));
	if (i + 1 < job->ntables)
		return 0;
	buf_puts(&b, "TRUNCATE ");
	for (size_t t = 0; t < job->ntables; t++)
		buf_printf(&b, "%s%s", t ? ", " : "", job->tables[t]);
	for (size_t t = 0; t < job->ntables; t++)
		buf_printf(&b, "; INSERT INTO %s (%s) OVERRIDING SYSTEM VALUE SELECT %s FROM %s", job->tables[t],
		           job->cols[t], job->cols[t], job->btables[t]);
	nc = job_insert(job, job->cur + 1, "restore");
	nc->sql = b.s;
	nc->cb = cb_restored;
	job->nresolved = 0;
	return 0;
}

/* The commands that resolve the backup tables; CB adds the copy or restore commands. */
static void job_pushbackup(struct pgjob *job, bool restore)
{
	const struct vec *v = &job->n->x->backup;

	job->ntables = v->n;
	job->tables = xcalloc(v->n, sizeof(char *));
	job->btables = xcalloc(v->n, sizeof(char *));
	job->cols = xcalloc(v->n, sizeof(char *));
	for (size_t i = 0; i < v->n; i++) {
		struct pgcmd *c = job_push(job, resolve_sql, restore ? "restore" : "backup");

		job->tables[i] = xstrdup(v->v[i]);
		job->btables[i] = pg_backup_table(job->g, job->n, v->v[i]);
		c->params[0] = xstrdup(v->v[i]);
		c->params[1] = xstrdup(job->btables[i]);
		c->params[2] = xstrdup(restore ? job->btables[i] : v->v[i]);
		c->nparams = 3;
		c->cb = restore ? cb_restore : cb_backup;
		c->arg = i;
	}
}

static int cb_status(struct pgjob *job, struct pgcmd *c, PGresult *r)
{
	(void)c;
	out_cmdstatus(job, r);
	return 0;
}

static void job_pushregistry(struct pgjob *job)
{
	struct pgcmd *c;
	const char *user = user_name();
	struct buf b = {0};

	if (job->what == PG_APPLY) {
		c = job_push(job,
		             "INSERT INTO orch.registry (plan, step, signature, applied_at, applied_by, backup)"
		             " VALUES ($1, $2, $3, now(), coalesce(nullif($4, ''), session_user), $5)"
		             " ON CONFLICT (plan, step) DO UPDATE SET signature = EXCLUDED.signature,"
		             " applied_at = EXCLUDED.applied_at, applied_by = EXCLUDED.applied_by,"
		             " backup = EXCLUDED.backup",
		             "registry");
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
		c->nparams = 5;
	} else {
		c = job_push(job, "DELETE FROM orch.registry WHERE plan = $1 AND step = $2", "registry");
		c->params[0] = xstrdup(job->g->name ? job->g->name : "");
		c->params[1] = xstrdup(job->n->name);
		c->nparams = 2;
	}
}

/* Send the current command; 0, or -1 when the connection is gone. */
static int job_send(struct pgjob *job)
{
	struct pgcmd *c = &job->cmds[job->cur];
	int ok, fl;

	job->incommit = strcmp(c->sql, "COMMIT") == 0;
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
	if (c->file) {
		struct sqlfile *f = c->file;
		size_t sidx = c->whole ? c->nok : c->stmt;
		size_t base = c->whole ? 0 : f->stmts[c->stmt].start;
		int line, col;
		size_t ls;

		if (pos && atol(pos) > 0) {
			size_t off = base;

			/* the server counts characters from 1 */
			for (long k = atol(pos) - 1; k > 0 && off < f->len; k--) {
				off++;
				while (off < f->len && ((unsigned char)f->text[off] & 0xc0) == 0x80)
					off++;
			}
			sqlfile_linecol(f, off, &line, &col, &ls);
			buf_printf(&where, "%s:%d:%d: ", f->path, line, col);
			buf_printf(&more, "%5d | ", line);
			first_line(&more, f->text + ls, f->len - ls, false);
			buf_puts(&more, "\n      | ");
			for (size_t k = ls; k < off; k++)
				if (((unsigned char)f->text[k] & 0xc0) != 0x80)
					buf_putc(&more, f->text[k] == '\t' ? '\t' : ' ');
			buf_puts(&more, "^\n");
		} else if (sidx < f->nstmts) {
			const struct sqlstmt *st = &f->stmts[sidx];

			sqlfile_linecol(f, st->start, &line, &col, &ls);
			buf_printf(&where, "%s:%d: ", f->path, line);
			buf_puts(&more, "STATEMENT: ");
			first_line(&more, f->text + st->start, st->end - st->start, true);
			buf_putc(&more, '\n');
		} else {
			buf_printf(&where, "%s: ", f->path);
		}
	} else if (c->what) {
		buf_printf(&where, "%s: ", c->what);
	}
	head = xasprintf("%s%s %s: %s", buf_str(&where), sev ? sev : "ERROR", state ? state : "?????", msg);
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

/* The current command is finished: send the next, ROLLBACK after an error, or end. */
static void job_next(struct pgjob *job)
{
	bool failed = job->err != NULL || job->canceled;

	if (failed && !job->err)
		job->err = xasprintf("step '%s' canceled", job->n->name);
	if (failed) {
		PGTransactionStatusType ts = PQtransactionStatus(job->conn);

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
	if (job->cmds[job->cur].file && (job->cur == 0 || job->cmds[job->cur - 1].file != job->cmds[job->cur].file))
		buf_printf(&job->out, "-- %s\n", job->cmds[job->cur].file->path);
	if (job_send(job) < 0)
		job_lost(job);
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
		PQputCopyEnd(job->conn, "COPY FROM STDIN is not supported in orch's SQL files");
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

struct pgjob *pg_start(struct graph *g, struct node *n, enum pgwhat what, const char *sig, char **err,
                       bool *locked)
{
	struct pgjob *job;
	struct pgdb *db;
	const char *files[2] = {NULL, NULL};
	bool tx = n->transaction, restore = false;
	PGconn *conn = NULL;

	*err = NULL;
	*locked = false;
	if (what == PG_APPLY) {
		if (!n->sql) {
			*err = xasprintf("step '%s' has no sql", n->name);
			return NULL;
		}
		files[0] = n->sql;
		files[1] = n->x->sql_verify;
	} else if (n->x->sql_rollback) {
		files[0] = n->x->sql_rollback;
	} else if (n->x->backup.n) {
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
	job->sig = sig ? xstrdup(sig) : NULL;
	for (int i = 0; i < 2; i++) {
		struct sqlfile *f;
		const struct sqlstmt *st;

		if (!files[i])
			continue;
		f = &job->files[job->nfiles++];
		if (sqlfile_read(g->dir, files[i], f, err) < 0)
			goto fail;
		if (tx && (st = sqlfile_txstmt(f))) {
			int line, col;
			size_t ls;

			sqlfile_linecol(f, st->start, &line, &col, &ls);
			*err = xasprintf("%s:%d: %s ends orch's transaction: remove it, or set transaction = no", f->path,
			                 line, st->word[0]);
			goto fail;
		}
	}

	if (db_lock(g, db, err, locked) < 0 || db_registry(db, err) < 0)
		goto fail;
	while (db->idle.n && !conn) {
		conn = db->idle.v[--db->idle.n];
		if (!conn_alive(conn)) {
			PQfinish(conn);
			conn = NULL;
		}
	}
	if (!conn && !(conn = db_connect(db, err)))
		goto fail;
	job->conn = conn;
	PQsetnonblocking(conn, 1);
	PQsetNoticeReceiver(conn, notice_job, job);

	if (tx)
		job_push(job, "BEGIN", "begin");
	if (what == PG_APPLY && n->x->backup.n) {
		if (!tx)
			job_push(job, "BEGIN", "begin");
		job_pushbackup(job, false);
		if (!tx)
			job_push(job, "COMMIT", "backup");
	}
	if (restore) {
		if (!tx)
			job_push(job, "BEGIN", "begin");
		job_pushbackup(job, true);
		if (!tx)
			job_push(job, "COMMIT", "restore");
	}
	for (size_t i = 0; i < job->nfiles; i++) {
		size_t first = job->ncmds;

		job_pushfile(job, &job->files[i], tx);
		for (size_t k = first; k < job->ncmds; k++)
			job->cmds[k].cb = cb_status;
	}
	job_pushregistry(job);
	if (tx)
		job_push(job, "COMMIT", "commit");

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

int pg_fd(struct pgjob *job, bool *wantwrite)
{
	*wantwrite = job->flushing;
	return PQsocket(job->conn);
}

int pg_advance(struct pgjob *job, struct buf *log, char **err)
{
	*err = NULL;
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
			if (job->state == JOB_RUNNING && job->flushing)
				break;
		}
	}
	if (job->out.len) {
		if (log)
			buf_add(log, job->out.s, job->out.len);
		job->out.len = 0;
	}
	if (job->state == JOB_RUNNING)
		return 0;
	if (job->state == JOB_OK)
		return 1;
	*err = xstrdup(job->err ? job->err : "failed");
	return -1;
}

void pg_cancel(struct pgjob *job)
{
	PGcancel *pc;
	char ebuf[256];

	if (job->state != JOB_RUNNING || job->canceled)
		return;
	job->canceled = true;
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
	for (size_t i = 0; i < job->ncmds; i++) {
		free(job->cmds[i].sql);
		for (int k = 0; k < job->cmds[i].nparams; k++)
			free(job->cmds[i].params[k]);
	}
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
