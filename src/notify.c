/* notify.c — `[notify]`: tell people when something happens (a step failed, a gate
 * waits, a milestone is reached, the run finished), by running the plan's command with
 * one JSON event on its stdin, in the journal's schema plus "notify" (what happened),
 * "plan" and "target". A notification never holds up or fails the run: the command
 * runs in the background, in its own process group, is waited for at most [notify]
 * timeout once the run ends, and a failure is warned about once. */
#include "notify.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include <jansson.h>

#include "os.h"

static const char *const names[] = {
	[NOTIFY_FAILED] = "failed",       [NOTIFY_GATE] = "gate-waiting", [NOTIFY_MILESTONE] = "milestone",
	[NOTIFY_HOLD_CHECK] = "hold-check-failed", [NOTIFY_FINISHED] = "finished", [NOTIFY_OK] = "ok",
	[NOTIFY_SKIPPED] = "skipped",     [NOTIFY_APPROVED] = "approved", [NOTIFY_ROLLED_BACK] = "rolled-back",
};

int notify_parse(const char *word)
{
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(word, names[i]) == 0)
			return (int)i;
	return -1;
}

const char *notify_words(void)
{
	return "failed, gate-waiting, milestone, hold-check-failed, finished, ok, skipped, approved, rolled-back";
}

/* The commands started and not yet reaped. */
static struct {
	pid_t *pid;
	size_t n, cap;
	bool warned;
	int64_t last_ms; /* when the last one started */
} kids;

static void reaped(int st)
{
	if (kids.warned || (WIFEXITED(st) && WEXITSTATUS(st) == 0))
		return;
	kids.warned = true;
	if (WIFEXITED(st))
		warn("the [notify] command failed (exit status %d); the run goes on (further failures are not told)",
		     WEXITSTATUS(st));
	else
		warn("the [notify] command was killed (signal %d); the run goes on", WTERMSIG(st));
}

/* Reap what has ended, without waiting. */
static void reap(void)
{
	for (size_t i = 0; i < kids.n;) {
		int st;
		pid_t r = waitpid(kids.pid[i], &st, WNOHANG);

		if (r == 0 || (r < 0 && errno == EINTR)) {
			i++;
			continue;
		}
		if (r > 0)
			reaped(st);
		kids.pid[i] = kids.pid[--kids.n];
	}
}

static char *when(int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char buf[32];

	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	return xasprintf("%s.%03dZ", buf, (int)(ms % 1000));
}

void notify(const struct graph *g, enum notify_what what, const struct node *n, const char *ev,
            const struct outcome *o, const char *run)
{
	json_t *e;
	char *text, *t;
	pid_t pid;

	if (!g->notify_command || !(g->notify_on & (1u << what)))
		return;
	reap();
	e = json_object();
	t = when(wall_ms());
	json_object_set_new(e, "v", json_integer(2));
	json_object_set_new(e, "t", json_string(t));
	free(t);
	if (run)
		json_object_set_new(e, "run", json_string(run));
	json_object_set_new(e, "ev", json_string(ev));
	if (n)
		json_object_set_new(e, n->kind == NODE_MILESTONE ? "milestone" : "step", json_string(n->name));
	if (n && strcmp(n->title, n->name) != 0)
		json_object_set_new(e, "title", json_string(n->title));
	if (n && n->phase)
		json_object_set_new(e, "phase", json_string(n->phase->name));
	if (o && o->message)
		json_object_set_new(e, "msg", json_string(o->message));
	if (o && o->exit_status >= 0)
		json_object_set_new(e, "exit", json_integer(o->exit_status));
	if (o && o->duration_ms >= 0 && o->start_ms > 0)
		json_object_set_new(e, "dur_ms", json_integer(o->duration_ms));
	if (o && o->log)
		json_object_set_new(e, "log", json_string(o->log));
	if (o && o->by)
		json_object_set_new(e, "by", json_string(o->by));
	json_object_set_new(e, "notify", json_string(names[what]));
	json_object_set_new(e, "plan", json_string(g->name));
	json_object_set_new(e, "target", g->target ? json_string(g->target) : json_null());
	text = json_dumps(e, JSON_COMPACT);
	json_decref(e);
	if (!text)
		fatal("out of memory writing a notification");
	{
		char *line = xasprintf("%s\n", text);

		if (os_spawn_input(g->notify_command, line, strlen(line), &pid) < 0) {
			if (!kids.warned)
				warn("cannot run the [notify] command:");
			kids.warned = true;
		} else {
			if (kids.n == kids.cap)
				kids.pid = xreallocarray(kids.pid, kids.cap = kids.cap ? kids.cap * 2 : 8, sizeof(*kids.pid));
			kids.pid[kids.n++] = pid;
			kids.last_ms = now_ms();
		}
		free(line);
	}
	free(text);
}

void notify_finish(const struct graph *g)
{
	int64_t limit = g->notify_timeout_ms > 0 ? g->notify_timeout_ms : 10000;

	/* the last ones get their time to deliver, and no more */
	while (kids.n && now_ms() - kids.last_ms < limit) {
		struct timespec ts = {0, 20 * 1000000L};

		reap();
		if (kids.n)
			nanosleep(&ts, NULL);
	}
	for (size_t i = 0; i < kids.n; i++) {
		int st;

		kill(-kids.pid[i], SIGKILL);
		if (waitpid(kids.pid[i], &st, 0) > 0 && !kids.warned) {
			kids.warned = true;
			warn("the [notify] command took longer than %llds and was stopped",
			     (long long)((limit + 999) / 1000));
		}
	}
	free(kids.pid);
	memset(&kids, 0, sizeof(kids));
}
