/* sqitch.c — reads a sqitch project into the graph: sqitch.plan line by line, and the
 * sqitch.conf beside it (git-config syntax, read with inih) for the script directories
 * and the target. Each change becomes a SQL step, as sqitch deploys it:
 *
 *	sql          = <deploy_dir>/<change>.sql
 *	sql_verify   = <verify_dir>/<change>.sql   (when the file exists)
 *	sql_rollback = <revert_dir>/<change>.sql   (when the file exists)
 *
 * needing the change before it in the file (sqitch deploys in plan order) and the
 * changes it names in [brackets]; each tag "@v1.0" a milestone of that name needing the
 * changes since the tag before, and that tag. A change reworked after a tag appears
 * again in the plan: its earlier versions run the scripts sqitch keeps for them,
 * <change>@<tag>.sql for the first tag after that version whose deploy script exists
 * (else the first tag), as sqitch's path_segments does. The first version keeps the
 * change's name as its step name, the Nth is "<change>.N", so that reworking a change
 * renames no step that was applied; and those earlier versions have on_change = ignore,
 * since the rework renamed their scripts (the path is part of what orch hashes).
 *
 * The plan's syntax (sqitch-plan(5)):
 *
 *	%syntax-version=1.0.0
 *	%project=flipr
 *	change [dep other@v1.0 !conflict] 2024-01-02T03:04:05Z Planner Name <a@b.c> # note
 *	@v1.0 2024-01-02T03:04:05Z Planner Name <a@b.c> # note */
#include "sqitch.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <ini.h>

struct change {
	char *name;
	int line;
	struct vec deps; /* char *, as written, conflicts left out */
	char *note;
	size_t ntags;    /* tags declared before it */
	int instance;    /* 1 for the first version of the name, 2 for its first rework... */
	struct node *node;
};

struct tag {
	char *name; /* without the '@' */
	int line;
	size_t after; /* how many changes precede it */
	struct node *node;
};

struct plan {
	const char *path; /* for messages */
	char *project;
	struct vec changes, tags;
	int errors;
	struct vec msgs; /* struct planerr *, printed in line order by print_errors */
};

struct planerr {
	int line;
	size_t seq;
	char *msg;
};

struct confent {
	char *section, *key, *value;
};

static void perr(struct plan *p, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void perr(struct plan *p, int line, const char *fmt, ...)
{
	va_list ap;
	char *m;

	struct planerr *e = xmalloc(sizeof(*e));

	va_start(ap, fmt);
	m = xvasprintf(fmt, ap);
	va_end(ap);
	e->line = line;
	e->seq = p->msgs.n;
	e->msg = m;
	vec_push(&p->msgs, e);
	p->errors++;
}

static int cmp_err(const void *a, const void *b)
{
	const struct planerr *x = *(struct planerr *const *)a, *y = *(struct planerr *const *)b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void print_errors(struct plan *p)
{
	if (p->msgs.n)
		qsort(p->msgs.v, p->msgs.n, sizeof(*p->msgs.v), cmp_err);
	fflush(stdout);
	for (size_t i = 0; i < p->msgs.n; i++) {
		struct planerr *e = p->msgs.v[i];

		diag(p->path, e->line, "%s", e->msg);
		free(e->msg);
		free(e);
	}
	vec_free(&p->msgs);
}

bool sqitch_is_plan(const char *path, const char *text, size_t len)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	if (strcmp(base, "sqitch.plan") == 0)
		return true;
	return (len >= 15 && strncmp(text, "%syntax-version", 15) == 0) || (len >= 8 && strncmp(text, "%project", 8) == 0);
}

/* ---- sqitch.conf ---- */

static int conf_handler(void *user, const char *section, const char *name, const char *value)
{
	struct vec *conf = user;
	struct confent *e = xmalloc(sizeof(*e));
	char *sec = xstrdup(section), *q;
	size_t n;

	if (!value)
		value = "true"; /* a key alone, as git config allows */
	n = strlen(value);

	/* [engine "pg"] -> engine.pg, as git config names it */
	if ((q = strchr(sec, ' '))) {
		char *sub = q + strspn(q, " \t"), *end;

		*q = '.';
		if (*sub == '"' && (end = strrchr(sub + 1, '"')))
			memmove(q + 1, sub + 1, (size_t)(end - sub - 1)), q[1 + (end - sub - 1)] = '\0';
		else
			memmove(q + 1, sub, strlen(sub) + 1);
	}
	e->section = sec;
	e->key = xstrdup(name);
	e->value = n >= 2 && value[0] == '"' && value[n - 1] == '"' ? xstrndup(value + 1, n - 2) : xstrdup(value);
	vec_push(conf, e);
	return 1;
}

/* The value of SECTION.KEY in CONF (the last one set), or NULL. */
static const char *conf_get(struct vec *conf, const char *section, const char *key)
{
	for (size_t i = conf->n; i-- > 0;) {
		struct confent *e = conf->v[i];

		if (strcasecmp(e->section, section) == 0 && strcasecmp(e->key, key) == 0)
			return e->value;
	}
	return NULL;
}

/* A directory key as sqitch resolves it: [engine "pg"] first, then [core]. */
static const char *conf_dir(struct vec *conf, const char *key)
{
	const char *v = conf_get(conf, "engine.pg", key);

	return v ? v : conf_get(conf, "core", key);
}

static void conf_free(struct vec *conf)
{
	for (size_t i = 0; i < conf->n; i++) {
		struct confent *e = conf->v[i];

		free(e->section);
		free(e->key);
		free(e->value);
		free(e);
	}
	vec_free(conf);
}

/* Read PATH into CONF; 0 when there is none, 1 when read, -1 on a syntax error (printed). */
static int conf_read(const char *path, const char *shown, struct vec *conf)
{
	FILE *f = fopen(path, "r");
	int rc;

	if (!f)
		return errno == ENOENT ? 0 : (error("cannot read %s: %s", shown, strerror(errno)), -1);
	ini_allow_multiline = false;
	ini_allow_inline_comments = true;
	ini_use_stack = false;
	ini_allow_realloc = true;
	ini_stop_on_first_error = false;
	ini_allow_no_value = true;
	rc = ini_parse_file(f, conf_handler, conf);
	fclose(f);
	if (rc > 0) {
		diag(shown, rc, "syntax error (sqitch.conf is in git-config syntax)");
		return -1;
	}
	return rc == 0 ? 1 : (error("cannot read %s", shown), -1);
}

/* A sqitch target URI as a libpq connection string: db:pg://u@h/db -> postgresql://u@h/db,
 * db:pg:db -> postgresql:///db. NULL when it is not db:pg:. */
static char *target_uri(const char *uri)
{
	if (strncmp(uri, "db:pg:", 6) != 0)
		return NULL;
	uri += 6;
	if (strncmp(uri, "//", 2) == 0)
		return xasprintf("postgresql:%s", uri);
	return xasprintf("postgresql:///%s", uri);
}

/* ---- paths ---- */

/* A joined to B; B alone when absolute or A is "" or "."; without a leading "./". */
static char *join(const char *a, const char *b)
{
	char *s;

	while (b[0] == '.' && b[1] == '/')
		b += 2 + strspn(b + 2, "/");
	if (strcmp(b, ".") == 0 || !*b)
		b = ""; /* A itself */
	if (!*b)
		s = xstrdup(*a ? a : ".");
	else if (b[0] == '/' || !*a || strcmp(a, ".") == 0)
		s = xstrdup(b);
	else
		s = xasprintf("%s%s%s", a, a[strlen(a) - 1] == '/' ? "" : "/", b);
	while (strncmp(s, "./", 2) == 0 && s[2])
		memmove(s, s + 2, strlen(s + 2) + 1);
	return s;
}

static char *dirname_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? xstrndup(path, (size_t)(slash - path + (slash == path))) : xstrdup(".");
}

/* Whether the file REL (relative to G's directory) exists. */
static bool exists(struct graph *g, const char *rel)
{
	char *full = join(g->dir, rel);
	bool ok = access(full, F_OK) == 0;

	free(full);
	return ok;
}

/* Whether directories A and B (relative to DIR) are the same directory. */
static bool same_dir(const char *dir, const char *a, const char *b)
{
	char *fa = join(dir, a), *fb = join(dir, b), *ra = realpath(fa, NULL), *rb = realpath(fb, NULL);
	bool same = ra && rb && strcmp(ra, rb) == 0;

	free(fa);
	free(fb);
	free(ra);
	free(rb);
	return same;
}

/* ---- sqitch.plan ---- */

static bool name_char(int c)
{
	return isalnum(c) || c == '-' || c == '_' || c == '.';
}

static bool valid_name(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!name_char((unsigned char)*s))
			return false;
	return true;
}

/* Skip the "YYYY-MM-DDTHH:MM:SSZ planner <email>" part at S; returns what follows it (the
 * note, after '#'), or NULL when it is not there. */
static const char *skip_stamp(const char *s)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
	const char *lt, *gt;

	s += strspn(s, " \t");
	for (size_t i = 0; shape[i]; i++, s++)
		if (shape[i] == 'd' ? !isdigit((unsigned char)*s) : *s != shape[i])
			return NULL;
	if (!(lt = strchr(s, '<')) || !(gt = strchr(lt, '>')))
		return NULL;
	return gt + 1;
}

static char *trimmed(const char *s)
{
	size_t n;

	s += strspn(s, " \t");
	n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	return xstrndup(s, n);
}

static char *note_of(const char *rest)
{
	rest += strspn(rest, " \t");
	return *rest == '#' ? trimmed(rest + 1) : NULL;
}

static void parse_line(struct plan *p, char *s, int line)
{
	char *rest, *word;
	const char *after;
	size_t n;

	if (*s == '%') {
		char *eq = strchr(s, '='), *key;

		if (!eq) {
			perr(p, line, "bad pragma '%s' (use %%name=value)", s);
			return;
		}
		*eq = '\0';
		key = trimmed(s + 1);
		if (strcmp(key, "project") == 0) {
			free(p->project);
			p->project = trimmed(eq + 1);
		} else if (strcmp(key, "syntax-version") == 0) {
			char *v = trimmed(eq + 1);

			if (v[0] != '1' || (v[1] && v[1] != '.'))
				perr(p, line, "sqitch plan syntax version %s: orch reads version 1", v);
			free(v);
		}
		free(key);
		return;
	}
	n = strcspn(s, " \t[");
	word = xstrndup(s, n);
	rest = s + n;
	if (word[0] == '@') {
		struct tag *t;

		if (!(after = skip_stamp(rest))) {
			perr(p, line, "tag %s: expected 'YYYY-MM-DDTHH:MM:SSZ planner <email>' after it", word);
		} else if (!p->changes.n) {
			perr(p, line, "tag %s comes before any change", word);
		} else if (!valid_name(word + 1)) {
			perr(p, line, "bad tag name '%s' (orch uses letters, digits, '-', '_' and '.')", word);
		} else {
			for (size_t i = 0; i < p->tags.n; i++)
				if (strcmp(((struct tag *)p->tags.v[i])->name, word + 1) == 0) {
					perr(p, line, "duplicate tag %s (first at line %d)", word, ((struct tag *)p->tags.v[i])->line);
					free(word);
					return;
				}
			t = xcalloc(1, sizeof(*t));
			t->name = xstrdup(word + 1);
			t->line = line;
			t->after = p->changes.n;
			vec_push(&p->tags, t);
		}
		free(word);
		return;
	}
	if (word[0] == '-') {
		perr(p, line, "'%s': a change the plan reverts (a '-' line) is not supported by orch; remove both lines", word);
		free(word);
		return;
	}
	{
		struct change *c;
		const char *name = word[0] == '+' ? word + 1 : word;

		if (!valid_name(name)) {
			perr(p, line, "change name '%s' cannot be a step name (orch uses letters, digits, '-', '_' and '.')",
			     name);
			free(word);
			return;
		}
		c = xcalloc(1, sizeof(*c));
		c->name = xstrdup(name);
		c->line = line;
		c->ntags = p->tags.n;
		free(word);
		rest += strspn(rest, " \t");
		if (*rest == '[') {
			char *close = strchr(rest, ']');
			struct vec deps = {0};

			if (!close) {
				perr(p, line, "change %s: '[' without ']'", c->name);
				close = rest + strlen(rest) - 1;
			}
			*close = '\0';
			split_words(rest + 1, &deps);
			for (size_t i = 0; i < deps.n; i++) {
				char *d = deps.v[i];

				if (d[0] == '!') {
					warn("%s:%d: change %s conflicts with %s: orch does not check conflicts", p->path, line,
					     c->name, d + 1);
					free(d);
				} else {
					vec_push(&c->deps, d);
				}
			}
			vec_free(&deps);
			rest = close + 1;
		}
		if (!(after = skip_stamp(rest))) {
			perr(p, line, "change %s: expected 'YYYY-MM-DDTHH:MM:SSZ planner <email>' after its name%s", c->name,
			     c->deps.n ? " and dependencies" : "");
		} else {
			c->note = note_of(after);
		}
		for (size_t i = 0; i < p->changes.n; i++) {
			struct change *o = p->changes.v[i];

			if (strcmp(o->name, c->name) == 0) {
				c->instance = o->instance; /* the latest so far */
				if (o->ntags == c->ntags) {
					perr(p, line, "change %s appears again (line %d) without a tag between: to rework a change, tag the plan first",
					     c->name, o->line);
				}
			}
		}
		c->instance++;
		vec_push(&p->changes, c);
	}
}

static void parse_plan(struct plan *p, char *text)
{
	int line = 0;

	for (char *s = text, *nl; s && *s; s = nl ? nl + 1 : NULL) {
		char *t;

		line++;
		if ((nl = strchr(s, '\n'))) {
			*nl = '\0';
			if (nl > s && nl[-1] == '\r')
				nl[-1] = '\0';
		}
		t = s + strspn(s, " \t");
		if (!*t || *t == '#')
			continue;
		parse_line(p, t, line);
	}
}

/* The step name of change C: the first version keeps the name, later ones get ".N". */
static char *step_name(const struct change *c)
{
	return c->instance == 1 ? xstrdup(c->name) : xasprintf("%s.%d", c->name, c->instance);
}

/* The script base name of change I ("users", or "users@v1.0" for a version reworked
 * later), as sqitch finds it in DEPLOY. */
static char *script_name(struct graph *g, struct plan *p, size_t i, const char *deploy)
{
	struct change *c = p->changes.v[i];
	char *first = NULL;

	for (size_t j = i + 1; j < p->changes.n; j++) {
		struct change *next = p->changes.v[j];

		if (strcmp(next->name, c->name) != 0)
			continue;
		/* the tags between this version and the next */
		for (size_t k = 0; k < p->tags.n; k++) {
			struct tag *t = p->tags.v[k];
			char *base, *file;
			bool found;

			if (t->after <= i || t->after > j)
				continue;
			base = xasprintf("%s@%s", c->name, t->name);
			file = xasprintf("%s/%s.sql", deploy, base);
			found = exists(g, file);
			free(file);
			if (found) {
				free(first);
				return base;
			}
			if (!first)
				first = base;
			else
				free(base);
		}
		break;
	}
	return first ? first : xstrdup(c->name);
}

/* The change a dependency D of change I names (NAME, NAME@TAG, PROJECT:NAME), or NULL
 * after an error. */
static struct node *resolve(struct plan *p, size_t i, const char *d)
{
	struct change *c = p->changes.v[i];
	const char *colon = strchr(d, ':'), *at;
	char *name;
	size_t limit = i; /* changes before this one */
	struct node *found = NULL;

	if (colon) {
		if (!p->project || strncmp(d, p->project, (size_t)(colon - d)) != 0 || p->project[colon - d]) {
			perr(p, c->line, "change %s needs %s, in another sqitch project: orch reads one project per plan", c->name, d);
			return NULL;
		}
		d = colon + 1;
	}
	at = strchr(d, '@');
	name = at ? xstrndup(d, (size_t)(at - d)) : xstrdup(d);
	if (at) {
		struct tag *t = NULL;

		for (size_t k = 0; k < p->tags.n && !t; k++)
			if (strcmp(((struct tag *)p->tags.v[k])->name, at + 1) == 0)
				t = p->tags.v[k];
		if (!t) {
			perr(p, c->line, "change %s needs %s: there is no tag @%s in the plan", c->name, d, at + 1);
			free(name);
			return NULL;
		}
		if (t->after < limit)
			limit = t->after;
		else if (t->after > i) {
			perr(p, c->line, "change %s needs %s: tag @%s comes after it", c->name, d, at + 1);
			free(name);
			return NULL;
		}
		if (!*name) {
			free(name);
			return t->node;
		}
	}
	for (size_t k = limit; k-- > 0 && !found;)
		if (strcmp(((struct change *)p->changes.v[k])->name, name) == 0)
			found = ((struct change *)p->changes.v[k])->node;
	if (!found) {
		bool later = false;

		for (size_t k = i; k < p->changes.n && !later; k++)
			later = strcmp(((struct change *)p->changes.v[k])->name, name) == 0;
		perr(p, c->line, "change %s needs %s, which %s", c->name, d,
		     later ? "comes later in the plan (sqitch deploys in plan order)" : "is not in the plan");
	}
	free(name);
	return found;
}

/* Read sqitch.conf for PLAN (relative to G's directory): beside it, else in the directory
 * above when its top_dir is the plan's directory. *BASE gets the directory the conf's
 * paths are relative to. */
static int find_conf(struct graph *g, const char *plan, struct vec *conf, char **base)
{
	char *pdir = dirname_of(plan), *path = join(pdir, "sqitch.conf"), *full = join(g->dir, path);
	int rc = conf_read(full, path, conf);

	free(full);
	if (rc != 0) {
		*base = pdir;
		free(path);
		return rc;
	}
	free(path);
	{
		char *up = join(pdir, ".."), *upconf = join(up, "sqitch.conf");
		struct vec other = {0};

		full = join(g->dir, upconf);
		rc = conf_read(full, upconf, &other);
		free(full);
		free(upconf);
		if (rc > 0) {
			const char *top = conf_dir(&other, "top_dir");
			char *topdir = join(up, top ? top : ".");

			if (same_dir(g->dir, topdir, pdir)) {
				*conf = other;
				*base = up;
				free(topdir);
				free(pdir);
				return 1;
			}
			free(topdir);
			rc = 0;
		}
		conf_free(&other);
		free(up);
	}
	*base = pdir;
	return rc;
}

/* sqitch_add, with SHOWN the plan's path in messages. */
static int add(struct graph *g, const char *planpath, const char *shown, const char *database, int line,
               struct vec *steps, char **project)
{
	struct plan p = {0};
	struct vec conf = {0};
	char *full = join(g->dir, planpath), *text, *base = NULL, *top, *dirs[3];
	const char *keys[3] = {"deploy_dir", "verify_dir", "revert_dir"}, *sub[3] = {"deploy", "verify", "revert"};
	char *db = NULL;
	size_t len;
	int rc;
	bool ok;

	p.path = shown;
	*project = NULL;
	text = read_file(full, &len);
	free(full);
	if (!text) {
		error("cannot read the sqitch plan %s: %s", shown, strerror(errno));
		return 1;
	}
	rc = find_conf(g, planpath, &conf, &base);
	if (rc < 0)
		p.errors++;
	{
		const char *t = conf_dir(&conf, "top_dir");

		top = join(base, t ? t : ".");
	}
	for (int k = 0; k < 3; k++) {
		const char *d = conf_dir(&conf, keys[k]);

		dirs[k] = d ? join(base, d) : join(top, sub[k]);
	}
	if (!database && !g->database && !getenv("DATABASE_URL")) {
		const char *t = conf_get(&conf, "engine.pg", "target");
		char *sec;

		if (!t)
			t = conf_get(&conf, "core", "target");
		if (t && strncmp(t, "db:", 3) != 0) {
			const char *name = t;

			sec = xasprintf("target.%s", t);
			t = conf_get(&conf, sec, "uri");
			free(sec);
			if (!t) {
				error("%s: sqitch.conf's target is %s, which has no [target \"%s\"] uri", shown, name, name);
				p.errors++;
			}
		}
		if (t && !(db = target_uri(t))) {
			error("%s: the target %s in sqitch.conf is not a PostgreSQL one (db:pg:...)", shown, t);
			p.errors++;
		}
		database = db;
	}

	parse_plan(&p, text);
	if (!p.project && !p.errors)
		perr(&p, 1, "no %%project pragma: a sqitch plan names its project (%%project=NAME)");
	if (!p.changes.n && !p.errors)
		perr(&p, 1, "the sqitch plan has no changes");
	if (p.project && !valid_name(p.project) && !p.errors)
		perr(&p, 1, "bad project name '%s': it names the plan (use letters, digits, '-', '_' and '.')", p.project);
	ok = !p.errors; /* the plan parsed: its changes become steps */
	for (size_t i = 0; i < p.changes.n && ok; i++) {
		struct change *c = p.changes.v[i];
		char *name = step_name(c), *script = script_name(g, &p, i, dirs[0]);
		struct node *n = graph_add(g, NODE_STEP, name, line > 0 ? line : c->line);
		char *files[3];

		for (int k = 0; k < 3; k++)
			files[k] = xasprintf("%s/%s.sql", dirs[k], script);
		if (!n) {
			perr(&p, c->line, "change %s: its step name '%s' is taken (a %s at line %d)", c->name, name,
			     node_kindname(graph_find(g, name)), graph_find(g, name)->line);
			for (int k = 0; k < 3; k++)
				free(files[k]);
			free(name);
			free(script);
			continue;
		}
		c->node = n;
		n->stepkind = STEP_SQL;
		/* an earlier version of a reworked change is history: `sqitch rework` renamed its
		 * scripts (X.sql to X@TAG.sql), which must not make the applied step "changed" */
		n->on_change = strcmp(script, c->name) != 0 ? ONCHANGE_IGNORE : ONCHANGE_ERROR;
		n->title = c->note && *c->note ? xstrdup(c->note) : NULL;
		node_x(n)->database = database ? xstrdup(database) : NULL;
		if (!exists(g, files[0]))
			perr(&p, c->line, "change %s: its deploy script %s does not exist", c->name, files[0]);
		n->sql = files[0];
		if (exists(g, files[1]))
			node_x(n)->sql_verify = files[1];
		else
			free(files[1]);
		if (exists(g, files[2]))
			node_x(n)->sql_rollback = files[2];
		else
			free(files[2]);
		if (i > 0 && ((struct change *)p.changes.v[i - 1])->node)
			graph_adddep(n, ((struct change *)p.changes.v[i - 1])->node, line > 0 ? line : c->line, EDGE_NEEDS);
		vec_push(steps, n);
		free(name);
		free(script);
	}
	/* tags: milestones, made before the dependencies that name them resolve */
	for (size_t k = 0; k < p.tags.n && ok; k++) {
		struct tag *t = p.tags.v[k];
		char *name = xasprintf("@%s", t->name);
		size_t from = k ? ((struct tag *)p.tags.v[k - 1])->after : 0;

		if (!(t->node = graph_add(g, NODE_MILESTONE, name, line > 0 ? line : t->line))) {
			perr(&p, t->line, "tag @%s: the name '%s' is taken", t->name, name);
			free(name);
			continue;
		}
		t->node->title = xasprintf("sqitch tag @%s", t->name);
		if (k)
			graph_adddep(t->node, ((struct tag *)p.tags.v[k - 1])->node, line > 0 ? line : t->line, EDGE_NEEDS);
		for (size_t i = from; i < t->after; i++)
			graph_adddep(t->node, ((struct change *)p.changes.v[i])->node, line > 0 ? line : t->line, EDGE_NEEDS);
		free(name);
	}
	for (size_t i = 0; i < p.changes.n && ok; i++) {
		struct change *c = p.changes.v[i];

		for (size_t k = 0; k < c->deps.n && c->node; k++) {
			struct node *d = resolve(&p, i, c->deps.v[k]);
			bool have = false;

			for (size_t e = 0; d && e < c->node->ndeps && !have; e++)
				have = c->node->deps[e].dep == d; /* the change before it, named again */
			if (d && !have)
				graph_adddep(c->node, d, line > 0 ? line : c->line, EDGE_NEEDS);
		}
	}

	print_errors(&p);
	*project = p.project;
	for (size_t i = 0; i < p.changes.n; i++) {
		struct change *c = p.changes.v[i];

		for (size_t k = 0; k < c->deps.n; k++)
			free(c->deps.v[k]);
		vec_free(&c->deps);
		free(c->name);
		free(c->note);
		free(c);
	}
	for (size_t k = 0; k < p.tags.n; k++) {
		free(((struct tag *)p.tags.v[k])->name);
		free(p.tags.v[k]);
	}
	vec_free(&p.changes);
	vec_free(&p.tags);
	for (int k = 0; k < 3; k++)
		free(dirs[k]);
	conf_free(&conf);
	free(top);
	free(base);
	free(db);
	free(text);
	return p.errors;
}

int sqitch_add(struct graph *g, const char *plan, const char *database, int line, struct vec *steps,
               char **project)
{
	return add(g, plan, plan, database, line, steps, project);
}

struct graph *sqitch_graph(const char *path, const char *dir, int *nerrors)
{
	struct graph *g = graph_new(path, dir);
	struct vec steps = {0};
	const char *slash = strrchr(path, '/');
	char *project;
	int errors = add(g, slash ? slash + 1 : path, path, NULL, 0, &steps, &project);

	vec_free(&steps);
	if (project) {
		free(g->name);
		g->name = project;
	}
	if (!errors)
		errors = graph_finish(g);
	for (size_t i = 0; i < g->nodes.n; i++) {
		struct node *n = g->nodes.v[i];

		if (!n->title)
			n->title = xstrdup(n->name);
	}
	if (nerrors)
		*nerrors = errors;
	return errors ? NULL : g;
}
