/* pgstate.c — the plan's state in PostgreSQL: the journal's lines as rows, the plan lock
 * as a session advisory lock with a row saying who holds it, and requests from other
 * machines. Through pg.c's own connections (pg_conn_*): libpq stays in pg.c.
 *
 * The tables, in schema orch of the state's database, created on first use by the
 * first orch that takes a lock there (under a transaction advisory lock, so that two
 * never race at it); docs/team.md:
 *
 *	orch.events (plan text, target text, journal int, line bigint, event text,
 *	             at timestamptz DEFAULT now(), seq bigserial,
 *	             PRIMARY KEY (plan, target, journal, line))
 *
 *   One row per journal line, exactly the bytes the file would hold (the event's JSON
 *   with its checksum "ck", without the newline). target is '' without [target]. line
 *   counts from 1 in each journal; journal is 0 until the first --reset, which starts
 *   journal 1 with its reset event (the older journals stay, as journal.jsonl.N do).
 *   Append-only: a trigger refuses UPDATE, DELETE and TRUNCATE. A sync is one INSERT
 *   of every line appended since the last one: one transaction, all or nothing.
 *
 *	orch.holders (plan, target, username, host, pid, since, heartbeat, backend,
 *	              PRIMARY KEY (plan, target))
 *
 *   Who holds the plan lock: pg_try_advisory_lock on a key hashed from the plan and
 *   target, held by the holder's connection for its whole run (the server drops it when
 *   that connection ends: kill -9, a lost network). The row is only what is shown; the
 *   lock is the truth: a row whose backend holds no lock is an orch that is gone.
 *
 *	orch.requests (id bigserial, plan, target, action, step, by, reason, at,
 *	               answered_at, accepted, answer)
 *
 *   --approve, --skip, --promote, --abort from another machine while an orch holds the
 *   plan: a row, and NOTIFY on the plan's channel; the holder LISTENs there, takes the
 *   row within a second, records the event, then answers the row. */
#include "pgstate.h"

#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hash.h"
#include "pg.h"
#include "util.h"

/* rows read at a time: memory of one result stays bounded */
enum { READ_CHUNK = 20000 };
/* the holder's heartbeat, and the look at requests without a notification */
enum { HEARTBEAT_MS = 5000, ASK_EVERY_MS = 5000 };

struct pgstate {
	struct graph *g;
	struct pgconn *c;
	const char *plan, *target;
	char classid[16], objid[16], key[24], channel[PGSTATE_CHANNEL_MAX];
	char *display;
	int journal;       /* the current journal's number */
	int64_t lines;     /* its rows written */
	struct buf pending; /* lines appended since the last sync, each with its newline */
	size_t npending;
	bool locked, tables;
	bool lost;         /* the connection is gone (and the lock with it) */
	bool woken;        /* a notification came since the last look at requests */
	int64_t beat_ms, asked_ms; /* now_ms of the last heartbeat, the last look at requests */
};

static const char ddl[] =
	"CREATE SCHEMA IF NOT EXISTS orch;"
	" CREATE TABLE IF NOT EXISTS orch.events ("
	"  plan text NOT NULL, target text NOT NULL DEFAULT '', journal int NOT NULL DEFAULT 0,"
	"  line bigint NOT NULL, event text NOT NULL, at timestamptz NOT NULL DEFAULT now(),"
	"  seq bigserial, PRIMARY KEY (plan, target, journal, line));"
	" CREATE OR REPLACE FUNCTION orch.events_append_only() RETURNS trigger LANGUAGE plpgsql AS"
	"  $$BEGIN RAISE EXCEPTION 'orch.events is append-only: % refused', TG_OP"
	"  USING HINT = 'the journal''s rows are never changed: orch --state-export copies them out'; END$$;"
	" DROP TRIGGER IF EXISTS events_append_only ON orch.events;"
	" CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON orch.events"
	"  FOR EACH ROW EXECUTE FUNCTION orch.events_append_only();"
	" DROP TRIGGER IF EXISTS events_no_truncate ON orch.events;"
	" CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON orch.events"
	"  FOR EACH STATEMENT EXECUTE FUNCTION orch.events_append_only();"
	" CREATE TABLE IF NOT EXISTS orch.holders ("
	"  plan text NOT NULL, target text NOT NULL DEFAULT '', username text, host text, pid int,"
	"  since timestamptz NOT NULL DEFAULT now(), heartbeat timestamptz NOT NULL DEFAULT now(),"
	"  backend int, PRIMARY KEY (plan, target));"
	" CREATE TABLE IF NOT EXISTS orch.requests ("
	"  id bigserial PRIMARY KEY, plan text NOT NULL, target text NOT NULL DEFAULT '',"
	"  action text NOT NULL, step text NOT NULL, by text, reason text,"
	"  at timestamptz NOT NULL DEFAULT now(), answered_at timestamptz, accepted bool, answer text)";

/* The database G's state lives in, or NULL. */
static const char *state_conninfo(struct graph *g)
{
	if (!g->state)
		return NULL;
	if (strcmp(g->state, "database") == 0)
		return pg_conninfo(g, NULL);
	return g->state;
}

static uint64_t key_hash(const char *plan, const char *target)
{
	char *k = xasprintf("orch-state:%s\n%s", plan, target);
	uint64_t h = hash_bytes(k, strlen(k));

	free(k);
	return h;
}

void pgstate_channel(const char *plan, const char *target, char out[PGSTATE_CHANNEL_MAX])
{
	snprintf(out, PGSTATE_CHANNEL_MAX, "orch_%016" PRIx64, key_hash(plan, target));
}

static void keys_of(struct pgstate *s)
{
	uint64_t h = key_hash(s->plan, s->target);

	snprintf(s->key, sizeof(s->key), "%" PRId64, (int64_t)h);
	snprintf(s->classid, sizeof(s->classid), "%" PRIu32, (uint32_t)(h >> 32));
	snprintf(s->objid, sizeof(s->objid), "%" PRIu32, (uint32_t)h);
	pgstate_channel(s->plan, s->target, s->channel);
}

static struct pgstate *state_new(struct graph *g)
{
	struct pgstate *s = xcalloc(1, sizeof(*s));

	s->g = g;
	s->plan = g->name;
	s->target = g->target ? g->target : "";
	keys_of(s);
	s->display = *s->target ? xasprintf("orch.events[%s/%s]", s->plan, s->target)
	                        : xasprintf("orch.events[%s]", s->plan);
	return s;
}

static void state_free(struct pgstate *s)
{
	pg_conn_close(s->c);
	buf_free(&s->pending);
	free(s->display);
	free(s);
}

/* Run SQL on S's connection with the plan and target as $1 and $2, then the NP more
 * PARAMS; rows into OUT. Returns 0 or -1 with *ERR. */
static int run(struct pgstate *s, const char *sql, int np, const char *const *params, struct pgresult *out,
               char **err)
{
	const char *p[8] = {s->plan, s->target};

	for (int i = 0; i < np && i < 6; i++)
		p[2 + i] = params[i];
	return pg_conn_exec(s->c, sql, 2 + np, p, out, err);
}

/* One value of a one-row query, as a number (-1 on error, with *ERR). */
static long long run_number(struct pgstate *s, const char *sql, int np, const char *const *params, char **err)
{
	struct pgresult r;
	long long v;

	if (run(s, sql, np, params, &r, err) < 0)
		return -1;
	v = pg_value(&r, 0, 0) ? strtoll(pg_value(&r, 0, 0), NULL, 10) : 0;
	pg_result_free(&r);
	return v;
}

/* Whether the tables exist (1), not (0), or -1 (*ERR). */
static int have_tables(struct pgstate *s, char **err)
{
	struct pgresult r;
	int have;

	if (pg_conn_exec(s->c, "SELECT to_regclass('orch.events') IS NOT NULL AND to_regclass('orch.holders') IS NOT NULL"
	                       " AND to_regclass('orch.requests') IS NOT NULL",
	                 0, NULL, &r, err) < 0)
		return -1;
	have = pg_value(&r, 0, 0) && strcmp(pg_value(&r, 0, 0), "t") == 0;
	pg_result_free(&r);
	return have;
}

/* Make the tables when they are not there, in one transaction under a transaction
 * advisory lock of its own (two orchs starting at once: one makes them). */
static int make_tables(struct pgstate *s, char **err)
{
	char *e2 = NULL;
	int have = have_tables(s, err);

	if (have != 0)
		return have < 0 ? -1 : 0;
	if (pg_conn_exec(s->c, "BEGIN", 0, NULL, NULL, err) < 0)
		return -1;
	if (pg_conn_exec(s->c, "SELECT pg_advisory_xact_lock(hashtext('orch:state-tables'))", 0, NULL, NULL, err) < 0 ||
	    (have = have_tables(s, err)) < 0 || (!have && pg_conn_exec(s->c, ddl, 0, NULL, NULL, err) < 0)) {
		pg_conn_exec(s->c, "ROLLBACK", 0, NULL, NULL, &e2);
		free(e2);
		return -1;
	}
	return pg_conn_exec(s->c, "COMMIT", 0, NULL, NULL, err);
}

/* "user@host, pid N, since T, last heartbeat Ns ago" of the lock holder as C sees it: its
 * pid into *PID (-1: no row). Returns NULL when the lock is free. */
static char *holder_of(struct pgstate *s, long *pid)
{
	const char *p[2] = {s->classid, s->objid};
	struct pgresult r;
	char *err = NULL, *who = NULL;

	*pid = 0;
	if (run(s,
	        "SELECT h.username, h.host, h.pid, to_char(h.since AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'),"
	        " round(extract(epoch FROM now() - h.heartbeat))::bigint, l.pid"
	        " FROM pg_locks l LEFT JOIN orch.holders h ON h.plan = $1 AND h.target = $2 AND h.backend = l.pid"
	        " WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1"
	        " AND l.classid = $3::bigint::oid AND l.objid = $4::bigint::oid"
	        " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
	        2, p, &r, &err) < 0) {
		debug("who holds the lock: %s", err);
		free(err);
		return NULL;
	}
	if (r.nrows) {
		if (pg_value(&r, 0, 2)) {
			*pid = strtol(pg_value(&r, 0, 2), NULL, 10);
			who = xasprintf("%s@%s, pid %s, since %s UTC, last heartbeat %ss ago", pg_value(&r, 0, 0),
			                pg_value(&r, 0, 1), pg_value(&r, 0, 2), pg_value(&r, 0, 3), pg_value(&r, 0, 4));
		} else {
			*pid = -1;
			who = xasprintf("server pid %s", pg_value(&r, 0, 5));
		}
	}
	pg_result_free(&r);
	return who;
}

static int take_lock(struct pgstate *s, char **err)
{
	const char *p[4];
	char pid[24];
	long holder;
	char *who;
	long long got;

	if (make_tables(s, err) < 0)
		return EXIT_RECORD;
	p[0] = s->key;
	if ((got = run_number(s, "SELECT pg_try_advisory_lock($3::bigint)::int WHERE $1::text IS NOT NULL AND $2::text IS NOT NULL",
	                      1, p, err)) < 0)
		return EXIT_RECORD;
	if (!got) {
		who = holder_of(s, &holder);
		error("another orch (%s) is running this plan (its state is in %s)", who ? who : "gone just now",
		      pg_conn_describe(s->c));
		free(who);
		return EXIT_LOCKED;
	}
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	p[0] = user_name();
	p[1] = strchr(user_at_host(), '@') ? strchr(user_at_host(), '@') + 1 : "unknown";
	p[2] = pid;
	if (run(s,
	        "INSERT INTO orch.holders AS h (plan, target, username, host, pid, backend)"
	        " VALUES ($1, $2, $3, $4, $5::int, pg_backend_pid()) ON CONFLICT (plan, target) DO UPDATE"
	        " SET username = $3, host = $4, pid = $5::int, backend = pg_backend_pid(), since = now(),"
	        " heartbeat = now()",
	        3, p, NULL, err) < 0)
		return EXIT_RECORD;
	{
		char *listen = xasprintf("LISTEN %s", s->channel);
		int r = pg_conn_exec(s->c, listen, 0, NULL, NULL, err);

		free(listen);
		if (r < 0)
			return EXIT_RECORD;
	}
	s->locked = true;
	s->beat_ms = now_ms();
	debug("took the plan lock in %s (key %s)", pg_conn_describe(s->c), s->key);
	return 0;
}

static int open_conn(struct graph *g, struct pgstate *s, int fail)
{
	const char *ci = state_conninfo(g);
	char *err = NULL;

	if (!ci) {
		error("%s:%d: state = database, but the plan has no database: set [orch] database%s or DATABASE_URL",
		      g->file, g->state_line, g->target ? " (or the target's)" : "");
		return EXIT_USAGE;
	}
	if (!(s->c = pg_conn_open(ci, &err))) {
		error("cannot reach the plan's state: %s", err);
		free(err);
		return fail;
	}
	return 0;
}

int pgstate_open(struct graph *g, bool lock, struct pgstate **out)
{
	struct pgstate *s = state_new(g);
	char *err = NULL;
	int r, have;

	*out = NULL;
	if ((r = open_conn(g, s, lock ? EXIT_RECORD : EXIT_JOURNAL)) != 0) {
		state_free(s);
		return r;
	}
	if (lock && (r = take_lock(s, &err)) != 0) {
		if (err)
			error("cannot record progress in %s: %s", s->display, err);
		free(err);
		state_free(s);
		return r;
	}
	if ((have = have_tables(s, &err)) < 0) {
		error("cannot read %s: %s", s->display, err);
		free(err);
		state_free(s);
		return lock ? EXIT_RECORD : EXIT_JOURNAL;
	}
	s->tables = have;
	if (have && (s->journal = (int)run_number(s,
	                                          "SELECT coalesce(max(journal), 0) FROM orch.events"
	                                          " WHERE plan = $1 AND target = $2",
	                                          0, NULL, &err)) < 0) {
		error("cannot read %s: %s", s->display, err);
		free(err);
		state_free(s);
		return lock ? EXIT_RECORD : EXIT_JOURNAL;
	}
	*out = s;
	return 0;
}

const char *pgstate_display(const struct pgstate *s)
{
	return s->display;
}

const char *pgstate_where(const struct pgstate *s)
{
	return pg_conn_describe(s->c);
}

char *pgstate_row(const struct pgstate *s, size_t line)
{
	struct buf b = {0};

	buf_puts(&b, "the row of orch.events WHERE plan = ");
	pg_buf_literal(&b, s->plan);
	buf_puts(&b, " AND target = ");
	pg_buf_literal(&b, s->target);
	buf_printf(&b, " AND journal = %d AND line = %zu", s->journal, line);
	return b.s;
}

int pgstate_journal(const struct pgstate *s)
{
	return s->journal;
}

void pgstate_use_journal(struct pgstate *s, int n)
{
	s->journal = n;
	free(s->display);
	s->display = *s->target ? xasprintf("orch.events[%s/%s] journal %d", s->plan, s->target, n)
	                        : xasprintf("orch.events[%s] journal %d", s->plan, n);
}

int pgstate_read(struct pgstate *s, char **text, size_t *len)
{
	struct buf b = {0};
	char jn[16], after[24];
	const char *p[2] = {jn, after};
	char *err = NULL;

	snprintf(jn, sizeof(jn), "%d", s->journal);
	s->lines = 0;
	while (s->tables) {
		struct pgresult r;
		size_t got;

		snprintf(after, sizeof(after), "%" PRId64, s->lines);
		if (run(s,
		        "SELECT line, event FROM orch.events WHERE plan = $1 AND target = $2 AND journal = $3::int"
		        " AND line > $4::bigint ORDER BY line LIMIT 20000", /* READ_CHUNK */
		        2, p, &r, &err) < 0) {
			error("cannot read %s: %s", s->display, err);
			free(err);
			buf_free(&b);
			return EXIT_JOURNAL;
		}
		for (size_t i = 0; i < r.nrows; i++) {
			long long line = strtoll(pg_value(&r, i, 0), NULL, 10);
			const char *ev = pg_value(&r, i, 1);

			if (line != s->lines + 1 || strchr(ev, '\n')) {
				char *row = pgstate_row(s, (size_t)s->lines + 1);

				if (line != s->lines + 1)
					error("%s:%" PRId64 ": the journal is damaged: line %" PRId64 " is missing (the next row is "
					      "line %lld): orch.events is append-only, and a row was deleted",
					      s->display, s->lines + 1, s->lines + 1, line);
				else
					error("%s:%lld: the journal is damaged: the row holds more than one line (a newline in "
					      "it): orch writes one line to a row",
					      s->display, line);
				error("orch does not change a journal it cannot read: put the row back as orch wrote it "
				      "(%s), or move the plan's rows away to start over", row);
				free(row);
				pg_result_free(&r);
				buf_free(&b);
				return EXIT_JOURNAL;
			}
			buf_puts(&b, ev);
			buf_putc(&b, '\n');
			s->lines = line;
		}
		got = r.nrows;
		pg_result_free(&r);
		if (got < READ_CHUNK)
			break;
	}
	*len = b.len;
	*text = b.s ? b.s : xstrdup("");
	return 0;
}

void pgstate_append(struct pgstate *s, const char *line, size_t len)
{
	buf_add(&s->pending, line, len);
	s->npending++;
}

static void heartbeat(struct pgstate *s)
{
	char *err = NULL;

	if (!s->locked || now_ms() - s->beat_ms < HEARTBEAT_MS)
		return;
	s->beat_ms = now_ms();
	if (run(s, "UPDATE orch.holders SET heartbeat = now() WHERE plan = $1 AND target = $2"
	           " AND backend = pg_backend_pid()",
	        0, NULL, NULL, &err) < 0) {
		debug("heartbeat: %s", err);
		free(err);
	}
}

/* The lines appended since the last sync as one INSERT: $1 plan, $2 target, $3 journal,
 * $4 the first line's number, $5 the lines between newlines. */
static const char insert_lines[] =
	"INSERT INTO orch.events (plan, target, journal, line, event)"
	" SELECT $1, $2, $3::int, $4::bigint + t.n - 1, t.l"
	" FROM unnest(string_to_array($5, E'\\n')) WITH ORDINALITY AS t(l, n)";

/* The parameters of insert_lines for the pending lines into P (JN, FIRST: their room). */
static void insert_params(struct pgstate *s, const char *p[5], char jn[16], char first[24])
{
	snprintf(jn, 16, "%d", s->journal);
	snprintf(first, 24, "%" PRId64, s->lines + 1);
	s->pending.s[--s->pending.len] = '\0'; /* the last newline: the lines are between them */
	p[0] = s->plan, p[1] = s->target, p[2] = jn, p[3] = first, p[4] = s->pending.s;
}

/* The pending lines' INSERT ended with R (ERR its error, freed; HOW how it ran): said
 * and counted, and nothing is pending any more either way. Returns R. */
static int inserted(struct pgstate *s, int r, char *err, const char *how)
{
	if (r < 0) {
		error("cannot record progress in %s%s: %s", s->display, how, err);
		free(err);
	} else {
		debug("wrote %zu lines to %s%s", s->npending, s->display, how);
		s->lines += (int64_t)s->npending;
	}
	s->pending.len = 0;
	s->npending = 0;
	return r;
}

int pgstate_sync(struct pgstate *s)
{
	char jn[16], first[24];
	const char *p[5];
	char *err = NULL;
	int r;

	if (s->lost) {
		error("cannot record progress in %s: the connection to %s was lost, and the plan's lock with it",
		      s->display, pg_conn_describe(s->c));
		return -1;
	}
	heartbeat(s);
	if (!s->npending)
		return 0;
	insert_params(s, p, jn, first);
	r = pg_conn_exec(s->c, insert_lines, 5, p, NULL, &err);
	return inserted(s, r, err, "");
}

bool pgstate_same_database(const struct pgstate *s, const char *conninfo)
{
	const char *ci = state_conninfo(s->g);

	return ci && conninfo && strcmp(ci, conninfo) == 0;
}

int pgstate_commit_with(struct pgstate *s, struct pgjob *job)
{
	char jn[16], first[24];
	const char *p[5];
	char *err = NULL;
	int r;

	if (!s->npending)
		return -1;
	insert_params(s, p, jn, first);
	r = pg_commit_with(job, insert_lines, 5, p, &err);
	return inserted(s, r, err, ": the step's transaction with its events");
}

int pgstate_line(struct pgstate *s, size_t lineno, char **line, size_t *len)
{
	char jn[16], ln[24];
	const char *p[2] = {jn, ln};
	struct pgresult r;
	char *err = NULL;

	snprintf(jn, sizeof(jn), "%d", s->journal);
	snprintf(ln, sizeof(ln), "%zu", lineno);
	if (run(s, "SELECT event FROM orch.events WHERE plan = $1 AND target = $2 AND journal = $3::int"
	           " AND line = $4::bigint",
	        2, p, &r, &err) < 0) {
		debug("%s:%zu: %s", s->display, lineno, err);
		free(err);
		return -1;
	}
	if (!pg_value(&r, 0, 0)) {
		pg_result_free(&r);
		return -1;
	}
	*line = xstrdup(pg_value(&r, 0, 0));
	*len = strlen(*line);
	pg_result_free(&r);
	return 0;
}

int pgstate_reset(struct pgstate *s)
{
	if (pgstate_sync(s) < 0)
		return -1;
	s->journal++;
	s->lines = 0;
	return s->journal - 1;
}

long pgstate_holder(struct graph *g, char **who)
{
	struct pgstate *s = state_new(g);
	char *err = NULL, *w = NULL;
	long pid = 0;

	if (who)
		*who = NULL;
	if (state_conninfo(g) && (s->c = pg_conn_open(state_conninfo(g), &err))) {
		if (have_tables(s, &err) > 0)
			w = holder_of(s, &pid);
	}
	if (err) {
		debug("who holds the plan's lock: %s", err);
		free(err);
	}
	if (who)
		*who = w;
	else
		free(w);
	state_free(s);
	return pid;
}

bool pgstate_lost(const struct pgstate *s)
{
	return s && s->lost;
}

struct pgconn *pgstate_conn(struct pgstate *s)
{
	return s->c;
}

int pgstate_fd(struct pgstate *s)
{
	return s && s->locked && !s->lost ? pg_conn_fd(s->c) : -1;
}

int pgstate_wake(struct pgstate *s, void (*each)(void *arg, const char *payload), void *arg)
{
	int nf;

	if (!s || !s->locked || s->lost)
		return 0;
	if ((nf = pg_conn_notified_each(s->c, each, arg)) < 0) {
		s->lost = true; /* the next sync says so, and stops the run */
		warn("lost the connection to %s, which holds the plan's state and lock", pg_conn_describe(s->c));
		return 0;
	}
	s->woken |= nf > 0;
	return nf;
}

size_t pgstate_take(struct pgstate *s, struct request **out)
{
	struct pgresult r;
	char *err = NULL;
	size_t n = 0;

	*out = NULL;
	heartbeat(s);
	pgstate_wake(s, NULL, NULL);
	if (s->lost || (!s->woken && now_ms() - s->asked_ms < ASK_EVERY_MS))
		return 0;
	s->woken = false;
	s->asked_ms = now_ms();
	if (run(s, "SELECT id, action, step, coalesce(by, 'someone'), reason FROM orch.requests"
	           " WHERE plan = $1 AND target = $2 AND answered_at IS NULL ORDER BY id",
	        0, NULL, &r, &err) < 0) {
		warn("cannot read the requests for %s: %s", s->display, err);
		free(err);
		return 0;
	}
	if (r.nrows)
		*out = xreallocarray(NULL, r.nrows, sizeof(**out));
	for (size_t i = 0; i < r.nrows; i++, n++)
		(*out)[i] = (struct request){xstrdup(pg_value(&r, i, 0)), xstrdup(pg_value(&r, i, 1)),
		                             xstrdup(pg_value(&r, i, 2)), xstrdup(pg_value(&r, i, 3)),
		                             pg_value(&r, i, 4) ? xstrdup(pg_value(&r, i, 4)) : NULL};
	pg_result_free(&r);
	return n;
}

void pgstate_answer(struct pgstate *s, const struct request *q, bool accepted, const char *message)
{
	const char *p[3] = {q->id, accepted ? "t" : "f", message};
	char *err = NULL;

	if (run(s, "UPDATE orch.requests SET answered_at = now(), accepted = $4::bool, answer = $5"
	           " WHERE id = $3::bigint AND plan = $1 AND target = $2",
	        3, p, NULL, &err) < 0) {
		warn("cannot answer the request %s in %s: %s", q->id, pgstate_where(s), err);
		free(err);
	}
}

int pgstate_ask(struct graph *g, const char *action, const char *step, const char *reason, int64_t timeout_ms,
                char **answer)
{
	struct pgstate *s = state_new(g);
	const char *p[5] = {action, step, user_at_host(), reason, s->channel};
	int64_t until = now_ms() + timeout_ms;
	struct pgresult r;
	char *err = NULL, *id = NULL;
	int result = -1;
	long pid;

	*answer = NULL;
	if ((result = open_conn(g, s, EXIT_RECORD)) != 0) {
		state_free(s);
		return result;
	}
	result = -1;
	if (run(s,
	        "WITH r AS (INSERT INTO orch.requests (plan, target, action, step, by, reason)"
	        " VALUES ($1, $2, $3, $4, $5, $6) RETURNING id) SELECT id, pg_notify($7, id::text) FROM r",
	        5, p, &r, &err) < 0) {
		error("cannot ask the orch running this plan: %s", err);
		free(err);
		state_free(s);
		return EXIT_RECORD;
	}
	id = xstrdup(pg_value(&r, 0, 0));
	pg_result_free(&r);
	p[0] = id;
	for (;;) {
		if (run(s, "SELECT accepted::int, answer FROM orch.requests WHERE id = $3::bigint AND plan = $1 AND target = $2"
		           " AND answered_at IS NOT NULL",
		        1, p, &r, &err) < 0) {
			error("cannot read the answer to request %s: %s", id, err);
			free(err);
			result = EXIT_RECORD;
			break;
		}
		if (r.nrows) {
			result = pg_value(&r, 0, 0) && strcmp(pg_value(&r, 0, 0), "1") == 0;
			*answer = xstrdup(pg_value(&r, 0, 1) ? pg_value(&r, 0, 1) : "");
			pg_result_free(&r);
			if (run(s, "DELETE FROM orch.requests WHERE id = $3::bigint AND plan = $1 AND target = $2", 1, p, NULL, &err) < 0) {
				debug("removing request %s: %s", id, err);
				free(err);
				err = NULL;
			}
			break;
		}
		pg_result_free(&r);
		if (now_ms() >= until)
			break;
		free(holder_of(s, &pid));
		if (!pid) {
			result = -2;
			break;
		}
		poll(NULL, 0, 50);
	}
	/* withdrawn unless answered meanwhile */
	if (result < 0 && run(s, "DELETE FROM orch.requests WHERE id = $3::bigint AND plan = $1 AND target = $2 AND answered_at IS NULL", 1, p, NULL,
	                      &err) < 0) {
		debug("withdrawing request %s: %s", id, err);
		free(err);
	}
	free(id);
	state_free(s);
	return result;
}

void pgstate_close(struct pgstate *s)
{
	char *err = NULL;

	if (!s)
		return;
	if (s->locked && run(s, "DELETE FROM orch.holders WHERE plan = $1 AND target = $2 AND backend = pg_backend_pid()",
	                     0, NULL, NULL, &err) < 0) {
		debug("removing the holder row: %s", err);
		free(err);
	}
	state_free(s);
}
