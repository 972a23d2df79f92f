/* metric.c — reported metrics read back from the journal: a metric event's message is
 * the line as reported, normalised to NAME=VALUE or NAME=VALUE UNIT (run.c writes it);
 * the latest value is the newest such event. */
#include "metric.h"

#include <stdlib.h>
#include <string.h>

bool metric_of(const struct jevent *e, struct metric *m)
{
	const char *eq, *sp;
	char *end;

	if (e->kind != EV_METRIC || !e->x->message || !(eq = strchr(e->x->message, '=')) ||
	    (size_t)(eq - e->x->message) >= sizeof(m->name))
		return false;
	memcpy(m->name, e->x->message, (size_t)(eq - e->x->message));
	m->name[eq - e->x->message] = '\0';
	m->value = strtod(eq + 1, &end);
	if (end == eq + 1)
		return false;
	sp = end;
	m->unit = *sp == ' ' ? sp + 1 : sp;
	m->ev = e;
	return true;
}

bool metric_latest(struct journal *j, size_t from, const struct node *step, const char *name, struct metric *m)
{
	for (size_t i = journal_count(j); i-- > from;) {
		const struct jevent *e = journal_event(j, i);

		if (e->kind == EV_METRIC && e->node && (!step || e->node == step) && metric_of(e, m) &&
		    strcmp(m->name, name) == 0)
			return true;
	}
	return false;
}
