/* scratch.c — orch --test-rollback: the plan's SQL steps deployed, rolled back and
 * deployed again on a scratch database (ORCH_SCRATCH_URL, never the plan's own), with a
 * schema dump (pg_dump --schema-only) before and after each pass compared: the rollback
 * must leave the schema as it found it, and the second deploy must make the first's.
 * The passes keep their journal, logs and dumps in a directory of their own, so the
 * plan's own progress is not touched. */
#include "scratch.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "journal.h"
#include "os.h"
#include "pg.h"
#include "rollback.h"
#include "state.h"

/* The schema of URL (pg_dump --schema-only, without orch's schemas and pg_dump's
 * comments and session keys) into DIR/NAME. Returns 0, or -1 with a message. */
static int dump(const char *url, const char *dir, const char *name)
{
	char *raw = xasprintf("%s/%s.raw", dir, name), *path = xasprintf("%s/%s", dir, name);
	char *argv[] = {"pg_dump", "--schema-only", "--no-owner", "--no-privileges", "-N", "orch", "-N", "orch_backup",
	                "-d", (char *)url, NULL};
	struct buf b = {0};
	char *text;
	size_t len;
	int rc = os_run(argv, raw);

	if (rc != 0) {
		if (rc < 0)
			error("cannot run pg_dump:");
		else
			error("pg_dump of the scratch database failed (exit %d)", rc);
		free(raw);
		free(path);
		return -1;
	}
	if (!(text = read_file(raw, &len))) {
		error("cannot read %s:", raw);
		free(raw);
		free(path);
		return -1;
	}
	for (size_t i = 0; i < len;) {
		size_t e = i;

		while (e < len && text[e] != '\n')
			e++;
		if (e > i && strncmp(text + i, "--", 2) != 0 && strncmp(text + i, "\\restrict", 9) != 0 &&
		    strncmp(text + i, "\\unrestrict", 11) != 0) {
			buf_add(&b, text + i, e - i);
			buf_putc(&b, '\n');
		}
		i = e + 1;
	}
	rc = write_file_atomic(path, b.s ? b.s : "", b.len, false);
	if (rc < 0)
		error("cannot write %s:", path);
	unlink(raw);
	buf_free(&b);
	free(text);
	free(raw);
	free(path);
	return rc < 0 ? -1 : 0;
}

/* Whether DIR/A and DIR/B hold the same text; when not, diff -u says how. */
static bool same(const char *dir, const char *a, const char *b)
{
	char *pa = xasprintf("%s/%s", dir, a), *pb = xasprintf("%s/%s", dir, b);
	char *argv[] = {"diff", "-u", pa, pb, NULL};
	size_t la, lb;
	char *ta = read_file(pa, &la), *tb = read_file(pb, &lb);
	bool eq = ta && tb && la == lb && memcmp(ta, tb, la) == 0;

	if (!eq && os_run(argv, NULL) < 0)
		warn("cannot run diff:");
	free(ta);
	free(tb);
	free(pa);
	free(pb);
	return eq;
}

/* DIR gets a symbolic link to each entry of the plan directory but .orch: the steps'
 * files are where they are, and the journal is DIR's own. */
static int mirror(struct graph *g, const char *dir)
{
	DIR *d = opendir(g->dir);
	struct dirent *de;

	if (!d) {
		error("cannot read %s:", g->dir);
		return -1;
	}
	while ((de = readdir(d))) {
		char *from, *to;
		int rc;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 || strcmp(de->d_name, ".orch") == 0)
			continue;
		from = xasprintf("%s/%s", g->dir, de->d_name);
		to = xasprintf("%s/%s", dir, de->d_name);
		rc = symlink(from, to);
		if (rc < 0)
			error("cannot link %s:", to);
		free(from);
		free(to);
		if (rc < 0) {
			closedir(d);
			return -1;
		}
	}
	closedir(d);
	return 0;
}

int scratch_test_rollback(struct graph *g, struct node **targets, size_t ntargets, const struct runopts *o)
{
	const char *url = getenv("ORCH_SCRATCH_URL");
	struct rollbackopts rb = {false, false, true, NULL};
	char tmpl[PATH_MAX], *masked, *t = temp_template("test-rollback");
	struct journal *j;
	bool back, again;
	int bad = 0, status;

	snprintf(tmpl, sizeof(tmpl), "%s", t);
	free(t);
	if (!url || !*url) {
		error("--test-rollback needs ORCH_SCRATCH_URL: the connection string of a scratch database it may change"
		      " (never the plan's own)");
		return EXIT_USAGE;
	}
	graph_clearmarks(g);
	graph_select(g, ntargets ? targets : NULL, ntargets, MARK_SELECTED);
	for (size_t i = 0; i < g->nodes.n; i++) {
		struct node *n = g->nodes.v[i];
		const char *own;

		if (n->mark != MARK_SELECTED)
			continue;
		if ((n->kind == NODE_STEP && n->stepkind != STEP_SQL) || (n->kind == NODE_MILESTONE && n->x->validate)) {
			error("--test-rollback runs SQL steps only: %s %s (%s:%d) runs %s", node_kindname(n), n->name, g->file,
			      n->line, n->stepkind == STEP_MANUAL ? "nothing (a manual gate)" : "a shell command");
			bad++;
		} else if (n->kind == NODE_STEP && (own = pg_conninfo(g, n)) && strcmp(own, url) == 0) {
			error("--test-rollback: ORCH_SCRATCH_URL is the database of step %s, which it would change: give a"
			      " scratch database", n->name);
			bad++;
		}
	}
	graph_clearmarks(g);
	if (bad)
		return EXIT_USAGE;
	if (!mkdtemp(tmpl)) {
		error("cannot create a directory in /tmp:");
		return EXIT_FAILED;
	}
	if (mirror(g, tmpl) < 0)
		return EXIT_FAILED;
	if (chdir(tmpl) < 0) {
		error("cannot change to %s:", tmpl);
		return EXIT_FAILED;
	}
	/* the plan lives here now: its journal (g->dir/.orch) is this directory's */
	free(g->dir);
	g->dir = xstrdup(tmpl);
	free(g->changelog); /* the scratch journal is no history of the plan's */
	g->changelog = NULL;
	free(g->state); /* its journal is the temporary one, never the plan's state database */
	g->state = NULL;
	pg_scratch(url);
	masked = mask_password(url);
	printf("test-rollback on %s (journal, logs and schema dumps in %s)\n", masked, tmpl);
	j = journal_open(g, JOURNAL_LOCK | JOURNAL_CREATE);
	state_load(g, j);
	if (dump(url, tmpl, "0-before.sql") < 0) {
		status = EXIT_FAILED;
		goto out;
	}
	printf("== deploy\n");
	if ((status = run_targets(g, j, targets, ntargets, o)) != EXIT_DONE || dump(url, tmpl, "1-deployed.sql") < 0)
		goto failed;
	printf("== roll back\n");
	if ((status = rollback_target(g, j, NULL, &rb, o)) != EXIT_DONE || dump(url, tmpl, "2-rolled-back.sql") < 0)
		goto failed;
	printf("== schema after the rollback against before the deploy\n");
	back = same(tmpl, "0-before.sql", "2-rolled-back.sql");
	printf("%s\n", back ? "same" : "DIFFERENT: the rollback does not undo the deploy (above)");
	printf("== deploy again\n");
	if ((status = run_targets(g, j, targets, ntargets, o)) != EXIT_DONE || dump(url, tmpl, "3-deployed-again.sql") < 0)
		goto failed;
	printf("== schema after the second deploy against after the first\n");
	again = same(tmpl, "1-deployed.sql", "3-deployed-again.sql");
	printf("%s\n", again ? "same" : "DIFFERENT: the deploy does not make the same schema twice (above)");
	status = back && again ? EXIT_DONE : EXIT_FAILED;
	if (status == EXIT_DONE)
		printf("orch: test-rollback passed: deploy, rollback and deploy again give the schemas they should\n");
	else
		error("test-rollback failed; the dumps are in %s", tmpl);
	goto out;
failed:
	if (status == EXIT_DONE)
		status = EXIT_FAILED;
	error("test-rollback stopped; the journal and logs are in %s", tmpl);
out:
	if (j)
		journal_close(j);
	pg_close_all();
	free(masked);
	return status;
}
