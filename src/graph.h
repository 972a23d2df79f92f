/* graph.h — the data model: steps, phases, milestones and pools of one plan, the
 * dependency edges between them, target selection, cycle check and topological order.
 * The graph is built once by orchfile.c and kept until exit. */
#ifndef ORCH_GRAPH_H
#define ORCH_GRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "table.h"
#include "util.h"

enum nodekind {
	NODE_STEP,
	NODE_PHASE,     /* done when all its steps are done */
	NODE_MILESTONE, /* done when all it needs is done and validate passes */
};

enum stepkind {
	STEP_RUN,    /* shell command */
	STEP_SQL,    /* SQL file on PostgreSQL */
	STEP_MANUAL, /* gate approved by a person */
};

/* What a change to a completed step means (SPEC §3 on_change). */
enum onchange {
	ONCHANGE_DEFAULT, /* rerun for run steps, error for sql steps */
	ONCHANGE_RERUN,
	ONCHANGE_ERROR,
	ONCHANGE_IGNORE,
};

/* What a step run by a worker becomes when the worker loses its lease (on_interrupt). */
enum oninterrupt {
	ONINTERRUPT_ASK,   /* the default: asked on a terminal (rerun, skip, abort), else as ONINTERRUPT_FAIL */
	ONINTERRUPT_RERUN, /* offered again at once, a new attempt (up to RERUN_LOST_MAX in a run) */
	ONINTERRUPT_FAIL,  /* a failure that stops the run, asking nobody */
};

struct node;

/* What a failed hold (a check failing check_failures times, or --abort) triggers. */
enum onfail {
	ROFAIL_FAIL,     /* a failure like any other (the default) */
	ROFAIL_STOP,     /* the run stops: nothing more starts */
	ROFAIL_ROLLBACK, /* the run stops and rolls back rollback_to (a phase or step) */
};

struct require;
/* A step's rollout keys: after its run or sql succeeds it holds for hold_ms (checking
 * every check_every_ms) before it is done; and the requirements on metrics of a step, a
 * check or a milestone. */
struct rollout {
	int64_t hold_ms;        /* 0: no hold */
	char *check;            /* shell command run while it holds, NULL when none */
	int64_t check_every_ms; /* default 5m */
	int check_failures;     /* consecutive failures that fail the step, default 3 */
	enum onfail on_fail;
	struct node *rollback_to; /* ROFAIL_ROLLBACK: the phase or step rolled back */
	struct require *require;       /* a step: holds on its metrics once it ran; a milestone:
	                                * reached only when it holds (NULL: none) */
	struct require *check_require; /* a check passes only when it holds too (NULL: none) */
	int on_fail_line;
};

/* Values of node->mark, the scratch of graph walks (graph_clearmarks resets them). */
enum mark {
	MARK_NONE = 0,  /* not visited, not selected */
	MARK_SELECTED,  /* graph_select: the targets need it; the cycle check: on the path */
	MARK_FINISHED,  /* the cycle check: everything it reaches explored */
	MARK_UNDO,      /* rollback: a step of the target, or one that depends on it */
	MARK_WALKED,    /* rollback: a phase or milestone of the target, walked through */
	MARK_DEPENDENT, /* rollback: a phase or milestone that depends on the target */
	MARK_ORDERED,   /* rollback: a step whose place in the shown order is computed */
};

/* What declared an edge. */
enum edgekind {
	EDGE_NEEDS, /* the node's needs */
	EDGE_AFTER, /* its phase's after */
	EDGE_PHASE, /* a phase contains its steps */
};

/* A priority queue of ready nodes: longest prio_ms first, then lowest id. */
struct readyq {
	struct node **v;
	size_t n, cap;
	bool byphase;         /* order by phase number first (for listings) */
	const int64_t *key_ms; /* by node id: highest first instead of prio_ms (NULL: prio_ms) */
};

struct pool {
	char *name;
	int line;
	size_t id;   /* declaration order among pools */
	int depth;   /* at most this many of its steps at once */
};

/* A dependency edge: the node needs DEP; LINE is where the edge is declared. */
struct edge {
	struct node *dep;
	int line;
	enum edgekind why;
};

/* The most schemas one step's backup_schema may name. */
#define PG_SCHEMAS_MAX 8
/* What only some nodes have, kept out of line so that a plan of a million plain steps
 * does not carry it a million times. Every node's x points at one: the shared
 * defaults (nodex_default, read-only) until node_x gives the node its own. */
struct nodex {
	char *verify, *rollback;
	char *sql_verify, *sql_rollback; /* file paths, relative to the plan directory */
	char *database;                  /* NULL: [orch] database, then DATABASE_URL */
	char *prompt;
	struct vec outputs, backup; /* char * each */
	size_t env_plan; /* the first env_plan entries of env come from [env] */
	int64_t timeout_ms, retry_delay_ms; /* -1 when unset */
	int64_t lock_timeout_ms, statement_timeout_ms; /* SQL: SET LOCAL per step, -1 when unset */
	int retries;
	struct vec backup_schema; /* schemas dumped with pg_dump before a SQL step (char *) */
	char *type, *component, *impact, *refs;
	struct node *barrier; /* phases with an after: the barrier node of graph_barrier */
	char *runs_on;      /* runs_on = LABEL: run by a worker with that label (claims.c) */
	unsigned char on_interrupt; /* enum oninterrupt: its worker lost its lease */
	char *validate;     /* milestones */
	struct vec steps;   /* phases: the phase's steps, in declaration order */
	bool allow_skipped; /* milestones: reached even when a step it needs is skipped */
};

/* The defaults of struct nodex, which a node without fields of its own points at. */
extern const struct nodex nodex_default;

struct node {
	enum nodekind kind;
	enum stepkind stepkind;
	enum onchange on_change;
	enum mark mark;  /* scratch for graph walks */
	int line;        /* line of the section header */
	int number;      /* phases: phaseN */
	int phase_line;  /* steps: the line of their phase key */
	uint32_t ndeps, depcap; /* deps (32 bits: a node's edges fit; 8 bytes a node fewer) */
	uint32_t nusers;
	bool transaction; /* steps: default true */
	bool always;
	bool isbarrier;  /* a phase's barrier (graph_barrier), not a node of the plan */
	char *name;
	char *title;  /* default: the name */
	size_t id;    /* declaration order among all nodes */

	/* steps */
	struct node *phase; /* NULL when the step has no phase */
	char *run;
	char *sql;                     /* a file path, relative to the plan directory */
	struct vec inputs, env;        /* char * each; env holds "KEY=value" */
	int64_t est_ms;                /* -1 when unset */
	struct pool *pool;
	struct rollout *ro; /* hold, check, on_fail (rollouts.md); NULL when the step has none */

	/* edges: what this node needs, and who needs it */
	struct edge *deps;
	struct node **users;

	int64_t prio_ms; /* longest estimated path from here to the end of the plan */
	const struct nodex *x; /* the rare fields (read them here; write through node_x) */
};

struct graph {
	char *file;      /* the Orchfile path as given */
	char *dir;       /* absolute directory of the Orchfile: steps run here */
	char *name;      /* [orch] name, default: the directory's base name */
	bool named;      /* [orch] name is set: the plan's identity in a database */
	char *target;    /* the target environment ([target NAME]) read, or NULL */
	char *statedir;  /* ".orch", or ".orch/TARGET": the journal, lock, logs (relative to dir) */
	struct vec targets; /* the names of the plan's [target] sections, in order */
	bool share_database; /* [orch] share_database: the lock is the plan's, not the database's */
	char *notify_command;      /* [notify] command, NULL when none */
	unsigned notify_on;        /* [notify] on: a bit per enum notify_what */
	int64_t notify_timeout_ms; /* [notify] timeout, 0 when unset */
	int jobs;        /* [orch] jobs, 0 when unset */
	enum oninterrupt on_interrupt; /* [orch] on_interrupt: what steps with runs_on take by default */
	char *database;  /* [orch] database, NULL when unset */
	char *state;     /* [orch] state: NULL the journal file; "database" the plan's database
	                  * (the target's); else a connection string (pgstate.c) */
	int state_line;  /* where [orch] state is set */
	char *changelog; /* [orch] changelog (default CHANGELOG.md, with targets CHANGELOG-NAME.md), NULL: none */
	char *report;    /* [orch] report: the HTML report kept current, NULL when unset */
	char *metrics;   /* [orch] metrics: the Prometheus text file (export.c), NULL when unset */
	int64_t lock_timeout_ms, statement_timeout_ms; /* [orch]'s, for SQL steps; -1 when unset */
	struct vec sqlvars; /* "NAME=VALUE": [vars] and -D, for SQL files' psql variables */

	struct vec nodes;      /* every node in declaration order (node->id) */
	struct vec steps;      /* steps in declaration order */
	struct vec phases;     /* phases ordered by number */
	struct vec milestones; /* milestones in declaration order */
	struct vec pools;
	struct node **topo;    /* every node, dependencies first (set by graph_finish) */

	struct table names;     /* step, phase and milestone names */
	struct arena mem;       /* the nodes and their names, kept until exit */
	struct table poolnames;
};

/* A new empty graph for the Orchfile FILE whose directory is DIR. */
struct graph *graph_new(const char *file, const char *dir);
/* A copy of S kept with the graph (until exit), packed with no allocation overhead. */
char *graph_strdup(struct graph *g, const char *s);
/* Split S on blanks (as split_words) into OUT, which must be empty: the words and the
 * array are kept with the graph, and OUT must not grow afterwards (its cap is its n). */
void graph_split_words(struct graph *g, const char *s, struct vec *out);
/* Add a node; returns NULL when NAME is taken (by any node). */
struct node *graph_add(struct graph *g, enum nodekind kind, const char *name, int line);
/* Add a pool; returns NULL when NAME is taken. */
struct pool *graph_addpool(struct graph *g, const char *name, int line);
/* N's own rare fields, to write (allocated, from the defaults, on first use). */
struct nodex *node_x(struct node *n);
/* Find a step, phase or milestone by name. */
struct node *graph_find(struct graph *g, const char *name);
/* Find a pool by name. */
struct pool *graph_findpool(struct graph *g, const char *name);
/* Room for MORE edges of N (a needs list of known length): its edges take what they need. */
void graph_reservedeps(struct node *n, size_t more);
/* Record that N needs DEP (declared at LINE, by WHY). */
void graph_adddep(struct node *n, struct node *dep, int line, enum edgekind why);
/* The barrier of PHASE, made on first use: the one node its steps need (an EDGE_AFTER
 * edge each) and that needs the phases PHASE runs after, so that a phase's after costs
 * edges in proportion to steps + phases, not steps x phases. A barrier is a NODE_PHASE
 * with isbarrier set, named as its phase (phase points at it), in g->nodes (after every
 * declared node) but not in g->phases nor the name table; it is complete when the
 * phases it needs are. Views show the edges as declared: see graph_nextdep. */
struct node *graph_barrier(struct graph *g, struct node *phase);
/* The edges of a node as the Orchfile declared them: its deps, with the edges of a
 * barrier in place of the edge to it. Start with {.n = N}; NULL at the end. */
struct depiter {
	const struct node *n;
	size_t i, j;
};
const struct edge *graph_nextdep(struct depiter *it);
/* Fill users (reverse edges), sort phases by number and compute priorities;
 * returns the number of cycles found, each reported as FILE:LINE errors. */
int graph_finish(struct graph *g);
/* Resolve a target: a node name, "phaseN", or "all" (NULL result). Returns 0, or -1
 * when unknown. */
int graph_target(struct graph *g, const char *target, struct node **out);
/* Mark (mark = MARK) every node the targets need, transitively; NULL selects all.
 * Returns the number of steps selected. */
size_t graph_select(struct graph *g, struct node **targets, size_t ntargets, enum mark mark);
/* Append the nodes with mark == MARK to OUT in the scheduler's order: a topological
 * order preferring the longest remaining estimated path, then declaration order; with
 * BYPHASE, lower phase numbers first, which keeps phases together where the
 * dependencies allow. */
void graph_order(struct graph *g, enum mark mark, bool byphase, struct vec *out);
/* How a node takes part in graph_schedule. */
enum schedrole {
	SCHED_DONE,    /* done before the run starts: what needs it may start at once */
	SCHED_INSTANT, /* completes as soon as it is ready, taking no turn (a phase, a node
	                * done already whose inputs are checked again) */
	SCHED_JOB,     /* takes a turn: a step that runs, a milestone's validate */
	SCHED_GATE,    /* a manual gate: set aside when its turn comes, approved once
	                * nothing else can start, with the other gates set aside, in order */
	SCHED_BLOCKED, /* never completes in this run: what needs it does not start */
};
/* The order a run at -j 1 takes through the nodes marked MARK, as the engine plays it:
 * a node is ready when everything it needs has completed; ready nodes take their turn
 * by longest remaining estimated path, then declaration order. ROLE says, by node id,
 * how each takes part. Appends the jobs as they start and the gates as they are
 * approved to OUT; what never becomes ready is left out. */
void graph_schedule(struct graph *g, enum mark mark, const unsigned char *role, struct vec *out);
/* Clear every node's mark. */
void graph_clearmarks(struct graph *g);
/* "run", "sql" or "manual". */
const char *step_kindname(const struct node *n);
/* "needs", "after" or "phase": the key that declared an edge. */
const char *edge_kindname(enum edgekind k);
/* "step", "phase" or "milestone". */
const char *node_kindname(const struct node *n);

/* Add N to the queue. */
void readyq_push(struct readyq *q, struct node *n);
/* Remove and return the first node, or NULL when empty. */
struct node *readyq_pop(struct readyq *q);
/* Free the queue's storage. */
void readyq_free(struct readyq *q);

#endif
