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

struct worker {
	struct graph *g;
	struct pgconn *c;
	const char *labels;
	char name[300];
	char id[24];
	char channel[PGSTATE_CHANNEL_MAX]; /* the coordinator's: a report wakes it */
	bool stop; /* a signal came: the worker ends */
};

/* Run UPDATE SQL (parameters P: $1 the claim, $2 this worker, then the rest) on a row
 * this worker still holds; 1 it did, 0 the lease was lost, -1 an error (said with
 * SAY: error or warn, and WHAT). */
static int update_held(struct worker *w, const char *sql, int np, const char *const *p,
                       void (*say)(const char *, ...), const char *what)
{
	struct pgresult r;
	char *err = NULL;
	int held;

	if (pg_conn_exec(w->c, sql, np, p, &r, &err) < 0) {
		say("cannot %s claim %s: %s", what, w->id, err);
		free(err);
		return -1;
	}
	held = r.nrows == 1;
	pg_result_free(&r);
	return held;
}

/* Set claim W->id to STATE with the exit status EXIT (NULL: none), DETAIL and LOG, if
 * this worker still holds it. Returns 1 done, 0 the lease was lost, -1 error. */
static int report_claim(struct worker *w, const char *state, const char *exit, const char *detail, const char *log)
{
	const char *p[7] = {w->id, w->name, state, exit, detail, log, w->channel};

	/* the coordinator, woken, records it at once (else at its next look) */
	return update_held(w,
	                   "WITH u AS (UPDATE orch.claims SET state = $3, exit = $4::int, detail = $5, log = $6,"
	                   " done_at = now() WHERE id = $1 AND worker = $2 AND state = 'running' RETURNING id)"
	                   " SELECT id, pg_notify($7, 'claim ' || id) FROM u",
	                   7, p, error, "report");
}

/* Renew the lease; 0 when it was lost (the coordinator gave the step up). */
static int renew(struct worker *w)
{
	const char *p[2] = {w->id, w->name};

	return update_held(w,
	                   "UPDATE orch.claims SET lease_until = now() + interval '" STR(LEASE_S) " seconds'"
	                   " WHERE id = $1 AND worker = $2 AND state = 'running' RETURNING id",
	                   2, p, warn, "renew the lease of");
}

/* The last CLAIM_LOG_MAX bytes of B, from a character's first byte: a tail cut inside
 * a UTF-8 character is text the database refuses. */
static const char *tail_of(const struct buf *b)
{
	const char *t;

	if (!b->s)
		return "";
	t = b->len > CLAIM_LOG_MAX ? b->s + b->len - CLAIM_LOG_MAX : b->s;
	while (t > b->s && *t && ((unsigned char)*t & 0xc0) == 0x80)
		t++;
	return t;
}

/* Run step N (claimed): its output relayed and kept, the lease renewed meanwhile.
 * Returns the status to report (-1: the lease was lost, nothing to report). */
static int run_claimed(struct worker *w, struct node *n, struct buf *out)
{
	struct proc pr = {.fd = -1, .go = -1};
	char *env[] = {NULL};
	int64_t beat = now_ms();
	int ws = 0;
	bool exited = false, lost = false;

	if (os_spawn(n->run, env, &pr) < 0) {
		buf_printf(out, "cannot start /bin/sh: %s\n", strerror(errno));
		return 127;
	}
	os_go(&pr, true);
	/* Until the step has exited and its output is read to the end: a step that
	   exits before the pipe is drained still has its last bytes in it. */
	while (!exited || pr.fd >= 0) {
		struct pollfd pf = {.fd = pr.fd, .events = POLLIN};
		char chunk[8192];
		int sig;

		if (poll(&pf, pr.fd >= 0 ? 1 : 0, pr.fd >= 0 ? HEARTBEAT_MS : 100) < 0 && errno != EINTR)
			fatalx(EXIT_FAILED, "poll:");
		if (pr.fd >= 0 && pf.revents) {
			ssize_t r = read(pr.fd, chunk, sizeof(chunk));

			if (r > 0) {
				buf_add(out, chunk, (size_t)r);
				fwrite(chunk, 1, (size_t)r, stdout);
				fflush(stdout);
			} else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
				close(pr.fd);
				pr.fd = -1;
			}
		}
		if ((sig = os_signals_take())) {
			os_killgroup(pr.pid, sig);
			lost = w->stop = true;
		}
		if (!exited && waitpid(pr.pid, &ws, WNOHANG) == pr.pid)
			exited = true;
		if (!lost && now_ms() - beat >= HEARTBEAT_MS) {
			beat = now_ms();
			if (renew(w) == 0) {
				warn("lost the lease of step %s (claim %s): stopping it", n->name, w->id);
				os_killgroup(pr.pid, SIGTERM);
				lost = true;
			}
		}
	}
	if (pr.fd >= 0)
		close(pr.fd);
	if (lost)
		return -1;
	return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
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

/* Claim one ready step and run it. Returns 1 when one was run, 0 none ready, -1 error. */
static int claim_one(struct worker *w)
{
	const char *p[4] = {w->g->name, w->g->target ? w->g->target : "", w->name, w->labels ? w->labels : ""};
	struct pgresult r;
	struct node *n;
	struct buf out = {0};
	char *err = NULL, *why, code[16];
	int st;

	if (pg_conn_exec(w->c,
	                 "UPDATE orch.claims SET state = 'running', worker = $3, claimed_at = now(),"
	                 " lease_until = now() + interval '" STR(LEASE_S) " seconds'"
	                 " WHERE id = (SELECT id FROM orch.claims WHERE plan = $1 AND target = $2 AND state = 'ready'"
	                 "  AND runs_on = ANY (string_to_array($4, ',')) ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)"
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
	snprintf(w->id, sizeof(w->id), "%s", pg_value(&r, 0, 0));
	if ((why = cannot_run(w, pg_value(&r, 0, 1), pg_value(&r, 0, 2), &n))) {
		error("%s", why);
		report_claim(w, "refused", NULL, why, NULL);
		free(why);
		pg_result_free(&r);
		return 1;
	}
	pg_result_free(&r);
	info("worker %s: running step %s (claim %s)", w->name, n->name, w->id);
	st = run_claimed(w, n, &out);
	if (st >= 0) {
		snprintf(code, sizeof(code), "%d", st);
		if (report_claim(w, "done", code, NULL, tail_of(&out)) == 0)
			warn("step %s ended (exit %d) after its lease was lost: not reported", n->name, st);
	}
	buf_free(&out);
	return 1;
}

int claims_worker(struct graph *g, const char *labels)
{
	struct worker w = {.g = g, .labels = labels};
	char host[256] = "", *err = NULL, *ci;
	int rc = 0;

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
	info("worker %s: claiming steps of %s%s%s with labels %s", w.name, g->name, g->target ? "/" : "",
	     g->target ? g->target : "", labels && *labels ? labels : "(none)");
	os_signals_init();
	while (!w.stop && !(w.stop = os_signals_take() != 0)) {
		int got = claim_one(&w);
		struct pollfd pf = {.fd = pg_conn_fd(w.c), .events = POLLIN};

		if (got < 0) {
			rc = EXIT_RECORD;
			break;
		}
		if (got > 0)
			continue;
		if (poll(&pf, 1, POLL_MS) < 0 && errno != EINTR)
			fatalx(EXIT_FAILED, "poll:");
		if (pf.revents && pg_conn_notified(w.c) < 0) {
			error("lost the connection to %s", pg_conn_describe(w.c));
			rc = EXIT_RECORD;
			break;
		}
	}
	pg_conn_close(w.c);
	return rc;
}
