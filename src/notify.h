/* notify.h — [notify]: the plan's command run with one JSON event on stdin when a step
 * fails, a gate waits, a milestone is reached, the run finishes, ...; in the
 * background, bounded in time, never failing the run. */
#ifndef ORCH_NOTIFY_H
#define ORCH_NOTIFY_H

#include "graph.h"
#include "journal.h"

/* What is told: the words of [notify] on. */
enum notify_what {
	NOTIFY_FAILED,      /* a step (or its rollback) failed, a milestone's validate failed */
	NOTIFY_GATE,        /* a manual gate waits for approval */
	NOTIFY_MILESTONE,   /* a milestone reached */
	NOTIFY_HOLD_CHECK,  /* a health check of a holding step failed */
	NOTIFY_FINISHED,    /* the run ended: done, failed, or waiting */
	NOTIFY_OK,          /* a step succeeded */
	NOTIFY_SKIPPED,
	NOTIFY_APPROVED,
	NOTIFY_ROLLED_BACK,
};
#define NOTIFY_DEFAULT ((1u << NOTIFY_FAILED) | (1u << NOTIFY_GATE) | (1u << NOTIFY_MILESTONE) | \
                        (1u << NOTIFY_HOLD_CHECK) | (1u << NOTIFY_FINISHED))

/* WORD ("failed", "gate-waiting", ...) as enum notify_what, or -1. */
int notify_parse(const char *word);
/* The words, for messages. */
const char *notify_words(void);
/* When G's [notify] asks for WHAT: start its command with the event (journal kind EV,
 * node N or NULL, what O says or NULL, the run id RUN or NULL) on stdin; do not wait. */
void notify(const struct graph *g, enum notify_what what, const struct node *n, const char *ev,
            const struct outcome *o, const char *run);
/* Before exit: give the commands still running up to [notify] timeout (default 10 s)
 * since the last one started, then stop them. */
void notify_finish(const struct graph *g);

#endif
