/* claims.c — steps with runs_on = LABEL run by workers on other machines, through
 * orch.claims in the state's database (docs/team.md): the coordinator (the orch that
 * holds the plan lock and alone writes the journal) records a step's start, then offers
 * it as a row; a worker with the label claims it with FOR UPDATE SKIP LOCKED (one
 * claimant, as River, graphile-worker and Oban do), holds a lease measured by the
 * database's clock (now()) and renewed by heartbeat, runs the step from its own copy of
 * the plan (refused when that copy's step differs), and writes its exit status and the
 * tail of its output to the row. The coordinator records the result; a lease that ran
 * out is a worker gone, the step interrupted on it.
 *
 *	orch.claims (id bigserial, plan, target, step, hash, runs_on, state, worker,
 *	             lease_until, exit, detail, log, offered_at, claimed_at, done_at)
 *
 *   state: ready (offered), running (claimed, lease_until by the server's clock),
 *   done (exit, log), refused (detail), lost (the lease ran out: the coordinator's
 *   word), withdrawn (the run stopped before a worker took it). */
#include "claims.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hash.h"
#include "os.h"
#include "pg.h"
#include "util.h"

/* The lease a claim holds, renewed every HEARTBEAT_MS; a worker looks for work every
 * POLL_MS even without a notification (a lost one must not stall it). */
#define LEASE_S 3
enum { HEARTBEAT_MS = 1000, POLL_MS = 500 };
#define CHANNEL "orch_claims"
#define CLAIM_PAYLOAD "claim " /* a report's notification: this and the claim's id */
#define STR_(x) #x
#define STR(x) STR_(x)

static const char ddl[] =
	"BEGIN; SELECT pg_advisory_xact_lock(hashtext('orch:state-tables'));"
	" CREATE SCHEMA IF NOT EXISTS orch;"
	" CREATE TABLE IF NOT EXISTS orch.claims ("
	"  id bigserial PRIMARY KEY, plan text NOT NULL, target text NOT NULL DEFAULT '',"
	"  step text NOT NULL, hash text NOT NULL, runs_on text NOT NULL,"
	"  state text NOT NULL DEFAULT 'ready', worker text, lease_until timestamptz,"
	"  exit int, detail text, log text, offered_at timestamptz NOT NULL DEFAULT now(),"
	"  claimed_at timestamptz, done_at timestamptz);"
	" CREATE INDEX IF NOT EXISTS claims_ready ON orch.claims (plan, target, id) WHERE state = 'ready';"
	" COMMIT";

static int ensure_tables(struct pgconn *c, char **err)
{
	char *e2 = NULL;

	if (pg_conn_exec(c, ddl, 0, NULL, NULL, err) == 0)
		return 0;
	pg_conn_exec(c, "ROLLBACK", 0, NULL, NULL, &e2);
	free(e2);
	return -1;
}

char *claims_step_hash(const struct node *n)
{
	struct buf b = {0};
	char *h;

	buf_printf(&b, "%s\n%s\n%s", n->name, n->run ? n->run : "", n->x->runs_on ? n->x->runs_on : "");
	h = xasprintf("%016" PRIx64, hash_bytes(b.s, b.len));
	buf_free(&b);
	return h;
}

int64_t claims_offer(struct pgstate *s, struct graph *g, const struct node *n)
{
	static bool made;
	struct pgconn *c = pgstate_conn(s);
	char *hash = claims_step_hash(n), *err = NULL;
	const char *p[5] = {g->name, g->target ? g->target : "", n->name, hash, n->x->runs_on};
	struct pgresult r;
	int64_t id = -1;

	if ((made || ensure_tables(c, &err) == 0) &&
	    pg_conn_exec(c,
	                 "WITH o AS (INSERT INTO orch.claims (plan, target, step, hash, runs_on)"
	                 " VALUES ($1, $2, $3, $4, $5) RETURNING id) SELECT id, pg_notify('" CHANNEL "', '') FROM o",
	                 5, p, &r, &err) == 0) {
		made = true;
		id = pg_value(&r, 0, 0) ? strtoll(pg_value(&r, 0, 0), NULL, 10) : -1;
		pg_result_free(&r);
	}
	if (id < 0)
		error("cannot offer step %s to a worker (runs_on = %s) in %s: %s", n->name, n->x->runs_on,
		      pgstate_display(s), err ? err : "no id");
	free(err);
	free(hash);
	return id;
}

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

enum claimstate claims_poll(struct pgstate *s, int64_t id, struct claimresult *res)
{
	struct pgconn *c = pgstate_conn(s);
	char ids[24], *err = NULL;
	const char *p[1] = {ids};
	struct pgresult r;
	enum claimstate st = CLAIM_WAITING;
	const char *state;

	memset(res, 0, sizeof(*res));
	snprintf(ids, sizeof(ids), "%" PRId64, id);
	/* a lease that ran out by the server's clock is lost, once: a worker that comes
	 * back after cannot report (its UPDATE wants state running). Only that is written:
	 * a look every 100 ms at a row that did not change makes no dead row versions. */
	if (pg_conn_exec(c,
	                 "WITH lost AS (UPDATE orch.claims SET state = 'lost', done_at = now()"
	                 " WHERE id = $1 AND state = 'running' AND lease_until < now() RETURNING id)"
	                 " SELECT CASE WHEN EXISTS (SELECT FROM lost) THEN 'lost' ELSE state END, exit, worker, detail, log"
	                 " FROM orch.claims WHERE id = $1",
	                 1, p, &r, &err) < 0 ||
	    r.nrows != 1) {
		res->detail = err ? err : xstrdup("its row is gone from orch.claims");
		if (!err)
			pg_result_free(&r);
		return CLAIM_ERROR;
	}
	state = pg_value(&r, 0, 0);
	if (strcmp(state, "done") == 0)
		st = CLAIM_DONE;
	else if (strcmp(state, "refused") == 0)
		st = CLAIM_REFUSED;
	else if (strcmp(state, "lost") == 0)
		st = CLAIM_LOST;
	if (st != CLAIM_WAITING) {
		res->exit = pg_value(&r, 0, 1) ? atoi(pg_value(&r, 0, 1)) : -1;
		res->worker = dup_or_null(pg_value(&r, 0, 2));
		res->detail = dup_or_null(pg_value(&r, 0, 3));
		res->log = dup_or_null(pg_value(&r, 0, 4));
	}
	pg_result_free(&r);
	return st;
}

char *claims_log(struct pgstate *s, const struct graph *g, const char *step, char **worker)
{
	const char *p[3] = {g->name, g->target ? g->target : "", step};
	char *err = NULL, *log = NULL;
	struct pgresult r;

	*worker = NULL;
	/* no table: no worker ever ran a step in this database */
	if (pg_conn_exec(pgstate_conn(s), "SELECT to_regclass('orch.claims') IS NOT NULL", 0, NULL, &r, &err) < 0)
		goto failed;
	if (strcmp(pg_value(&r, 0, 0), "t") != 0) {
		pg_result_free(&r);
		return NULL;
	}
	pg_result_free(&r);
	if (pg_conn_exec(pgstate_conn(s),
	                 "SELECT log, worker FROM orch.claims WHERE plan = $1 AND target = $2 AND step = $3"
	                 " AND log IS NOT NULL ORDER BY id DESC LIMIT 1",
	                 3, p, &r, &err) < 0)
		goto failed;
	if (r.nrows == 1) {
		log = xstrdup(pg_value(&r, 0, 0));
		*worker = dup_or_null(pg_value(&r, 0, 1));
	}
	pg_result_free(&r);
	return log;
failed:
	warn("cannot read the log of step %s from orch.claims: %s", step, err);
	free(err);
	return NULL;
}

void claims_withdraw(struct pgstate *s, int64_t id)
{
	char ids[24], *err = NULL;
	const char *p[1] = {ids};

	snprintf(ids, sizeof(ids), "%" PRId64, id);
	/* a worker that has begun it finds it withdrawn at its next renewal, and stops it */
	if (pg_conn_exec(pgstate_conn(s), "UPDATE orch.claims SET state = 'withdrawn', done_at = now()"
	                                  " WHERE id = $1 AND state IN ('ready', 'running')",
	                 1, p, NULL, &err) < 0) {
		warn("cannot withdraw a claim from %s: %s", pgstate_display(s), err);
		free(err);
	}
}

void claims_result_free(struct claimresult *r)
{
	free(r->worker);
	free(r->detail);
	free(r->log);
	memset(r, 0, sizeof(*r));
}

/* --- the worker --- */

/* A step stopped (its lease lost, or a signal) is killed KILL_GRACE_MS later if it has
 * not ended; with -j above 1, a line of output this long without a newline is relayed
 * in pieces. */
enum { KILL_GRACE_MS = 3000, RELAY_LINE_MAX = 4096 };

/* A claim this worker holds: its step's process and output. */
struct held {
	char id[24];
	struct node *n;
	struct proc pr;
	struct buf out;   /* the output's end: its last CLAIM_LOG_MAX bytes at least */
	struct buf line;  /* the line being relayed (-j above 1) */
	int code;         /* the exit status to report, once exited */
	bool exited;
	bool stopped;     /* its lease was lost, or the worker stops: nothing to report */
	int64_t kill_ms;  /* SIGKILL at this time if it has not ended (0: not due) */
};

struct worker {
	struct graph *g;
	struct pgconn *c;
	const char *labels;
	char name[300];
	int jobs;         /* claims held at once at most (-j) */
	struct vec held;  /* struct held *, the claims being run */
	char channel[PGSTATE_CHANNEL_MAX]; /* the coordinator's: a report wakes it */
	bool stop;        /* a signal came or the connection broke: the worker ends */
};

/* Set claim ID to STATE with the exit status EXIT (NULL: none), DETAIL and LOG, if
 * this worker still holds it. Returns 1 done, 0 the lease was lost, -1 error. */
static int report_claim(struct worker *w, const char *id, const char *state, const char *exit, const char *detail,
                        const char *log)
{
	const char *p[8] = {id, w->name, state, exit, detail, log, w->channel, CLAIM_PAYLOAD};
	struct pgresult r;
	char *err = NULL;
	int held;

	/* the coordinator, woken, records it at once (else at its next look) */
	if (pg_conn_exec(w->c,
	                 "WITH u AS (UPDATE orch.claims SET state = $3, exit = $4::int, detail = $5, log = $6,"
	                 " done_at = now() WHERE id = $1 AND worker = $2 AND state = 'running' RETURNING id)"
	                 " SELECT id, pg_notify($7, $8 || id) FROM u",
	                 8, p, &r, &err) < 0) {
		error("cannot report claim %s: %s", id, err);
		free(err);
		return -1;
	}
	held = r.nrows == 1;
	pg_result_free(&r);
	return held;
}

int64_t claims_payload_id(const char *payload)
{
	size_t n = strlen(CLAIM_PAYLOAD);
	long long id;
	char end;

	if (strncmp(payload, CLAIM_PAYLOAD, n) != 0 || sscanf(payload + n, "%lld%c", &id, &end) != 1 || id <= 0)
		return 0;
	return id;
}

/* The last CLAIM_LOG_MAX bytes of B, from a character's first byte: a tail cut inside
 * a UTF-8 character is text the database refuses (B itself may begin inside one: see
 * keep_output). */
static const char *tail_of(const struct buf *b)
{
	const char *t;

	if (!b->s)
		return "";
	t = b->len > CLAIM_LOG_MAX ? b->s + b->len - CLAIM_LOG_MAX : b->s;
	while (*t && ((unsigned char)*t & 0xc0) == 0x80)
		t++;
	return t;
}

/* Add LEN bytes of output to H's, of which only the last CLAIM_LOG_MAX are reported:
 * past twice that, the rest goes. */
static void keep_output(struct held *h, const char *s, size_t len)
{
	buf_add(&h->out, s, len);
	if (h->out.len > 2 * CLAIM_LOG_MAX) {
		memmove(h->out.s, h->out.s + h->out.len - CLAIM_LOG_MAX, CLAIM_LOG_MAX);
		h->out.len = CLAIM_LOG_MAX;
		h->out.s[h->out.len] = '\0';
	}
}

/* Relay LEN bytes of H's output (EOF: its end) on standard output: as they come with
 * -j 1, else line by line after the step's name ("s1 | ..."), so that the lines of
 * steps running at once do not mix. */
static void relay(struct worker *w, struct held *h, const char *s, size_t len, bool eof)
{
	size_t start = 0;

	if (w->jobs == 1) {
		if (len) {
			fwrite(s, 1, len, stdout);
			fflush(stdout);
		}
		return;
	}
	if (len)
		buf_add(&h->line, s, len);
	for (size_t i = 0; i < h->line.len; i++) {
		bool nl = h->line.s[i] == '\n';

		if (nl || i + 1 - start == RELAY_LINE_MAX || (eof && i + 1 == h->line.len)) {
			printf("%s | ", h->n->name);
			fwrite(h->line.s + start, 1, i + 1 - start, stdout);
			if (!nl)
				putchar('\n');
			start = i + 1;
		}
	}
	if (start) {
		h->line.len -= start;
		memmove(h->line.s, h->line.s + start, h->line.len);
		h->line.s[h->line.len] = '\0';
		fflush(stdout);
	}
}

/* Stop H's process group with SIG (SIGKILL after the grace period): its claim is not
 * reported. */
static void stop_held(struct held *h, int sig)
{
	os_killgroup(h->pr.pid, sig);
	h->stopped = true;
	h->kill_ms = now_ms() + KILL_GRACE_MS;
}

/* The worker ends (SIG: a signal, or SIGTERM when it cannot go on): every step it runs
 * is stopped. */
static void stop_all(struct worker *w, int sig)
{
	w->stop = true;
	for (size_t i = 0; i < w->held.n; i++) {
		struct held *h = w->held.v[i];

		if (!h->stopped)
			stop_held(h, sig);
	}
}

/* Renew the lease of every claim held in one UPDATE; a claim whose lease was lost (the
 * coordinator gave its step up) has its step stopped, and only that one. */
static void renew_all(struct worker *w)
{
	struct buf ids = {0};
	struct pgresult r;
	char *err = NULL;
	const char *p[2];

	buf_putc(&ids, '{');
	for (size_t i = 0; i < w->held.n; i++) {
		struct held *h = w->held.v[i];

		if (!h->stopped)
			buf_printf(&ids, "%s%s", ids.len > 1 ? "," : "", h->id);
	}
	buf_putc(&ids, '}');
	p[0] = ids.s, p[1] = w->name;
	if (ids.len == 2) {
		buf_free(&ids);
		return;
	}
	if (pg_conn_exec(w->c,
	                 "UPDATE orch.claims SET lease_until = now() + interval '" STR(LEASE_S) " seconds'"
	                 " WHERE id = ANY ($1::bigint[]) AND worker = $2 AND state = 'running' RETURNING id",
	                 2, p, &r, &err) < 0) {
		warn("cannot renew the leases of claims %s: %s", ids.s, err);
		free(err);
		buf_free(&ids);
		return;
	}
	for (size_t i = 0; i < w->held.n; i++) {
		struct held *h = w->held.v[i];
		bool renewed = false;

		for (size_t k = 0; k < r.nrows && !renewed && !h->stopped; k++)
			renewed = strcmp(pg_value(&r, k, 0), h->id) == 0;
		if (!renewed && !h->stopped) {
			warn("lost the lease of step %s (claim %s): stopping it", h->n->name, h->id);
			stop_held(h, SIGTERM);
		}
	}
	pg_result_free(&r);
	buf_free(&ids);
}

/* Why this worker's copy of the plan cannot run step NAME with HASH, or NULL. */
static char *cannot_run(struct worker *w, const char *name, const char *hash, struct node **out)
{
	struct node *n = graph_find(w->g, name);
	char *mine;
	char *why = NULL;

	*out = n;
	if (!n || n->kind != NODE_STEP)
		return xasprintf("worker %s: its copy of the plan (%s) has no step %s", w->name, w->g->file, name);
	if (!n->run || n->stepkind == STEP_SQL)
		return xasprintf("worker %s: step %s is not a shell step in its copy of the plan", w->name, name);
	mine = claims_step_hash(n);
	if (strcmp(mine, hash) != 0)
		why = xasprintf("worker %s: its copy of step %s differs from the coordinator's (hash %s, not %s): "
		                "update its Orchfile",
		                w->name, name, mine, hash);
	free(mine);
	return why;
}

/* Claim one ready step and start it (or refuse it). Returns 1 when one was claimed, 0
 * none is ready, -1 error. */
static int claim_one(struct worker *w)
{
	const char *p[4] = {w->g->name, w->g->target ? w->g->target : "", w->name, w->labels ? w->labels : ""};
	struct pgresult r;
	struct node *n;
	struct held *h;
	char *err = NULL, *why, *env[] = {NULL};

	if (pg_conn_exec(w->c,
	                 "UPDATE orch.claims SET state = 'running', worker = $3, claimed_at = now(),"
	                 " lease_until = now() + interval '" STR(LEASE_S) " seconds'"
	                 " WHERE id = (SELECT id FROM orch.claims WHERE plan = $1 AND target = $2 AND state = 'ready'"
	                 "  AND (runs_on = '*' OR runs_on = ANY (string_to_array($4, ','))) ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)"
	                 " RETURNING id, step, hash",
	                 4, p, &r, &err) < 0) {
		error("cannot claim a step: %s", err);
		free(err);
		return -1;
	}
	if (r.nrows != 1) {
		pg_result_free(&r);
		return 0;
	}
	if ((why = cannot_run(w, pg_value(&r, 0, 1), pg_value(&r, 0, 2), &n))) {
		error("%s", why);
		report_claim(w, pg_value(&r, 0, 0), "refused", NULL, why, NULL);
		free(why);
		pg_result_free(&r);
		return 1;
	}
	h = xcalloc(1, sizeof(*h));
	snprintf(h->id, sizeof(h->id), "%s", pg_value(&r, 0, 0));
	pg_result_free(&r);
	h->n = n;
	h->pr = (struct proc){.fd = -1, .go = -1};
	info("worker %s: running step %s (claim %s)", w->name, n->name, h->id);
	if (os_spawn(n->run, env, &h->pr) < 0) {
		buf_printf(&h->out, "cannot start /bin/sh: %s\n", strerror(errno));
		h->code = 127;
		h->exited = true;
	} else {
		os_go(&h->pr, true);
	}
	vec_push(&w->held, h);
	return 1;
}

/* H's step exited and its output is read to the end: report it (unless stopped). */
static void finish(struct worker *w, struct held *h)
{
	char code[16];

	relay(w, h, NULL, 0, true);
	if (!h->stopped) {
		snprintf(code, sizeof(code), "%d", h->code);
		switch (report_claim(w, h->id, "done", code, NULL, tail_of(&h->out))) {
		case 0: warn("step %s ended (exit %d) after its lease was lost: not reported", h->n->name, h->code); break;
		case 1: info("worker %s: step %s ended (exit %d, claim %s)", w->name, h->n->name, h->code, h->id); break;
		}
	}
	buf_free(&h->out);
	buf_free(&h->line);
	free(h);
}

/* Read what H's step wrote (once ready): kept, relayed, and at its end the pipe closed. */
static void read_output(struct worker *w, struct held *h)
{
	char chunk[8192];
	ssize_t r = read(h->pr.fd, chunk, sizeof(chunk));

	if (r > 0) {
		keep_output(h, chunk, (size_t)r);
		relay(w, h, chunk, (size_t)r, false);
	} else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
		close(h->pr.fd);
		h->pr.fd = -1;
	}
}

/* How long the worker may wait for its pipes, its connection and signals: until the
 * next heartbeat, look for work, or due SIGKILL. */
static int wait_ms(const struct worker *w, int64_t now, int64_t beat, int64_t looked)
{
	int64_t t = POLL_MS;

	if (w->held.n && beat + HEARTBEAT_MS - now < t)
		t = beat + HEARTBEAT_MS - now;
	if (!w->stop && w->held.n < (size_t)w->jobs && looked + POLL_MS - now < t)
		t = looked + POLL_MS - now;
	for (size_t i = 0; i < w->held.n; i++) {
		const struct held *h = w->held.v[i];

		if (h->kill_ms && h->kill_ms - now < t)
			t = h->kill_ms - now;
	}
	return t < 0 ? 0 : (int)t;
}

int claims_worker(struct graph *g, const char *labels, int jobs)
{
	struct worker w = {.g = g, .labels = labels, .jobs = jobs > 0 ? jobs : 1};
	struct pollfd *pf = NULL;
	char host[256] = "", *err = NULL, *ci;
	int64_t beat = 0, looked = 0;
	bool look = true;
	int rc = 0, signalled = 0;

	if (!g->state) {
		error("%s: --worker needs [orch] state = database or URL: workers claim steps through the plan's state",
		      g->file);
		return EXIT_USAGE;
	}
	ci = strcmp(g->state, "database") == 0 ? (char *)pg_conninfo(g, NULL) : g->state;
	if (!ci || !(w.c = pg_conn_open(ci, &err))) {
		error("cannot reach the plan's state: %s", err ? err : "the plan has no database");
		free(err);
		return EXIT_RECORD;
	}
	gethostname(host, sizeof(host) - 1);
	snprintf(w.name, sizeof(w.name), "%s@%s:%ld", os_author(), host, (long)getpid());
	pgstate_channel(g->name, g->target ? g->target : "", w.channel);
	if (ensure_tables(w.c, &err) < 0 || pg_conn_exec(w.c, "LISTEN " CHANNEL, 0, NULL, NULL, &err) < 0) {
		error("cannot claim steps in %s: %s", pg_conn_describe(w.c), err);
		free(err);
		pg_conn_close(w.c);
		return EXIT_RECORD;
	}
	if (w.jobs > 1)
		info("worker %s: claiming steps of %s%s%s with labels %s, up to %d at once", w.name, g->name,
		     g->target ? "/" : "", g->target ? g->target : "", labels && *labels ? labels : "(none)", w.jobs);
	else
		info("worker %s: claiming steps of %s%s%s with labels %s", w.name, g->name, g->target ? "/" : "",
		     g->target ? g->target : "", labels && *labels ? labels : "(none)");
	os_signals_init();
	/* One loop over the steps' pipes, the connection (a notification: work offered)
	   and the signals: a step is reported once it has exited and its output is read
	   to the end (a step that exits before the pipe is drained has its last bytes in
	   it), claims are made while fewer than -j run, their leases renewed together. */
	for (;;) {
		int64_t now;
		int sig, got = 0, nf = 0;
		size_t npf = 0;

		for (size_t i = 0; i < w.held.n;) {
			struct held *h = w.held.v[i];
			int ws;

			if (!h->exited && waitpid(h->pr.pid, &ws, WNOHANG) == h->pr.pid) {
				h->exited = true;
				h->code = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
			}
			if (h->exited && h->pr.fd < 0) {
				finish(&w, h);
				w.held.v[i] = w.held.v[--w.held.n];
				look = true;
			} else {
				i++;
			}
		}
		if ((sig = os_signals_take()) && !signalled) {
			signalled = sig;
			stop_all(&w, sig);
		}
		if (w.stop && !w.held.n)
			break;
		now = now_ms();
		for (size_t i = 0; i < w.held.n; i++) {
			struct held *h = w.held.v[i];

			if (h->kill_ms && now >= h->kill_ms) {
				os_killgroup(h->pr.pid, SIGKILL);
				h->kill_ms = 0;
			}
		}
		if (!w.held.n)
			beat = now;
		else if (!w.stop && now - beat >= HEARTBEAT_MS) {
			renew_all(&w);
			beat = now;
		}
		if (!w.stop && w.held.n < (size_t)w.jobs && (look || now - looked >= POLL_MS)) {
			look = false;
			looked = now;
			while (w.held.n < (size_t)w.jobs && (got = claim_one(&w)) > 0)
				;
			if (got < 0) {
				rc = EXIT_RECORD;
				stop_all(&w, SIGTERM);
				continue;
			}
		}
		pf = xreallocarray(pf, w.held.n + 2, sizeof(*pf));
		pf[npf++] = (struct pollfd){.fd = os_sigfd(), .events = POLLIN};
		pf[npf++] = (struct pollfd){.fd = w.stop ? -1 : pg_conn_fd(w.c), .events = POLLIN};
		for (size_t i = 0; i < w.held.n; i++)
			pf[npf++] = (struct pollfd){.fd = ((struct held *)w.held.v[i])->pr.fd, .events = POLLIN};
		if (poll(pf, npf, wait_ms(&w, now, beat, looked)) < 0 && errno != EINTR)
			fatalx(EXIT_FAILED, "poll:");
		for (size_t i = 0; i < w.held.n; i++)
			if (pf[i + 2].revents && ((struct held *)w.held.v[i])->pr.fd >= 0)
				read_output(&w, w.held.v[i]);
		/* every time, not only when the socket is readable: a notification that came
		   with the answer to an UPDATE is read already */
		if (!w.stop && (nf = pg_conn_notified(w.c)) < 0) {
			error("lost the connection to %s: stopping %u running step%s", pg_conn_describe(w.c), w.held.n,
			      w.held.n == 1 ? "" : "s");
			rc = EXIT_RECORD;
			stop_all(&w, SIGTERM);
		} else if (!w.stop && nf > 0) {
			look = true;
		}
	}
	free(pf);
	vec_free(&w.held);
	pg_conn_close(w.c);
	return rc;
}
