/* run.c — the engine. A step becomes ready when everything it needs is done; ready
 * steps start in priority order (longest remaining estimated path, then Orchfile
 * order) while -j and their pool allow; one poll() loop reads every step's output,
 * reaps children, drives SQL steps, enforces timeouts and retries and catches signals.
 * Each turn of the loop ends with one journal sync, before any dependent starts.
 * Linear in steps + edges: each edge is looked at once when its step completes. */
#include "run.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "changelog.h"
#include "claims.h"
#include "export.h"
#include "inbox.h"
#include "metric.h"
#include "notify.h"
#include "os.h"
#include "pg.h"
#include "pgstate.h"
#include "proc.h"
#include "record.h"
#include "report.h"
#include "registry.h"
#include "require.h"
#include "state.h"
#include "term.h"

#define KILL_GRACE_MS 3000
#define CHECK_MIN_MS 10000 /* the least time a health check has before it is stopped */
#define SETTLE_MS 200 /* longest a success waits for its sync while other steps start */
#define CLAIM_LOOK_MS 100 /* how often a step run by a worker is looked at */
#define RERUN_LOST_MAX 3  /* on_interrupt = rerun: lost leases a step is offered again after, in a run */
/* A step's output goes to its log as it comes; orch keeps only its last TAIL_BYTES or so
 * to print: a step that prints 100 MB costs no memory. */
#define TAIL_BYTES (256 << 10)

enum rtstate {
	R_WAIT,    /* dependencies pending */
	R_READY,   /* queued */
	R_RUNNING,
	R_DELAYED, /* failed, waiting to retry */
	R_DONE,
	R_FAILED,
	R_GATE,    /* a manual gate waiting for approval */
	R_HELD,    /* a milestone a skipped step holds back: not reached this run */
	R_HOLDING, /* its run succeeded; it holds (hold = ...) until hold->until_wall_ms */
};

/* What a holding step needs besides (hold_enter makes it): few steps hold, so it is not
 * in every node's struct rt. */
struct rthold {
	int64_t until_wall_ms, next_check_wall_ms; /* when it ends, the next check (0: none) */
	struct job *check; /* its health check running now, NULL when none */
};

struct rt { /* laid out without holes: one per node */
	size_t pending; /* selected dependencies not yet done */
	int64_t retry_at_mono_ms;
	char *detail;     /* why the last attempt failed (at most DETAIL_MAX - 1 bytes), NULL: not known */
	struct rthold *hold; /* while it holds (and after), NULL for a step that never held here */
	enum rtstate st;
	int attempt;
	int lost;          /* attempts its workers lost in this run (on_interrupt = rerun) */
	bool instant;     /* completes as soon as it is ready (phases, and steps outside a rollback) */
	bool asked;       /* a gate asked about on the terminal in this run */
	bool recheck;     /* satisfied, but its inputs are hashed again once it is ready */
	bool lease_lost;   /* asked about because its worker lost the lease (on_interrupt = ask) */
};

enum stage { STAGE_MAIN, STAGE_VERIFY, STAGE_CHECK /* a holding step's health check */ };

struct job {
	struct node *n;
	enum stage stage;
	struct proc proc; /* pid 0 when no shell runs */
	bool exited;
	int wstatus;
	struct pgjob *pg;
	char *pgerr;
	int pgresult; /* 1 ok, 2 ok but for its COMMIT (withevents), -1 failed, 0 running */
	bool withevents; /* its COMMIT waits for its success's events (commits_with_events) */
	struct buf out;
	size_t logged; /* bytes of out already in the log */
	size_t dropped_lines; /* lines of output no longer in out (they are in the log) */
	int logfd;
	bool logfailed;
	bool haslog; /* this attempt wrote to its log (one that printed nothing has none) */
	char *logpath;
	int attempt;
	char *note; /* recorded with the success (where SQL backups went) */
	char *metrics; /* $ORCH_METRICS of its process: the file it reports metrics in */
	int64_t start_mono_ms, start_wall_ms;
	int64_t deadline_mono_ms; /* the timeout, 0 when none */
	int64_t kill_at_mono_ms;  /* SIGKILL after the grace period, 0 when not due */
	int64_t duration_ms;      /* of the attempt, once it ended */
	bool timed_out, signalled;
	int64_t claim;         /* runs_on: its row in orch.claims (a worker runs it), 0 when local */
	int64_t claim_seen_ms; /* when that row was last looked at */
	char *claimwhy;        /* why the worker's run failed beyond its exit status */
	bool withdraw;         /* stopped (a signal, its timeout): the coordinator stops waiting for it */
	bool lost;             /* its worker lost the lease: on_interrupt decides */
};

/* A pool's scheduling: its steps running now, and its ready steps held back by depth. */
struct poolrt {
	int running;
	struct readyq waiting;
};

struct engine {
	struct graph *g;
	struct journal *j;
	const struct runopts *o;
	struct vec jobs;
	struct readyq ready;
	struct vec delayed;
	struct vec gates;
	struct vec held; /* milestones a skipped step holds back */
	struct vec holding; /* steps that hold (hold = ...), their checks in jobs */
	size_t nchecks;     /* jobs that are checks: they do not count against -j */
	struct vec asking; /* failed steps to ask about */
	struct vec failed; /* for the summary */
	struct vec unrecorded; /* nodes whose result could not be recorded */
	struct progress prog; /* steps finished of those to run */
	struct recorder rec;
	struct poolrt *pools; /* by pool id */
	size_t ran;
	int failures;
	bool logdir;       /* .orch/logs exists */
	bool reverse;      /* rolling back: a step is ready when its dependents are undone */
	struct vec instant; /* nodes that complete without running anything */
	struct vec settling; /* succeeded jobs waiting for the journal sync */
	struct pollfd *pfd;  /* poll's set, one more than -j: the signal pipe and each job */
	struct job **pwho;   /* the job of each pfd entry */
	int64_t settle_since_mono_ms;
	bool stopping, locked, aborted;
	int interrupted;
	bool tty;
	int64_t t0_mono_ms;
	int64_t last_draw_mono_ms;
	int64_t inbox_mono_ms; /* when the inbox was last looked at */
	int64_t report_mono_ms; /* when [orch] report was last written */
	size_t report_events;   /* and how many events the journal had then */
	int64_t changelog_mono_ms; /* when the changelog may be written again */
	size_t changelog_events;   /* how many events the journal had when it was written, or the run began */
	bool changelog_failed;     /* it could not be: tried again at the end only */
	int64_t export_mono_ms; /* when the metrics file (export.c) was last written */
	struct node *prompting; /* the gate whose question is the live line, waiting for y */
	bool stdin_closed;
	struct rt *rts; /* every node's, by node id: one block */
};

/* Why an attempt failed, as the [N/M] line, the journal and the closing notice say it:
 * one length for all three, so the notice does not cut what the line above it said. */
enum { DETAIL_MAX = 256 };

/* The running engine's runtime, by node id (one engine runs at a time: a run, then
 * perhaps a rollback): no pointer in every node. */
static struct rt *rts;

static struct rt *rt(const struct node *n)
{
	return &rts[n->id];
}

/* Why N's last attempt failed, "" when not known. */
static const char *detail_of(const struct node *n)
{
	return rt(n)->detail ? rt(n)->detail : "";
}

/* Set why N's last attempt failed (cut to DETAIL_MAX - 1 bytes). */
static void set_detail(struct node *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_detail(struct node *n, const char *fmt, ...)
{
	char b[DETAIL_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(b, sizeof(b), fmt, ap);
	va_end(ap);
	free(rt(n)->detail);
	rt(n)->detail = xstrdup(b);
}

/* ---- output ---- */

/* "[2/5] holding deploy: 1h 2m left, checks 3 passed, 0 failed, next in 4m" into LINE. */
static void hold_line(struct engine *e, struct node *n, char *line, size_t len)
{
	const struct history *h = state_history(n);
	const struct rt *r = rt(n);
	int64_t now = wall_ms(), left = r->hold->until_wall_ms - now;
	char a[32], b[32];

	snprintf(line, len, "[%zu/%zu] holding %s: %s left", e->prog.finished, e->prog.total, n->name,
	         format_duration(left > 0 ? left : 0, a, sizeof(a)));
	if (n->ro->check) {
		int64_t next = r->hold->next_check_wall_ms > now ? r->hold->next_check_wall_ms - now : 0;

		snprintf(b, sizeof(b), "next in %s", format_duration(next, a, sizeof(a)));
		snprintf(line + strlen(line), len - strlen(line), ", checks %d passed, %d failed, %s", h->checks_ok,
		         h->checks_failed, r->hold->check ? "checking now" : b);
	}
	if (e->holding.n > 1)
		snprintf(line + strlen(line), len - strlen(line), " (+%u holding)", e->holding.n - 1);
}

/* The live status line: the oldest running step, how long it has run, and how many more. */
static void draw_status(struct engine *e)
{
	struct job *jb = NULL;
	char dur[32], line[512];

	if (!e->tty || verbosity < 0)
		return;
	e->last_draw_mono_ms = now_ms();
	if (e->prompting) {
		/* the question stays on screen while other steps run and print */
		snprintf(line, sizeof(line), "Gate %s waits: Approve it now? [y/N] ", e->prompting->name);
		term_live(line);
		return;
	}
	for (size_t i = 0; i < e->jobs.n; i++) {
		struct job *x = e->jobs.v[i];

		if (x->stage != STAGE_CHECK && (!jb || x->start_mono_ms < jb->start_mono_ms))
			jb = x;
	}
	term_clear();
	if (!jb && e->holding.n) { /* only holds: the one that ends first, its checks */
		struct node *h = NULL;

		for (size_t i = 0; i < e->holding.n; i++)
			if (!h || rt(e->holding.v[i])->hold->until_wall_ms < rt(h)->hold->until_wall_ms)
				h = e->holding.v[i];
		hold_line(e, h, line, sizeof(line));
		term_live(line);
		return;
	}
	if (!jb)
		return;
	format_duration(now_ms() - jb->start_mono_ms, dur, sizeof(dur));
	snprintf(line, sizeof(line), "[%zu/%zu] %s%s%s %s", e->prog.finished, e->prog.total,
	         jb->n->phase ? jb->n->phase->name : "", jb->n->phase ? ": " : "", jb->n->title, dur);
	if (e->jobs.n - e->nchecks > 1)
		snprintf(line + strlen(line), sizeof(line) - strlen(line), " (+%zu running)", e->jobs.n - e->nchecks - 1);
	if (e->gates.n)
		snprintf(line + strlen(line), sizeof(line) - strlen(line), " (%u gate%s waiting)", e->gates.n,
		         e->gates.n == 1 ? "" : "s");
	if (e->holding.n)
		snprintf(line + strlen(line), sizeof(line) - strlen(line), " (%u holding)", e->holding.n);
	term_live(line);
}

/* Print OUT, or only its last MAX lines when MAX is not 0, saying how many are left out. */
static void print_output(const struct buf *out, size_t max, size_t dropped)
{
	const char *s = out->s ? out->s : "";
	size_t len = out->len, start = 0, total = 0;

	if (!len)
		return;
	for (size_t i = 0; i < len; i++)
		total += s[i] == '\n' || i == len - 1;
	if (max && total > max) {
		size_t skip = total - max;

		for (size_t i = 0; skip; i++)
			if (s[i] == '\n' && --skip == 0)
				start = i + 1;
		printf("... (%zu earlier lines in the log)\n", total - max + dropped);
	} else if (dropped) {
		printf("... (%zu earlier lines in the log)\n", dropped);
	}
	fwrite(s + start, 1, len - start, stdout);
	if (s[len - 1] != '\n')
		fputc('\n', stdout);
}

/* Tell JB's result RES (recorded and synced): its line, then its output (a failure's
 * last 50 lines and its log). */
static void report(struct engine *e, struct job *jb, enum result res, const struct outcome *o)
{
	bool ok = res == RESULT_OK || res == RESULT_ROLLBACK_OK || res == RESULT_RESTORED || res == RESULT_MILESTONE ||
	          res == RESULT_HOLD;

	record_say(&e->rec, jb->n, res, o);
	if (res == RESULT_INTERRUPTED || res == RESULT_ROLLBACK_INTERRUPTED)
		return;
	if (jb->n->kind == NODE_MILESTONE) {
		if (!ok || verbosity > 0)
			print_output(&jb->out, ok ? 0 : 50, jb->dropped_lines);
	} else if (!ok) {
		print_output(&jb->out, 50, jb->dropped_lines);
		if (jb->haslog)
			printf("  log: %s\n", jb->logpath);
	} else if (verbosity >= 0) {
		print_output(&jb->out, 0, jb->dropped_lines);
	}
	fflush(stdout);
}

/* ---- scheduling ---- */

static void node_ready(struct engine *e, struct node *n);

/* N is done: release everything that was waiting only for it (its dependents, or when
 * rolling back, its dependencies). */
static void complete(struct engine *e, struct node *n)
{
	size_t count = e->reverse ? n->ndeps : n->nusers;

	rt(n)->st = R_DONE;
	for (size_t i = 0; i < count; i++) {
		struct node *u = e->reverse ? n->deps[i].dep : n->users[i];

		if (u->mark == MARK_SELECTED && rt(u)->st == R_WAIT && --rt(u)->pending == 0)
			node_ready(e, u);
	}
}

/* N's result could not be recorded (the journal said why): orch acts on it no further,
 * starts nothing more, and exits EXIT_RECORD once the running steps end. */
static void unrecorded(struct engine *e, struct node *n)
{
	vec_push(&e->unrecorded, n);
	e->stopping = true;
}

/* Record RES of N, make it durable, tell it, and release what waited for N. Returns
 * false, acting on nothing, when it could not be recorded. */
static bool record_now(struct engine *e, struct node *n, enum result res)
{
	if (record(&e->rec, n, res, NULL) < 0 || journal_sync(e->j) < 0) {
		unrecorded(e, n);
		return false;
	}
	record_say(&e->rec, n, res, NULL);
	complete(e, n);
	return true;
}

/* What a requirement looks up: the latest value a step reported (any step's for a
 * milestone), since the last reset. */
struct lookup {
	struct engine *e;
	const struct node *step; /* NULL: any */
};

static bool lookup_metric(void *arg, const char *name, double *value, const char **unit)
{
	struct lookup *l = arg;
	struct metric m;

	if (!metric_latest(l->e->j, state_histories()->from, l->step, name, &m))
		return false;
	*value = m.value;
	*unit = m.unit;
	return true;
}

/* Whether requirement R of N holds on the metrics reported so far (N's own for a step,
 * any step's for a milestone); when not, DETAIL (LEN bytes) says what failed, after
 * KEY. */
static bool required(struct engine *e, const struct node *n, const struct require *r, const char *key,
                     char *detail, size_t len)
{
	struct lookup l = {e, n->kind == NODE_STEP ? n : NULL};
	struct buf why = {0};
	bool ok = require_eval(r, lookup_metric, &l, &why);

	if (!ok)
		snprintf(detail, len, "%s: %s", key, buf_str(&why));
	buf_free(&why);
	return ok;
}

/* Complete the instant nodes, iteratively: a chain of 100,000 of them costs no stack. */
static void drain_instant(struct engine *e)
{
	while (e->instant.n) {
		struct node *n = e->instant.v[--e->instant.n];

		char why[DETAIL_MAX];

		if (n->kind == NODE_MILESTONE && !e->reverse && !state_satisfied(n) && n->ro && n->ro->require &&
		    !required(e, n, n->ro->require, "require", why, sizeof(why))) {
			/* not reached: what needs it waits, and the next run looks again */
			set_detail(n, "%s", why);
			rt(n)->st = R_HELD;
			vec_push(&e->held, n);
			if (verbosity >= 0) {
				term_clear();
				printf("%sMilestone %s not reached: %s%s (%s)\n", term_code(TERM_BOLD_RED), n->name, n->title,
				       term_code(TERM_RESET), detail_of(n));
			}
		} else if (n->kind == NODE_MILESTONE && !e->reverse && !state_satisfied(n))
			record_now(e, n, RESULT_MILESTONE);
		else
			complete(e, n);
	}
}

static void refuse(struct engine *e, struct node *n);
static void take_requests(struct engine *e);
static void hold_resume(struct engine *e, struct node *n);
struct job;
static void hold_start(struct engine *e, struct job *jb, const struct outcome *run);
static void kill_job(struct job *jb, int sig);

static void node_ready(struct engine *e, struct node *n)
{
	/* its dependencies ran: did they change its inputs? */
	if (rt(n)->recheck) {
		rt(n)->recheck = false;
		if (!state_recheck(n)) {
			e->prog.total--;
			rt(n)->instant = true;
		} else if (state_of(n) == ST_CHANGED) {
			refuse(e, n);
			return;
		} else if (verbosity >= 0) {
			term_clear();
			printf("stale %s: %s\n", n->name, state_reason(n));
		}
	}

	/* a milestone made of a skipped step is not reached (allow_skipped aside): neither
	 * recorded nor validated, and what needs it waits */
	if (n->kind == NODE_MILESTONE && !e->reverse && state_milestone_blocked(n)) {
		rt(n)->st = R_HELD;
		vec_push(&e->held, n);
		return;
	}

	/* a milestone reached before, for what its needs are now, is not validated again */
	bool instant = rt(n)->instant || n->kind == NODE_PHASE ||
	               (n->kind == NODE_MILESTONE && (e->reverse || !n->x->validate || state_satisfied(n)));

	if (instant) {
		rt(n)->st = R_DONE;
		vec_push(&e->instant, n);
		return;
	}
	rt(n)->st = R_READY;
	readyq_push(&e->ready, n);
}

static char **step_env(struct engine *e, struct node *n, const char *metrics)
{
	size_t k = 0;
	char **env = xcalloc(n->env.n + 6, sizeof(*env));

	if (metrics)
		env[k++] = xasprintf("ORCH_METRICS=%s", metrics);
	env[k++] = xasprintf("ORCH_STEP=%s", n->name);
	env[k++] = xasprintf("ORCH_PHASE=%s", n->phase ? n->phase->name : "");
	env[k++] = xasprintf("ORCH_RUN_ID=%s", journal_runid(e->j));
	env[k++] = xasprintf("ORCH_TARGET=%s", e->g->target ? e->g->target : "");
	for (size_t i = 0; i < n->env.n; i++)
		env[k++] = xstrdup(n->env.v[i]);
	return env;
}

static void free_env(char **env)
{
	for (size_t i = 0; env[i]; i++)
		free(env[i]);
	free(env);
}

/* A fresh empty file for the metrics JB's next process reports: $ORCH_METRICS. */
static void metrics_open(struct job *jb)
{
	char *path = temp_template("metrics");
	int fd = mkstemp(path);

	if (fd < 0) {
		warn("cannot create %s (no $ORCH_METRICS for %s):", path, jb->n->name);
		free(path);
		return;
	}
	if (close(fd) < 0)
		warn("closing %s:", path);
	jb->metrics = path;
}

/* Whether S (cut at its end or a blank) is a metric name: a letter or _, then
 * letters, digits, _ and . */
static bool metric_name(const char *s, size_t len)
{
	if (!len || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return false;
	for (size_t i = 1; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '.')
			return false;
	return true;
}

/* The metrics JB's process wrote, NAME=VALUE [UNIT] a line, recorded in the journal
 * with its step and component (a bad line is warned about and left out); the file goes. */
static void metrics_take(struct engine *e, struct job *jb)
{
	FILE *f;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int no = 0;

	if (!jb->metrics)
		return;
	if (!(f = fopen(jb->metrics, "r"))) {
		warn("cannot read %s:", jb->metrics);
		goto out;
	}
	while ((len = getline(&line, &cap, f)) >= 0) {
		char *s = line, *eq, *val, *end, *unit, *msg;
		size_t nlen;
		double v;
		struct outcome o = {.exit_status = -1, .component = jb->n->x->component};

		no++;
		while (len && isspace((unsigned char)s[len - 1]))
			s[--len] = '\0';
		s += strspn(s, " \t");
		if (!*s)
			continue;
		if (!(eq = strchr(s, '=')))
			goto bad;
		for (nlen = (size_t)(eq - s); nlen && (s[nlen - 1] == ' ' || s[nlen - 1] == '\t'); nlen--)
			;
		val = eq + 1 + strspn(eq + 1, " \t");
		v = strtod(val, &end);
		if (!metric_name(s, nlen) || end == val || !isfinite(v) || (*end && *end != ' ' && *end != '\t'))
			goto bad;
		unit = end + strspn(end, " \t");
		msg = xasprintf("%.*s=%.*s%s%s", (int)nlen, s, (int)(end - val), val, *unit ? " " : "", unit);
		o.message = msg;
		if (record(&e->rec, jb->n, RESULT_METRIC, &o) == 0)
			record_say(&e->rec, jb->n, RESULT_METRIC, &o);
		free(msg);
		continue;
	bad:
		warn("%s: $ORCH_METRICS line %d: bad metric '%.60s' (use NAME=VALUE [UNIT], e.g. coverage=93.5 %%)",
		     jb->n->name, no, s);
	}
	if (ferror(f))
		warn("reading %s:", jb->metrics);
	fclose(f);
out:
	free(line);
	if (unlink(jb->metrics) < 0 && errno != ENOENT)
		warn("cannot remove %s:", jb->metrics);
	free(jb->metrics);
	jb->metrics = NULL;
}

static int spawn_script(struct engine *e, struct job *jb, const char *script)
{
	char **env;
	int rc;

	metrics_open(jb);
	env = step_env(e, jb->n, jb->metrics);
	rc = os_spawn(script, env, &jb->proc);

	if (rc == 0)
		debug("spawned %s: /bin/sh, pid %ld (its process group), attempt %d", jb->n->name, (long)jb->proc.pid,
		      jb->attempt);
	free_env(env);
	jb->exited = false;
	return rc;
}

static void open_log(struct engine *e, struct job *jb);

/* Keep only the last TAIL_BYTES of JB's output (from a line's start) once the rest is
 * in the log (or the log could not be written). */
static void keep_tail(struct job *jb)
{
	size_t cut;

	if (jb->out.len <= 2 * TAIL_BYTES || (jb->logged < jb->out.len && !jb->logfailed))
		return;
	cut = jb->out.len - TAIL_BYTES;
	while (cut < jb->out.len && jb->out.s[cut - 1] != '\n')
		cut++;
	if (cut == jb->out.len)
		cut = jb->out.len - TAIL_BYTES; /* no line ends there: cut inside the line */
	for (size_t i = 0; i < cut; i++)
		jb->dropped_lines += jb->out.s[i] == '\n';
	memmove(jb->out.s, jb->out.s + cut, jb->out.len - cut + 1);
	jb->out.len -= cut;
	jb->logged = jb->logged > cut ? jb->logged - cut : 0;
}

/* Append the output not yet logged. The log is created at the first output, so a
 * step that prints nothing costs no file. */
static void log_write(struct engine *e, struct job *jb)
{
	if (jb->out.len > jb->logged && jb->logfd < 0 && !jb->logfailed)
		open_log(e, jb);
	if (jb->logfd >= 0 && jb->out.len > jb->logged) {
		ssize_t w = write(jb->logfd, jb->out.s + jb->logged, jb->out.len - jb->logged);

		if (w < 0) {
			warn("writing %s:", jb->logpath);
			close(jb->logfd);
			jb->logfd = -1;
			jb->logfailed = true;
			return;
		}
		jb->logged += (size_t)w;
	}
	keep_tail(jb);
}

static void open_log(struct engine *e, struct job *jb)
{
	char when[64];
	time_t t = (time_t)(jb->start_wall_ms / 1000);
	struct buf head = {0};

	char *dir = xasprintf("%s/logs", e->g->statedir);

	if (!e->logdir && os_mkdirs(dir, 0777) < 0)
		warn("cannot create %s:", dir);
	free(dir);
	e->logdir = true;
	jb->logfd = open(jb->logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
	if (jb->logfd < 0) {
		warn("cannot open %s:", jb->logpath);
		jb->logfailed = true;
	}
	jb->haslog = jb->logfd >= 0;
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S%z", localtime(&t));
	buf_printf(&head, "=== %s %s: run %s, attempt %d, %s ===\n", node_kindname(jb->n), jb->n->name,
	           journal_runid(e->j), jb->attempt, when);
	if (jb->logfd >= 0 && write(jb->logfd, head.s, head.len) < 0)
		warn("writing %s:", jb->logpath);
	buf_free(&head);
}

static void free_job(struct job *jb)
{
	os_go(&jb->proc, false);
	if (jb->proc.fd >= 0)
		close(jb->proc.fd);
	if (jb->logfd >= 0)
		close(jb->logfd);
	if (jb->pg)
		pg_free(jb->pg);
	free(jb->pgerr);
	free(jb->note);
	if (jb->metrics && unlink(jb->metrics) < 0 && errno != ENOENT)
		warn("cannot remove %s:", jb->metrics);
	free(jb->metrics);
	free(jb->logpath);
	free(jb->claimwhy);
	buf_free(&jb->out);
	free(jb);
}

static void fail_job(struct engine *e, struct job *jb, const char *detail);

/* A failed step is skipped (--on-failure skip, or the prompt's answer): its dependents go on. */
static void skip_failed(struct engine *e, struct node *n)
{
	record_now(e, n, RESULT_SKIP_FAILED);
}

/* Whether N runs SQL on a server (its apply, or when rolling back its sql_rollback or the
 * restore of its backups), not a shell script. */
static bool runs_sql(const struct engine *e, const struct node *n)
{
	return n->kind == NODE_STEP && n->stepkind == STEP_SQL &&
	       (!e->reverse || !n->x->rollback || n->x->sql_rollback || e->o->restore);
}

/* Start JB's shell script; a script that cannot start fails as a shell would (127). */
static void start_script(struct engine *e, struct job *jb)
{
	struct node *n = jb->n;

	if (spawn_script(e, jb, n->kind == NODE_MILESTONE ? n->x->validate : e->reverse ? n->x->rollback : n->run) < 0) {
		char *msg = xasprintf("cannot start /bin/sh: %s", strerror(errno));

		buf_puts(&jb->out, msg);
		log_write(e, jb);
		free(msg);
		jb->proc.pid = 0;
		jb->exited = true;
		jb->wstatus = 127 << 8;
	}
}

/* Record JB's start, with what identifies its process beyond pid reuse, so that an orch
 * started after this one dies knows whether the step still runs. Returns -1 when it
 * could not be recorded. */
static int record_start(struct engine *e, struct job *jb)
{
	struct outcome o = {0};

	o.attempt = jb->attempt;
	o.start_ms = jb->start_wall_ms;
	o.log = jb->logpath;
	if (jb->proc.pid > 0 && !jb->exited) {
		o.pgid = jb->proc.pid;
		o.pstart = proc_start_time(jb->proc.pid);
		o.boot = proc_boot_id();
	}
	return record(&e->rec, jb->n, e->reverse ? RESULT_ROLLBACK_START : RESULT_START, &o);
}

/* Whether N's success is recorded in its own transaction (journal_commit_with): the
 * state is in N's database, and nothing can fail N once its SQL committed (no verify,
 * outputs, require or hold after it). */
static bool commits_with_events(struct engine *e, struct node *n)
{
	struct pgstate *ps = journal_pgstate(e->j);

	return ps && !e->reverse && n->transaction && !n->x->verify && !n->x->outputs.n && !n->ro &&
	       pgstate_same_database(ps, pg_conninfo(e->g, n));
}

/* Whether N runs on a worker (runs_on = LABEL), offered through orch.claims. */
static bool runs_on_worker(const struct engine *e, const struct node *n)
{
	return n->kind == NODE_STEP && n->x->runs_on && !e->reverse;
}

/* JB's attempt ends without a run, for WHY (as a shell's exit 127 would). */
static void end_unrun(struct engine *e, struct job *jb, char *why)
{
	buf_printf(&jb->out, "%s\n", why);
	log_write(e, jb);
	jb->claimwhy = why;
	jb->exited = true;
	jb->wstatus = 127 << 8;
}

/* Offer JB's step to the workers with its label (its start is recorded). */
static void offer(struct engine *e, struct job *jb)
{
	struct pgstate *ps = journal_pgstate(e->j);

	if (!ps)
		end_unrun(e, jb, xasprintf("runs_on = %s needs [orch] state = database or URL: workers claim steps "
		                           "through the plan's state",
		                           jb->n->x->runs_on));
	else if ((jb->claim = claims_offer(ps, e->g, jb->n)) < 0)
		end_unrun(e, jb, xasprintf("cannot offer it to a worker (runs_on = %s)", jb->n->x->runs_on));
	jb->claim_seen_ms = now_ms();
}

/* A notification came: a worker's report ("claim ID"), whose claim is looked at now,
 * or a request, taken now; not at their next turn. */
static void woken(void *arg, const char *payload)
{
	struct engine *e = arg;
	int64_t id = claims_payload_id(payload);

	if (id == 0) {
		e->inbox_mono_ms = 0;
		return;
	}
	for (size_t i = 0; i < e->jobs.n; i++)
		if (((struct job *)e->jobs.v[i])->claim == id)
			((struct job *)e->jobs.v[i])->claim_seen_ms = 0;
}

/* Look at JB's claim at most every CLAIM_LOOK_MS, or when a worker's report woke the
 * run: its end is the end of its run. */
static void look_at_claim(struct engine *e, struct job *jb)
{
	struct claimresult r;
	enum claimstate st;

	if (jb->claim <= 0 || jb->exited)
		return;
	if (jb->withdraw) {
		claims_withdraw(journal_pgstate(e->j), jb->claim);
		end_unrun(e, jb, xstrdup("stopped: its worker stops it at its next renewal (within a second)"));
		return;
	}
	if (now_ms() - jb->claim_seen_ms < CLAIM_LOOK_MS)
		return;
	jb->claim_seen_ms = now_ms();
	st = claims_poll(journal_pgstate(e->j), jb->claim, &r);
	if (st == CLAIM_WAITING)
		return;
	if (r.log) {
		buf_puts(&jb->out, r.log);
		log_write(e, jb);
	}
	if (st == CLAIM_DONE) {
		jb->exited = true;
		jb->wstatus = (r.exit & 0xff) << 8;
	} else if (st == CLAIM_LOST) {
		jb->lost = true;
		end_unrun(e, jb, xasprintf("interrupted on worker %s: its lease ran out (killed, or cut off from the database)",
		                           r.worker ? r.worker : "?"));
	} else if (st == CLAIM_REFUSED) {
		end_unrun(e, jb, xasprintf("refused by %s", r.detail ? r.detail : "a worker"));
	} else {
		end_unrun(e, jb, xasprintf("its claim: %s", r.detail ? r.detail : "?"));
	}
	claims_result_free(&r);
}

/* Start N (a step or a milestone's validate). */
static void start(struct engine *e, struct node *n)
{
	struct job *jb;
	const char *sig = NULL;

	if (n->kind == NODE_STEP && !e->reverse && state_of(n) == ST_HOLDING) {
		hold_resume(e, n);
		return;
	}
	jb = xcalloc(1, sizeof(*jb));
	jb->n = n;
	jb->proc.fd = jb->proc.go = -1;
	jb->logfd = -1;
	jb->attempt = rt(n)->attempt + 1;
	jb->start_mono_ms = now_ms();
	jb->start_wall_ms = wall_ms();
	jb->logpath = xasprintf("%s/logs/%s.log", e->g->statedir, n->name);
	if (n->kind == NODE_STEP && !e->reverse)
		sig = state_refresh(n);
	if (runs_on_worker(e, n)) {
		/* offered once its start is recorded (below) */
	} else if (!runs_sql(e, n)) {
		start_script(e, jb);
	} else if (journal_failed(e->j)) {
		free_job(jb);
		unrecorded(e, n);
		return;
	}
	/* The start is recorded once the process exists, with what identifies it; the
	 * script waits at its gate until then. When the start cannot be recorded, or orch
	 * dies first, the gate closes unopened and the script never runs. With the state in
	 * a database the start is a row first (journal_flush): a line kept in memory would
	 * die with orch, and the next run would not know the step's process is there. */
	if (n->kind == NODE_STEP && (record_start(e, jb) < 0 || journal_flush(e->j) < 0 || journal_failed(e->j))) {
		if (jb->proc.pid > 0 && !jb->exited) {
			os_go(&jb->proc, false);
			waitpid(jb->proc.pid, NULL, 0);
		}
		free_job(jb);
		unrecorded(e, n);
		return;
	}
	os_go(&jb->proc, true);
	if (runs_on_worker(e, n))
		offer(e, jb);
	if (n->kind == NODE_STEP && jb->attempt == 1)
		e->ran++; /* steps, not attempts */
	rt(n)->attempt = jb->attempt;
	if (n->kind == NODE_STEP && n->x->timeout_ms > 0)
		jb->deadline_mono_ms = jb->start_mono_ms + n->x->timeout_ms;
	rt(n)->st = R_RUNNING;
	if (n->pool)
		e->pools[n->pool->id].running++;
	vec_push(&e->jobs, jb);
	record_say(&e->rec, n, RESULT_START, NULL);
	if (runs_sql(e, n)) {
		bool locked = false;

		jb->pg = pg_start(e->g, n, e->reverse ? (e->o->restore ? PG_RESTORE : PG_REVERT) : PG_APPLY, sig, &jb->pgerr,
		                  &locked);
		if (!jb->pg) {
			e->locked |= locked;
			jb->pgresult = -1;
		} else if (commits_with_events(e, n)) {
			jb->withevents = pg_hold_commit(jb->pg);
		}
	}
}

/* Take N out of the list V of what waits (a gate approved, a step skipped). */
static void drop_from(struct vec *v, const struct node *n)
{
	for (size_t i = 0; i < v->n; i++)
		if (v->v[i] == n) {
			memmove(&v->v[i], &v->v[i + 1], (v->n - i - 1) * sizeof(v->v[0]));
			v->n--;
			return;
		}
}

static void on_interrupt(struct engine *e, int sig);

/* Ask on the terminal; a signal while waiting interrupts the run. */
static int ask(struct engine *e, const char *question)
{
	int sig, c = term_ask(question, &sig);

	if (sig)
		on_interrupt(e, sig);
	return c;
}

static void gate_waits(struct engine *e, struct node *n)
{
	rt(n)->st = R_GATE;
	vec_push(&e->gates, n);
	notify(e->g, NOTIFY_GATE, n, "gate-waiting", &(struct outcome){.exit_status = -1, .message = n->x->prompt},
	       journal_runid(e->j));
}

/* Approve the gates that are waiting, asking on a terminal. Returns true if one was. */
static bool ask_gates(struct engine *e)
{
	bool any = false;
	size_t keep = 0;

	for (size_t i = 0; i < e->gates.n; i++) {
		struct node *n = e->gates.v[i];
		char *q;
		int c;

		if (rt(n)->asked) { /* answered already in this run */
			e->gates.v[keep++] = n;
			continue;
		}
		q = xasprintf("Gate %s: %s\n%s%s%sApprove it now? [y/N] ", n->name, n->title, n->x->prompt ? "  " : "",
		              n->x->prompt ? n->x->prompt : "", n->x->prompt ? "\n" : "");
		rt(n)->asked = true;
		c = e->interrupted ? 0 : ask(e, q);
		free(q);
		if (c == 'y') {
			e->prog.finished++;
			any |= record_now(e, n, RESULT_APPROVE);
		} else {
			e->gates.v[keep++] = n;
		}
	}
	e->gates.n = keep;
	return any;
}

/* Rolling back a gate is taking its approval back. */
static void unapprove(struct engine *e, struct node *n)
{
	e->prog.finished++;
	record_now(e, n, RESULT_UNAPPROVE);
}

static void start_ready(struct engine *e)
{
	struct node *n;

	/* retries whose delay has passed */
	for (size_t i = 0; i < e->delayed.n;) {
		n = e->delayed.v[i];
		if (now_ms() >= rt(n)->retry_at_mono_ms) {
			e->delayed.v[i] = e->delayed.v[--e->delayed.n];
			rt(n)->st = R_READY;
			readyq_push(&e->ready, n);
		} else {
			i++;
		}
	}
	drain_instant(e);
	while (!e->stopping && e->jobs.n - e->nchecks < (size_t)e->o->jobs && (n = readyq_pop(&e->ready))) {
		if (rt(n)->st != R_READY)
			continue; /* skipped by another orch while it waited */
		if (n->kind == NODE_STEP && n->stepkind == STEP_MANUAL && e->reverse) {
			unapprove(e, n);
			drain_instant(e);
			continue;
		}
		if (n->kind == NODE_STEP && n->stepkind == STEP_MANUAL) {
			gate_waits(e, n);
			continue;
		}
		if (n->pool && e->pools[n->pool->id].running >= n->pool->depth) {
			readyq_push(&e->pools[n->pool->id].waiting, n);
			continue;
		}
		start(e, n);
	}
}

/* A pool slot is free again: its best waiting step goes back to the ready queue. */
static void release_pool(struct engine *e, struct pool *p)
{
	struct poolrt *pr = &e->pools[p->id];
	struct node *n;

	pr->running--;
	if ((n = readyq_pop(&pr->waiting)))
		readyq_push(&e->ready, n);
}

static void remove_job(struct engine *e, struct job *jb)
{
	for (size_t i = 0; i < e->jobs.n; i++)
		if (e->jobs.v[i] == jb) {
			e->jobs.v[i] = e->jobs.v[--e->jobs.n];
			break;
		}
	if (jb->n->pool)
		release_pool(e, jb->n->pool);
}

static struct outcome outcome_of(struct job *jb, const char *message)
{
	struct outcome o = {0};

	o.attempt = jb->attempt;
	o.exit_status = (jb->proc.pid || jb->claim) && WIFEXITED(jb->wstatus) ? WEXITSTATUS(jb->wstatus) : -1;
	o.signal = (jb->proc.pid || jb->claim) && WIFSIGNALED(jb->wstatus) ? WTERMSIG(jb->wstatus) : 0;
	o.timed_out = jb->timed_out;
	o.start_ms = jb->start_wall_ms;
	if (!jb->duration_ms)
		jb->duration_ms = now_ms() - jb->start_mono_ms;
	if (jb->duration_ms < 1)
		jb->duration_ms = 1; /* rounded up: a step that ran took time, however little */
	o.duration_ms = jb->duration_ms;
	/* the log file holds every attempt: one that printed nothing names none, lest a view
	 * show the previous attempt's output as this one's */
	o.log = jb->haslog ? jb->logpath : NULL;
	o.message = message;
	return o;
}

static enum result result_of_success(const struct engine *e, const struct node *n)
{
	return n->kind == NODE_MILESTONE ? RESULT_MILESTONE
	       : e->reverse             ? (e->o->restore ? RESULT_RESTORED : RESULT_ROLLBACK_OK)
	                                : RESULT_OK;
}

static void succeed_job(struct engine *e, struct job *jb)
{
	struct node *n = jb->n;
	struct outcome o = outcome_of(jb, jb->note);

	remove_job(e, jb);
	if (n->kind == NODE_STEP && !e->reverse && n->ro && n->ro->hold_ms > 0) {
		hold_start(e, jb, &o);
		return;
	}
	if (jb->withevents && !jb->pg) { /* its transaction is gone: nothing was applied */
		unrecorded(e, n);
		free_job(jb);
		return;
	}
	if (record(&e->rec, n, result_of_success(e, n), &o) < 0) {
		unrecorded(e, n);
		free_job(jb);
		return;
	}
	if (jb->withevents) { /* the registry row and the ok: one COMMIT */
		int r = journal_commit_with(e->j, jb->pg);

		pg_free(jb->pg);
		jb->pg = NULL;
		if (r < 0) {
			unrecorded(e, n);
			free_job(jb);
			return;
		}
	}
	/* Reported, and its dependents released, once the success is on disk (settle). */
	if (!e->settling.n)
		e->settle_since_mono_ms = now_ms();
	vec_push(&e->settling, jb);
}

/* Make the successes of this and earlier turns durable with one sync, then report
 * them and release their dependents. Deferring this while other ready steps can start
 * keeps fdatasync off the critical path of wide plans. */
static void settle(struct engine *e)
{
	if (journal_sync(e->j) < 0) {
		/* not on disk: not reported, nothing that needs them starts */
		for (size_t i = 0; i < e->settling.n; i++) {
			struct job *jb = e->settling.v[i];

			unrecorded(e, jb->n);
			free_job(jb);
		}
		e->settling.n = 0;
		e->settle_since_mono_ms = 0;
		return;
	}
	for (size_t i = 0; i < e->settling.n; i++) {
		struct job *jb = e->settling.v[i];
		struct outcome o = outcome_of(jb, jb->note);

		/* counted as it is told: each line its own number, in the order they appear */
		if (jb->n->kind == NODE_STEP)
			e->prog.finished++;
		report(e, jb, result_of_success(e, jb->n), &o);
		complete(e, jb->n);
		free_job(jb);
	}
	e->settling.n = 0;
	e->settle_since_mono_ms = 0;
}

/* Whether the successes waiting for their sync must be settled before another step
 * starts: when a node one of them releases could take its turn before the best ready
 * one (the queue's order: priority, then declaration; a node that completes without a
 * turn may release others, so for it a priority as high is enough; a gate on top is
 * set aside, so anything could), starting first would change the order, and -n would
 * not tell the run. Where nothing they release comes first, starting first only saves
 * a sync. Rolling back keeps to the batch: what it releases is mostly instant, ranked
 * by completion time. */
static bool settle_first(struct engine *e)
{
	const struct node *top = e->ready.n ? e->ready.v[0] : NULL;

	if (!e->settling.n || e->stopping || e->reverse || e->jobs.n - e->nchecks >= (size_t)e->o->jobs)
		return false;
	if (!top || (top->kind == NODE_STEP && top->stepkind == STEP_MANUAL))
		return true;
	for (size_t i = 0; i < e->settling.n; i++) {
		const struct node *n = ((struct job *)e->settling.v[i])->n;

		for (size_t k = 0; k < n->nusers; k++) {
			const struct node *u = n->users[k];

			bool turn = u->kind == NODE_STEP ? !rt(u)->recheck && !rt(u)->instant
			                                 : u->kind == NODE_MILESTONE && u->x->validate && !state_satisfied(u);

			if (u->mark != MARK_SELECTED || rt(u)->st != R_WAIT)
				continue;
			if (u->prio_ms > top->prio_ms || (u->prio_ms == top->prio_ms && (!turn || u->id < top->id)))
				return true;
		}
	}
	return false;
}

/* Whether N, which has just failed, gets another attempt. */
static bool retries_left(const struct engine *e, const struct node *n)
{
	return n->kind == NODE_STEP && !e->reverse && rt(n)->attempt <= n->x->retries && !e->stopping;
}

/* Whether N, whose worker has just lost its lease (JB), is offered again at once. */
static bool rerun_lost(const struct engine *e, const struct job *jb)
{
	return jb->lost && jb->n->x->on_interrupt == ONINTERRUPT_RERUN && rt(jb->n)->lost < RERUN_LOST_MAX &&
	       !e->stopping;
}

static void fail_job(struct engine *e, struct job *jb, const char *detail)
{
	struct node *n = jb->n;
	struct outcome o = outcome_of(jb, detail);
	bool interrupted = e->interrupted && !jb->timed_out;
	bool rerun = rerun_lost(e, jb);
	/* on_interrupt = ask (the default): asked on a terminal, else as fail */
	bool ask_lost = jb->lost && !rerun && n->x->on_interrupt == ONINTERRUPT_ASK && e->o->interactive && e->tty;
	/* on_interrupt = fail: the run stops there, whatever retries, --on-failure and -k say */
	bool stop_here = jb->lost && !rerun && !ask_lost && n->x->on_interrupt != ONINTERRUPT_RERUN;
	enum result res = interrupted ? (e->reverse ? RESULT_ROLLBACK_INTERRUPTED : RESULT_INTERRUPTED)
	                  : e->reverse                                      ? RESULT_ROLLBACK_FAIL
	                  : rerun || (!stop_here && !ask_lost && retries_left(e, n)) ? RESULT_RETRYING
	                                                                             : RESULT_FAIL;

	remove_job(e, jb);
	set_detail(n, "%s", detail);
	if (n->kind == NODE_STEP && res != RESULT_RETRYING && !interrupted)
		e->prog.finished++;
	if (record(&e->rec, n, res, &o) < 0 || journal_sync(e->j) < 0) {
		/* on disk before orch acts on it, or orch acts on nothing more */
		report(e, jb, res == RESULT_RETRYING ? RESULT_FAIL : res, &o);
		free_job(jb);
		unrecorded(e, n);
		rt(n)->st = R_FAILED;
		return;
	}
	report(e, jb, res, &o);
	free_job(jb);
	if (interrupted) {
		rt(n)->st = R_FAILED;
		return;
	}
	if (res == RESULT_RETRYING) {
		char d[32];
		int64_t delay = n->x->retry_delay_ms > 0 && !rerun ? n->x->retry_delay_ms : 0;

		if (rerun)
			printf("rerun of %s, attempt %d: its worker lost the lease (on_interrupt = rerun, %d of %d)\n", n->name,
			       rt(n)->attempt + 1, ++rt(n)->lost, RERUN_LOST_MAX);
		else
			printf("retry %d/%d of %s in %s\n", rt(n)->attempt + 1, n->x->retries + 1, n->name,
			       format_duration(delay, d, sizeof(d)));
		rt(n)->st = R_DELAYED;
		rt(n)->retry_at_mono_ms = now_ms() + delay;
		vec_push(&e->delayed, n);
		return;
	}
	e->failures++;
	rt(n)->st = R_FAILED;
	if (ask_lost) {
		rt(n)->lease_lost = true;
		vec_push(&e->failed, n);
		vec_push(&e->asking, n);
		e->stopping = true;
		return;
	}
	if (n->kind == NODE_STEP && !e->reverse && !stop_here && e->o->onfailure == ONFAIL_SKIP) {
		skip_failed(e, n);
		return;
	}
	vec_push(&e->failed, n);
	if (e->reverse || stop_here) {
		e->stopping = true; /* a failed rollback stops the rollback; so does on_interrupt = fail */
	} else if (n->kind == NODE_STEP && e->o->onfailure == ONFAIL_ASK) {
		vec_push(&e->asking, n);
		e->stopping = true;
	} else if (e->o->keepgoing > 0 && e->failures >= e->o->keepgoing) {
		e->stopping = true;
	}
}

/* N must not run (applied, then changed, with on_change = error): a failure without
 * an attempt. */
static void refuse(struct engine *e, struct node *n)
{
	char *msg = state_refusal(n);

	term_clear();
	error("%s", msg);
	free(msg);
	set_detail(n, "changed since applied (%s)", state_reason(n));
	rt(n)->st = R_FAILED;
	e->prog.finished++;
	e->failures++;
	vec_push(&e->failed, n);
	if (e->o->keepgoing > 0 && e->failures >= e->o->keepgoing)
		e->stopping = true;
}

/* ---- holds (docs/rollouts.md) ---- */

static struct node *rollback_due; /* on_fail = rollback: what to roll back after the run */

struct node *run_take_rollback(void)
{
	struct node *n = rollback_due;

	rollback_due = NULL;
	return n;
}

/* "2m 30s" left of N's hold into OUT (32 bytes). */
static char *hold_left(const struct node *n, char *out)
{
	int64_t left = rt(n)->hold->until_wall_ms - wall_ms();

	return format_duration(left > 0 ? left : 0, out, 32);
}

/* When N's next check is due, from its hold's start and the checks recorded so far: a
 * restarted orch keeps the rhythm and the counts. */
static void schedule_check(struct node *n)
{
	const struct history *h = state_history(n);
	int64_t at;

	if (!n->ro->check) {
		rt(n)->hold->next_check_wall_ms = 0;
		return;
	}
	at = rt(n)->hold->until_wall_ms - n->ro->hold_ms +
	     n->ro->check_every_ms * (int64_t)(h->checks_ok + h->checks_failed + 1);
	rt(n)->hold->next_check_wall_ms = at > wall_ms() ? at : wall_ms();
}

static void hold_enter(struct engine *e, struct node *n, int64_t until)
{
	rt(n)->st = R_HOLDING;
	if (!rt(n)->hold)
		rt(n)->hold = xcalloc(1, sizeof(*rt(n)->hold));
	rt(n)->hold->until_wall_ms = until;
	schedule_check(n);
	vec_push(&e->holding, n);
}

/* JB's run succeeded and its step holds: recorded with when the hold ends. */
static void hold_start(struct engine *e, struct job *jb, const struct outcome *run)
{
	struct node *n = jb->n;
	struct outcome o = *run;

	o.start_ms = wall_ms();
	o.duration_ms = n->ro->hold_ms;
	o.exit_status = -1;
	if (record(&e->rec, n, RESULT_HOLD, &o) < 0 || journal_sync(e->j) < 0) {
		unrecorded(e, n);
		free_job(jb);
		return;
	}
	report(e, jb, RESULT_HOLD, &o);
	free_job(jb);
	hold_enter(e, n, o.start_ms + o.duration_ms);
}

/* N held when an earlier orch stopped: its hold goes on for the time it has left. */
static void hold_resume(struct engine *e, struct node *n)
{
	const struct history *h = state_history(n);
	char left[32];

	hold_enter(e, n, state_hold_until(n));
	if (verbosity >= 0) {
		term_clear();
		printf("holding %s: %s left (resumed", n->name, hold_left(n, left));
		if (n->ro && n->ro->check)
			printf("; checks %d passed, %d failed", h->checks_ok, h->checks_failed);
		printf(")\n");
	}
}

/* N's hold failed (its checks, --abort): a failure, and what on_fail says. */
static void hold_failed(struct engine *e, struct node *n, const char *detail)
{
	set_detail(n, "%s", detail);
	rt(n)->st = R_FAILED;
	e->failures++;
	vec_push(&e->failed, n);
	if (n->ro && n->ro->on_fail == ROFAIL_ROLLBACK) {
		rollback_due = n->ro->rollback_to ? n->ro->rollback_to : n;
		e->stopping = true;
	} else if (n->ro && n->ro->on_fail == ROFAIL_STOP) {
		e->stopping = true;
	} else if (e->o->keepgoing > 0 && e->failures >= e->o->keepgoing) {
		e->stopping = true;
	}
}

/* End N's hold with RES (RESULT_OK when its time is up, RESULT_PROMOTE, RESULT_ABORT,
 * RESULT_FAIL when its checks failed), BY and MESSAGE (may be NULL). Returns false when
 * it could not be recorded. */
static bool hold_end(struct engine *e, struct node *n, enum result res, const char *by, const char *message)
{
	const struct jevent *st = history_event(e->j, state_history(n)->start);
	struct outcome o = {.exit_status = -1, .by = by, .message = message};

	drop_from(&e->holding, n);
	if (rt(n)->hold->check) /* promoted or aborted while it checks: the check no longer matters */
		kill_job(rt(n)->hold->check, SIGKILL);
	o.start_ms = st && st->start_ms > 0 ? st->start_ms : wall_ms();
	o.duration_ms = wall_ms() - o.start_ms;
	e->prog.finished++;
	if (record(&e->rec, n, res, &o) < 0 || journal_sync(e->j) < 0) {
		unrecorded(e, n);
		rt(n)->st = R_FAILED;
		return false;
	}
	record_say(&e->rec, n, res, &o);
	if (res == RESULT_OK || res == RESULT_PROMOTE)
		complete(e, n);
	else
		hold_failed(e, n, message ? message : "hold failed");
	return true;
}

/* Start N's health check (while it holds); it counts against no -j. */
static void start_check(struct engine *e, struct node *n)
{
	struct job *jb = xcalloc(1, sizeof(*jb));

	jb->n = n;
	jb->stage = STAGE_CHECK;
	jb->proc.fd = jb->proc.go = -1;
	jb->logfd = -1;
	jb->attempt = state_history(n)->checks_ok + state_history(n)->checks_failed + 1;
	jb->start_mono_ms = now_ms();
	jb->start_wall_ms = wall_ms();
	jb->logpath = xasprintf("%s/logs/%s.check.log", e->g->statedir, n->name);
	/* a check never outlasts its turn, nor is it cut short of 10 s */
	jb->deadline_mono_ms = jb->start_mono_ms + (n->ro->check_every_ms > CHECK_MIN_MS ? n->ro->check_every_ms : CHECK_MIN_MS);
	if (spawn_script(e, jb, n->ro->check) < 0) {
		jb->proc.pid = 0;
		jb->exited = true;
		jb->wstatus = 127 << 8;
	}
	os_go(&jb->proc, true);
	rt(n)->hold->check = jb;
	rt(n)->hold->next_check_wall_ms = 0;
	e->nchecks++;
	vec_push(&e->jobs, jb);
}

/* The last line JB printed, cut to fit a reason, into OUT; "" when none. */
static void last_line(const struct job *jb, char *out, size_t len)
{
	const char *s = jb->out.s ? jb->out.s : "";
	size_t end = jb->out.len, start;
	char *line, *masked;

	while (end && (s[end - 1] == '\n' || s[end - 1] == ' ' || s[end - 1] == '\r'))
		end--;
	start = end;
	while (start && s[start - 1] != '\n')
		start--;
	/* quoted in orch's own words: a password in it masked first, then cut */
	line = xasprintf("%.*s", (int)(end - start), s + start);
	masked = mask_passwords_in(line);
	snprintf(out, len, "%.100s", masked);
	free(masked);
	free(line);
}

/* N's check ended (OK or not, DETAIL saying how): recorded; check_failures in a row
 * fail the step. */
static void check_done(struct engine *e, struct job *jb, bool ok, const char *detail)
{
	struct node *n = jb->n;
	char why[420], said[128];
	struct outcome o;
	const struct history *h;

	for (size_t i = 0; i < e->jobs.n; i++)
		if (e->jobs.v[i] == jb) {
			e->jobs.v[i] = e->jobs.v[--e->jobs.n];
			break;
		}
	e->nchecks--;
	rt(n)->hold->check = NULL;
	/* stopped, or the hold ended meanwhile: not a result (the next orch checks again) */
	if ((e->interrupted && !jb->timed_out) || rt(n)->st != R_HOLDING) {
		free_job(jb);
		return;
	}
	last_line(jb, said, sizeof(said));
	if (ok && n->ro->check_require && !required(e, n, n->ro->check_require, "check_require", why, sizeof(why)))
		ok = false; /* WHY says which metric, its value and the bound */
	else if (jb->timed_out)
		snprintf(why, sizeof(why), "timed out after %s",
		         format_duration(now_ms() - jb->start_mono_ms, (char[32]){0}, 32));
	else
		snprintf(why, sizeof(why), "%s%s%s", detail, said[0] ? ": " : "", said);
	o = outcome_of(jb, ok ? (said[0] ? said : NULL) : why);
	o.attempt = 0;
	if (!ok && o.exit_status == 0)
		o.exit_status = -1; /* exited 0, failed all the same (check_require): no "exit" recorded */
	if (record(&e->rec, n, ok ? RESULT_CHECK_OK : RESULT_CHECK_FAIL, &o) < 0 || journal_sync(e->j) < 0) {
		free_job(jb);
		unrecorded(e, n);
		return;
	}
	record_say(&e->rec, n, ok ? RESULT_CHECK_OK : RESULT_CHECK_FAIL, &o);
	if (!ok && verbosity >= 0) {
		print_output(&jb->out, 20, jb->dropped_lines);
		fflush(stdout);
	}
	free_job(jb);
	h = state_history(n);
	if (!ok && h->check_streak >= n->ro->check_failures) {
		char *msg = xasprintf("check failed %d time%s in a row (%s)", h->check_streak,
		                      h->check_streak == 1 ? "" : "s", why);

		hold_end(e, n, RESULT_FAIL, NULL, msg);
		free(msg);
		return;
	}
	schedule_check(n);
}

/* Holds whose time is up end; checks that are due start. Each turn. */
static void tend_holds(struct engine *e)
{
	for (size_t i = 0; i < e->holding.n;) {
		struct node *n = e->holding.v[i];
		int64_t now = wall_ms();

		if (rt(n)->hold->check || e->interrupted) {
			i++;
		} else if (now >= rt(n)->hold->until_wall_ms) {
			hold_end(e, n, RESULT_OK, NULL, NULL); /* drops it from holding */
		} else {
			if (rt(n)->hold->next_check_wall_ms && now >= rt(n)->hold->next_check_wall_ms && !e->stopping)
				start_check(e, n);
			i++;
		}
	}
}

/* The current stage of JB ended (shell reaped, or SQL finished). */
static void stage_done(struct engine *e, struct job *jb)
{
	struct node *n = jb->n;
	bool ok;
	char detail[DETAIL_MAX];
	const char *missing;

	if (jb->pg || jb->pgresult) {
		ok = jb->pgresult == 1 || jb->pgresult == 2;
		snprintf(detail, sizeof(detail), "%s", jb->pgerr ? jb->pgerr : "SQL failed");
		if (jb->pg && ok && !e->reverse)
			jb->note = pg_backup_note(jb->pg);
		if (jb->pgresult == 2) {
			/* committed with its success's events in succeed_job: the lines before it first */
			if (journal_flush(e->j) < 0) {
				pg_free(jb->pg); /* rolled back */
				jb->pg = NULL;
			}
		} else if (jb->pg) {
			pg_free(jb->pg);
			jb->pg = NULL;
		}
		jb->pgresult = 0;
	} else {
		ok = WIFEXITED(jb->wstatus) && WEXITSTATUS(jb->wstatus) == 0;
		if (jb->timed_out)
			snprintf(detail, sizeof(detail), "timed out after %s",
			         format_duration(n->x->timeout_ms, (char[32]){0}, 32));
		else if (WIFSIGNALED(jb->wstatus))
			snprintf(detail, sizeof(detail), "killed by signal %d", WTERMSIG(jb->wstatus));
		else
			snprintf(detail, sizeof(detail), "%sexit %d", jb->stage == STAGE_VERIFY ? "verify: " : "",
			         WEXITSTATUS(jb->wstatus));
		if (jb->claimwhy)
			snprintf(detail, sizeof(detail), "%s", jb->claimwhy);
		if (jb->proc.fd >= 0) {
			close(jb->proc.fd);
			jb->proc.fd = -1;
		}
		metrics_take(e, jb);
		/* whatever the killed script left in its group (ignoring TERM) goes too */
		if (jb->timed_out || e->interrupted)
			os_killgroup(jb->proc.pid, SIGKILL);
	}
	if (jb->stage == STAGE_CHECK) {
		check_done(e, jb, ok, detail);
		return;
	}
	if (!ok) {
		fail_job(e, jb, detail);
		return;
	}
	if (n->kind == NODE_STEP && jb->stage == STAGE_MAIN && n->x->verify && !e->reverse) {
		jb->stage = STAGE_VERIFY;
		if (spawn_script(e, jb, n->x->verify) < 0) {
			fail_job(e, jb, "cannot start verify");
			return;
		}
		os_go(&jb->proc, true); /* its start is the step's, recorded already */
		return;
	}
	if (n->kind == NODE_STEP && !e->reverse && (missing = state_missing_output(n))) {
		snprintf(detail, sizeof(detail), "output %s missing after success", missing);
		fail_job(e, jb, detail);
		return;
	}
	if (!e->reverse && n->ro && n->ro->require &&
	    !required(e, n, n->ro->require, "require", detail, sizeof(detail))) {
		fail_job(e, jb, detail);
		return;
	}
	succeed_job(e, jb);
}

static void read_output(struct engine *e, struct job *jb)
{
	char chunk[65536];
	ssize_t r;

	while (jb->proc.fd >= 0) {
		r = read(jb->proc.fd, chunk, sizeof(chunk));
		if (r > 0) {
			buf_add(&jb->out, chunk, (size_t)r);
			log_write(e, jb);
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
			close(jb->proc.fd);
			jb->proc.fd = -1;
		}
		break;
	}
	log_write(e, jb);
}

static void kill_job(struct job *jb, int sig)
{
	if (jb->pg)
		pg_cancel(jb->pg);
	else if (jb->claim > 0 && !jb->exited)
		jb->withdraw = true; /* look_at_claim */
	else if (jb->proc.pid && !jb->exited)
		os_killgroup(jb->proc.pid, sig);
}

static void check_timers(struct engine *e)
{
	int64_t now = now_ms();

	for (size_t i = 0; i < e->jobs.n; i++) {
		struct job *jb = e->jobs.v[i];

		if (jb->deadline_mono_ms && now >= jb->deadline_mono_ms && !jb->timed_out) {
			jb->timed_out = true;
			kill_job(jb, SIGTERM);
			jb->kill_at_mono_ms = now + KILL_GRACE_MS;
		}
		if (jb->kill_at_mono_ms && now >= jb->kill_at_mono_ms) {
			kill_job(jb, SIGKILL);
			jb->kill_at_mono_ms = 0;
		}
	}
}

static void on_interrupt(struct engine *e, int sig)
{
	bool again = e->interrupted != 0;

	e->interrupted = sig;
	e->stopping = true;
	term_clear_echo(); /* the ^C the terminal echoed goes too: the message has its own line */
	if (!again)
		notice("%s: stopping %u running step%s", strsignal(sig), e->jobs.n, e->jobs.n == 1 ? "" : "s");
	for (size_t i = 0; i < e->jobs.n; i++) {
		struct job *jb = e->jobs.v[i];

		kill_job(jb, again ? SIGKILL : SIGTERM);
		if (!again)
			jb->kill_at_mono_ms = now_ms() + KILL_GRACE_MS;
	}
}

static int poll_timeout(struct engine *e)
{
	/* requests from other orchs (inbox.c) are looked at every half second */
	int64_t now = now_ms(), t = e->reverse ? (e->tty ? 500 : -1) : 500;

	for (size_t i = 0; i < e->jobs.n; i++) {
		struct job *jb = e->jobs.v[i];
		int64_t at = jb->kill_at_mono_ms ? jb->kill_at_mono_ms : jb->timed_out ? 0 : jb->deadline_mono_ms;

		if (jb->claim > 0 && !jb->exited && (t < 0 || t > CLAIM_LOOK_MS))
			t = CLAIM_LOOK_MS;
		if (jb->exited && !jb->proc.pid)
			return 0; /* ended without a process (a worker's step): finish it now */
		if (!jb->pg && jb->pgresult)
			return 0; /* failed before it had anything to poll: finish it now */
		if (jb->pg && pg_wake(jb->pg) && (t < 0 || pg_wake(jb->pg) - now < t))
			t = pg_wake(jb->pg) > now ? pg_wake(jb->pg) - now : 0; /* a SQL retry's wait */

		if (at && (t < 0 || at - now < t))
			t = at - now;
	}
	if (e->settling.n && (t < 0 || e->settle_since_mono_ms + SETTLE_MS - now < t))
		t = e->settle_since_mono_ms + SETTLE_MS - now;
	for (size_t i = 0; i < e->holding.n; i++) {
		const struct rt *r = rt(e->holding.v[i]);
		int64_t wall = wall_ms(), at = r->hold->until_wall_ms;

		if (r->hold->next_check_wall_ms && r->hold->next_check_wall_ms < at)
			at = r->hold->next_check_wall_ms;
		if (t < 0 || at - wall < t)
			t = at - wall > 0 ? at - wall : 0;
	}
	for (size_t i = 0; i < e->delayed.n && !e->stopping; i++) {
		int64_t at = rt(e->delayed.v[i])->retry_at_mono_ms;

		if (t < 0 || at - now < t)
			t = at - now;
	}
	return t < 0 ? -1 : t > 0 ? (int)t : 0;
}

/* On a terminal, a gate asks as soon as it waits, while other steps run: its question
 * is the live line, and the terminal is polled with everything else. */
static void prompt_gate(struct engine *e)
{
	if (!e->o->interactive || !e->tty || e->prompting || e->stopping || e->interrupted || e->stdin_closed)
		return;
	for (size_t i = 0; i < e->gates.n; i++) {
		struct node *n = e->gates.v[i];

		if (rt(n)->asked)
			continue;
		rt(n)->asked = true;
		e->prompting = n;
		term_clear();
		printf("Gate %s: %s\n", n->name, n->title);
		if (n->x->prompt)
			printf("  %s\n", n->x->prompt);
		draw_status(e);
		return;
	}
}

/* The answer to the gate's question is there: y approves it, anything else leaves it
 * waiting for orch --approve. */
static void answer_gate(struct engine *e)
{
	struct node *n = e->prompting;
	char line[256];
	ssize_t r = read(STDIN_FILENO, line, sizeof(line) - 1);
	const char *c = line;

	e->prompting = NULL;
	term_clear();
	if (r <= 0) {
		e->stdin_closed = true;
		return;
	}
	line[r] = '\0';
	c += strspn(c, " \t");
	if ((*c == 'y' || *c == 'Y') && rt(n)->st == R_GATE) {
		drop_from(&e->gates, n);
		e->prog.finished++;
		record_now(e, n, RESULT_APPROVE);
	} else if (rt(n)->st == R_GATE) {
		printf("gate %s waits: orch --approve %s\n", n->name, n->name);
	}
}

/* One turn: wait for output, exits, SQL progress, signals or timers. */
static void wait_events(struct engine *e)
{
	size_t n = e->jobs.n;
	struct pollfd *p = e->pfd;
	struct job **who = e->pwho;
	size_t k = 0;
	int sig;

	p[k].fd = os_sigfd(), p[k].events = POLLIN, k++;
	for (size_t i = 0; i < n; i++) {
		struct job *jb = e->jobs.v[i];
		bool wantwrite = false;

		if (jb->pg) {
			p[k].fd = pg_fd(jb->pg, &wantwrite);
			p[k].events = POLLIN | (wantwrite ? POLLOUT : 0);
		} else if (jb->proc.fd >= 0) {
			p[k].fd = jb->proc.fd;
			p[k].events = POLLIN;
		} else {
			continue;
		}
		who[k++] = jb;
	}
	if (e->prompting) {
		p[k].fd = STDIN_FILENO, p[k].events = POLLIN;
		who[k++] = NULL;
	}
	/* the state database's notifications of requests (after the others: who has no slot) */
	p[k].fd = e->reverse ? -1 : pgstate_fd(journal_pgstate(e->j)), p[k].events = POLLIN, p[k].revents = 0;
	if (poll(p, k + 1, poll_timeout(e)) < 0 && errno != EINTR)
		fatalx(EXIT_FAILED, "poll:");
	if (p[k].revents)
		pgstate_wake(journal_pgstate(e->j), woken, e);
	if ((sig = os_signals_take()) && sig != e->interrupted)
		on_interrupt(e, sig);
	for (size_t i = 1; i < k; i++) {
		struct job *jb = who[i];

		if (!p[i].revents)
			continue;
		if (!jb) {
			answer_gate(e);
			continue;
		}
		if (jb->pg) {
			size_t before = jb->out.len;

			jb->pgresult = pg_advance(jb->pg, &jb->out, &jb->pgerr);
			if (jb->out.len > before)
				log_write(e, jb);
		} else {
			read_output(e, jb);
		}
	}
	/* SQL steps whose wait to retry is over */
	for (size_t i = 0; i < e->jobs.n; i++) {
		struct job *jb = e->jobs.v[i];

		if (jb->pg && pg_wake(jb->pg) && now_ms() >= pg_wake(jb->pg)) {
			jb->pgresult = pg_advance(jb->pg, &jb->out, &jb->pgerr);
			log_write(e, jb);
		}
	}
	/* reap, and finish every stage that ended */
	for (size_t i = 0; i < e->jobs.n;) {
		struct job *jb = e->jobs.v[i];
		size_t before = e->jobs.n;

		look_at_claim(e, jb);
		if (!jb->pg && !jb->pgresult && jb->proc.pid && !jb->exited) {
			pid_t r = waitpid(jb->proc.pid, &jb->wstatus, WNOHANG);

			if (r == jb->proc.pid || (r < 0 && errno == ECHILD)) {
				jb->exited = true;
				read_output(e, jb);
			}
		}
		if ((jb->pgresult) || (!jb->pg && jb->exited))
			stage_done(e, jb);
		if (e->jobs.n == before && e->jobs.v[i] == jb)
			i++;
	}
	check_timers(e);
}

static void init_runtime(struct engine *e, struct node **targets, size_t ntargets)
{
	struct graph *g = e->g;
	unsigned char *plan = xcalloc(g->nodes.n ? g->nodes.n : 1, 1);

	graph_clearmarks(g);
	graph_select(g, ntargets ? targets : NULL, ntargets, MARK_SELECTED);
	rts = e->rts = xcalloc(g->nodes.n ? g->nodes.n : 1, sizeof(*e->rts));
	/* Satisfied steps are done from the start, but for one with inputs that something
	 * upstream will run first and may rewrite: it waits, and is checked again when it is
	 * ready. Completed steps that changed say why. */
	state_start_plan(g, plan);
	for (size_t i = 0; i < g->nodes.n; i++) {
		struct node *n = g->topo[i];

		if (n->mark != MARK_SELECTED || n->kind != NODE_STEP)
			continue;
		if (plan[n->id] == START_DONE) {
			rt(n)->st = R_DONE;
			continue;
		}
		e->prog.total++;
		if (plan[n->id] == START_RECHECK)
			rt(n)->recheck = true;
		else if (state_of(n) == ST_STALE && !n->always && verbosity >= 0)
			printf("stale %s: %s\n", n->name, state_reason(n));
	}
	free(plan);
	for (size_t i = 0; i < g->nodes.n; i++) {
		struct node *n = g->nodes.v[i];

		if (n->mark != MARK_SELECTED || rt(n)->st == R_DONE)
			continue;
		for (size_t j = 0; j < n->ndeps; j++)
			if (rt(n->deps[j].dep)->st != R_DONE)
				rt(n)->pending++;
	}
	for (size_t i = 0; i < g->nodes.n; i++) {
		struct node *n = g->nodes.v[i];

		if (n->mark == MARK_SELECTED && rt(n)->st == R_WAIT && rt(n)->pending == 0)
			node_ready(e, n);
	}
}

static void free_runtime(struct engine *e)
{
	for (size_t i = 0; e->rts && i < e->g->nodes.n; i++) {
		free(e->rts[i].detail);
		free(e->rts[i].hold);
	}
	if (rts == e->rts)
		rts = NULL;
	free(e->rts);
	e->rts = NULL;
	for (size_t i = 0; i < e->g->pools.n; i++)
		readyq_free(&e->pools[i].waiting);
	free(e->pools);
	readyq_free(&e->ready);
	vec_free(&e->jobs);
	vec_free(&e->delayed);
	vec_free(&e->gates);
	vec_free(&e->held);
	vec_free(&e->holding);
	vec_free(&e->asking);
	vec_free(&e->failed);
	vec_free(&e->unrecorded);
	vec_free(&e->instant);
	vec_free(&e->settling);
}

/* After a failure on a terminal: retry, skip or abort, once nothing runs. */
static void ask_failures(struct engine *e)
{
	size_t keep;

	for (size_t i = 0; i < e->asking.n && !e->aborted && !e->interrupted; i++) {
		struct node *n = e->asking.v[i];
		char *q = rt(n)->lease_lost
		                  ? xasprintf("Step %s was interrupted: its worker lost the lease. [r]erun, [s]kip, [a]bort? ",
		                              n->name)
		                  : xasprintf("Step %s failed. [r]etry, [s]kip, [a]bort? ", n->name);
		int c = ask(e, q);

		free(q);
		rt(n)->lease_lost = false;
		if (c == 'r') {
			e->failures--;
			e->prog.finished--;
			rt(n)->st = R_READY;
			readyq_push(&e->ready, n);
		} else if (c == 's') {
			e->failures--;
			skip_failed(e, n);
		} else {
			e->aborted = true;
		}
	}
	e->asking.n = 0;
	/* retried or skipped steps are no longer failures */
	keep = 0;
	for (size_t i = 0; i < e->failed.n; i++)
		if (rt((struct node *)e->failed.v[i])->st == R_FAILED)
			e->failed.v[keep++] = e->failed.v[i];
	e->failed.n = keep;
	if (!e->aborted && !e->interrupted)
		e->stopping = e->o->keepgoing > 0 && e->failures >= e->o->keepgoing;
}

static size_t count_blocked(struct engine *e)
{
	size_t n = 0;

	for (size_t i = 0; i < e->g->steps.n; i++) {
		struct node *s = e->g->steps.v[i];

		if (s->mark == MARK_SELECTED && (rt(s)->st == R_WAIT || rt(s)->st == R_READY || rt(s)->st == R_DELAYED))
			n++;
	}
	return n;
}

/* "; log: .orch/logs/N.log" when N has a log (a step refused before it ran has none). */
static const char *log_of(const struct graph *g, const struct node *n)
{
	static char buf[512];

	snprintf(buf, sizeof(buf), "%s/logs/%s.log", g->statedir, n->name);
	if (access(buf, F_OK) != 0)
		return "";
	snprintf(buf, sizeof(buf), "; log: %s/logs/%s.log", g->statedir, n->name);
	return buf;
}

static int rollback_summary(struct engine *e, const char *dur)
{
	struct buf left = {0};
	size_t nleft = 0;

	for (size_t i = 0; i < e->g->steps.n; i++) {
		struct node *n = e->g->steps.v[i];

		if (!rt(n)->instant && rt(n)->st != R_DONE) {
			buf_printf(&left, " %s", n->name);
			nleft++;
		}
	}
	if (e->failed.n) {
		struct node *n = e->failed.v[0];

		notice("rollback of %s failed: %s%s", n->name, detail_of(n), log_of(e->g, n));
		notice("%zu step%s still done:%s", nleft, nleft == 1 ? "" : "s", buf_str(&left));
		notice("fix the rollback and run orch --rollback again to continue");
		buf_free(&left);
		return EXIT_FAILED;
	}
	buf_free(&left);
	if (verbosity >= 0)
		printf("orch: rolled back %zu step%s in %s\n", e->prog.finished, e->prog.finished == 1 ? "" : "s", dur);
	return EXIT_DONE;
}

/* Progress could not be recorded: say what, and that it runs again next time. */
static int unrecorded_summary(struct engine *e, size_t notrun)
{
	struct buf names = {0};

	for (size_t i = 0; i < e->unrecorded.n; i++)
		buf_printf(&names, " %s", ((struct node *)e->unrecorded.v[i])->name);
	error("progress could not be recorded in %s, so orch stopped starting steps", journal_path(e->j));
	if (e->unrecorded.n)
		notice("not recorded, so not done (they run again next time):%s", buf_str(&names));
	if (notrun)
		notice("%zu step%s not run", notrun, notrun == 1 ? "" : "s");
	if (journal_pgstate(e->j))
		notice("once %s is reachable and writable again, run orch again", pgstate_where(journal_pgstate(e->j)));
	else
		notice("make %s writable (free space, fix the disk), then run orch again", journal_dir(e->j));
	buf_free(&names);
	return EXIT_RECORD;
}

static int summary(struct engine *e)
{
	char dur[32];
	size_t notrun = count_blocked(e);

	term_clear();
	fflush(stdout);
	format_duration(now_ms() - e->t0_mono_ms, dur, sizeof(dur));
	if (e->unrecorded.n || journal_failed(e->j))
		return unrecorded_summary(e, notrun);
	if (e->interrupted) {
		if (notrun)
			notice("interrupted; %zu step%s not run; run orch again to resume", notrun, notrun == 1 ? "" : "s");
		else
			notice("interrupted; run orch again to resume");
		return EXIT_INTERRUPTED;
	}
	if (e->locked)
		return EXIT_LOCKED;
	if (e->reverse)
		return rollback_summary(e, dur);
	for (size_t i = 0; i < e->failed.n; i++) {
		struct node *n = e->failed.v[i];

		if (n->kind == NODE_STEP)
			notice("step %s failed: %s%s", n->name, detail_of(n), log_of(e->g, n));
		else
			notice("milestone %s not reached: validate failed%s", n->name, log_of(e->g, n));
	}
	for (size_t i = 0; i < e->gates.n; i++) {
		struct node *n = e->gates.v[i];

		notice("gate %s waits for approval: orch --approve %s", n->name, n->name);
		if (n->x->prompt)
			fprintf(stderr, "  %s\n", n->x->prompt);
	}
	for (size_t i = 0; i < e->holding.n; i++) { /* stopped while they hold: the journal keeps it */
		struct node *n = e->holding.v[i];
		char left[32];

		notice("step %s still holds (%s left): run orch again to go on with it", n->name, hold_left(n, left));
	}
	for (size_t i = 0; i < e->held.n; i++) {
		struct node *n = e->held.v[i];

		notice("milestone %s not reached: %s", n->name, detail_of(n)[0] ? detail_of(n) : state_reason(n));
	}
	if (e->failed.n || e->gates.n || e->held.n || e->holding.n || notrun) {
		if (notrun)
			notice("%zu step%s not run", notrun, notrun == 1 ? "" : "s");
		return EXIT_FAILED; /* a waiting gate leaves the plan unfinished too */
	}
	if (verbosity >= 0) {
		if (e->ran)
			printf("orch: done: %zu step%s run in %s\n", e->ran, e->ran == 1 ? "" : "s", dur);
		else
			printf("orch: nothing to do: everything is up to date\n");
	}
	return EXIT_DONE;
}

/* [orch] report: written again when the journal took events, at most once a second
 * during the run, and at its end (FINAL). A failure to write it is warned about by
 * report_write and changes nothing of the run. */
static void keep_report(struct engine *e, bool final)
{
	if (!e->g->report || journal_failed(e->j) || journal_count(e->j) == e->report_events ||
	    (!final && now_ms() - e->report_mono_ms < 1000))
		return;
	e->report_mono_ms = now_ms();
	e->report_events = journal_count(e->j);
	report_write(e->g, e->j, e->g->report, true);
}

/* The changelog ([orch] changelog), made again from the journal when it took events:
 * at the end of the run (FINAL), and during it at most once a second, or less often when
 * making it takes long (a tenth of the run's time at most). Only what is synced goes
 * in. A failure to write it is a warning and changes nothing of the run; after one, it
 * is tried again at the end only, not warned about once a second. */
static void keep_changelog(struct engine *e, bool final)
{
	int64_t t0, took;

	if (!e->g->changelog || journal_failed(e->j) || (!final && e->changelog_failed) ||
	    journal_count(e->j) == e->changelog_events || (!final && now_ms() < e->changelog_mono_ms) ||
	    journal_sync(e->j) < 0)
		return;
	t0 = now_ms();
	e->changelog_events = journal_count(e->j);
	if (changelog_write(e->g, e->j, NULL, true) != 0) /* or a file orch did not write */
		e->changelog_failed = true;
	took = now_ms() - t0;
	e->changelog_mono_ms = now_ms() + (took * 10 > 1000 ? took * 10 : 1000);
}

static void engine_init(struct engine *e, struct graph *g, struct journal *j, const struct runopts *o)
{
	e->g = g;
	e->j = j;
	e->o = o;
	e->tty = os_isatty(STDOUT_FILENO);
	e->t0_mono_ms = now_ms();
	e->pools = xcalloc(g->pools.n ? g->pools.n : 1, sizeof(*e->pools));
	e->rec = (struct recorder){g, j, &e->prog};
	/* a run that records nothing leaves the changelog as it is: made again, it would
	 * say the same, at the cost of every event of the journal and of those --reset
	 * kept, on each up-to-date run (orch --changelog makes it again) */
	e->changelog_events = journal_count(j);
	os_signals_init();
}

static int engine_loop(struct engine *e)
{
	int status, sig;
	size_t holds = 0;

	/* jobs never outnumber -j (validating milestones count as jobs) */
	/* the signal pipe, each job, and the terminal while a gate asks */
	/* and the checks of holding steps, which do not count against -j */
	for (size_t i = 0; i < e->g->steps.n; i++)
		holds += ((struct node *)e->g->steps.v[i])->ro != NULL;
	e->pfd = xcalloc((size_t)e->o->jobs + 3 + holds, sizeof(*e->pfd));
	e->pwho = xcalloc((size_t)e->o->jobs + 3 + holds, sizeof(*e->pwho));
	/* a signal that came while orch connected or waited starts nothing */
	if ((sig = os_signals_take()))
		on_interrupt(e, sig);

	for (;;) {
		tend_holds(e);
		if (settle_first(e)) {
			settle(e);
			continue;
		}
		start_ready(e);
		if (e->settling.n && (!e->ready.n || e->stopping || !e->jobs.n || now_ms() - e->settle_since_mono_ms >= SETTLE_MS)) {
			settle(e);
			continue;
		}
		if (!e->jobs.n && (e->stopping || (!e->delayed.n && !e->holding.n)) && !e->ready.n) {
			if (e->interrupted || e->locked || e->aborted)
				break;
			if (e->asking.n && e->o->interactive) {
				ask_failures(e);
				continue;
			}
			if (!e->prompting) {
				if (e->gates.n && e->o->interactive && !e->stopping && ask_gates(e))
					continue;
				break;
			}
		}
		if (!e->jobs.n && e->stopping && !e->asking.n)
			break;
		prompt_gate(e);
		journal_flush(e->j); /* what started is seen from other machines before the wait */
		wait_events(e);
		take_requests(e);
		keep_report(e, false);
		keep_changelog(e, false);
		if (e->tty && now_ms() - e->last_draw_mono_ms >= 200)
			draw_status(e);
		/* the metrics file follows the events, at most once a second */
		if (export_path(e->g) && now_ms() - e->export_mono_ms >= 1000) {
			export_write(e->g, e->j);
			e->export_mono_ms = now_ms();
		}
	}
	journal_sync(e->j);
	if (export_path(e->g))
		export_write(e->g, e->j);
	status = summary(e);
	keep_report(e, true);
	keep_changelog(e, true);
	if (!e->reverse) {
		char msg[64];

		snprintf(msg, sizeof(msg), "exit status %d: %s", status,
		         status == EXIT_DONE ? "done" : status == EXIT_INTERRUPTED ? "interrupted" : "not finished");
		notify(e->g, NOTIFY_FINISHED, NULL, "finished", &(struct outcome){.exit_status = status, .message = msg},
		       journal_runid(e->j));
	}
	free_runtime(e);
	free(e->pfd);
	free(e->pwho);
	return status;
}

/* N, which waited (or failed), is done now by another orch's word: release what
 * waited for it. */
static void done_by_request(struct engine *e, struct node *n)
{
	enum rtstate st = rt(n)->st;

	if (n->mark != MARK_SELECTED || st == R_DONE)
		return;
	drop_from(&e->gates, n);
	drop_from(&e->delayed, n);
	if (st == R_FAILED) {
		drop_from(&e->failed, n);
		drop_from(&e->asking, n);
		e->failures--;
		/* the failure that stopped the run is gone: it goes on, as after the prompt's skip */
		if (!e->interrupted && !e->aborted && !e->asking.n && !e->unrecorded.n && !e->locked)
			e->stopping = e->o->keepgoing > 0 && e->failures >= e->o->keepgoing;
	} else {
		e->prog.finished++;
	}
	complete(e, n);
}

/* --promote or --abort of N from another orch (Q). */
static char *answer_endhold(struct engine *e, struct node *n, const struct request *q, bool *ok)
{
	bool promote = strcmp(q->action, "promote") == 0;
	enum result res = promote ? RESULT_PROMOTE : RESULT_ABORT;

	if (state_of(n) != ST_HOLDING)
		return xasprintf("%s does not hold now (%s)", n->name, state_reason(n));
	if (rt(n)->st == R_HOLDING) {
		if (!hold_end(e, n, res, q->by, q->reason))
			return xasprintf("the running orch could not record it");
	} else { /* it holds, outside what this run does */
		struct outcome o = {.exit_status = -1, .by = q->by, .message = q->reason};

		if (record(&e->rec, n, res, &o) < 0 || journal_sync(e->j) < 0) {
			unrecorded(e, n);
			return xasprintf("the running orch could not record it");
		}
		record_say(&e->rec, n, res, &o);
	}
	*ok = true;
	return xasprintf("%s %s", promote ? "promoted" : "aborted", n->name);
}

/* One request of another orch: approve a gate, skip a step, promote or abort a hold.
 * Returns the answer. */
static char *answer_request(struct engine *e, const struct request *q, bool *ok)
{
	struct node *n = graph_find(e->g, q->step);
	struct outcome o = {.exit_status = -1, .by = q->by};
	bool approve = strcmp(q->action, "approve") == 0;
	char *refusal;

	*ok = false;
	if (!n || n->kind != NODE_STEP)
		return xasprintf("no step '%s' in %s", q->step, e->g->file);
	if (strcmp(q->action, "promote") == 0 || strcmp(q->action, "abort") == 0)
		return answer_endhold(e, n, q, ok);
	if (!approve && rt(n)->st == R_HOLDING)
		return xasprintf("%s holds now: 'orch --promote %s' ends its hold", n->name, n->name);
	if (approve && n->stepkind != STEP_MANUAL)
		return xasprintf("%s is not a manual gate", n->name);
	if (approve && state_of(n) == ST_DONE)
		return *ok = true, xasprintf("%s is already approved", n->name);
	if (!approve && state_of(n) == ST_SKIPPED)
		return *ok = true, xasprintf("%s is already skipped", n->name);
	if (!approve && rt(n)->st == R_RUNNING)
		return xasprintf("%s is running now: it cannot be skipped", n->name);
	if (approve && (refusal = state_approve_refusal(n)))
		return refusal;
	if (approve)
		state_refresh(n);
	if (record(&e->rec, n, approve ? RESULT_APPROVE : RESULT_SKIP, &o) < 0 || journal_sync(e->j) < 0) {
		unrecorded(e, n);
		return xasprintf("the running orch could not record it");
	}
	*ok = true;
	done_by_request(e, n);
	record_say(&e->rec, n, approve ? RESULT_APPROVE : RESULT_SKIP, &o);
	return xasprintf("%s %s", approve ? "approved" : "skipped", n->name);
}

/* The requests other orchs left for this run (orch --approve, --skip while it runs). */
static void take_requests(struct engine *e)
{
	struct pgstate *ps = journal_pgstate(e->j);
	struct request *v;
	size_t n;

	if (e->reverse || journal_failed(e->j) || now_ms() - e->inbox_mono_ms < 250)
		return;
	e->inbox_mono_ms = now_ms();
	n = ps ? pgstate_take(ps, &v) : inbox_take(journal_dir(e->j), &v);
	for (size_t i = 0; i < n; i++) {
		bool ok;
		char *answer = answer_request(e, &v[i], &ok);

		if (ps)
			pgstate_answer(ps, &v[i], ok, answer);
		else
			inbox_answer(journal_dir(e->j), &v[i], ok, answer);
		free(answer);
	}
	inbox_free(v, n);
}

/* Applied steps that changed with on_change = error (SQL by default) are reported and
 * nothing runs, as Flyway's validate does: re-applying a changed migration is never
 * silent. Returns how many there are. */
static size_t refuse_changed(struct engine *e)
{
	size_t n = registry_refuse_changed(e->g, MARK_SELECTED, false);

	if (n)
		notice("nothing was run; restore what changed, run 'orch --accept STEP' to record the file as it is "
		       "now as applied, or 'orch --force STEP' to apply it again");
	return n;
}

int run_orphans(struct graph *g, struct journal *j, bool all, const struct runopts *o)
{
	for (size_t i = 0; i < g->steps.n; i++) {
		struct node *n = g->steps.v[i];
		const struct jevent *s = history_event(j, state_history(n)->start);
		int sig;

		if ((!all && n->mark != MARK_SELECTED) || !s || s->x->pgid <= 0 || strcmp(s->x->run, journal_runid(j)) == 0 ||
		    (state_of(n) != ST_INTERRUPTED && state_of(n) != ST_ROLLBACK_INTERRUPTED))
			continue;
		if (journal_pgstate(j)) {
			/* a state shared by many machines: a step started elsewhere cannot be seen from here */
			char *host = journal_event_host(j, s);

			if (host && strcmp(host, journal_host(j)) != 0) {
				error("step %s was started on host %s (pid %d, run %s) by an orch that is gone; from here orch "
				      "cannot tell whether it still runs there",
				      n->name, host, s->x->pgid, s->x->run);
				notice("run orch on %s (it waits for the step, or --kill-orphans stops it), or, once you know the "
				       "step is not running, 'orch --force %s' to run it again here (or 'orch --skip %s')",
				       host, n->name, n->name);
				free(host);
				return EXIT_LOCKED;
			}
			free(host);
		}
		if (!proc_group_alive(s->x->pgid, s->x->pstart, s->x->boot))
			continue;
		if (o->kill_orphans)
			warn("step %s is still running from an earlier orch (pid %d, run %s): stopping it", n->name, s->x->pgid,
			     s->x->run);
		else
			warn("step %s is still running from an earlier orch (pid %d, run %s): waiting for it to end "
			     "(--kill-orphans stops it)", n->name, s->x->pgid, s->x->run);
		if ((sig = proc_group_wait(s->x->pgid, s->x->pstart, s->x->boot, o->kill_orphans, KILL_GRACE_MS))) {
			notice("%s: stopped waiting for %s; nothing was run", strsignal(sig), n->name);
			return EXIT_INTERRUPTED;
		}
	}
	return 0;
}

/* Steps of the targets whose rollback started and did not finish are rolled back to the
 * end before anything runs forward: what they left half undone is finished first. */
static int finish_rollbacks(struct engine *e, struct node **targets, size_t ntargets)
{
	struct vec todo = {0};
	int rc = 0;

	graph_clearmarks(e->g);
	graph_select(e->g, ntargets ? targets : NULL, ntargets, MARK_SELECTED);
	for (size_t i = 0; i < e->g->steps.n; i++) {
		struct node *n = e->g->steps.v[i];

		if (n->mark == MARK_SELECTED && state_of(n) == ST_ROLLBACK_INTERRUPTED)
			vec_push(&todo, n);
	}
	if (todo.n) {
		info("the rollback of %u step%s was interrupted: finishing it first", todo.n, todo.n == 1 ? "" : "s");
		rc = run_rollback(e->g, e->j, &todo, NULL, e->o);
	}
	vec_free(&todo);
	return rc;
}

int run_targets(struct graph *g, struct journal *j, struct node **targets, size_t ntargets, const struct runopts *o)
{
	struct engine e = {0};
	int rc;

	engine_init(&e, g, j, o);
	graph_clearmarks(g);
	graph_select(g, ntargets ? targets : NULL, ntargets, MARK_SELECTED);
	if ((rc = registry_reconcile(g, j, &e.rec, true, true)) || (rc = run_orphans(g, j, false, o)) ||
	    (rc = finish_rollbacks(&e, targets, ntargets))) {
		free_runtime(&e);
		return rc;
	}
	init_runtime(&e, targets, ntargets);
	if (refuse_changed(&e)) {
		free_runtime(&e);
		return EXIT_FAILED;
	}
	return engine_loop(&e);
}

int run_rollback(struct graph *g, struct journal *j, struct vec *steps, const int64_t *order_ms,
                 const struct runopts *o)
{
	struct engine e = {0};

	engine_init(&e, g, j, o);
	e.reverse = true;
	e.ready.key_ms = order_ms;
	for (size_t i = 0; i < g->pools.n; i++)
		e.pools[i].waiting.key_ms = order_ms;
	rts = e.rts = xcalloc(g->nodes.n ? g->nodes.n : 1, sizeof(*e.rts));
	for (size_t i = 0; i < g->nodes.n; i++) {
		struct node *n = g->nodes.v[i];

		n->mark = MARK_SELECTED;
		rt(n)->instant = true;
		rt(n)->pending = n->nusers;
	}
	for (size_t i = 0; i < steps->n; i++)
		rt((struct node *)steps->v[i])->instant = false;
	e.prog.total = steps->n;
	for (size_t i = 0; i < g->nodes.n; i++) {
		struct node *n = g->nodes.v[i];

		if (!n->nusers)
			node_ready(&e, n);
	}
	return engine_loop(&e);
}
