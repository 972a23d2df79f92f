/* journal.c — the plan's memory: an append-only JSON Lines journal, the plan lock, and
 * compaction.
 *
 * .orch/journal.jsonl holds one event per line, each a JSON object written by a single
 * write() and ending in a newline (docs/journal.md has the same with examples):
 *
 *	{"v":1,"t":"2026-11-26T05:12:00.123Z","run":"20261126T051200-4821","ev":"ok",
 *	 "step":"build-api","sig":"<32 hex>","attempt":1,"exit":0,
 *	 "start":"2026-11-26T05:10:48.000Z","dur_ms":72000,"host":"ci-3","user":"ana",
 *	 "log":".orch/logs/build-api.1.log",
 *	 "def":{"run":"<16 hex>"},"inputs":{"src/api/a.ts":"<16 hex>"},
 *	 "deps":{"create-tables":"<16 hex>"}}
 *
 *	v       format version, 1. A line with a higher version is an error.
 *	t       when the event was written, UTC, millisecond precision
 *	run     the run id of the orch process that wrote it (start time UTC + pid)
 *	ev      start, ok, fail, interrupted, skip, approve, force, rollback-start,
 *	        rollback-ok, rollback-fail, milestone, milestone-lost, reset
 *	step    the step (or milestone) name; absent for plan-wide events (reset)
 *	sig     the node's signature (XXH3-128) when the event was written; for ok,
 *	        approve and milestone the one it completed with
 *	attempt, exit, signal, timeout, start, dur_ms, log, msg
 *	        the attempt: number, exit status, signal, timed out, start time,
 *	        duration, log file (relative to the plan), a one-line message
 *	host, user, author
 *	        where and by whom: user is $USER, author os_author() (ORCH_AUTHOR, git's
 *	        user.name, $USER), written only when it differs from user
 *	def, inputs, deps
 *	        with completions only: 64-bit hashes of each definition key, input
 *	        file and dependency signature, so that --why can name what changed
 *
 * Loading reads every line. A last line without its newline, or an unparsable last
 * line, is a torn write from a crash: it is ignored with a warning and cut off before
 * the next append (only by the process holding the lock). Any other bad line is damage:
 * exit 4 naming file:line, and the file is never written to.
 *
 * Durability: events are written at once (one write() each) but made durable by
 * journal_sync, one fdatasync for everything since the last one; the engine calls it
 * once per turn of its event loop and before it starts a step that needs a step that
 * just succeeded. A start that is lost in a crash reads as "not run", which is safe.
 *
 * Compaction: at open, under the lock, when the file is over 1 MiB and more than 1.5
 * times its live content (per node: its last completion and everything from its last
 * deciding event on), the live lines are copied to a temp file (in 1 MiB blocks, never
 * the journal whole), fsynced, renamed over the journal, and the directory fsynced;
 * when that last fsync fails, the new journal stays and nothing more is appended.
 *
 * The lock: flock(LOCK_EX) on .orch/lock, which holds the holder's pid for messages. The
 * kernel drops it when its holder dies, so there is no stale lock to clean up.
 *
 * With [orch] state the same lines are rows of orch.events in PostgreSQL instead
 * (pgstate.c, docs/team.md): only where bytes are read (load, journal_parts), appended
 * (write_line), synced (journal_sync: one INSERT), reset and locked does the journal
 * ask pgstate instead of the file; what the lines say and how they are kept in memory is
 * the same. No compaction and no index then: rows are never rewritten. */
#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "hash.h"
#include "jindex.h"
#include "os.h"
#include "pgstate.h"
#include "statcache.h"

/* Version 2 lines end in their checksum; version 1 lines (no checksum) still load. */
enum { FORMAT_VERSION = 2, FORMAT_OLDEST = 1 };
/* A version 2 line ends in ,"ck":"<16 hex>"}: XXH3-64 of the bytes before the comma. */
static const char CK_KEY[] = ",\"ck\":\"";
enum { CK_TAIL = sizeof(CK_KEY) - 1 + 16 + 2 };
/* compact when the file is over COMPACT_MIN bytes and 1.5 times its live part */
enum { COMPACT_MIN = 1 << 20 };

struct journal {
	struct graph *g;
	char *dir;     /* absolute .orch */
	char *path;    /* absolute .orch/journal.jsonl */
	char *display; /* path for messages */
	int fd;        /* -1 when there is no file (yet) */
	struct pgstate *pgs; /* the lines are rows in a database instead ([orch] state), or NULL */
	int lockfd;
	bool locked;
	bool dirty;    /* appended since the last sync */
	bool failed;   /* a write or sync failed: nothing more is appended */
	int64_t size;  /* bytes in the file */
	int64_t synced; /* bytes known durable: at open, and at each successful sync */
	size_t lines;  /* lines in the file */
	char runid[48];
	char host[256];
	char *user;
	const char *author; /* os_author(), asked when the lock is taken: only writers record it */
	struct jevent *ev;
	size_t nev, evcap;
	struct arena strs;   /* the strings the events point to */
	struct arena ixstrs; /* those of the events taken from the index */
	struct jrecent recent; /* the extras kept last, for jextra_intern */
	struct statcache *cache;
	int64_t indexed;  /* bytes of the file the index vouched for (or was written for) */
	bool kept;        /* a journal kept by --reset (journal.jsonl.N): read only, no index */
};

static const char *kindnames[] = {
	[EV_START] = "start",
	[EV_OK] = "ok",
	[EV_FAIL] = "fail",
	[EV_INTERRUPTED] = "interrupted",
	[EV_SKIP] = "skip",
	[EV_APPROVE] = "approve",
	[EV_FORCE] = "force",
	[EV_ROLLBACK_START] = "rollback-start",
	[EV_ROLLBACK_OK] = "rollback-ok",
	[EV_ROLLBACK_FAIL] = "rollback-fail",
	[EV_MILESTONE] = "milestone",
	[EV_MILESTONE_LOST] = "milestone-lost",
	[EV_RESET] = "reset",
	[EV_HOLD] = "hold",
	[EV_CHECK] = "check",
	[EV_METRIC] = "metric",
};
enum { NKINDS = sizeof(kindnames) / sizeof(kindnames[0]) };

const char *journal_kindname(enum evkind k)
{
	return (unsigned)k < NKINDS ? kindnames[k] : "?";
}

static int kind_parse(const char *s)
{
	for (int i = 0; i < NKINDS; i++)
		if (strcmp(s, kindnames[i]) == 0)
			return i;
	return -1;
}

bool journal_is_completion(enum evkind k)
{
	return k == EV_OK || k == EV_APPROVE || k == EV_MILESTONE;
}

/* ---- time ---- */

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + (int64_t)doe - 719468;
}

static void format_time(int64_t ms, char out[48])
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&s, &tm);
	snprintf(out, 48, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
	         tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

static int digits(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* Parse "YYYY-MM-DDTHH:MM:SS[.mmm]Z"; returns -1 when malformed. */
static int64_t parse_time(const char *s)
{
	int y, mo, d, h, mi, se, ms = 0;
	size_t n = strlen(s);

	if (n < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':')
		return -1;
	y = digits(s, 4), mo = digits(s + 5, 2), d = digits(s + 8, 2);
	h = digits(s + 11, 2), mi = digits(s + 14, 2), se = digits(s + 17, 2);
	if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 ||
	    se > 60)
		return -1;
	if (s[19] == '.') {
		if (n != 24 || (ms = digits(s + 20, 3)) < 0 || s[23] != 'Z')
			return -1;
	} else if (n != 20 || s[19] != 'Z') {
		return -1;
	}
	return ((days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400) + h * 3600 + mi * 60 + se) * 1000 + ms;
}

/* ---- small helpers ---- */

const struct jextra jextra_none;

const char *event_name(const struct jevent *e)
{
	return e->x->name ? e->x->name : e->node ? e->node->name : "";
}

/* The string fields of struct jextra, in its order (JEXTRA_STRINGS of them). */
static const size_t jextra_strings[JEXTRA_STRINGS] = {
	offsetof(struct jextra, run),     offsetof(struct jextra, author), offsetof(struct jextra, message),
	offsetof(struct jextra, log),     offsetof(struct jextra, name),   offsetof(struct jextra, boot),
	offsetof(struct jextra, by),      offsetof(struct jextra, component),
};

/* X's string I, and where it is kept (to set it). */
static const char *jextra_string(const struct jextra *x, int i)
{
	return *(const char *const *)((const char *)x + jextra_strings[i]);
}

static const char **jextra_slot(struct jextra *x, int i)
{
	return (const char **)((char *)x + jextra_strings[i]);
}

/* Whether T is the N bytes at S (both NULL: none). */
static bool same_string(const char *t, const char *s, size_t n)
{
	return !s ? !t : t && strlen(t) == n && memcmp(t, s, n) == 0;
}

/* The length of V's string I. */
static size_t string_len(const struct jextra *v, int i, const uint32_t *len)
{
	const char *s = jextra_string(v, i);

	return !s ? 0 : len ? len[i] : strlen(s);
}

const struct jextra *jextra_intern(struct arena *a, const struct jextra *v, const uint32_t *len,
                                   struct jrecent *r)
{
	const struct jextra *newest = r->v[(r->next + JEXTRA_RECENT - 1) % JEXTRA_RECENT];
	struct jextra c = *v, *x;

	for (unsigned k = 1; k <= JEXTRA_RECENT; k++) {
		const struct jextra *was = r->v[(r->next + JEXTRA_RECENT - k) % JEXTRA_RECENT];
		int i = 0;

		if (!was || was->pstart != v->pstart || was->pgid != v->pgid)
			continue;
		while (i < JEXTRA_STRINGS && same_string(jextra_string(was, i), jextra_string(v, i), string_len(v, i, len)))
			i++;
		if (i == JEXTRA_STRINGS)
			return was;
	}
	for (int i = 0; i < JEXTRA_STRINGS; i++) {
		const char **f = jextra_slot(&c, i), *had = newest ? jextra_string(newest, i) : NULL;
		size_t n = string_len(v, i, len);

		if (*f)
			*f = same_string(had, *f, n) ? had : arena_strndup(a, *f, n);
	}
	x = arena_alloc(a, sizeof(*x));
	*x = c;
	r->v[r->next++ % JEXTRA_RECENT] = x;
	return x;
}

static struct jevent *new_event(struct journal *j)
{
	if (j->nev == j->evcap) {
		j->evcap = j->evcap ? j->evcap * 2 : 256;
		j->ev = xreallocarray(j->ev, j->evcap, sizeof(*j->ev));
	}
	memset(&j->ev[j->nev], 0, sizeof(j->ev[0]));
	j->ev[j->nev].x = &jextra_none;
	return &j->ev[j->nev++];
}

/* ---- loading ---- */

/* Whether LINE (LEN bytes) ends in the checksum of the bytes before it. */
static bool checksum_ok(const char *line, size_t len)
{
	char hex[17];

	if (len < CK_TAIL + 1 || memcmp(line + len - CK_TAIL, CK_KEY, sizeof(CK_KEY) - 1) != 0 ||
	    memcmp(line + len - 2, "\"}", 2) != 0)
		return false;
	hash64_hex(hash_bytes(line, len - CK_TAIL), hex);
	return memcmp(line + len - CK_TAIL + sizeof(CK_KEY) - 1, hex, 16) == 0;
}

/* Parse one line into a new event; returns NULL with a reason in ERR on damage. */
static const char *parse_line(struct journal *j, const char *line, size_t len, struct jevent *e)
{
	static char err[256];
	json_error_t jerr;
	json_t *o, *v;
	const char *s, *name;
	int k;

	if (!(o = json_loadb(line, len, 0, &jerr))) {
		snprintf(err, sizeof(err), "not JSON (%s at column %d)", jerr.text, jerr.column);
		return err;
	}
	if (!json_is_object(o)) {
		json_decref(o);
		return "not a JSON object";
	}
	v = json_object_get(o, "v");
	if (!json_is_integer(v)) {
		json_decref(o);
		return "no format version \"v\"";
	}
	if (json_integer_value(v) < FORMAT_OLDEST || json_integer_value(v) > FORMAT_VERSION) {
		snprintf(err, sizeof(err), "format version %lld, but this orch reads versions %d to %d%s",
		         (long long)json_integer_value(v), FORMAT_OLDEST, FORMAT_VERSION,
		         json_integer_value(v) > FORMAT_VERSION ? " (written by a newer orch)" : "");
		json_decref(o);
		return err;
	}
	if (json_integer_value(v) >= 2 && !checksum_ok(line, len)) {
		json_decref(o);
		return "its checksum does not match its bytes (the line was changed after orch wrote it)";
	}
	if (!(s = json_string_value(json_object_get(o, "ev"))) || (k = kind_parse(s)) < 0) {
		snprintf(err, sizeof(err), "unknown event \"%.40s\"", s ? s : "(none)");
		json_decref(o);
		return err;
	}
	e->kind = (enum evkind)k;
	if (!(s = json_string_value(json_object_get(o, "t"))) || (e->time_ms = parse_time(s)) < 0) {
		json_decref(o);
		return "no valid time \"t\"";
	}
	s = json_string_value(json_object_get(o, "step"));
	if (!s && e->kind != EV_RESET) {
		json_decref(o);
		return "no \"step\"";
	}
	if (s)
		e->node = graph_find(j->g, s);
	name = s && !e->node ? s : NULL;
	if ((v = json_object_get(o, "sig"))) {
		struct hash128 h;

		if (!(s = json_string_value(v)) || strlen(s) != 32 || hash128_parse(s, &h) < 0) {
			json_decref(o);
			return "\"sig\" is not 32 hex digits";
		}
		e->sig = h;
		e->hassig = true;
	}
	e->attempt = (int)json_integer_value(json_object_get(o, "attempt"));
	v = json_object_get(o, "exit");
	e->exit_status = v ? (int)json_integer_value(v) : -1;
	e->signal = (int)json_integer_value(json_object_get(o, "signal"));
	e->timed_out = json_is_true(json_object_get(o, "timeout"));
	if ((s = json_string_value(json_object_get(o, "start"))))
		e->start_ms = parse_time(s) > 0 ? parse_time(s) : 0;
	v = json_object_get(o, "dur_ms");
	e->duration_ms = v ? json_integer_value(v) : -1;
	{
		const char *run = json_string_value(json_object_get(o, "run"));
		const char *author = json_string_value(json_object_get(o, "author"));
		struct jextra x = {
			.run = run ? run : "",
			.author = author ? author : json_string_value(json_object_get(o, "user")),
			.message = json_string_value(json_object_get(o, "msg")),
			.log = json_string_value(json_object_get(o, "log")),
			.name = name,
			.boot = json_string_value(json_object_get(o, "boot")),
			.by = json_string_value(json_object_get(o, "by")),
			.component = json_string_value(json_object_get(o, "component")),
			.pstart = json_integer_value(json_object_get(o, "pstart")),
			.pgid = (int)json_integer_value(json_object_get(o, "pgid")),
		};

		e->x = jextra_intern(&j->strs, &x, NULL, &j->recent);
	}
	json_decref(o);
	return NULL;
}

static void free_events(struct journal *j)
{
	arena_free(&j->strs);
	memset(&j->recent, 0, sizeof(j->recent));
	arena_free(&j->ixstrs);
	j->nev = 0;
}

/* ---- the index (jindex.c) ---- */

static char *index_path(const struct journal *j)
{
	return xasprintf("%s/journal.idx", j->dir);
}

/* Take the events of the journal's first bytes (of SIZE) from the index when it vouches
 * for them. Returns the bytes covered (0: none), with *LINES the lines. */
static int64_t index_load(struct journal *j, int64_t size, size_t *lines)
{
	char *path = index_path(j);
	struct jindex ix = {0};
	int64_t covered = jindex_load(path, j->fd, size, j->g, &ix);

	free(path);
	if (covered <= 0)
		return 0;
	free(j->ev);
	j->ev = ix.ev;
	j->nev = ix.nev;
	j->evcap = ix.nev;
	arena_free(&j->ixstrs);
	j->ixstrs = ix.strs;
	*lines = ix.nev;
	return covered;
}

/* Write the index for the whole journal (when it is large and the index is behind by
 * more than a tail worth parsing: an action's line or two at the end of a large journal
 * is read as a tail by the next load, not worth rewriting an index of every event). */
static void index_save(struct journal *j)
{
	char *path;

	if (!j->locked || j->size < JINDEX_MIN || j->indexed == j->size || j->nev != j->lines)
		return;
	if (j->indexed > 0 && j->size - j->indexed < JINDEX_MIN)
		return;
	path = index_path(j);
	if (jindex_save(path, j->fd, j->size, j->ev, j->nev) == 0)
		j->indexed = j->size;
	free(path);
}

/* Load the journal: the events the index vouches for, then the lines after them, read
 * into memory (only those: a large journal's first bytes are hashed in chunks, never
 * held whole). Returns 0, or EXIT_JOURNAL after reporting damage. */
static int load(struct journal *j)
{
	struct stat st;
	char *text, *p, *end;
	size_t lineno = 0;
	int64_t good = 0, base = 0; /* the file offset of text[0] */

	if (j->pgs) { /* the rows, as the lines of a file */
		size_t len;
		int r = pgstate_read(j->pgs, &text, &len);

		if (r)
			return r;
		st.st_size = (off_t)len;
	} else if (fstat(j->fd, &st) < 0) {
		error("%s:", j->display);
		return EXIT_JOURNAL;
	}
	if (!j->kept && !j->pgs && st.st_size >= JINDEX_MIN && (j->indexed = index_load(j, st.st_size, &lineno)) > 0)
		base = good = j->indexed;
	if (!j->pgs) {
		long got;

		text = xmalloc((size_t)(st.st_size - base) + 1);
		if ((got = pread_full(j->fd, text, (size_t)(st.st_size - base), base)) < 0) {
			error("reading %s:", j->display);
			free(text);
			return EXIT_JOURNAL;
		}
		st.st_size = (off_t)(base + got); /* fewer when the file was cut meanwhile */
	}
	st.st_size -= base; /* from here: the bytes in text */
	if (!j->pgs)
		text[st.st_size] = '\0';
	end = text + st.st_size;
	for (p = text; p < end;) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		struct jevent *e;
		const char *why;

		lineno++;
		e = new_event(j);
		e->line = (uint32_t)lineno;
		e->off = base + (p - text);
		e->len = (uint32_t)len;
		why = !nl ? "no newline at the end" : memchr(p, '\0', len) ? "NUL bytes" : NULL;
		/* an event keeps its line and length in 32 bits; orch writes neither so large */
		if (!why && (len > UINT32_MAX || lineno > UINT32_MAX))
			why = len > UINT32_MAX ? "a line of 4 GiB or more" : "a line past the 4,294,967,295th";
		if (!why && len == 0)
			why = "empty line";
		if (!why)
			why = parse_line(j, p, len, e);
		if (why) {
			j->nev--;
			if (!nl) {
				/* a last line without its newline: a write torn by a crash. A complete
				 * line that does not read is damage, wherever it is. */
				if (j->locked) {
					warn("%s:%zu: ignoring a torn last line (%s): orch stopped while writing it",
					     j->display, lineno, why);
					if (ftruncate(j->fd, (off_t)good) < 0) {
						error("cannot cut the torn line off %s:", j->display);
						free(text);
						return EXIT_JOURNAL;
					}
				}
				lineno--;
				break;
			}
			error("%s:%zu: the journal is damaged: %s", j->display, lineno, why);
			if (j->pgs) {
				char *row = pgstate_row(j->pgs, lineno);

				error("orch does not change a journal it cannot read: put the row back as orch wrote it "
				      "(%s), or move the plan's rows away to start over", row);
				free(row);
			} else
				error("orch does not change a journal it cannot read: repair or remove that line, "
				      "or move the file away to start over");
			free(text);
			return EXIT_JOURNAL;
		}
		good = base + ((nl + 1) - text);
		p = nl + 1;
	}
	j->size = good;
	j->lines = lineno;
	free(text);
	return 0;
}

/* ---- compaction ---- */

int journal_compact(struct journal *j, const bool *live)
{
	enum { WINDOW = 1 << 20, BLOCK = 1 << 20 };
	struct atomic a;
	char *win = NULL, *blk = NULL;
	int64_t wbase = 0, wlen = 0; /* win holds the file's bytes [wbase, wbase + wlen) */
	size_t n = 0, wcap = 0, blen = 0; /* blk holds blen bytes not yet written */
	int r;

	if (!j->locked) {
		error("compacting %s needs the plan lock", j->display);
		return -1;
	}
	/* the live lines read through a window of the old file, a megabyte at a time, and
	 * written to the new one in blocks of a megabyte (a longer line by itself): memory
	 * does not grow with the journal */
	/* a compaction that cannot be written leaves the journal as it was: nothing is lost,
	 * the run goes on (exit 0), so it is said as a warning */
	if (atomic_begin(&a, j->path) < 0) {
		warn("cannot compact %s (it is kept as it was):", j->display);
		return -1;
	}
	blk = xmalloc(BLOCK);
	for (size_t i = 0; i < j->nev; i++) {
		struct jevent *e = &j->ev[i];
		int64_t need = (int64_t)e->len + 1;
		const char *line;

		if (!live[i])
			continue;
		if (e->off < wbase || e->off + need > wbase + wlen) {
			size_t want = need > WINDOW ? (size_t)need : WINDOW;
			ssize_t got;

			if (want > wcap)
				win = xreallocarray(win, wcap = want, 1);
			do
				got = pread(j->fd, win, want, (off_t)e->off);
			while (got < 0 && errno == EINTR);
			if (got < 0) {
				error("reading %s:", j->display);
				goto fail;
			}
			wbase = e->off;
			wlen = got;
		}
		if (e->off + need > wbase + wlen || win[e->off - wbase + (int64_t)e->len] != '\n') {
			error("%s changed while orch was compacting it", j->display);
			goto fail;
		}
		line = win + (e->off - wbase);
		if (blen + (size_t)need > BLOCK) {
			if (atomic_write(&a, blk, blen) < 0)
				goto failed_write;
			blen = 0;
		}
		if ((size_t)need > BLOCK) {
			if (atomic_write(&a, line, (size_t)need) < 0)
				goto failed_write;
			continue;
		}
		memcpy(blk + blen, line, (size_t)need);
		blen += (size_t)need;
	}
	if (blen && atomic_write(&a, blk, blen) < 0)
		goto failed_write;
	if ((r = atomic_commit(&a, true)) == -2) {
		/* the new journal is in place but its name not known durable: a crash could
		 * bring the old one back, and what is appended now would be lost with it. Like
		 * a failed fdatasync: nothing more is appended. */
		error("cannot make the compacted %s durable: fsync %s:", j->display, j->dir);
		j->failed = true;
	} else if (r < 0) {
		goto failed_write;
	}
	free(blk);
	free(win);
	/* the new file: reopen, renumber the events */
	close(j->fd);
	if ((j->fd = open(j->path, O_RDWR | O_APPEND | O_CLOEXEC)) < 0)
		fatalx(EXIT_JOURNAL, "reopening %s:", j->display);
	j->size = 0;
	for (size_t i = 0; i < j->nev; i++) {
		if (!live[i])
			continue;
		j->ev[n] = j->ev[i];
		j->ev[n].line = (uint32_t)(n + 1);
		j->ev[n].off = j->size;
		j->size += (int64_t)j->ev[n].len + 1;
		n++;
	}
	j->nev = n;
	j->lines = n;
	j->synced = j->size;
	j->indexed = 0; /* the index is of the old file: journal_close writes the new one's */
	/* the dead events' slots go back (what state_load computes next does not sit on
	 * top of them) */
	j->evcap = n ? n : 1;
	j->ev = xreallocarray(j->ev, j->evcap, sizeof(*j->ev));
	return 0;
failed_write:
	warn("cannot compact %s (it is kept as it was):", j->display);
	goto failed;
fail:
	atomic_abort(&a);
failed:
	free(blk);
	free(win);
	return -1;
}

bool journal_worth_compacting(const struct journal *j, int64_t live_bytes)
{
	/* the rows of a database are never rewritten: orch.events is append-only */
	return j->locked && !j->pgs && j->size >= COMPACT_MIN && j->size > live_bytes + live_bytes / 2;
}

int64_t journal_size(const struct journal *j)
{
	return j ? j->size : 0;
}

/* ---- opening ---- */

static int take_lock(struct journal *j)
{
	char *path = xasprintf("%s/lock", j->dir), buf[32];
	ssize_t n;

	j->lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (j->lockfd < 0) {
		error("cannot record progress: cannot open %s for writing:", path);
		free(path);
		return EXIT_RECORD;
	}
	if (flock(j->lockfd, LOCK_EX | LOCK_NB) < 0) {
		int saved = errno;
		long pid = 0;

		if (saved != EWOULDBLOCK) {
			errno = saved;
			error("cannot lock %s:", path);
			close(j->lockfd);
			j->lockfd = -1;
			free(path);
			return EXIT_RECORD;
		} else {
			n = pread(j->lockfd, buf, sizeof(buf) - 1, 0);
			buf[n > 0 ? n : 0] = '\0';
			pid = strtol(buf, NULL, 10);
			if (pid > 0)
				error("another orch (pid %ld) is running this plan (lock %s)", pid, path);
			else
				error("another orch is running this plan (lock %s)", path);
		}
		close(j->lockfd);
		j->lockfd = -1;
		free(path);
		return EXIT_LOCKED;
	}
	debug("took the plan lock %s", path);
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(j->lockfd, 0) < 0 || pwrite(j->lockfd, buf, (size_t)n, 0) != n)
		warn("cannot write the pid into %s:", path);
	j->locked = true;
	free(path);
	return 0;
}

static void identity(struct journal *j)
{
	time_t now = time(NULL);
	struct tm tm;

	if (gethostname(j->host, sizeof(j->host)) < 0)
		strcpy(j->host, "unknown");
	j->host[sizeof(j->host) - 1] = '\0';
	j->user = xstrdup(user_name());
	gmtime_r(&now, &tm);
	snprintf(j->runid, sizeof(j->runid), "%04d%02d%02dT%02d%02d%02d-%ld", tm.tm_year + 1900, tm.tm_mon + 1,
	         tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long)getpid());
}

static void display_path(struct journal *j)
{
	char *cwd = getcwd(NULL, 0);

	if (cwd && strcmp(cwd, j->g->dir) == 0)
		j->display = xasprintf("%s/journal.jsonl", j->g->statedir);
	else
		j->display = xstrdup(j->path);
	free(cwd);
}

/* Create the state directory: .orch, and .orch/TARGET for a target, each made durable
 * in its parent. Returns 0 or EXIT_RECORD. */
static int make_state_dir(struct journal *j)
{
	char *dir = xstrdup(j->dir), *parent = xstrdup(j->g->dir);
	/* the components of statedir below the plan's directory, one at a time */
	size_t at = strlen(j->g->dir) + 1;
	int rc = 0;

	while (rc == 0 && at <= strlen(j->dir)) {
		size_t end = at + strcspn(j->dir + at, "/");

		dir[end] = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
			error("cannot record progress: cannot create %s:", dir);
			rc = EXIT_RECORD;
		} else if (fsync_dir(parent) < 0) {
			error("cannot record progress: cannot make %s durable: fsync %s:", dir, parent);
			rc = EXIT_RECORD;
		}
		free(parent);
		parent = xstrdup(dir);
		dir[end] = j->dir[end];
		at = end + 1;
	}
	free(dir);
	free(parent);
	return rc;
}

/* journal_try_open for a journal in a database ([orch] state): the lock is the
 * database's, the lines its rows; .orch is made (for the logs) only to write. */
static int open_pgstate(struct journal *j, int flags, struct journal **out)
{
	struct stat st;
	int r;

	if ((flags & JOURNAL_CREATE) && stat(j->dir, &st) < 0 && (r = make_state_dir(j)) != 0) {
		journal_close(j);
		return r;
	}
	if ((r = pgstate_open(j->g, flags & JOURNAL_LOCK, &j->pgs)) != 0) {
		journal_close(j);
		return r;
	}
	free(j->display);
	j->display = xstrdup(pgstate_display(j->pgs));
	if ((j->locked = flags & JOURNAL_LOCK))
		j->author = os_author(); /* as for the file: only a writer records it */
	if ((r = load(j)) != 0) {
		journal_close(j);
		return r;
	}
	j->synced = j->size;
	*out = j;
	return 0;
}

int journal_try_open(struct graph *g, int flags, struct journal **out)
{
	struct journal *j;
	struct stat st;
	int r;

	*out = NULL;
	j = xcalloc(1, sizeof(*j));
	j->g = g;
	j->fd = j->lockfd = -1;
	j->dir = xasprintf("%s/%s", g->dir, g->statedir);
	j->path = xasprintf("%s/journal.jsonl", j->dir);
	display_path(j);
	identity(j);
	if (g->state) /* in a database: .orch keeps the logs and caches */
		return open_pgstate(j, flags, out);
	if (stat(j->dir, &st) < 0) {
		int missing = errno == ENOENT;

		if (!missing || !(flags & JOURNAL_CREATE)) {
			if (!missing)
				error("%s:", j->dir);
			journal_close(j);
			return missing ? 0 : EXIT_JOURNAL;
		}
		if ((r = make_state_dir(j)) != 0) {
			journal_close(j);
			return r;
		}
	}
	if ((flags & JOURNAL_LOCK) && (r = take_lock(j)) != 0) {
		journal_close(j);
		return r;
	}
	if (j->locked)
		j->author = os_author();
	if (j->locked) {
		bool existed = access(j->path, F_OK) == 0;

		j->fd = open(j->path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
		if (j->fd < 0) {
			error("cannot record progress: cannot open %s for writing:", j->display);
			journal_close(j);
			return EXIT_RECORD;
		}
		if (!existed && fsync_dir(j->dir) < 0) {
			error("cannot record progress: cannot make %s durable: fsync %s:", j->display, j->dir);
			journal_close(j);
			return EXIT_RECORD;
		}
	} else {
		j->fd = open(j->path, O_RDONLY | O_CLOEXEC);
		if (j->fd < 0 && errno == ENOENT) {
			*out = j; /* an empty journal */
			return 0;
		}
	}
	if (j->fd < 0) {
		error("cannot open %s:", j->display);
		journal_close(j);
		return EXIT_JOURNAL;
	}
	if ((r = load(j)) != 0) {
		journal_close(j);
		return r;
	}
	j->synced = j->size;
	*out = j;
	return 0;
}

int journal_kept_count(struct graph *g, const struct journal *cur)
{
	int n = 0;

	if (cur && cur->pgs)
		return pgstate_journal(cur->pgs);
	for (;; n++) {
		char *path = xasprintf("%s/%s/journal.jsonl.%d", g->dir, g->statedir, n + 1);
		bool there = access(path, F_OK) == 0;

		free(path);
		if (!there)
			return n;
	}
}

/* journal_open_kept with the state in a database: kept N is its journal N - 1. */
static struct journal *open_kept_rows(struct journal *j, int n)
{
	if (pgstate_open(j->g, false, &j->pgs) != 0) {
		journal_close(j);
		return NULL;
	}
	pgstate_use_journal(j->pgs, n - 1);
	j->display = xstrdup(pgstate_display(j->pgs));
	if (load(j) != 0) {
		journal_close(j);
		return NULL;
	}
	return j;
}

struct journal *journal_open_kept(struct graph *g, int n)
{
	struct journal *j = xcalloc(1, sizeof(*j));
	char *cwd;

	j->g = g;
	j->fd = j->lockfd = -1;
	j->kept = true;
	j->dir = xasprintf("%s/%s", g->dir, g->statedir);
	j->user = xstrdup(user_name());
	if (g->state)
		return open_kept_rows(j, n);
	cwd = getcwd(NULL, 0);
	j->path = xasprintf("%s/journal.jsonl.%d", j->dir, n);
	if (cwd && strcmp(cwd, g->dir) == 0)
		j->display = xasprintf("%s/journal.jsonl.%d", g->statedir, n);
	else
		j->display = xstrdup(j->path);
	free(cwd);
	if ((j->fd = open(j->path, O_RDONLY | O_CLOEXEC)) < 0) {
		if (errno != ENOENT)
			error("cannot open %s:", j->display);
		journal_close(j);
		return NULL;
	}
	if (load(j) != 0) {
		journal_close(j);
		return NULL;
	}
	return j;
}

struct journal *journal_open(struct graph *g, int flags)
{
	struct journal *j;
	int r = journal_try_open(g, flags, &j);

	if (r)
		exit(r);
	return j;
}

/* ---- appending ---- */

static json_t *parts_object(const struct sigpart *parts, size_t n, enum partkind kind)
{
	json_t *o = json_object();
	char hex[17];

	for (size_t i = 0; i < n; i++)
		if (parts[i].kind == kind)
			json_object_set_new(o, parts[i].name, json_string(hash64_hex(parts[i].h, hex)));
	return o;
}

static bool has_kind(const struct sigpart *parts, size_t n, enum partkind kind)
{
	for (size_t i = 0; i < n; i++)
		if (parts[i].kind == kind)
			return true;
	return false;
}

/* Write one whole line with one write(). On a failed or short write, cut the file back
 * to its last whole line, so that nothing half-written stays in the middle of the
 * journal, and append nothing more: what is recorded must be what happened. */
static int write_line(struct journal *j, const char *s, size_t n)
{
	ssize_t w;

	if (j->failed) {
		error("%s: not recorded: an earlier write or sync of the journal failed", j->display);
		return -1;
	}
	if (j->pgs) { /* written by the next sync, in one transaction */
		pgstate_append(j->pgs, s, n);
		return 0;
	}
	do
		w = write(j->fd, s, n);
	while (w < 0 && errno == EINTR);
	if (w == (ssize_t)n)
		return 0;
	if (w >= 0)
		errno = ENOSPC; /* a short write: the disk is full */
	error("writing %s:", j->display);
	j->failed = true;
	if (ftruncate(j->fd, (off_t)j->size) < 0)
		error("cannot cut %s back to its last whole line:", j->display);
	return -1;
}

long journal_append(struct journal *j, enum evkind kind, struct node *n, const struct outcome *o)
{
	json_t *obj = json_object();
	char t[48], *line, hex[17];
	struct buf b = {0};
	const char *sig = n && o ? o->sig : NULL;
	int64_t now = wall_ms();
	struct jevent *e;
	size_t len;

	if (!j->locked || (j->fd < 0 && !j->pgs)) {
		json_decref(obj);
		error("%s: cannot record an event without holding the plan lock", j->display);
		return -1;
	}
	format_time(now, t);
	json_object_set_new(obj, "v", json_integer(FORMAT_VERSION));
	json_object_set_new(obj, "t", json_string(t));
	json_object_set_new(obj, "run", json_string(j->runid));
	json_object_set_new(obj, "ev", json_string(kindnames[kind]));
	if (n)
		json_object_set_new(obj, "step", json_string(n->name));
	if (sig)
		json_object_set_new(obj, "sig", json_string(sig));
	if (o) {
		if (o->attempt > 0)
			json_object_set_new(obj, "attempt", json_integer(o->attempt));
		if (kind != EV_START && kind != EV_ROLLBACK_START && o->exit_status >= 0 && !o->signal &&
		    !o->timed_out)
			json_object_set_new(obj, "exit", json_integer(o->exit_status));
		if (o->signal)
			json_object_set_new(obj, "signal", json_integer(o->signal));
		if (o->timed_out)
			json_object_set_new(obj, "timeout", json_true());
		if (o->start_ms > 0) {
			format_time(o->start_ms, t);
			json_object_set_new(obj, "start", json_string(t));
		}
		if (kind != EV_START && kind != EV_ROLLBACK_START && (o->duration_ms > 0 || o->start_ms > 0))
			json_object_set_new(obj, "dur_ms", json_integer(o->duration_ms));
		if (kind == EV_HOLD) { /* for the reader: start + dur_ms is what orch reads */
			format_time(o->start_ms + o->duration_ms, t);
			json_object_set_new(obj, "until", json_string(t));
		}
	}
	json_object_set_new(obj, "host", json_string(j->host));
	json_object_set_new(obj, "user", json_string(j->user));
	if (strcmp(j->author, j->user) != 0) /* absent: the author is the user */
		json_object_set_new(obj, "author", json_string(j->author));
	if (o && o->log)
		json_object_set_new(obj, "log", json_string(o->log));
	if (o && o->message)
		json_object_set_new(obj, "msg", json_string(o->message));
	if (o && o->by)
		json_object_set_new(obj, "by", json_string(o->by));
	if (o && o->component)
		json_object_set_new(obj, "component", json_string(o->component));
	if (o && o->pgid > 0) {
		json_object_set_new(obj, "pgid", json_integer(o->pgid));
		json_object_set_new(obj, "pstart", json_integer(o->pstart));
		json_object_set_new(obj, "boot", json_string(o->boot ? o->boot : ""));
	}
	if (n && sig && journal_is_completion(kind)) {
		const struct sigpart *parts = o->parts;
		size_t np = o->nparts;

		/* "def" always, so that a completion is known to carry its parts */
		json_object_set_new(obj, "def", parts_object(parts, np, PART_DEF));
		if (has_kind(parts, np, PART_INPUT))
			json_object_set_new(obj, "inputs", parts_object(parts, np, PART_INPUT));
		if (has_kind(parts, np, PART_DEP))
			json_object_set_new(obj, "deps", parts_object(parts, np, PART_DEP));
	}
	line = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(obj);
	if (!line)
		fatalx(EXIT_FAILED, "out of memory");
	/* the object without its closing brace, then its checksum */
	buf_add(&b, line, strlen(line) - 1);
	free(line);
	buf_printf(&b, "%s%s\"}\n", CK_KEY, hash64_hex(hash_bytes(b.s, b.len), hex));
	len = b.len - 1;
	if (write_line(j, b.s, b.len) < 0) {
		buf_free(&b);
		return -1;
	}
	buf_free(&b);
	j->dirty = true;
	e = new_event(j);
	e->kind = kind;
	e->node = n;
	if (sig)
		e->hassig = hash128_parse(sig, &e->sig) == 0;
	e->time_ms = now;
	e->exit_status = -1;
	e->duration_ms = -1;
	if (o) {
		e->attempt = o->attempt;
		e->exit_status = o->exit_status;
		e->signal = o->signal;
		e->timed_out = o->timed_out;
		e->start_ms = o->start_ms;
		e->duration_ms = o->duration_ms;
	}
	e->x = jextra_intern(&j->strs,
	                     &(struct jextra){.run = j->runid, .author = j->author, .message = o ? o->message : NULL,
	                                      .log = o ? o->log : NULL, .boot = o ? o->boot : NULL,
	                                      .by = o ? o->by : NULL, .component = o ? o->component : NULL,
	                                      .pstart = o ? o->pstart : 0, .pgid = o ? o->pgid : 0},
	                     NULL, &j->recent);
	e->line = (uint32_t)++j->lines;
	e->off = j->size;
	e->len = (uint32_t)len;
	j->size += (int64_t)len + 1;
	return (long)(j->nev - 1);
}

int journal_sync(struct journal *j)
{
	if (!j || (j->fd < 0 && !j->pgs))
		return 0;
	if (j->failed)
		return -1;
	if (j->pgs) { /* a COMMIT: all the lines since the last one, or none */
		if (pgstate_sync(j->pgs) < 0) {
			j->failed = true;
			return -1;
		}
		j->dirty = false;
		j->synced = j->size;
		return 0;
	}
	if (!j->dirty)
		return 0;
	/* A failed fsync may have dropped the data it was to write: never try again as if
	 * it were safe (PostgreSQL's fsyncgate). The journal takes nothing more. */
	debug("fdatasync %s: %lld bytes since the last sync", j->display, (long long)(j->size - j->synced));
	if (fdatasync(j->fd) < 0) {
		error("cannot make %s durable: fdatasync:", j->display);
		j->failed = true;
		/* what orch did not report must not read as recorded next time either */
		if (ftruncate(j->fd, (off_t)j->synced) < 0)
			error("cannot cut %s back to its last durable line:", j->display);
		return -1;
	}
	j->dirty = false;
	j->synced = j->size;
	return 0;
}

int journal_commit_with(struct journal *j, struct pgjob *job)
{
	if (!j->pgs || j->failed || !j->dirty)
		return -1;
	if (pgstate_commit_with(j->pgs, job) < 0) {
		j->failed = true;
		return -1;
	}
	j->dirty = false;
	j->synced = j->size;
	return 0;
}

int journal_flush(struct journal *j)
{
	/* a lost connection lost the lock: stop at once, not at the next event */
	return j && j->pgs && (j->dirty || pgstate_lost(j->pgs)) && !j->failed ? journal_sync(j) : 0;
}

bool journal_failed(const struct journal *j)
{
	return j && j->failed;
}

/* ---- reading back ---- */

size_t journal_count(const struct journal *j)
{
	return j ? j->nev : 0;
}

const struct jevent *journal_event(const struct journal *j, size_t i)
{
	return i < j->nev ? &j->ev[i] : NULL;
}

long journal_parts(struct journal *j, const struct jevent *e, struct sigpart **parts)
{
	static const char *keys[] = {"def", "inputs", "deps"};
	char *line;
	json_t *o;
	long n = 0, cap = 0;
	bool any = false;

	*parts = NULL;
	if ((j->fd < 0 && !j->pgs) || e->len == 0)
		return -1;
	if (j->pgs) {
		size_t len;

		if (pgstate_line(j->pgs, e->line, &line, &len) < 0)
			return -1;
		if (len != e->len) {
			free(line);
			return -1;
		}
	} else {
		line = xmalloc(e->len);
		if (pread(j->fd, line, e->len, (off_t)e->off) != (ssize_t)e->len) {
			free(line);
			return -1;
		}
	}
	o = json_loadb(line, e->len, 0, NULL);
	free(line);
	if (!o)
		return -1;
	for (int k = 0; k < 3; k++) {
		json_t *obj = json_object_get(o, keys[k]), *v;
		const char *name;

		if (!json_is_object(obj))
			continue;
		any = true;
		json_object_foreach(obj, name, v) {
			const char *s = json_string_value(v);
			uint64_t h;

			if (!s || strlen(s) != 16 || hash64_parse(s, &h) < 0)
				continue;
			if (n == cap) {
				cap = cap ? cap * 2 : 8;
				*parts = xreallocarray(*parts, (size_t)cap, sizeof(**parts));
			}
			(*parts)[n].kind = (enum partkind)k;
			(*parts)[n].ownname = true;
			(*parts)[n].name = xstrdup(name);
			(*parts)[n].h = h;
			n++;
		}
	}
	json_decref(o);
	if (!any) {
		free(*parts);
		*parts = NULL;
		return -1;
	}
	return n;
}

char *journal_event_host(struct journal *j, const struct jevent *e)
{
	char *line = NULL, *host = NULL;
	size_t len = 0;
	json_t *o;

	if (j->pgs) {
		if (pgstate_line(j->pgs, e->line, &line, &len) < 0)
			return NULL;
	} else if (j->fd >= 0 && e->len) {
		line = xmalloc(e->len);
		if (pread(j->fd, line, e->len, (off_t)e->off) != (ssize_t)e->len) {
			free(line);
			return NULL;
		}
		len = e->len;
	}
	if (line && (o = json_loadb(line, len, 0, NULL))) {
		const char *h = json_string_value(json_object_get(o, "host"));

		host = h ? xstrdup(h) : NULL;
		json_decref(o);
	}
	free(line);
	return host;
}

const char *journal_host(const struct journal *j)
{
	return j->host;
}

void journal_freeparts(struct sigpart *parts, long n)
{
	for (long i = 0; i < n; i++)
		free((char *)parts[i].name);
	free(parts);
}

const char *journal_runid(const struct journal *j)
{
	return j->runid;
}

const char *journal_path(const struct journal *j)
{
	return j->display;
}

const char *journal_dir(const struct journal *j)
{
	return j->dir;
}

bool journal_locked(const struct journal *j)
{
	return j && j->locked;
}

long journal_lock_holder_who(const struct graph *g, char **who)
{
	char *path, buf[32];
	int fd;
	long pid;
	ssize_t n;

	if (who)
		*who = NULL;
	if (g->state)
		return pgstate_holder((struct graph *)g, who);
	path = xasprintf("%s/%s/lock", g->dir, g->statedir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	if (fd < 0)
		return 0;
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	pid = strtol(buf, NULL, 10);
	/* The holder writes its pid once it has the lock. A pid that is gone holds nothing,
	 * so probe (and race an orch that is starting, for a moment) only when it lives. */
	if (pid > 0 && kill((pid_t)pid, 0) < 0 && errno == ESRCH)
		pid = 0;
	else if (flock(fd, LOCK_SH | LOCK_NB) == 0 || errno != EWOULDBLOCK)
		pid = 0;
	else if (pid <= 0)
		pid = -1;
	close(fd); /* drops the probe's lock, if it got one */
	return pid;
}

long journal_lock_holder(const struct graph *g)
{
	return journal_lock_holder_who(g, NULL);
}

struct pgstate *journal_pgstate(const struct journal *j)
{
	return j ? j->pgs : NULL;
}

struct statcache *journal_statcache(struct journal *j)
{
	if (!j->cache) {
		char *p = xasprintf("%s/hashcache", j->dir);

		j->cache = statcache_open(p);
		free(p);
	}
	return j->cache;
}

int journal_reset(struct journal *j)
{
	char *old = NULL;
	int n;

	if (!j->locked) {
		error("resetting %s needs the plan lock", j->display);
		return -1;
	}
	if (j->pgs) { /* the rows stay: the new journal is the next number */
		if ((n = pgstate_reset(j->pgs)) < 0) {
			j->failed = true;
			return -1;
		}
		goto fresh;
	}
	for (n = 1;; n++) {
		free(old);
		old = xasprintf("%s.%d", j->path, n);
		if (access(old, F_OK) < 0 && errno == ENOENT)
			break;
	}
	/* a crash between the rename and the new file leaves no journal: a reset all the same */
	if (rename(j->path, old) < 0) {
		error("cannot keep %s as %s:", j->display, old);
		free(old);
		return -1;
	}
	free(old);
	close(j->fd);
	j->fd = open(j->path, O_RDWR | O_APPEND | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (j->fd < 0 || fsync_dir(j->dir) < 0) {
		error("resetting %s:", j->display);
		return -1;
	}
fresh:
	free_events(j);
	j->size = j->synced = 0;
	j->lines = 0;
	j->dirty = true;
	char *msg = j->pgs ? xasprintf("the previous journal is kept as journal %d of orch.events", n)
	                   : xasprintf("the previous journal is kept as journal.jsonl.%d", n);
	struct outcome o = {.exit_status = -1, .message = msg};
	long r = journal_append(j, EV_RESET, NULL, &o);

	free(msg);
	if (r < 0 || journal_sync(j) < 0)
		return -1;
	return n;
}

void journal_close(struct journal *j)
{
	if (!j)
		return;
	if (j->cache) {
		if (j->locked)
			statcache_save(j->cache);
		statcache_free(j->cache);
	}
	journal_sync(j);
	if (j->fd >= 0) {
		if (!j->failed)
			index_save(j);
		close(j->fd);
	}
	if (j->lockfd >= 0)
		close(j->lockfd); /* releases the flock */
	pgstate_close(j->pgs); /* and the database's lock */
	free_events(j);
	arena_free(&j->strs);
	arena_free(&j->ixstrs);
	free(j->ev);
	free(j->dir);
	free(j->path);
	free(j->display);
	free(j->user);
	free(j);
}
