/* clean.c — -t clean: remove the declared outputs of a plan's steps, and nothing else. */
#include "clean.h"

#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "journal.h"
#include "util.h"

struct cleaner {
	bool dryrun;
	char *plan, *state, *orchfile; /* real paths: the plan's directory, its .orch, the Orchfile */
	struct vec files, dirs;        /* what to remove (new strings), each once */
	int status;
};

static bool has_glob(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

static bool listed(const struct vec *v, const char *path)
{
	for (size_t i = 0; i < v->n; i++)
		if (strcmp(v->v[i], path) == 0)
			return true;
	return false;
}

/* Whether real path P is DIR or inside it. */
static bool within(const char *p, const char *dir)
{
	size_t n = dir ? strlen(dir) : 0;

	return n && strncmp(p, dir, n) == 0 && (p[n] == '\0' || p[n] == '/' || strcmp(dir, "/") == 0);
}

/* Where PATH is, its directory resolved (not PATH itself: a symlink is removed, not
 * what it points to), as a new string; NULL when its directory does not resolve. */
static char *location(const char *path, bool isdir)
{
	const char *slash = strrchr(path, '/');
	char *dir, *real, *loc;

	if (isdir)
		return realpath(path, NULL);
	dir = slash ? xstrndup(path, slash == path ? 1 : (size_t)(slash - path)) : xstrdup(".");
	real = realpath(dir, NULL);
	free(dir);
	if (!real)
		return NULL;
	loc = xasprintf("%s/%s", strcmp(real, "/") ? real : "", slash ? slash + 1 : path);
	free(real);
	return loc;
}

/* Why PATH may not be removed, or NULL. */
static const char *refusal(const struct cleaner *c, const char *path, bool isdir)
{
	char *loc = location(path, isdir);
	const char *why = NULL;

	if (!loc)
		why = "its directory cannot be resolved";
	else if (within(loc, c->state))
		why = "it is orch's own state (.orch)";
	else if (isdir && strcmp(c->plan, loc) == 0)
		why = "it is the plan's directory";
	else if (isdir && within(c->plan, loc))
		why = "it holds the plan's directory";
	else if (c->orchfile && strcmp(loc, c->orchfile) == 0)
		why = "it is the Orchfile";
	free(loc);
	return why;
}

/* Take PATH (an output, or a match of its glob) for removal when it exists; a directory
 * only when DECLARED (named by the output itself, not matched by a glob). */
static void take(struct cleaner *c, const char *path, bool declared)
{
	struct stat st;
	bool isdir;
	const char *why;

	if (lstat(path, &st) < 0)
		return;
	isdir = S_ISDIR(st.st_mode);
	if (isdir && !declared) {
		info("leaving %s: a directory matched by a glob (declare it as an output to have it cleaned)", path);
		return;
	}
	if (listed(&c->files, path) || listed(&c->dirs, path))
		return;
	if ((why = refusal(c, path, isdir))) {
		error("not removing %s: %s", path, why);
		c->status = EXIT_FAILED;
		return;
	}
	vec_push(isdir ? &c->dirs : &c->files, xstrdup(path));
}

static void take_output(struct cleaner *c, const char *pat)
{
	glob_t gl;
	char *p;
	size_t n;

	if (has_glob(pat)) {
		if (glob(pat, 0, NULL, &gl) == 0) {
			for (size_t i = 0; i < gl.gl_pathc; i++)
				take(c, gl.gl_pathv[i], false);
			globfree(&gl);
		}
		return;
	}
	/* "out/" is the directory out, not what a symlink out points to */
	p = xstrdup(pat);
	for (n = strlen(p); n > 1 && p[n - 1] == '/'; n--)
		p[n - 1] = '\0';
	take(c, p, true);
	free(p);
}

/* Remove directory PATH and everything in it, never following a symlink. */
static int remove_tree(const char *path, int depth)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int r = 0;

	if (!d)
		return -1;
	while ((de = readdir(d))) {
		struct stat st;
		char *p;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		p = xasprintf("%s/%s", path, de->d_name);
		if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode) && depth < 256)
			r |= remove_tree(p, depth + 1);
		else if (unlink(p) < 0 && errno != ENOENT)
			r = -1;
		free(p);
	}
	closedir(d);
	return r < 0 ? r : rmdir(path);
}

static int longer_first(const void *a, const void *b)
{
	size_t la = strlen(*(char *const *)a), lb = strlen(*(char *const *)b);

	return la < lb ? 1 : la > lb ? -1 : strcmp(*(char *const *)a, *(char *const *)b);
}

int clean_outputs(struct graph *g, struct node **targets, size_t ntargets, bool dryrun)
{
	struct cleaner c = {0};
	long holder;
	char *state = xasprintf("%s/.orch", g->dir);
	const char *base = strrchr(g->file, '/');

	c.dryrun = dryrun;
	c.plan = realpath(".", NULL);
	c.state = realpath(state, NULL);
	if (!c.state) /* no .orch yet: where it would be */
		c.state = state, state = NULL;
	c.orchfile = realpath(base ? base + 1 : g->file, NULL); /* we are in its directory */
	free(state);
	if (!c.plan)
		fatal("cannot resolve the plan's directory %s:", g->dir);
	if (!dryrun && (holder = journal_lock_holder(g)) != 0)
		fatalx(EXIT_LOCKED, "another orch%s is running this plan: not cleaning its outputs", holder > 0 ?
		       xasprintf(" (pid %ld)", holder) : "");

	graph_clearmarks(g);
	graph_select(g, ntargets ? targets : NULL, ntargets, MARK_SELECTED);
	for (size_t i = 0; i < g->steps.n; i++) {
		struct node *n = g->steps.v[i];

		if (n->mark == MARK_SELECTED)
			for (size_t k = 0; k < n->x->outputs.n; k++)
				take_output(&c, n->x->outputs.v[k]);
	}
	/* files first, then directories, deepest first: -n says what the removal does */
	if (c.dirs.n)
		qsort(c.dirs.v, c.dirs.n, sizeof(*c.dirs.v), longer_first);
	for (size_t i = 0; i < c.files.n; i++) {
		const char *p = c.files.v[i];

		if (dryrun)
			printf("would remove %s\n", p);
		else if (unlink(p) == 0 || errno == ENOENT)
			printf("removed %s\n", p);
		else
			error("cannot remove %s:", p), c.status = EXIT_FAILED;
	}
	for (size_t i = 0; i < c.dirs.n; i++) {
		const char *p = c.dirs.v[i];

		if (dryrun)
			printf("would remove %s/\n", p);
		else if (remove_tree(p, 0) == 0 || errno == ENOENT)
			printf("removed %s/\n", p);
		else
			error("cannot remove %s:", p), c.status = EXIT_FAILED;
	}
	if (!c.files.n && !c.dirs.n && c.status == EXIT_DONE)
		printf("nothing to clean\n");
	for (size_t i = 0; i < c.files.n; i++)
		free(c.files.v[i]);
	for (size_t i = 0; i < c.dirs.n; i++)
		free(c.dirs.v[i]);
	vec_free(&c.files);
	vec_free(&c.dirs);
	free(c.plan);
	free(c.state);
	free(c.orchfile);
	return c.status;
}
