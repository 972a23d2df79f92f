/* state.c — what is done and what is stale. Each node's signature is an XXH3-128 over
 * its parts: the definition keys that decide what it does (run, verify, the SQL files'
 * text, env, ...), the contents of its inputs, and the signatures its
 * dependencies completed with. A step is done when its last completion in the journal
 * recorded the signature it has now and its outputs exist.
 *
 * rollback and sql_rollback are not part of the signature: editing how a step is undone
 * does not change what it did, and must not make an applied migration "changed". */
#include "state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hash.h"
#include "history.h"
#include "statcache.h"

/* Past this many input files a step's parts name its input patterns, not each file. */
enum { MAX_FILE_PARTS = 256 };

struct nstate { /* laid out without holes: a million of them */
	struct hash128 sig;   /* current signature */
	struct hash128 eff;   /* what dependents see: the signature it completed with */
	struct sigpart *parts; /* then, in its block, their full hashes (full_of) */
	const char *reason;   /* owned when ownreason, else a literal */
	struct node *cause;   /* for phases and milestones: the step that changed */
	struct hash128 rec;   /* the signature the last completion recorded, when haverec */
	uint32_t nparts;
	uint32_t unsat;       /* phases: dependencies not satisfied */
	uint32_t skips;       /* phases and milestones: members holding a skipped step (see
	                       * holds_skip) */
	enum stepstate st;
	bool haverec;
	bool haveparts;       /* parts is filled (see drop_parts) */
	bool satisfied;
	bool dirty;           /* a phase or milestone whose signature must be recomputed */
	bool causeset;
	bool ownreason;
};

static struct {
	struct graph *g;
	struct journal *j;
	struct statcache *cache, *owncache;
	struct hasher *h;
	struct nstate *arr;   /* by node id, for the nn nodes g had when it was loaded */
	size_t nn;
	bool *incone;         /* after state_load_cone: the nodes loaded, by id (NULL: all) */
	struct histories hist;
	int dirfd;     /* the plan's directory, when dirfd_open: relative paths are stat-ed from it */
	bool dirfd_open;
} S;

static struct nstate *ns(const struct node *n)
{
	return &S.arr[n->id];
}

/* Whether N has a state: a node of the graph state_load read (of the cone
 * state_load_cone read), not of another graph. */
static bool loaded(const struct node *n)
{
	return S.arr && n->id < S.nn && S.g->nodes.v[n->id] == n && (!S.incone || S.incone[n->id]);
}

/* S's signature in hex, in one of a few buffers used in turn (the callers copy it or
 * compare it at once): 33 bytes a node fewer than keeping it. */
static const char *sig_hex(const struct nstate *s)
{
	static char hex[4][33];
	static unsigned turn;

	return hash128_hex(s->sig, hex[turn++ % 4]);
}

static const char *statenames[] = {
	[ST_NOTRUN] = "todo",       [ST_DONE] = "done",           [ST_STALE] = "stale",
	[ST_FAILED] = "failed",   [ST_INTERRUPTED] = "interrupted", [ST_SKIPPED] = "skipped",
	[ST_CHANGED] = "changed",  [ST_ROLLBACK_INTERRUPTED] = "rollback-interrupted",
	[ST_HOLDING] = "holding",
};

const char *state_name(enum stepstate st)
{
	return (unsigned)st < sizeof(statenames) / sizeof(statenames[0]) ? statenames[st] : "?";
}

static enum onchange onchange_of(const struct node *n)
{
	if (n->on_change != ONCHANGE_DEFAULT)
		return n->on_change;
	return n->kind == NODE_STEP && n->stepkind == STEP_SQL ? ONCHANGE_ERROR : ONCHANGE_RERUN;
}

/* ---- parts ---- */

struct partlist {
	struct sigpart *v;
	struct hash128 *full; /* in v's block, after its cap parts */
	size_t n, cap;
	size_t files; /* input files among them */
};

/* How a part's name is held: one that outlives the parts (a literal, a node's name or
 * input pattern, kept with the graph), a copy to make, or one given to the parts. The
 * parts free the names they own (free_parts). */
enum partname { NAME_KEEP, NAME_COPY, NAME_TAKE };

/* Room for N parts in all: the parts and their full hashes are one block. */
static void part_reserve(struct partlist *l, size_t n)
{
	struct sigpart *v;
	struct hash128 *full;

	if (n <= l->cap)
		return;
	v = xreallocarray(NULL, n, sizeof(*v) + sizeof(*full));
	full = (struct hash128 *)(v + n);
	if (l->n) {
		memcpy(v, l->v, l->n * sizeof(*v));
		memcpy(full, l->full, l->n * sizeof(*full));
	}
	free(l->v);
	l->v = v;
	l->full = full;
	l->cap = n;
}

static void part_add(struct partlist *l, enum partkind kind, const char *name, enum partname how,
                     struct hash128 h)
{
	if (l->n == l->cap)
		part_reserve(l, l->cap ? l->cap * 2 : 8);
	l->v[l->n] = (struct sigpart){kind, how != NAME_KEEP, how == NAME_COPY ? xstrdup(name) : name, h.lo};
	l->full[l->n] = h;
	l->n++;
}

static struct hash128 hash_str(const char *s)
{
	return hash128_bytes(s, strlen(s));
}

static struct hash128 hash_words(const struct vec *v)
{
	hasher_reset(S.h);
	for (size_t i = 0; i < v->n; i++)
		hasher_addstr(S.h, v->v[i]);
	return hasher_end(S.h);
}

static const struct hash128 missing_hash = {0x6d697373696e6700ULL, 0x6f7263682d6e6f6eULL};

static char *plan_path(const char *rel)
{
	return rel[0] == '/' ? xstrdup(rel) : xasprintf("%s/%s", S.g->dir, rel);
}

/* stat of REL (relative to the plan, or absolute). A relative path is looked up from the
 * plan's directory, held open, so the kernel walks only REL's own components. */
static int stat_rel(const char *rel, struct stat *st)
{
	char *abs;
	int r;

	if (rel[0] != '/' && S.dirfd_open)
		return fstatat(S.dirfd, rel, st, 0);
	abs = plan_path(rel);
	r = stat(abs, st);
	free(abs);
	return r;
}

/* The hash of file REL (relative to the plan), or missing_hash. */
static struct hash128 file_hash(const char *rel)
{
	char *abs = plan_path(rel);
	struct hash128 h;

	if (statcache_hash(S.cache, abs, rel, &h) < 0)
		h = missing_hash;
	free(abs);
	return h;
}

bool state_file_checksum(const char *rel, char hex[33])
{
	struct hash128 h = file_hash(rel);

	if (hash128_eq(h, missing_hash))
		return false;
	hash128_hex(h, hex);
	return true;
}

/* The hash of file REL whose stat data are ST (taken once, by whoever found the file). */
static struct hash128 file_hash_st(const char *rel, const struct stat *st)
{
	char *abs;
	struct hash128 h;

	if (statcache_known(S.cache, rel, st, &h))
		return h;
	abs = plan_path(rel);
	if (statcache_hash_stat(S.cache, abs, rel, st, &h) < 0)
		h = missing_hash;
	free(abs);
	return h;
}

/* Stat data kept beside a vec of paths, one each (a no-op stats each input once). */
struct stats {
	struct stat *v;
	size_t n, cap;
};

static void stats_push(struct stats *a, const struct stat *st)
{
	if (a->n == a->cap) {
		a->cap = a->cap ? 2 * a->cap : 8;
		a->v = xreallocarray(a->v, a->cap, sizeof(*a->v));
	}
	a->v[a->n++] = *st;
}

/* SQL text hashed with its path: the file's contents are the definition. */
static struct hash128 sqlfile_hash(const char *rel)
{
	struct hash128 c = file_hash(rel);

	hasher_reset(S.h);
	hasher_addstr(S.h, rel);
	hasher_addhash(S.h, c);
	return hasher_end(S.h);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Add every file under directory REL (depth first, sorted by name) to OUT, its stat
 * data to STS. */
static void walk_dir(const char *rel, struct vec *out, struct stats *sts, int depth)
{
	char *abs = plan_path(rel);
	DIR *d = opendir(abs);
	struct dirent *de;
	struct vec names = {0};

	free(abs);
	if (!d)
		return;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			vec_push(&names, xasprintf("%s/%s", rel, de->d_name));
	closedir(d);
	if (names.n) /* qsort's array may not be NULL, even for no elements */
		qsort(names.v, names.n, sizeof(*names.v), cmp_str);
	for (size_t i = 0; i < names.n; i++) {
		struct stat st;

		if (stat_rel(names.v[i], &st) < 0) {
			st.st_mode = 0; /* gone since readdir: hashed as missing */
			st.st_nlink = 0;
			vec_push(out, names.v[i]);
			stats_push(sts, &st);
		} else if (S_ISDIR(st.st_mode)) {
			if (depth < 64)
				walk_dir(names.v[i], out, sts, depth + 1);
			free(names.v[i]);
		} else {
			vec_push(out, names.v[i]);
			stats_push(sts, &st);
		}
	}
	vec_free(&names);
}

static bool has_glob(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

/* Expand input or output pattern PAT into existing paths relative to the plan (files
 * and directories, sorted), with their stat data in STS when not NULL. */
static void expand_st(const char *pat, struct vec *out, struct stats *sts)
{
	glob_t gl;
	char *abs;
	size_t skip = strlen(S.g->dir) + 1;
	struct stat st;

	if (!has_glob(pat)) {
		if (stat_rel(pat, &st) == 0) {
			vec_push(out, xstrdup(pat));
			if (sts)
				stats_push(sts, &st);
		}
		return;
	}
	abs = plan_path(pat);
	if (glob(abs, 0, NULL, &gl) == 0) {
		for (size_t i = 0; i < gl.gl_pathc; i++) {
			const char *p = gl.gl_pathv[i];

			if (sts) {
				if (stat(gl.gl_pathv[i], &st) < 0)
					continue; /* gone since glob found it */
				stats_push(sts, &st);
			}
			if (pat[0] != '/' && strncmp(p, S.g->dir, skip - 1) == 0 && p[skip - 1] == '/')
				p += skip;
			vec_push(out, xstrdup(p));
		}
		globfree(&gl);
	}
	free(abs);
}

static void expand(const char *pat, struct vec *out)
{
	expand_st(pat, out, NULL);
}

/* Add N's input files to L: each pattern in order, its matches sorted, directories
 * walked; a pattern matching nothing is one part with the "missing" hash. */
static void input_parts(const struct node *n, struct partlist *l)
{
	struct partlist files = {0};
	size_t *first, i = 0, start = l->n;
	struct stat st;
	bool have_st = false;

	/* The common case first: named files (no wildcard), few enough to be parts of their
	 * own, go to L as they are stat-ed, named by their pattern, with no lists. At the
	 * first pattern that is not one, what is done so far moves to the lists below. */
	if (n->inputs.n <= MAX_FILE_PARTS) {
		for (; i < n->inputs.n; i++) {
			const char *pat = n->inputs.v[i];

			if (has_glob(pat))
				break;
			if (stat_rel(pat, &st) < 0) {
				part_add(l, PART_INPUT, pat, NAME_KEEP, missing_hash);
				continue;
			}
			if (S_ISDIR(st.st_mode)) {
				have_st = true; /* walked below, not stat-ed again */
				break;
			}
			part_add(l, PART_INPUT, pat, NAME_KEEP, file_hash_st(pat, &st));
		}
		if (i == n->inputs.n) {
			l->files = n->inputs.n;
			return;
		}
	}
	first = xcalloc(n->inputs.n + 1, sizeof(*first));
	for (size_t k = 0; k < i; k++) {
		first[k] = k;
		part_add(&files, PART_INPUT, l->v[start + k].name, NAME_KEEP, l->full[start + k]);
	}
	l->n = start;
	for (; i < n->inputs.n; i++) {
		const char *pat = n->inputs.v[i];
		struct vec paths = {0};
		struct stats sts = {0};

		first[i] = files.n;
		if (!has_glob(pat)) { /* one path named, stat-ed once; a file needs no lists */
			if (have_st || stat_rel(pat, &st) == 0) {
				have_st = false;
				if (!S_ISDIR(st.st_mode)) {
					part_add(&files, PART_INPUT, pat, NAME_KEEP, file_hash_st(pat, &st));
					continue;
				}
				vec_push(&paths, xstrdup(pat));
				stats_push(&sts, &st);
			}
		} else {
			expand_st(pat, &paths, &sts);
		}
		if (!paths.n)
			part_add(&files, PART_INPUT, pat, NAME_KEEP, missing_hash);
		for (size_t k = 0; k < paths.n; k++) {
			char *p = paths.v[k];

			if (S_ISDIR(sts.v[k].st_mode)) {
				struct vec sub = {0};
				struct stats subst = {0};

				walk_dir(p, &sub, &subst, 0);
				for (size_t m = 0; m < sub.n; m++)
					part_add(&files, PART_INPUT, sub.v[m], NAME_TAKE, file_hash_st(sub.v[m], &subst.v[m]));
				vec_free(&sub);
				free(subst.v);
				free(p);
			} else {
				part_add(&files, PART_INPUT, p, NAME_TAKE, file_hash_st(p, &sts.v[k]));
			}
		}
		vec_free(&paths);
		free(sts.v);
	}
	first[n->inputs.n] = files.n;
	if (files.n <= MAX_FILE_PARTS) {
		part_reserve(l, l->n + files.n);
		for (i = 0; i < files.n; i++)
			part_add(l, PART_INPUT, files.v[i].name, files.v[i].ownname ? NAME_TAKE : NAME_KEEP, files.full[i]);
	} else {
		/* too many to name one by one: one part per pattern, over its paths and contents */
		for (i = 0; i < n->inputs.n; i++) {
			hasher_reset(S.h);
			for (size_t k = first[i]; k < first[i + 1]; k++) {
				hasher_addstr(S.h, files.v[k].name);
				hasher_addhash(S.h, files.full[k]);
			}
			part_add(l, PART_INPUT, n->inputs.v[i], NAME_KEEP, hasher_end(S.h));
		}
		for (i = 0; i < files.n; i++)
			if (files.v[i].ownname)
				free((char *)files.v[i].name);
	}
	l->files = files.n;
	free(files.v);
	free(first);
}

static void free_parts(struct nstate *s)
{
	for (size_t i = 0; i < s->nparts; i++)
		if (s->parts[i].ownname)
			free((char *)s->parts[i].name);
	free(s->parts); /* and the full hashes, in its block */
	s->parts = NULL;
	s->nparts = 0;
}

static void recompute(struct node *n);

/* The signature dependents of D see (recomputing a phase or milestone that is behind). */
static struct hash128 dep_sig(struct node *d)
{
	if (ns(d)->dirty)
		recompute(d);
	return ns(d)->eff;
}

/* Compute N's parts and signature from its definition, its inputs now and its
 * dependencies' signatures. */
/* The parts of N's signature, as they are now, into L. */
static void build_parts(struct node *n, struct partlist *l0)
{
	struct partlist l = *l0;
	const struct edge *e;

	/* one block, most often of the right size: the keys present, a part per input
	 * pattern (a wildcard's or directory's files grow it) and per edge */
	part_reserve(&l, l.n + n->ndeps +
	                     (n->kind == NODE_STEP
	                          ? 1 + !!n->run + !!n->x->verify + !!n->sql + !!n->x->sql_verify + !!n->env.n +
	                                (n->inputs.n ? 1 + n->inputs.n : 0) + !!n->x->outputs.n
	                          : 1));
	if (n->kind == NODE_STEP) {
		if (n->run)
			part_add(&l, PART_DEF, "run", NAME_KEEP, hash_str(n->run));
		if (n->x->verify)
			part_add(&l, PART_DEF, "verify", NAME_KEEP, hash_str(n->x->verify));
		if (n->sql)
			part_add(&l, PART_DEF, "sql", NAME_KEEP, sqlfile_hash(n->sql));
		if (n->x->sql_verify)
			part_add(&l, PART_DEF, "sql_verify", NAME_KEEP, sqlfile_hash(n->x->sql_verify));
		/* Not the database: which databases have a migration is the registry's to say
		 * (run.c reconciles it), so one plan serves staging and production alike. */
		if (n->stepkind == STEP_SQL)
			part_add(&l, PART_DEF, "transaction", NAME_KEEP, hash_str(n->transaction ? "yes" : "no"));
		if (n->stepkind == STEP_MANUAL)
			part_add(&l, PART_DEF, "prompt", NAME_KEEP, hash_str(n->x->prompt ? n->x->prompt : ""));
		/* [env] reaches a SQL step's shell commands only (verify, rollback): a changed
		 * flag does not make an applied migration "changed" */
		if (n->stepkind == STEP_SQL && n->x->env_plan) {
			struct vec own = {n->env.v + n->x->env_plan, n->env.n - n->x->env_plan, 0};

			if (own.n)
				part_add(&l, PART_DEF, "env", NAME_KEEP, hash_words(&own));
		} else if (n->env.n) {
			part_add(&l, PART_DEF, "env", NAME_KEEP, hash_words(&n->env));
		}
		if (n->inputs.n)
			part_add(&l, PART_DEF, "inputs", NAME_KEEP, hash_words(&n->inputs));
		if (n->x->outputs.n)
			part_add(&l, PART_DEF, "outputs", NAME_KEEP, hash_words(&n->x->outputs));
		input_parts(n, &l);
	} else if (n->kind == NODE_MILESTONE && n->x->validate) {
		part_add(&l, PART_DEF, "validate", NAME_KEEP, hash_str(n->x->validate));
	}
	/* the edges as declared: a step hashes each phase it runs after, not its barrier */
	for (struct depiter it = {.n = n}; (e = graph_nextdep(&it));) {
		struct hash128 d;

		/* A phase's own after edges order it and add nothing to what it is: its steps
		 * hash the phases they run after already, and signatures recorded before the
		 * phase had these edges stay valid. */
		if (n->kind == NODE_PHASE && e->why == EDGE_AFTER)
			continue;
		d = dep_sig(e->dep);

		part_add(&l, PART_DEP, e->dep->name, NAME_KEEP, d);
	}
	*l0 = l;
}

/* L's parts become S's, their full hashes moved to just after them in their block:
 * where full_of finds them, without a pointer of their own in every node's state. */
static void keep_parts(struct nstate *s, struct partlist *l)
{
	if (l->n && l->full != (struct hash128 *)(l->v + l->n))
		memmove(l->v + l->n, l->full, l->n * sizeof(*l->full));
	s->parts = l->v;
	s->nparts = (uint32_t)l->n;
	s->haveparts = true;
}

/* The full hashes of S's parts. */
static const struct hash128 *full_of(const struct nstate *s)
{
	return (const struct hash128 *)(s->parts + s->nparts);
}

static void compute(struct node *n)
{
	struct nstate *s = ns(n);
	struct partlist l = {0};

	free_parts(s);
	build_parts(n, &l);
	hasher_reset(S.h);
	hasher_addstr(S.h, "orch-signature-1");
	hasher_addstr(S.h, node_kindname(n));
	if (n->kind == NODE_STEP)
		hasher_addstr(S.h, step_kindname(n));
	for (size_t i = 0; i < l.n; i++) {
		hasher_addu64(S.h, l.v[i].kind);
		hasher_addstr(S.h, l.v[i].name);
		hasher_addhash(S.h, l.full[i]);
	}
	s->sig = hasher_end(S.h);
	keep_parts(s, &l);
}

/* A step's parts are needed again only to record or explain it: state_load lets them go
 * once it has decided (a million steps' parts are most of its memory), and they are
 * built again, from the same files and dependencies, when asked for. */
static void drop_parts(struct nstate *s)
{
	free_parts(s);
	s->haveparts = false;
}

static void need_parts(struct node *n)
{
	struct nstate *s = ns(n);
	struct partlist l = {0};

	if (s->haveparts)
		return;
	build_parts(n, &l);
	keep_parts(s, &l);
}

/* Mark the phases and milestones that (transitively) need N as behind. */
static void mark_dirty_users(struct node *n)
{
	for (size_t i = 0; i < n->nusers; i++) {
		struct node *u = n->users[i];

		if (u->kind != NODE_STEP && loaded(u) && !ns(u)->dirty) { /* a cone's load: none outside */
			ns(u)->dirty = true;
			mark_dirty_users(u);
		}
	}
}

/* A phase or milestone brought up to date with its dependencies. */
static void recompute(struct node *n)
{
	struct nstate *s = ns(n);

	s->dirty = false;
	compute(n);
	/* a changed node that is let be (on_change error or ignore) keeps showing its old one */
	if (!(s->st == ST_CHANGED || (s->st == ST_STALE && s->satisfied)))
		s->eff = s->sig;
}

/* ---- decisions ---- */

static void set_reason(struct nstate *s, char *reason)
{
	if (s->ownreason)
		free((char *)s->reason);
	s->reason = reason;
	s->ownreason = true;
}

/* A reason that is a string literal: most nodes have one, and a million copies of
 * "up to date" would be a million allocations. */
static void set_reason_lit(struct nstate *s, const char *reason)
{
	if (s->ownreason)
		free((char *)s->reason);
	s->reason = reason;
	s->ownreason = false;
}

const char *state_missing_output(const struct node *n)
{
	for (size_t i = 0; i < n->x->outputs.n; i++) {
		struct vec paths = {0};
		bool none;

		expand(n->x->outputs.v[i], &paths);
		none = paths.n == 0;
		for (size_t k = 0; k < paths.n; k++)
			free(paths.v[k]);
		vec_free(&paths);
		if (none)
			return n->x->outputs.v[i];
	}
	return NULL;
}

/* For a phase or milestone D: the step whose change reached it (NULL if none found). */
static struct node *cause_of(struct node *d)
{
	struct nstate *s = ns(d);

	if (s->causeset)
		return s->cause;
	s->causeset = true;
	for (size_t i = 0; i < d->ndeps && !s->cause; i++) {
		struct node *x = d->deps[i].dep;

		if (x->kind != NODE_STEP)
			s->cause = cause_of(x);
		else if (ns(x)->st != ST_DONE && ns(x)->st != ST_SKIPPED)
			s->cause = x;
		else if (!hash128_eq(ns(x)->eff, ns(x)->sig) || (ns(x)->haverec && !hash128_eq(ns(x)->rec, ns(x)->sig)))
			s->cause = x;
	}
	return s->cause;
}

static char *dep_reason(struct node *n, const char *name, const char *what)
{
	struct node *d = graph_find(S.g, name), *c;

	if (d && d->kind != NODE_STEP && strcmp(what, "changed") == 0 && (c = cause_of(d)) && c != n)
		return xasprintf("dependency %s changed (through %s %s)", c->name, node_kindname(d), d->name);
	return xasprintf("dependency %s %s", name, what);
}

/* A small table of recorded parts, by kind and name. */
struct ptable {
	const struct sigpart **slot;
	bool *seen;
	size_t cap;
};

static size_t ptable_find(const struct ptable *t, enum partkind kind, const char *name)
{
	size_t i = (hash_bytes(name, strlen(name)) + kind) & (t->cap - 1);

	while (t->slot[i] && (t->slot[i]->kind != kind || strcmp(t->slot[i]->name, name) != 0))
		i = (i + 1) & (t->cap - 1);
	return i;
}

static const char *part_label(enum partkind k)
{
	return k == PART_INPUT ? "input " : "";
}

size_t state_changes(struct node *n, struct vec *out)
{
	struct nstate *s = ns(n);
	struct sigpart *rec;
	long nrec;
	struct ptable t;
	size_t before = out->n;

	if (!s || !S.j || history_of(&S.hist, n->id)->done < 0)
		return 0;
	if (s->haverec && hash128_eq(s->rec, s->sig))
		return 0;
	need_parts(n);
	nrec = journal_parts(S.j, history_event(S.j, history_of(&S.hist, n->id)->done), &rec);
	if (nrec < 0) {
		vec_push(out, xstrdup("definition, inputs or dependencies changed"));
		return 1;
	}
	t.cap = 16;
	while (t.cap < (size_t)nrec * 2 + s->nparts * 2)
		t.cap *= 2;
	t.slot = xcalloc(t.cap, sizeof(*t.slot));
	t.seen = xcalloc(t.cap, sizeof(*t.seen));
	for (long i = 0; i < nrec; i++)
		t.slot[ptable_find(&t, rec[i].kind, rec[i].name)] = &rec[i];
	/* every current part against the record, kind by kind; then what disappeared */
	for (int k = PART_DEF; k <= PART_DEP; k++) {
		for (size_t i = 0; i < s->nparts; i++) {
			const struct sigpart *p = &s->parts[i];
			size_t at;
			const char *what = NULL;

			if ((int)p->kind != k)
				continue;
			at = ptable_find(&t, p->kind, p->name);
			if (t.seen[at] && t.slot[at])
				continue; /* the same dependency twice */
			if (!t.slot[at]) {
				what = "added";
				/* remember it so that a duplicate is not reported twice */
				t.seen[at] = true;
				t.slot[at] = p;
			} else {
				t.seen[at] = true;
				if (t.slot[at]->h != p->h)
					what = hash128_eq(full_of(s)[i], missing_hash) && k == PART_INPUT ? "missing" : "changed";
			}
			if (!what)
				continue;
			if (k == PART_DEP)
				vec_push(out, dep_reason(n, p->name, what));
			else
				vec_push(out, xasprintf("%s%s %s", part_label(p->kind), p->name, what));
		}
		for (long i = 0; i < nrec; i++) {
			size_t at;

			if ((int)rec[i].kind != k)
				continue;
			at = ptable_find(&t, rec[i].kind, rec[i].name);
			if (!t.seen[at]) {
				t.seen[at] = true;
				vec_push(out, xasprintf("%s%s %s", rec[i].kind == PART_DEP ? "dependency " : part_label(rec[i].kind),
				                        rec[i].name, "removed"));
			}
		}
	}
	free(t.slot);
	free(t.seen);
	journal_freeparts(rec, nrec);
	if (out->n == before)
		vec_push(out, xstrdup("signature changed"));
	return out->n - before;
}

/* The first change of N, as a new string. */
static char *first_change(struct node *n)
{
	struct vec v = {0};
	char *r;

	state_changes(n, &v);
	r = v.n ? v.v[0] : xstrdup("changed");
	for (size_t i = 1; i < v.n; i++)
		free(v.v[i]);
	vec_free(&v);
	return r;
}

static char *failure_reason(const struct jevent *e)
{
	if (e->timed_out)
		return xstrdup("failed (timed out)");
	if (e->signal)
		return xasprintf("failed (signal %d)", e->signal);
	if (e->exit_status >= 0)
		return xasprintf("failed (exit %d)", e->exit_status);
	if (e->x->message)
		return xasprintf("failed (%s)", e->x->message);
	return xstrdup("failed");
}

/* N became satisfied or not: the phases that need it count it, and a phase that becomes
 * complete or incomplete by it tells the phases after it in turn (iteratively). */
static void set_satisfied(struct node *n, bool sat)
{
	struct vec todo = {0};

	if (ns(n)->satisfied == sat)
		return;
	ns(n)->satisfied = sat;
	vec_push(&todo, n);
	while (todo.n) {
		struct node *x = todo.v[--todo.n];

		for (size_t i = 0; i < x->nusers; i++) {
			struct node *u = x->users[i];
			bool was;

			if (u->kind != NODE_PHASE || !loaded(u)) /* not loaded: outside a cone (state_load_cone) */
				continue;
			was = ns(u)->unsat == 0;
			if (sat)
				ns(u)->unsat--;
			else
				ns(u)->unsat++;
			if (was != (ns(u)->unsat == 0)) {
				ns(u)->satisfied = !was;
				vec_push(&todo, u);
			}
		}
	}
	vec_free(&todo);
}

/* ---- skipped steps under milestones ----
 *
 * A milestone is not reached while a step it needs is skipped, unless it says
 * allow_skipped = yes. What it needs is what it is made of: the steps it names, the
 * steps of the phases it names and, through the milestones it names, what they need;
 * not what those steps need themselves, nor the phases a phase runs after (rollback.c's
 * members of a target). Each phase and milestone counts its members that hold a skipped
 * step (skips); a change is passed up on a 0 <-> 1 transition only, as unsat is. */

/* Whether D is a member of U (U needs D as its part, not as what it waits for). */
static bool is_member(const struct node *u, const struct node *d)
{
	if (u->kind == NODE_MILESTONE)
		return true;
	return u->kind == NODE_PHASE && d->kind == NODE_STEP;
}

static bool holds_skip(const struct node *n)
{
	return n->kind == NODE_STEP ? ns(n)->st == ST_SKIPPED : ns(n)->skips > 0;
}

static void count_skips(struct node *n)
{
	ns(n)->skips = 0;
	for (size_t i = 0; i < n->ndeps; i++)
		if (is_member(n, n->deps[i].dep) && holds_skip(n->deps[i].dep))
			ns(n)->skips++;
}

/* N (a step) became skipped, or is skipped no more: tell the phases and milestones it
 * is part of, iteratively. */
static void skip_changed(struct node *n, bool skipped)
{
	struct vec todo = {0};

	vec_push(&todo, n);
	while (todo.n) {
		struct node *x = todo.v[--todo.n];

		for (size_t i = 0; i < x->nusers; i++) {
			struct node *u = x->users[i];
			bool was;

			if (!is_member(u, x) || !loaded(u)) /* not loaded: outside a cone */
				continue;
			was = ns(u)->skips > 0;
			if (skipped)
				ns(u)->skips++;
			else
				ns(u)->skips--;
			if (was != (ns(u)->skips > 0))
				vec_push(&todo, u);
		}
	}
	vec_free(&todo);
}

bool state_milestone_blocked(const struct node *n)
{
	return loaded(n) && n->kind == NODE_MILESTONE && !n->x->allow_skipped && ns(n)->skips > 0;
}

const struct node *state_skipped_need(const struct node *n)
{
	const struct node *x = n;

	if (!loaded(n) || n->kind == NODE_STEP || !ns(n)->skips)
		return loaded(n) && n->kind == NODE_STEP && ns(n)->st == ST_SKIPPED ? n : NULL;
	/* down through the members that hold one, the first declared at each level */
	while (x->kind != NODE_STEP) {
		const struct node *next = NULL;

		for (size_t i = 0; i < x->ndeps && !next; i++)
			if (is_member(x, x->deps[i].dep) && holds_skip(x->deps[i].dep))
				next = x->deps[i].dep;
		if (!next)
			return NULL; /* cannot happen: skips counts such members */
		x = next;
	}
	return x;
}

/* Decide N's state from its journal summary and its (just computed) signature. */
static void decide(struct node *n)
{
	struct nstate *s = ns(n);
	const struct jevent *last = history_event(S.j, history_of(&S.hist, n->id)->last);
	enum evkind k = last ? last->kind : EV_RESET;
	const char *out;

	s->eff = s->sig;
	if (n->kind != NODE_STEP)
		count_skips(n);
	if (n->kind == NODE_PHASE) {
		s->unsat = 0;
		for (size_t i = 0; i < n->ndeps; i++)
			if (!ns(n->deps[i].dep)->satisfied)
				s->unsat++;
		s->st = s->unsat ? ST_NOTRUN : ST_DONE;
		s->satisfied = s->unsat == 0;
		return;
	}
	if (!last) {
		s->st = ST_NOTRUN;
		set_reason_lit(s, n->kind == NODE_MILESTONE     ? "not reached"
		                      : n->stepkind == STEP_MANUAL ? "waiting for approval"
		                                                   : "never run");
		return;
	}
	switch (k) {
	case EV_START:
	case EV_ROLLBACK_START:
	case EV_INTERRUPTED: {
		/* what was interrupted is the attempt its last start began: a rollback that did
		 * not finish leaves the step still to roll back */
		const struct jevent *start = history_event(S.j, history_of(&S.hist, n->id)->start);

		if (start && start->kind == EV_ROLLBACK_START) {
			s->st = ST_ROLLBACK_INTERRUPTED;
			set_reason_lit(s, "rollback interrupted");
		} else {
			s->st = ST_INTERRUPTED;
			set_reason_lit(s, "interrupted");
		}
		return;
	}
	case EV_HOLD:
	case EV_CHECK:
		s->st = ST_HOLDING;
		set_reason_lit(s, "holding");
		return;
	case EV_FAIL:
		s->st = ST_FAILED;
		set_reason(s, failure_reason(last));
		return;
	case EV_SKIP:
		s->st = ST_SKIPPED;
		set_reason_lit(s, "skipped");
		s->satisfied = true;
		return;
	case EV_FORCE:
		s->st = ST_NOTRUN;
		set_reason_lit(s, "forced");
		return;
	case EV_ROLLBACK_OK:
		s->st = ST_NOTRUN;
		set_reason_lit(s, "rolled back");
		return;
	case EV_MILESTONE_LOST:
		s->st = ST_NOTRUN;
		set_reason_lit(s, "no longer reached");
		return;
	default:
		break;
	}
	if (history_of(&S.hist, n->id)->done < 0) { /* a rollback failed on a node that was not done */
		s->st = ST_FAILED;
		set_reason_lit(s, "rollback failed");
		return;
	}
	if (n->always) {
		s->st = ST_STALE;
		set_reason_lit(s, "always = yes");
		return;
	}
	if ((out = state_missing_output(n))) {
		s->st = ST_STALE;
		set_reason(s, xasprintf("output %s missing", out));
		return;
	}
	if (s->haverec && hash128_eq(s->rec, s->sig)) {
		s->st = ST_DONE;
		set_reason_lit(s, n->stepkind == STEP_MANUAL && n->kind == NODE_STEP ? "approved" : "up to date");
		s->satisfied = true;
		return;
	}
	/* completed, and something changed since */
	switch (onchange_of(n)) {
	case ONCHANGE_ERROR:
		s->st = ST_CHANGED;
		set_reason(s, first_change(n));
		if (s->haverec)
			s->eff = s->rec;
		break;
	case ONCHANGE_IGNORE: {
		char *r = first_change(n);

		s->st = ST_STALE;
		set_reason(s, xasprintf("%s (ignored: on_change = ignore)", r));
		free(r);
		if (s->haverec)
			s->eff = s->rec;
		s->satisfied = true;
		break;
	}
	default:
		s->st = ST_STALE;
		set_reason(s, first_change(n));
	}
}

/* ---- the interface ---- */

void state_free(struct graph *g)
{
	(void)g; /* the graph state_load read is S.g */
	if (!S.arr)
		return;
	for (size_t i = 0; i < S.nn; i++) {
		struct node *n = S.g->nodes.v[i];

		if (!loaded(n))
			continue;
		free_parts(ns(n));
		if (ns(n)->ownreason)
			free((char *)ns(n)->reason);
	}
	free(S.arr);
	free(S.incone);
	history_free(&S.hist);
	hasher_free(S.h);
	statcache_free(S.owncache);
	if (S.dirfd_open)
		close(S.dirfd);
	memset(&S, 0, sizeof(S));
}

/* Compact the journal when it is mostly dead weight (we hold the lock), then read the
 * history again: compaction renumbers the events. */
static void maybe_compact(struct graph *g, struct journal *j)
{
	bool *live;
	int64_t bytes;

	if (!journal_worth_compacting(j, 0))
		return;
	live = xcalloc(journal_count(j) ? journal_count(j) : 1, sizeof(*live));
	bytes = history_live(&S.hist, j, live);
	if (journal_worth_compacting(j, bytes)) {
		if (verbosity > 0)
			info("compacting %s (%lld bytes, %lld live)", journal_path(j), (long long)journal_size(j),
			     (long long)bytes);
		if (journal_compact(j, live) == 0) {
			history_free(&S.hist);
			history_load(&S.hist, g, j);
		}
	}
	free(live);
}

/* state_load, for every node (CONE false) or for those marked MARK_SELECTED only. */
static void load(struct graph *g, struct journal *j, bool cone)
{
	size_t nn = g->nodes.n;

	state_free(g);
	S.g = g;
	S.j = j;
	S.h = hasher_new();
	if (j) {
		S.cache = journal_statcache(j);
	} else {
		S.owncache = statcache_open(NULL);
		S.cache = S.owncache;
	}
	S.arr = xcalloc(nn ? nn : 1, sizeof(*S.arr));
	S.nn = nn;
	S.dirfd = open(g->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	S.dirfd_open = S.dirfd >= 0; /* else each path is stat-ed whole */
	if (cone) {
		S.incone = xcalloc(nn ? nn : 1, sizeof(*S.incone));
		for (size_t i = 0; i < nn; i++)
			S.incone[i] = ((struct node *)g->nodes.v[i])->mark == MARK_SELECTED;
	}
	/* the journal, once */
	history_load(&S.hist, g, j);
	if (j && journal_locked(j))
		maybe_compact(g, j);
	for (size_t i = 0; i < nn; i++) {
		const struct jevent *done;

		if (cone && !loaded(g->nodes.v[i]))
			continue;
		done = history_event(j, history_of(&S.hist, i)->done);
		if (done)
			if ((S.arr[i].haverec = done->hassig))
				S.arr[i].rec = done->sig;
	}
	/* signatures and decisions in topological order: linear in nodes + edges */
	for (size_t i = 0; i < nn; i++) {
		if (!loaded(g->topo[i]))
			continue;
		compute(g->topo[i]);
		decide(g->topo[i]);
		if (g->topo[i]->kind == NODE_STEP)
			drop_parts(ns(g->topo[i]));
	}
	/* the cache keeps only the entries used: a cone's would forget every other file */
	if (cone)
		statcache_partial(S.cache);
	else if (j && journal_locked(j))
		statcache_save(S.cache);
}

void state_load(struct graph *g, struct journal *j)
{
	load(g, j, false);
}

void state_load_cone(struct graph *g, struct journal *j, struct node **roots, size_t nroots)
{
	graph_clearmarks(g);
	graph_select(g, roots, nroots, MARK_SELECTED);
	load(g, j, true);
}

void state_start_plan(struct graph *g, unsigned char *out)
{
	bool *touched = xcalloc(g->nodes.n ? g->nodes.n : 1, sizeof(*touched)); /* it, or what it needs, runs */

	for (size_t i = 0; i < g->nodes.n; i++) {
		struct node *n = g->topo[i];
		bool upstream = false;

		out[n->id] = START_DONE;
		if (n->mark != MARK_SELECTED)
			continue;
		for (size_t k = 0; k < n->ndeps; k++)
			upstream |= touched[n->deps[k].dep->id];
		touched[n->id] = upstream;
		if (n->kind != NODE_STEP || (state_satisfied(n) && !(n->inputs.n && upstream)))
			continue;
		touched[n->id] = true;
		out[n->id] = state_satisfied(n) ? START_RECHECK : START_RUNS;
	}
	free(touched);
}

char *state_approve_refusal(const struct node *n)
{
	const struct edge *e;

	for (struct depiter it = {.n = n}; (e = graph_nextdep(&it));) {
		const struct node *d = e->dep;

		if (!state_satisfied(d))
			return xasprintf("cannot approve %s yet: it needs %s %s, which is not done (%s)", n->name,
			                 node_kindname(d), d->name, state_reason(d));
	}
	return NULL;
}

char *state_refusal(const struct node *n)
{
	return xasprintf("step %s was applied and has changed since (%s); on_change = error, so it is not applied again",
	                 n->name, state_reason(n));
}

int64_t state_hold_until(const struct node *n)
{
	const struct jevent *h;

	if (!loaded(n) || ns(n)->st != ST_HOLDING || !(h = history_event(S.j, history_of(&S.hist, n->id)->hold)))
		return -1;
	return h->start_ms + (h->duration_ms > 0 ? h->duration_ms : 0);
}

bool state_hold_failed(const struct node *n)
{
	const struct history *h = loaded(n) ? history_of(&S.hist, n->id) : NULL;

	return h && ns(n)->st == ST_FAILED && h->hold >= 0 && h->hold > h->start;
}

const struct history *state_history(const struct node *n)
{
	return loaded(n) ? history_of(&S.hist, n->id) : NULL;
}

const struct histories *state_histories(void)
{
	return &S.hist;
}

void state_outcome(const struct node *n, enum evkind kind, struct outcome *o)
{
	o->sig = state_signature(n);
	o->parts = NULL;
	o->nparts = 0;
	if (o->sig && journal_is_completion(kind))
		o->nparts = state_parts(n, &o->parts);
}

void state_noted(size_t i)
{
	if (S.arr)
		history_add(&S.hist, S.j, i);
}

enum stepstate state_of(const struct node *n)
{
	if (state_milestone_blocked(n))
		return ST_NOTRUN;
	return loaded(n) ? ns(n)->st : ST_NOTRUN;
}

const char *state_reason(const struct node *n)
{
	if (!loaded(n))
		return "never run";
	if (n->kind == NODE_PHASE) {
		static char buf[64 + NAME_MAX];
		size_t steps = 0, todo = 0;
		const struct node *before = NULL;

		if (!ns(n)->unsat)
			return "done";
		for (size_t i = 0; i < n->ndeps; i++) {
			const struct node *d = n->deps[i].dep;

			if (n->deps[i].why == EDGE_PHASE) {
				steps++;
				todo += !state_satisfied(d);
			} else if (!before && !state_satisfied(d)) {
				before = d;
			}
		}
		if (todo || !before)
			snprintf(buf, sizeof(buf), "%zu of %zu steps to do", todo, steps);
		else
			snprintf(buf, sizeof(buf), "runs after phase %s, which is not complete", before->name);
		return buf;
	}
	if (state_milestone_blocked(n)) {
		static char buf[64 + NAME_MAX];
		const struct node *sk = state_skipped_need(n);

		snprintf(buf, sizeof(buf), "%s is skipped (allow_skipped = yes accepts it)", sk ? sk->name : "a step");
		return buf;
	}
	return ns(n)->reason ? ns(n)->reason : state_name(ns(n)->st);
}

bool state_satisfied(const struct node *n)
{
	if (!loaded(n))
		return false;
	if (n->kind == NODE_PHASE)
		return ns(n)->unsat == 0;
	return ns(n)->satisfied && !state_milestone_blocked(n);
}

const char *state_refresh(struct node *n)
{
	compute(n);
	return sig_hex(ns(n));
}

bool state_recheck(struct node *n)
{
	struct nstate *s = ns(n);
	char *why;

	if (!s->satisfied || n->kind != NODE_STEP || s->st != ST_DONE || !s->haverec)
		return false;
	compute(n);
	if (hash128_eq(s->rec, s->sig))
		return false;
	why = first_change(n);
	if (onchange_of(n) == ONCHANGE_IGNORE) {
		free(why);
		return false;
	}
	s->st = onchange_of(n) == ONCHANGE_ERROR ? ST_CHANGED : ST_STALE;
	set_reason(s, why);
	set_satisfied(n, false);
	return true;
}

void state_set(struct node *n, enum stepstate st, const char *reason)
{
	struct nstate *s = ns(n);
	bool sat = st == ST_DONE || st == ST_SKIPPED;

	if (n->kind == NODE_STEP && (s->st == ST_SKIPPED) != (st == ST_SKIPPED))
		skip_changed(n, st == ST_SKIPPED);

	s->st = st;
	set_reason(s, xstrdup(reason ? reason : st == ST_DONE ? "done" : state_name(st)));
	if (st == ST_DONE) {
		if (s->dirty)
			recompute(n);
		s->rec = s->sig;
		s->haverec = true;
	}
	if ((st == ST_DONE || st == ST_SKIPPED) && !hash128_eq(s->eff, s->sig)) {
		s->eff = s->sig;
		mark_dirty_users(n);
	}
	/* recorded (record() sets the state after the event): like state_load, a run lets
	 * a finished step's parts go, which were most of a long run's memory */
	if (sat && n->kind == NODE_STEP)
		drop_parts(s);
	set_satisfied(n, sat);
}

const char *state_signature(const struct node *n)
{
	if (!loaded(n))
		return NULL;
	if (ns(n)->dirty)
		recompute((struct node *)n);
	return sig_hex(ns(n));
}

size_t state_parts(const struct node *n, const struct sigpart **parts)
{
	if (!loaded(n)) {
		*parts = NULL;
		return 0;
	}
	need_parts((struct node *)n);
	*parts = ns(n)->parts;
	return ns(n)->nparts;
}
