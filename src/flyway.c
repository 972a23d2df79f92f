/* flyway.c — reads a Flyway migrations directory into the graph, as `flyway migrate`
 * would run it: versioned migrations V<version>__<description>.sql in version order
 * (1.2.9 before 1.2.10; V1_1 and V1.1 are the same version), each a SQL step needing the
 * one before; U<version>__<description>.sql the undo of that version (its sql_rollback);
 * repeatable migrations R__<description>.sql after every versioned one, in description
 * order, run again whenever their text changes. Other files are not migrations and are
 * left alone; a .sql file that starts like one and is misnamed is an error, where Flyway
 * would skip it silently. */
#include "flyway.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum fwkind { FW_VERSIONED, FW_UNDO, FW_REPEATABLE };

struct migration {
	enum fwkind kind;
	char *path;    /* relative to the graph's directory */
	char *file;    /* the file name, without ".sql" */
	char *version; /* NULL for a repeatable */
	char *desc;
};

/* The next version part of *S as digits without leading zeros (at most 63). */
static void part(const char **s, char out[64])
{
	size_t n = 0;

	while (**s == '0' && isdigit((unsigned char)(*s)[1]))
		(*s)++;
	while (isdigit((unsigned char)**s)) {
		if (n < 63)
			out[n++] = **s;
		(*s)++;
	}
	out[n] = '\0';
	if (**s == '.' || **s == '_')
		(*s)++;
}

int flyway_vercmp(const char *a, const char *b)
{
	while (*a || *b) {
		char x[64], y[64];
		size_t lx, ly;
		int c;

		part(&a, x);
		part(&b, y);
		if (!*x)
			strcpy(x, "0");
		if (!*y)
			strcpy(y, "0");
		lx = strlen(x);
		ly = strlen(y);
		if (lx != ly)
			return lx < ly ? -1 : 1;
		if ((c = strcmp(x, y)) != 0)
			return c;
	}
	return 0;
}

/* Whether S is a version: digits, parts separated by one '.' or '_'. */
static bool valid_version(const char *s, size_t n)
{
	if (!n || !isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]) && !((s[i] == '.' || s[i] == '_') && isdigit((unsigned char)s[i + 1])))
			return false;
	return true;
}

static bool name_ok(const char *s)
{
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' && *s != '.')
			return false;
	return true;
}

/* Parse the file NAME (in directory REL); adds it to OUT, or reports why not. */
static int parse_name(const char *rel, const char *name, struct vec *out)
{
	size_t len = strlen(name), base = len - 4;
	const char *sep;
	struct migration *m;
	enum fwkind kind;

	if (len < 5 || strcmp(name + base, ".sql") != 0 || !strchr("VUR", name[0]))
		return 0; /* not a migration: Flyway leaves it alone too */
	kind = name[0] == 'V' ? FW_VERSIONED : name[0] == 'U' ? FW_UNDO : FW_REPEATABLE;
	sep = strstr(name, "__");
	if (!sep || (size_t)(sep - name) >= base || sep + 2 >= name + base ||
	    (kind == FW_REPEATABLE ? sep != name + 1 : !valid_version(name + 1, (size_t)(sep - name - 1)))) {
		error("%s/%s: not a Flyway migration name (%s)", rel, name,
		      kind == FW_REPEATABLE ? "R__<description>.sql"
		                            : kind == FW_UNDO ? "U<version>__<description>.sql, version as 1, 1.2 or 1_2"
		                                              : "V<version>__<description>.sql, version as 1, 1.2 or 1_2");
		return 1;
	}
	m = xcalloc(1, sizeof(*m));
	m->kind = kind;
	m->path = xasprintf("%s/%s", rel, name);
	m->file = xstrndup(name, base);
	m->version = kind == FW_REPEATABLE ? NULL : xstrndup(name + 1, (size_t)(sep - name - 1));
	m->desc = xstrndup(sep + 2, (size_t)(name + base - sep - 2));
	if (!name_ok(m->file)) {
		error("%s: the name %s cannot be a step name (orch uses letters, digits, '-', '_' and '.')", m->path, m->file);
		free(m->path), free(m->file), free(m->version), free(m->desc), free(m);
		return 1;
	}
	vec_push(out, m);
	return 0;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The migrations under REL (FULL on disk), recursively, into OUT. */
static int scan(const char *full, const char *rel, struct vec *out)
{
	DIR *d = opendir(full);
	struct dirent *de;
	struct vec names = {0};
	int errors = 0;

	if (!d) {
		error("cannot read the Flyway directory %s: %s", rel, strerror(errno));
		return 1;
	}
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			vec_push(&names, xstrdup(de->d_name));
	closedir(d);
	if (names.n)
		qsort(names.v, names.n, sizeof(*names.v), cmp_name);
	for (size_t i = 0; i < names.n; i++) {
		char *f = xasprintf("%s/%s", full, (char *)names.v[i]);
		struct stat st;

		if (stat(f, &st) == 0 && S_ISDIR(st.st_mode)) {
			char *r = xasprintf("%s/%s", rel, (char *)names.v[i]);

			errors += scan(f, r, out);
			free(r);
		} else {
			errors += parse_name(rel, names.v[i], out);
		}
		free(f);
		free(names.v[i]);
	}
	vec_free(&names);
	return errors;
}

static int cmp_migration(const void *a, const void *b)
{
	const struct migration *x = *(struct migration *const *)a, *y = *(struct migration *const *)b;
	int c;

	if (x->kind != y->kind)
		return x->kind == FW_REPEATABLE ? 1 : y->kind == FW_REPEATABLE ? -1 : x->kind < y->kind ? -1 : 1;
	if (x->kind == FW_REPEATABLE)
		return strcmp(x->desc, y->desc);
	c = flyway_vercmp(x->version, y->version);
	return c ? c : strcmp(x->path, y->path); /* one version twice: the same report each time */
}

int flyway_add(struct graph *g, const char *dir, const char *database, int line, struct vec *steps)
{
	char *rel = xstrndup(dir, strlen(dir) - (strlen(dir) > 1 && dir[strlen(dir) - 1] == '/'));
	char *full = rel[0] == '/' ? xstrdup(rel) : xasprintf("%s/%s", g->dir, rel);
	struct vec ms = {0};
	struct node *last = NULL, **undo_of;
	int errors = scan(full, rel, &ms);

	if (ms.n)
		qsort(ms.v, ms.n, sizeof(*ms.v), cmp_migration);
	undo_of = xcalloc(ms.n ? ms.n : 1, sizeof(*undo_of));
	for (size_t i = 0; i < ms.n; i++) {
		struct migration *m = ms.v[i], *prev = i ? ms.v[i - 1] : NULL;
		struct node *n;

		if (m->kind == FW_UNDO)
			continue;
		if (m->kind == FW_VERSIONED && prev && prev->kind == FW_VERSIONED &&
		    flyway_vercmp(prev->version, m->version) == 0) {
			error("%s: version %s again (as in %s): each version is one migration", m->path, m->version, prev->path);
			errors++;
			continue;
		}
		if (!(n = graph_add(g, NODE_STEP, m->file, line))) {
			error("%s: the step name %s is taken", m->path, m->file);
			errors++;
			continue;
		}
		n->stepkind = STEP_SQL;
		n->sql = xstrdup(m->path);
		n->title = xstrdup(m->desc);
		for (char *c = n->title; *c; c++)
			if (*c == '_')
				*c = ' '; /* Flyway's own description */
		node_x(n)->database = database ? xstrdup(database) : NULL;
		n->on_change = m->kind == FW_REPEATABLE ? ONCHANGE_RERUN : ONCHANGE_ERROR;
		undo_of[i] = n;
		if (last)
			graph_adddep(n, last, line, EDGE_NEEDS);
		if (m->kind == FW_VERSIONED)
			last = n; /* repeatables follow the last versioned one, not each other */
		vec_push(steps, n);
	}
	/* undo files: the rollback of their version */
	for (size_t i = 0; i < ms.n; i++) {
		struct migration *m = ms.v[i];
		struct node *n = NULL;

		if (m->kind != FW_UNDO)
			continue;
		for (size_t k = 0; k < ms.n && !n; k++) {
			struct migration *v = ms.v[k];

			if (v->kind == FW_VERSIONED && undo_of[k] && flyway_vercmp(v->version, m->version) == 0)
				n = undo_of[k];
		}
		if (!n) {
			error("%s: undoes version %s, which has no V%s__ migration", m->path, m->version, m->version);
			errors++;
		} else if (n->x->sql_rollback) {
			error("%s: version %s has another undo, %s", m->path, m->version, n->x->sql_rollback);
			errors++;
		} else {
			node_x(n)->sql_rollback = xstrdup(m->path);
		}
	}
	if (!ms.n && !errors) {
		error("%s: no Flyway migrations in it (V<version>__<description>.sql)", rel);
		errors++;
	}
	for (size_t i = 0; i < ms.n; i++) {
		struct migration *m = ms.v[i];

		free(m->path), free(m->file), free(m->version), free(m->desc), free(m);
	}
	vec_free(&ms);
	free(undo_of);
	free(full);
	free(rel);
	return errors;
}
