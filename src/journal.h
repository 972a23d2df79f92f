/* journal.h — the append-only JSON Lines journal in .orch/journal.jsonl (format in
 * journal.c and docs/journal.md), or its lines as rows in a database ([orch] state,
 * pgstate.h), the plan lock (.orch/lock, or the database's), and the events the engine
 * records through this module only. */
#ifndef ORCH_JOURNAL_H
#define ORCH_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "graph.h"

/* A piece of a signature as the journal records it with a completion (ok, approve,
 * milestone): a definition key, an input file or a dependency, and a 64-bit hash. */
enum partkind { PART_DEF, PART_INPUT, PART_DEP };
struct sigpart {
	enum partkind kind;
	bool ownname;     /* (state.c) the name is the part's own, freed with it */
	const char *name; /* key ("run", "env", ...), file path, or dependency name */
	uint64_t h;
};


/* What happened to one attempt; fields that do not apply are 0 / NULL. */
struct outcome {
	int attempt;        /* 1, 2, ... */
	int exit_status;    /* of the step's command, -1 when it did not exit */
	int signal;         /* signal that ended it, 0 when none */
	bool timed_out;
	int64_t start_ms;   /* wall clock, ms since the epoch */
	int64_t duration_ms;
	const char *log;    /* path of the attempt's log, relative to the plan directory */
	const char *message;/* one line for the user: why it failed */
	int pgid;           /* start: the step's process group, 0 when none (see proc.h) */
	int64_t pstart;     /* start: when its leader started, clock ticks since boot */
	const char *boot;   /* start: the boot id */
	const char *by;     /* approve, skip: who asked for it, user@host (NULL: not said) */
	const char *component; /* metric: the step's component (NULL: none) */
	const char *sig;    /* the node's signature (32 hex digits), NULL when none */
	const struct sigpart *parts; /* with a completion: the signature's parts, for --why */
	size_t nparts;
};

struct journal;

enum {
	JOURNAL_LOCK = 1, /* take .orch/lock (exit 3 naming the holder if another orch has it) */
	JOURNAL_CREATE = 2, /* create .orch/ when missing */
};
/* Open the plan's journal, loading every event (exit 4 naming the line on damage; a
 * torn last line is dropped with a warning). Returns NULL only when there is no
 * journal and JOURNAL_CREATE is not given. */
struct journal *journal_open(struct graph *g, int flags);
/* How many journals --reset kept before CUR (the current one, or NULL): the files
 * .orch/journal.jsonl.1, .2, ...; with [orch] state, the database's journals before
 * CUR's. */
int journal_kept_count(struct graph *g, const struct journal *cur);
/* Open the journal --reset kept as .orch/journal.jsonl.N (with [orch] state: the
 * database's journal N - 1), read only (no lock, no index). Returns NULL when there is
 * none, or after reporting that it cannot be read or is damaged. */
struct journal *journal_open_kept(struct graph *g, int n);
/* Append one event for node N (NULL for plan-wide events such as EV_RESET), with what O
 * says (may be NULL): the signature and, for a completion, its parts come from the
 * caller. The run id, time, host, user and format version are added here. Returns the
 * new event's index (journal_event), or -1 after reporting a write error. */
long journal_append(struct journal *j, enum evkind kind, struct node *n, const struct outcome *o);
/* Whether events of kind K complete a node (ok, approve, milestone): they carry parts. */
bool journal_is_completion(enum evkind k);
/* Make every appended event durable (one fdatasync for all since the last sync).
 * Returns 0, or -1 after reporting the error: then, and after a failed append, the
 * journal takes nothing more (journal_failed). */
int journal_sync(struct journal *j);
struct pgjob;
/* With the state in a database: write what was appended since the last sync in the
 * transaction of the SQL step JOB, ready to commit, and commit it (pgstate_commit_with):
 * recorded and applied are one transaction. Returns 0, or -1 as journal_sync. */
int journal_commit_with(struct journal *j, struct pgjob *job);
/* Make what was appended visible to other processes: a file's lines are at once (no
 * sync), a database's are written by a sync (see journal_sync). Returns 0 or -1. */
int journal_flush(struct journal *j);
/* Whether a write or sync of J failed: what it holds on disk may lack recent events. */
bool journal_failed(const struct journal *j);
/* The run id of this orch process ("20261126T051200-4821"). */
const char *journal_runid(const struct journal *j);
/* Release the lock and close the file (saving the stat cache first when locked). */
void journal_close(struct journal *j);


/* Number of events loaded and appended so far (not counting torn or compacted-away ones). */
size_t journal_count(const struct journal *j);
/* The I-th event, oldest first. The pointer is valid until the next append. */
const struct jevent *journal_event(const struct journal *j, size_t i);
/* Read back the signature parts recorded with event E into *PARTS (free with
 * journal_freeparts). Returns their number, or -1 when E records none. */
long journal_parts(struct journal *j, const struct jevent *e, struct sigpart **parts);
/* The host event E was recorded on (a new string), NULL when it cannot be read. */
char *journal_event_host(struct journal *j, const struct jevent *e);
/* This machine's name, as the journal records it. */
const char *journal_host(const struct journal *j);
/* Free what journal_parts returned. */
void journal_freeparts(struct sigpart *parts, long n);
/* The name of event kind K as written ("ok", "fail", "rollback-ok", ...). */
const char *journal_kindname(enum evkind k);
/* The journal's path for messages (".orch/journal.jsonl" when the plan is here). */
const char *journal_path(const struct journal *j);
/* The plan's .orch directory (absolute). */
const char *journal_dir(const struct journal *j);
/* Whether this process holds the plan lock (and may append). */
bool journal_locked(const struct journal *j);
/* Whether another process holds G's plan lock now, without taking it or writing
 * anything: its pid, -1 when it is held by a pid not yet recorded, 0 when free. */
long journal_lock_holder(const struct graph *g);
/* The same, with *WHO (when not NULL) "user@host, pid N, since T, last heartbeat Ns
 * ago" (a new string) when the plan's state is in a database and the lock is held. */
long journal_lock_holder_who(const struct graph *g, char **who);
struct pgstate;
/* The database J's lines are kept in ([orch] state), NULL for the file. */
struct pgstate *journal_pgstate(const struct journal *j);
/* The stat cache in .orch/hashcache (saved at journal_close when locked). */
struct statcache *journal_statcache(struct journal *j);
/* Keep the current journal as .orch/journal.jsonl.N (the next free N) and start an
 * empty one with a reset event. Needs the lock. Returns N, or -1 after an error. */
int journal_reset(struct journal *j);
/* Rewrite the journal to the events marked in LIVE (one bool per event: what decides
 * each node's state, see history_live) now, through a temp file, fsync, rename and
 * fsync of .orch; the events are renumbered. Needs the lock. Returns 0 or -1. */
int journal_compact(struct journal *j, const bool *live);
/* Whether a journal whose live events take LIVE_BYTES is worth compacting at open: over
 * 1 MiB and more than 1.5 times its live part. */
bool journal_worth_compacting(const struct journal *j, int64_t live_bytes);
/* The journal file's size in bytes. */
int64_t journal_size(const struct journal *j);
/* Open, like journal_open, but return the exit status instead of exiting when the
 * journal is damaged (EXIT_JOURNAL) or locked (EXIT_LOCKED); *OUT is NULL then. */
int journal_try_open(struct graph *g, int flags, struct journal **out);

#endif
