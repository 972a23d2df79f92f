/* changelog.c — the Markdown changelog of a plan ([orch] changelog, CHANGELOG.md beside
 * the plan by default): made from the journal alone, whole, each time, so that writing
 * it twice gives the same bytes and `orch --changelog` rebuilds what a run kept.
 *
 * The file, newest run first (Keep a Changelog's order):
 *
 *	<!-- Written by orch from .orch/journal.jsonl; `orch --changelog` writes it again. ... -->
 *	# Changelog of NAME
 *
 *	## Run 20261126T052341-6747 — 2026-11-26 05:23 UTC
 *
 *	### Breaking | Features | Fixes | <other types> | Chores | Other
 *	- 05:23:41 **success** `create-tables` Create New Database Tables
 *	  component db · impact high · took 2s · estimated 1h · author Ana · refs #12
 *	### Milestones | Rollbacks | Errors
 *
 * The journals orch --reset kept (journal.jsonl.N) follow the current one's runs: a
 * reset starts the journal again, not the history. Times are UTC, as the journal has them; the author is the one the journal recorded
 * with each event (docs/journal.md), so the file does not depend on who writes it or
 * when. A step's title, type, component, impact, refs and estimate come from the plan
 * as it is now; a step no longer in the plan is listed under Other by its name. */
#include "changelog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "os.h"
#include "util.h"

/* The first line of a changelog orch wrote: a file that does not start with it is
 * someone else's, and orch leaves it alone. */
static const char MARK[] = "<!-- Written by orch from ";

/* Sections of a run, in the order they are written. */
enum section { SEC_BREAKING, SEC_FEATURE, SEC_FIX, SEC_TYPE, SEC_CHORE, SEC_OTHER, SEC_MILESTONE, SEC_ROLLBACK,
	       SEC_ERROR, SEC_NONE };
static const char *const section_titles[] = {
	[SEC_BREAKING] = "Breaking", [SEC_FEATURE] = "Features",     [SEC_FIX] = "Fixes",
	[SEC_CHORE] = "Chores",      [SEC_OTHER] = "Other",          [SEC_MILESTONE] = "Milestones",
	[SEC_ROLLBACK] = "Rollbacks", [SEC_ERROR] = "Errors",
};

struct entry { /* one per event of a run: 16 bytes */
	const char *type; /* SEC_TYPE: the step's type */
	uint32_t ev;      /* the event's index (a journal has at most 2^32 - 1 lines) */
	enum section sec;
};

/* S with Markdown's inline punctuation escaped and line breaks made spaces; the
 * password of a URL in it (a title, refs, a check's output) as "***": the file is for
 * people to read and commit. */
static void md_escape(struct buf *b, const char *s)
{
	char *masked = strstr(s, "://") || strstr(s, "password") ? mask_passwords_in(s) : NULL;

	for (const char *c = masked ? masked : s; *c; c++) {
		if (*c == '\n' || *c == '\r' || *c == '\t')
			buf_putc(b, ' ');
		else if (strchr("\\`*_[]<>|#", *c))
			buf_putc(b, '\\'), buf_putc(b, *c);
		else
			buf_putc(b, *c);
	}
	free(masked);
}

#define SEP " · "

/* Append " · KEY VALUE" when VALUE is set. */
static void field(struct buf *b, const char *key, const char *value)
{
	if (!value || !*value)
		return;
	buf_printf(b, "%s%s%s", SEP, key, *key ? " " : "");
	md_escape(b, value);
}

static void utc(int64_t ms, const char *fmt, char *out, size_t n)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, n, fmt, &tm);
}

/* Where event E goes, SEC_NONE when it is not a change a person reads about. */
static enum section section_of(const struct jevent *e, const char **type)
{
	const char *t = e->node && e->node->kind == NODE_STEP ? e->node->x->type : NULL;

	*type = NULL;
	switch (e->kind) {
	case EV_MILESTONE:
	case EV_MILESTONE_LOST:
		return SEC_MILESTONE;
	case EV_ROLLBACK_OK:
		return SEC_ROLLBACK;
	case EV_FAIL:
	case EV_INTERRUPTED:
	case EV_ROLLBACK_FAIL:
		return SEC_ERROR;
	case EV_CHECK:
		return e->exit_status == 0 ? SEC_NONE : SEC_ERROR;
	case EV_OK:
	case EV_SKIP:
	case EV_APPROVE:
	case EV_FORCE:
	case EV_HOLD:
		break;
	default:
		return SEC_NONE;
	}
	if (!t || !*t)
		return SEC_OTHER;
	if (strcmp(t, "breaking") == 0)
		return SEC_BREAKING;
	if (strcmp(t, "feature") == 0)
		return SEC_FEATURE;
	if (strcmp(t, "fix") == 0)
		return SEC_FIX;
	if (strcmp(t, "chore") == 0)
		return SEC_CHORE;
	*type = t;
	return SEC_TYPE;
}

static int entry_cmp(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	int c;

	if (x->sec != y->sec)
		return x->sec < y->sec ? -1 : 1;
	if (x->sec == SEC_TYPE && (c = strcmp(x->type, y->type)) != 0)
		return c;
	return x->ev < y->ev ? -1 : x->ev > y->ev;
}

/* The word for what E says happened. */
static const char *result_of(const struct jevent *e)
{
	switch (e->kind) {
	case EV_OK:
		return e->node && e->node->kind == NODE_MILESTONE ? "reached" : e->start_ms ? "success" : "done";
	case EV_FAIL:
		return "failed";
	case EV_INTERRUPTED:
		return "interrupted";
	case EV_SKIP:
		return "skipped";
	case EV_APPROVE:
		return "approved";
	case EV_FORCE:
		return "forced";
	case EV_ROLLBACK_OK:
		return "rolled back";
	case EV_ROLLBACK_FAIL:
		return "rollback failed";
	case EV_MILESTONE:
		return "reached";
	case EV_MILESTONE_LOST:
		return "no longer reached";
	case EV_HOLD:
		return "holding";
	case EV_CHECK:
		return "check failed";
	default:
		return journal_kindname(e->kind);
	}
}

/* Why E failed, in a few words, when its message does not say. */
static void reason(struct buf *b, const struct jevent *e)
{
	if (e->x->message && *e->x->message)
		md_escape(b, e->x->message);
	else if (e->timed_out)
		buf_puts(b, "timed out");
	else if (e->signal)
		buf_printf(b, "signal %d", e->signal);
	else if (e->exit_status > 0)
		buf_printf(b, "exit %d", e->exit_status);
}

static void entry(struct buf *b, const struct jevent *e, const char *day)
{
	const struct node *n = e->node;
	char when[32], est[32], act[32];
	struct buf line = {0}, why = {0};

	utc(e->time_ms, "%Y-%m-%d", when, sizeof(when));
	if (strcmp(when, day) == 0)
		utc(e->time_ms, "%H:%M:%S", when, sizeof(when));
	else
		utc(e->time_ms, "%Y-%m-%d %H:%M:%S", when, sizeof(when));
	buf_printf(b, "- %s **%s** `%s`", when, result_of(e), event_name(e));
	if (n && strcmp(n->title, n->name) != 0) {
		buf_putc(b, ' ');
		md_escape(b, n->title);
	}
	reason(&why, e);
	if (why.len)
		buf_printf(b, ": %s", buf_str(&why));
	if (e->attempt > 1)
		buf_printf(b, " (attempt %d)", e->attempt);
	buf_putc(b, '\n');
	if (e->kind == EV_HOLD && e->start_ms && e->duration_ms >= 0) {
		utc(e->start_ms + e->duration_ms, "%Y-%m-%d %H:%M:%S UTC", act, sizeof(act));
		field(&line, "until", act);
	}
	if (n && n->kind == NODE_STEP) {
		field(&line, "component", n->x->component);
		field(&line, "impact", n->x->impact);
	}
	if (e->start_ms && e->duration_ms >= 0 && e->kind != EV_HOLD)
		field(&line, "took", format_known_duration(e->duration_ms, act));
	if (n && n->kind == NODE_STEP && n->est_ms >= 0 && e->kind != EV_MILESTONE)
		field(&line, "estimated", format_known_duration(n->est_ms, est));
	field(&line, "author", e->x->author);
	field(&line, "by", e->x->by); /* who decided: an approval, a skip, an accept, a promote */
	if (n && n->kind == NODE_STEP)
		field(&line, "refs", n->x->refs);
	if (line.len)
		buf_printf(b, "  %s\n", buf_str(&line) + strlen(SEP));
	buf_free(&line);
	buf_free(&why);
}

/* Where changelog_write's text goes as it is made, so that neither it nor the file it
 * replaces is held whole (a long plan's changelog is megabytes, at the end of a run):
 * each piece is compared with the old file's next bytes, and from the first difference
 * on written to the new file (begun then, the equal bytes before it copied from the
 * old one). A file that says the same is not touched. */
struct sink {
	const char *path;
	int old;       /* the file there, -1: none */
	int64_t taken; /* bytes made so far */
	bool differs;  /* from the old file: the new one is begun */
	struct atomic a;
	int err;       /* errno of what failed, 0 */
};

enum { SINK_PIECE = 64 * 1024 };

/* Whether the old file's N bytes at S's current offset are the N bytes at P. */
static bool old_says(struct sink *s, const char *p, size_t n)
{
	char chunk[8192];

	for (size_t at = 0; at < n;) {
		size_t want = n - at < sizeof(chunk) ? n - at : sizeof(chunk);

		if (pread_full(s->old, chunk, want, s->taken + (int64_t)at) != (long)want ||
		    memcmp(chunk, p + at, want) != 0)
			return false;
		at += want;
	}
	return true;
}

/* Begin the new file, with what was made so far (the same as the old file's first
 * bytes). */
static void sink_begin(struct sink *s)
{
	char chunk[8192];

	s->differs = true;
	if (atomic_begin(&s->a, s->path) < 0) {
		s->err = errno;
		return;
	}
	for (int64_t at = 0; at < s->taken;) {
		size_t want = s->taken - at < (int64_t)sizeof(chunk) ? (size_t)(s->taken - at) : sizeof(chunk);

		if (pread_full(s->old, chunk, want, at) != (long)want) {
			s->err = errno ? errno : EIO;
			atomic_abort(&s->a);
			return;
		}
		if (atomic_write(&s->a, chunk, want) < 0) {
			s->err = errno;
			return;
		}
		at += (int64_t)want;
	}
}

/* Take what B holds into S, B emptied. */
static void sink_take(struct sink *s, struct buf *b)
{
	if (b->len && !s->err) {
		if (!s->differs && (s->old < 0 || !old_says(s, b->s, b->len)))
			sink_begin(s);
		if (s->differs && !s->err && atomic_write(&s->a, b->s, b->len) < 0)
			s->err = errno;
		s->taken += (int64_t)b->len;
	}
	b->len = 0;
}

/* B into S once it holds a piece worth taking (S NULL: B keeps everything). */
static void sink_maybe(struct sink *s, struct buf *b)
{
	if (s && b->len >= SINK_PIECE)
		sink_take(s, b);
}

/* The rest of B, then the new file in place (0), or nothing when it says what the old
 * one said (0); -1 (errno set) when it cannot be written, -2 as atomic_commit. */
static int sink_end(struct sink *s, struct buf *b)
{
	char c;

	sink_take(s, b);
	if (!s->differs && !s->err && pread_full(s->old, &c, 1, s->taken) != 0)
		sink_begin(s); /* the old file is longer */
	if (s->err) {
		errno = s->err;
		return -1;
	}
	return s->differs ? atomic_commit(&s->a, true) : 0;
}

/* The events [FROM, TO) of one run, grouped; ENTRIES is scratch of at least TO - FROM;
 * OUT (NULL: none) takes B's text as it grows. */
static void run(struct buf *b, struct journal *j, size_t from, size_t to, struct entry *entries, struct sink *out)
{
	const struct jevent *first = journal_event(j, from);
	char day[16], hm[16];
	size_t n = 0;
	int last = -1;
	const char *lasttype = NULL;

	for (size_t i = from; i < to; i++) {
		const struct jevent *e = journal_event(j, i);
		const char *type;
		enum section s = section_of(e, &type);

		if (s != SEC_NONE)
			entries[n++] = (struct entry){type, (uint32_t)i, s};
	}
	utc(first->time_ms, "%Y-%m-%d", day, sizeof(day));
	utc(first->time_ms, "%H:%M", hm, sizeof(hm));
	buf_printf(b, "\n## Run %s — %s %s UTC\n", first->x->run, day, hm);
	if (first->kind == EV_RESET)
		buf_puts(b, "\nThe journal was started again here (`orch --reset`).\n");
	qsort(entries, n, sizeof(*entries), entry_cmp);
	for (size_t k = 0; k < n; k++) {
		const struct entry *x = &entries[k];

		if ((int)x->sec != last || (x->sec == SEC_TYPE && strcmp(x->type, lasttype) != 0)) {
			buf_puts(b, "\n### ");
			if (x->sec == SEC_TYPE)
				md_escape(b, x->type);
			else
				buf_puts(b, section_titles[x->sec]);
			buf_puts(b, "\n\n");
			last = (int)x->sec, lasttype = x->type;
		}
		entry(b, journal_event(j, x->ev), day);
		sink_maybe(out, b);
	}
	if (!n && first->kind != EV_RESET)
		buf_puts(b, "\nNothing changed.\n");
}

/* The runs of J into B, newest first. */
static void runs(struct buf *b, struct journal *j, struct sink *out)
{
	size_t nev = journal_count(j), end = nev;
	struct entry *entries = xcalloc(nev ? nev : 1, sizeof(*entries));

	/* each run's events are together: one orch holds the lock at a time */
	while (end > 0) {
		size_t start = end - 1;
		const char *id = journal_event(j, start)->x->run;

		while (start > 0 && strcmp(journal_event(j, start - 1)->x->run, id) == 0)
			start--;
		run(b, j, start, end, entries, out);
		end = start;
	}
	free(entries);
}

/* The runs of the journals --reset kept (journal.jsonl.N, N = 1, 2, ... up to the first
 * missing one), newest first; NULL when one of them cannot be read (said by the
 * journal). They do not change: made once per process and plan. */
static const char *kept_runs(struct graph *g, const struct journal *cur)
{
	static struct buf text;
	static char *made_for; /* the state directory they were made for */
	static int made_n;     /* and how many there were */
	static bool bad;       /* one of them could not be read */
	int n = journal_kept_count(g, cur);

	if (made_for && strcmp(made_for, g->statedir) == 0 && made_n == n)
		return bad ? NULL : buf_str(&text);
	free(made_for);
	made_for = xstrdup(g->statedir);
	made_n = n;
	text.len = 0;
	bad = false;
	for (; n > 0 && !bad; n--) {
		struct journal *j = journal_open_kept(g, n);

		if (j) {
			runs(&text, j, NULL);
			journal_close(j);
		} else {
			bad = true;
		}
	}
	return bad ? NULL : buf_str(&text);
}

/* changelog_render, OUT (NULL: none) taking B's text as it grows. */
static int render(struct graph *g, struct journal *j, struct buf *b, struct sink *out)
{
	const char *kept = kept_runs(g, j);

	if (!kept)
		return -1;
	if (g->state)
		buf_printf(b, "%sorch.events; `orch --changelog` writes it again. Edits here are lost. -->\n", MARK);
	else
		buf_printf(b, "%s%s/journal.jsonl; `orch --changelog` writes it again. Edits here are lost. -->\n", MARK,
		           g->statedir);
	buf_puts(b, "# Changelog of ");
	md_escape(b, g->name);
	buf_puts(b, "\n");
	if (j)
		runs(b, j, out);
	buf_puts(b, kept);
	if ((!j || !journal_count(j)) && !*kept)
		buf_puts(b, "\nNothing has run yet.\n");
	return 0;
}

int changelog_render(struct graph *g, struct journal *j, struct buf *b)
{
	return render(g, j, b, NULL);
}

int changelog_write(struct graph *g, struct journal *j, const char *path, bool quiet)
{
	/* kept by a run or an action, a failure is a warning; asked for, it is the error */
	void (*say)(const char *, ...) = quiet ? warn : error;
	struct buf b = {0};
	struct sink s = {.old = -1};
	char head[sizeof(MARK)];
	long got = 0;
	int rc;

	if (!path && !(path = g->changelog))
		return 0;
	s.path = path;
	if ((s.old = open(path, O_RDONLY | O_CLOEXEC)) < 0 && errno != ENOENT) {
		say("cannot read the changelog %s:", path);
		return -1;
	}
	if (s.old >= 0 && (got = pread_full(s.old, head, strlen(MARK), 0)) < 0) {
		say("cannot read the changelog %s:", path);
		close(s.old);
		return -1;
	}
	if (got > 0 && ((size_t)got < strlen(MARK) || memcmp(head, MARK, strlen(MARK)) != 0)) {
		say("%s was not written by orch: left as it is (name another file with [orch] changelog, or none)",
		    path);
		close(s.old);
		return 1;
	}
	if (s.old < 0) { /* a new file: its directory first */
		char *dir = xstrdup(path), *slash;

		if ((slash = strrchr(dir, '/')) && slash != dir) {
			*slash = '\0';
			if (os_mkdirs(dir, 0755) < 0)
				say("cannot create %s:", dir);
		}
		free(dir);
	}
	if (render(g, j, &b, &s) < 0) {
		say("the changelog %s is left as it was: a journal it is made from cannot be read", path);
		if (s.differs && !s.err)
			atomic_abort(&s.a);
		if (s.old >= 0)
			close(s.old);
		buf_free(&b);
		return -2;
	}
	if ((rc = sink_end(&s, &b)) < 0)
		say("cannot write the changelog %s:", path);
	if (s.old >= 0)
		close(s.old);
	if (rc == 0 && !quiet)
		printf("wrote the changelog to %s\n", path);
	buf_free(&b);
	return rc;
}
