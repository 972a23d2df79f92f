/* record.c — the one place a result is recorded and told. Each result has one row in
 * the table below: the journal event it writes and the state it leaves; record_say has
 * its line. A new result touches this file and the history (and the changelog, which is
 * made from the journal, when it is a new event kind). */
#include "record.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "notify.h"
#include "os.h"
#include "state.h"
#include "term.h"
#include "util.h"

enum { NO_EVENT = -1, SAME_STATE = -1 };

static const struct {
	int event;          /* enum evkind, or NO_EVENT */
	int state;          /* enum stepstate, or SAME_STATE */
	const char *reason; /* the state's reason; NULL: the outcome's message */
} results[] = {
	[RESULT_START] = {EV_START, SAME_STATE, NULL},
	[RESULT_ROLLBACK_START] = {EV_ROLLBACK_START, SAME_STATE, NULL},
	[RESULT_OK] = {EV_OK, ST_DONE, "done"},
	[RESULT_REGISTRY] = {EV_OK, ST_DONE, NULL},
	[RESULT_FAIL] = {EV_FAIL, ST_FAILED, NULL},
	[RESULT_RETRYING] = {EV_FAIL, ST_FAILED, NULL},
	[RESULT_INTERRUPTED] = {EV_INTERRUPTED, ST_INTERRUPTED, NULL},
	[RESULT_SKIP] = {EV_SKIP, ST_SKIPPED, "skipped"},
	[RESULT_SKIP_FAILED] = {EV_SKIP, ST_SKIPPED, "skipped after failure"},
	[RESULT_APPROVE] = {EV_APPROVE, ST_DONE, "approved"},
	[RESULT_FORCE] = {EV_FORCE, ST_NOTRUN, "forced"},
	[RESULT_FORGET] = {EV_FORCE, ST_NOTRUN, "forgotten by --rollback --force"},
	[RESULT_ROLLBACK_OK] = {EV_ROLLBACK_OK, ST_NOTRUN, "rolled back"},
	[RESULT_RESTORED] = {EV_ROLLBACK_OK, ST_NOTRUN, "restored from its backups"},
	[RESULT_UNAPPROVE] = {EV_ROLLBACK_OK, ST_NOTRUN, "approval taken back"},
	[RESULT_UNSKIP] = {EV_ROLLBACK_OK, ST_NOTRUN, "skip taken back"},
	[RESULT_ROLLBACK_FAIL] = {EV_ROLLBACK_FAIL, SAME_STATE, NULL},
	[RESULT_ROLLBACK_INTERRUPTED] = {EV_INTERRUPTED, ST_ROLLBACK_INTERRUPTED, "rollback interrupted"},
	[RESULT_MILESTONE] = {EV_MILESTONE, ST_DONE, "reached"},
	[RESULT_MILESTONE_LOST] = {EV_MILESTONE_LOST, ST_NOTRUN, "no longer reached"},
	[RESULT_ACCEPT] = {EV_OK, ST_DONE, "accepted as applied"},
	[RESULT_BASELINE] = {EV_OK, ST_DONE, "baseline: recorded as applied"},
	[RESULT_HOLD] = {EV_HOLD, ST_HOLDING, "holding"},
	[RESULT_CHECK_OK] = {EV_CHECK, SAME_STATE, NULL},
	[RESULT_CHECK_FAIL] = {EV_CHECK, SAME_STATE, NULL},
	[RESULT_PROMOTE] = {EV_OK, ST_DONE, "promoted"},
	[RESULT_ABORT] = {EV_FAIL, ST_FAILED, NULL},
	[RESULT_METRIC] = {EV_METRIC, SAME_STATE, NULL},
};

int record(struct recorder *r, struct node *n, enum result res, const struct outcome *o)
{
	struct outcome ev = o ? *o : (struct outcome){.exit_status = -1};
	int kind = results[res].event;
	char *masked;
	long at;

	/* a milestone's failed validate is told, not recorded: it is simply not reached */
	if (n->kind == NODE_MILESTONE && res == RESULT_FAIL)
		return 0;
	/* a message is a step's or a check's own words: a password in them is not recorded */
	ev.message = masked = ev.message ? mask_passwords_in(ev.message) : NULL;
	if ((res == RESULT_APPROVE || res == RESULT_SKIP || res == RESULT_SKIP_FAILED || res == RESULT_ACCEPT ||
	     res == RESULT_BASELINE || res == RESULT_PROMOTE || res == RESULT_ABORT) &&
	    !ev.by)
		ev.by = user_at_host(); /* who decided is recorded with what they decided */
	if (kind != NO_EVENT) {
		state_outcome(n, (enum evkind)kind, &ev);
		if ((at = journal_append(r->j, (enum evkind)kind, n, &ev)) < 0) {
			free(masked);
			return -1;
		}
		state_noted((size_t)at);
	}
	if (results[res].state != SAME_STATE)
		state_set(n, (enum stepstate)results[res].state, results[res].reason ? results[res].reason : ev.message);
	free(masked);
	return 0;
}

/* "[3/10] " in the engine, nothing elsewhere. */
static void counter(const struct recorder *r)
{
	if (r->p)
		printf("[%zu/%zu] ", r->p->finished, r->p->total);
}

/* "name: title", or the name alone when the step has no title of its own, into B. */
static void label_of(struct buf *b, const struct node *n)
{
	if (strcmp(n->name, n->title) == 0)
		buf_puts(b, n->name);
	else
		buf_printf(b, "%s: %s", n->name, n->title);
}

/* The same, printed. */
static void label(const struct node *n)
{
	struct buf b = {0};

	label_of(&b, n);
	fputs(buf_str(&b), stdout);
	buf_free(&b);
}

/* "[3/10] ok name: title (12s)" and its kin: WORD in COLOUR, then DETAIL and the time.
 * On a terminal the line fits its width: the title is cut first, with "...". */
static void step_line(const struct recorder *r, const struct node *n, const char *word, const char *colour,
                      const char *detail, const struct outcome *o)
{
	char dur[32];
	struct buf head = {0}, name = {0}, tail = {0};
	size_t room;

	format_duration(o && o->duration_ms > 0 ? o->duration_ms : 0, dur, sizeof(dur));
	if (r->p)
		buf_printf(&head, "[%zu/%zu] ", r->p->finished, r->p->total);
	buf_printf(&head, "%s ", word);
	label_of(&name, n);
	buf_printf(&tail, " (%s%s%s)", detail ? detail : "", detail ? ", " : "", dur);
	if (os_isatty(STDOUT_FILENO)) {
		size_t fixed = text_width(buf_str(&head)) + text_width(buf_str(&tail)), w = (size_t)term_width() - 1;

		room = w > fixed + 13 ? w - fixed : 13;
		if (text_width(buf_str(&name)) > room) {
			name.len = text_prefix(name.s, room - 3);
			name.s[name.len] = '\0';
			buf_puts(&name, "...");
		}
	}
	counter(r);
	printf("%s%s%s %s%s\n", term_code(colour), word, term_code(TERM_RESET), buf_str(&name), buf_str(&tail));
	buf_free(&head);
	buf_free(&name);
	buf_free(&tail);
}

/* What each result tells [notify], -1: nothing. */
static int notify_what(const struct node *n, enum result res)
{
	switch (res) {
	case RESULT_OK: return NOTIFY_OK;
	case RESULT_FAIL:
	case RESULT_ROLLBACK_FAIL: return NOTIFY_FAILED;
	case RESULT_MILESTONE: return NOTIFY_MILESTONE;
	case RESULT_SKIP:
	case RESULT_SKIP_FAILED: return NOTIFY_SKIPPED;
	case RESULT_APPROVE: return n->kind == NODE_STEP ? NOTIFY_APPROVED : -1;
	case RESULT_ROLLBACK_OK: return NOTIFY_ROLLED_BACK;
	default: return -1;
	}
}

static void say(struct recorder *r, struct node *n, enum result res, const struct outcome *o)
{
	const char *detail = o ? o->message : NULL;
	int what = notify_what(n, res);

	if (what >= 0 && results[res].event != NO_EVENT)
		notify(r->g, (enum notify_what)what, n, journal_kindname((enum evkind)results[res].event), o,
		       journal_runid(r->j));

	term_clear();
	switch (res) {
	case RESULT_START:
	case RESULT_ROLLBACK_START:
		if (verbosity > 0) {
			fputs("start ", stdout);
			label(n);
			putchar('\n');
		}
		break;
	case RESULT_OK:
	case RESULT_ROLLBACK_OK:
	case RESULT_RESTORED:
		if (verbosity >= 0)
			step_line(r, n, res == RESULT_OK ? "ok" : res == RESULT_RESTORED ? "restored" : "rolled back", TERM_GREEN,
			          NULL, o);
		break;
	case RESULT_REGISTRY:
		info("%s: applied according to the database registry; recorded as done", n->name);
		break;
	case RESULT_FAIL:
	case RESULT_RETRYING:
	case RESULT_ROLLBACK_FAIL:
		if (n->kind == NODE_MILESTONE)
			printf("%sMilestone %s not reached: %s%s (validate %s)\n", term_code(TERM_BOLD_RED), n->name,
			       n->title, term_code(TERM_RESET), detail ? detail : "failed");
		else if (res == RESULT_RETRYING) /* not finished: no number of its own */
			step_line(&(struct recorder){r->g, r->j, NULL}, n, "FAILED", TERM_BOLD_RED, detail ? detail : "failed", o);
		else
			step_line(r, n, res == RESULT_ROLLBACK_FAIL ? "ROLLBACK FAILED" : "FAILED", TERM_BOLD_RED,
			          detail ? detail : "failed", o);
		break;
	case RESULT_INTERRUPTED:
		fputs("interrupted ", stdout);
		label(n);
		putchar('\n');
		break;
	case RESULT_ROLLBACK_INTERRUPTED:
		fputs("rollback interrupted ", stdout);
		label(n);
		putchar('\n');
		break;
	case RESULT_SKIP:
		if (r->p) {
			counter(r);
			printf("skipped %s (by %s)\n", n->name, o && o->by ? o->by : user_at_host());
		} else {
			printf("skipped %s (what needs it goes on; 'orch --force %s' runs it again)\n", n->name, n->name);
		}
		break;
	case RESULT_SKIP_FAILED:
		printf("skipping %s after its failure; its dependents go on\n", n->name);
		break;
	case RESULT_APPROVE:
		counter(r);
		fputs("approved ", stdout);
		if (r->p)
			label(n);
		else
			fputs(n->name, stdout);
		/* by someone else than the one at this terminal: say who */
		if (r->p && o && o->by && strcmp(o->by, user_at_host()) != 0)
			printf(" (by %s)", o->by);
		putchar('\n');
		break;
	case RESULT_FORCE:
		printf("%s will run again\n", n->name);
		break;
	case RESULT_UNSKIP:
		printf("took back the skip of %s (it runs next time)\n", n->name);
		break;
	case RESULT_FORGET:
		printf("forgot %s (it has no rollback; it runs again next time)\n", n->name);
		break;
	case RESULT_UNAPPROVE:
		counter(r);
		fputs("unapproved ", stdout);
		label(n);
		putchar('\n');
		break;
	case RESULT_MILESTONE:
		printf("%sMilestone %s reached: %s%s\n", term_code(TERM_BOLD_GREEN), n->name, n->title,
		       term_code(TERM_RESET));
		break;
	case RESULT_MILESTONE_LOST:
		printf("Milestone %s lost: %s\n", n->name, n->title);
		break;
	case RESULT_ACCEPT:
		printf("accepted %s as applied, as it is now%s%s\n", n->name, detail ? ": " : "", detail ? detail : "");
		break;
	case RESULT_BASELINE:
		printf("baseline: %s recorded as applied, not run\n", n->name);
		break;
	case RESULT_HOLD: {
		char d[32];

		if (verbosity >= 0) {
			printf("holding %s for %s", n->name, format_duration(o ? o->duration_ms : 0, d, sizeof(d)));
			if (n->ro && n->ro->check)
				printf(" (check every %s)", format_duration(n->ro->check_every_ms, d, sizeof(d)));
			putchar('\n');
		}
		break;
	}
	case RESULT_CHECK_OK:
	case RESULT_CHECK_FAIL: {
		const struct history *h = state_history(n);

		if (res == RESULT_CHECK_FAIL)
			printf("%scheck FAILED%s %s: %s (%d of %d in a row)\n", term_code(TERM_BOLD_RED), term_code(TERM_RESET),
			       n->name, detail ? detail : "failed", h ? h->check_streak : 0, n->ro ? n->ro->check_failures : 0);
		else if (verbosity >= 0)
			printf("check ok %s%s%s (%d passed)\n", n->name, detail ? ": " : "", detail ? detail : "",
			       h ? h->checks_ok : 0);
		break;
	}
	case RESULT_METRIC:
		if (verbosity > 0)
			printf("metric %s: %s\n", n->name, detail ? detail : "");
		break;
	case RESULT_PROMOTE:
		counter(r);
		printf("promoted %s (by %s%s%s)\n", n->name, o && o->by ? o->by : user_at_host(), detail ? ": " : "",
		       detail ? detail : "");
		break;
	case RESULT_ABORT:
		counter(r);
		printf("%saborted%s %s (by %s%s%s)\n", term_code(TERM_BOLD_RED), term_code(TERM_RESET), n->name,
		       o && o->by ? o->by : user_at_host(), detail ? ": " : "", detail ? detail : "");
		break;
	}
	fflush(stdout);
}

/* Said as recorded: a password in the message is not printed, nor sent to [notify]. */
void record_say(struct recorder *r, struct node *n, enum result res, const struct outcome *o)
{
	struct outcome m;
	char *masked;

	if (!o || !o->message) {
		say(r, n, res, o);
		return;
	}
	m = *o;
	m.message = masked = mask_passwords_in(o->message);
	say(r, n, res, &m);
	free(masked);
}
