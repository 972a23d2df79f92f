/* registry.h — the database is the truth about SQL: what each database's registry
 * (orch.registry) says of the plan's SQL steps, read with one query per database for a
 * view or a run, set against the journal step by step, and the plan's state made to
 * agree with it, so that -n, --status, --why and --check say what a run will do. */
#ifndef ORCH_REGISTRY_H
#define ORCH_REGISTRY_H

#include <stdbool.h>
#include <stdio.h>

#include "graph.h"
#include "journal.h"
#include "record.h"

/* What the registry says of one SQL step. */
enum regsays {
	REG_UNASKED,     /* not a SQL step of this view, forced, skipped, or no database set */
	REG_UNREACHABLE, /* its database could not be read: the journal's view stands */
	REG_NONE,        /* its database has no registry */
	REG_NOT_APPLIED,
	REG_APPLIED,     /* applied, and its sql file is what was applied */
	REG_CHANGED,     /* applied, and its sql file changed since */
	REG_ELSEWHERE,   /* not applied under this plan, but its SQL was, under another */
};

/* Read the registry of every database the SQL steps use (with ONLY_SELECTED, the steps
 * marked MARK_SELECTED), one query each, and make each step's state agree with it: a
 * step the database has applied is done (with REC, a run, that is recorded; without, a
 * view, only held in memory), one it has not is not, one whose file changed since, or
 * whose SQL another plan applied, is changed and refused. Each disagreement with the
 * journal becomes the step's reason ("journal: applied; database ...: not applied").
 * A run (LOCK) takes each database's lock first. Returns 0; EXIT_FAILED when a database
 * lost its registry while the journal records steps applied to it (said loudly: a run
 * stops there, a view goes on with the steps marked); for a run EXIT_LOCKED or
 * EXIT_INTERRUPTED when a database's lock could not be had, EXIT_RECORD when the
 * journal cannot be written. */
int registry_reconcile(struct graph *g, struct journal *j, struct recorder *rec, bool only_selected, bool lock);
/* -n and --check: say that the last reconcile's view has SQL steps with no database
 * here (an unset ${DATABASE_URL}), which a run refuses (and does not start). */
void registry_warn_no_database(struct graph *g);
/* What the registry said of N in the last registry_reconcile. */
enum regsays registry_says(const struct node *n);
/* Where the journal and the database disagree about N ("journal: applied; database
 * ...: not applied"), or NULL. */
const char *registry_note(const struct node *n);
/* For --status: one line per database (reachable, registry, applied steps), and each
 * step on which it and the journal disagree. */
void registry_summary(struct graph *g);
/* The databases the last registry_reconcile read: how many, and for the Ith one of its
 * steps (for pg_describe, pg_registry_forget), how many it has applied, and whether it
 * could be read. */
size_t registry_ndbs(void);
struct node *registry_db(size_t i, size_t *applied, bool *read);
/* "applied", "not applied", ... for REG_*. */
const char *registry_word(enum regsays s);
/* Print, on stderr, why the changed steps marked MARK are refused: one error for each
 * step whose own file changed (what changed: the checksums, and a unified diff when the
 * registry has the applied text), or whose SQL another plan applied, and one line for
 * the steps held back only because something they depend on changed. Returns how many
 * steps are refused. CHECK: --check's words, with the Orchfile's FILE:LINE. */
size_t registry_refuse_changed(struct graph *g, enum mark mark, bool check);
/* Forget the registry's reading (state is not touched). */
void registry_free(void);

#endif
