/* Unit tests of state.c: signatures change with a step's definition, inputs and
 * dependencies and not when a file is touched without change; the up-to-date decision
 * and its reasons; a 100,000-step plan loads fast. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <sys/time.h>
#include <time.h>

#include "orchtest.h"
#include "statcache.h"

static const char *plan_abc =
	"[step a]\nrun = cat in.txt > out.txt\ninputs = in.txt\noutputs = out.txt\n"
	"[step b]\nneeds = a\nrun = echo b\n"
	"[step c]\nrun = echo c\n";

/* Load PLAN in DIR as a new graph; returns it with the journal open in *J. */
static struct graph *reload(const char *dir, const char *plan, struct journal **j)
{
	struct graph *g = test_plan(dir, plan);

	*j = test_open(g);
	return g;
}

static void expect(struct graph *g, const char *step, enum stepstate st, const char *reason)
{
	struct node *n = test_node(g, step);

	if (state_of(n) != st || (reason && strcmp(state_reason(n), reason) != 0))
		fail_msg("%s: %s (%s), expected %s (%s)", step, state_name(state_of(n)), state_reason(n),
		         state_name(st), reason ? reason : "any");
}

/* Make directory DIR/SUB. */
static void make_dir(const char *dir, const char *sub)
{
	char *p = xasprintf("%s/%s", dir, sub);

	assert_int_equal(mkdir(p, 0755), 0);
	free(p);
}

/* The changes of STEP in G are exactly WANT (N of them), in order. */
static void expect_changes(struct graph *g, const char *step, const char *const *want, size_t n)
{
	struct vec why = {0};

	assert_int_equal(state_changes(test_node(g, step), &why), (int)n);
	for (size_t i = 0; i < why.n; i++) {
		assert_string_equal(why.v[i], want[i]);
		free(why.v[i]);
	}
	vec_free(&why);
}

static void test_signatures(void **state)
{
	char *dir = test_tmpdir(), *siga, *sigb, *sigc;
	struct journal *j;
	struct graph *g;

	(void)state;
	test_write(dir, "in.txt", "one\n");
	test_write(dir, "out.txt", "one\n");
	g = reload(dir, plan_abc, &j);
	expect(g, "a", ST_NOTRUN, "never run");
	test_run_all(g, j);
	siga = xstrdup(state_signature(test_node(g, "a")));
	sigb = xstrdup(state_signature(test_node(g, "b")));
	sigc = xstrdup(state_signature(test_node(g, "c")));
	test_close(g, j);

	/* nothing changed: everything done, same signatures */
	g = reload(dir, plan_abc, &j);
	expect(g, "a", ST_DONE, "up to date");
	expect(g, "b", ST_DONE, NULL);
	assert_string_equal(state_signature(test_node(g, "a")), siga);
	assert_string_equal(state_signature(test_node(g, "b")), sigb);
	test_close(g, j);

	/* touched, same content: still done */
	{
		struct timespec ts[2] = {{.tv_sec = 0, .tv_nsec = UTIME_NOW}, {.tv_sec = 0, .tv_nsec = UTIME_NOW}};
		char *p = xasprintf("%s/in.txt", dir);

		assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
		free(p);
	}
	g = reload(dir, plan_abc, &j);
	expect(g, "a", ST_DONE, NULL);
	expect(g, "b", ST_DONE, NULL);
	test_close(g, j);

	/* input changed: a and b (its dependent) stale, c untouched */
	test_write(dir, "in.txt", "two\n");
	g = reload(dir, plan_abc, &j);
	expect(g, "a", ST_STALE, "input in.txt changed");
	expect(g, "b", ST_STALE, "dependency a changed");
	expect(g, "c", ST_DONE, NULL);
	assert_string_not_equal(state_signature(test_node(g, "a")), siga);
	assert_string_not_equal(state_signature(test_node(g, "b")), sigb);
	assert_string_equal(state_signature(test_node(g, "c")), sigc);
	test_close(g, j);

	/* content back as it was: done again */
	test_write(dir, "in.txt", "one\n");
	g = reload(dir, plan_abc, &j);
	expect(g, "a", ST_DONE, NULL);
	expect(g, "b", ST_DONE, NULL);
	test_close(g, j);

	/* the run command edited */
	g = reload(dir,
	           "[step a]\nrun = cat in.txt >out.txt\ninputs = in.txt\noutputs = out.txt\n"
	           "[step b]\nneeds = a\nrun = echo b\n[step c]\nrun = echo c\nenv = X=1\n",
	           &j);
	expect(g, "a", ST_STALE, "run changed");
	expect(g, "b", ST_STALE, "dependency a changed");
	expect(g, "c", ST_STALE, "env added");
	test_close(g, j);

	/* an output missing */
	g = reload(dir, plan_abc, &j);
	expect(g, "a", ST_DONE, NULL);
	test_close(g, j);
	{
		char *p = xasprintf("%s/out.txt", dir);

		unlink(p);
		free(p);
	}
	g = reload(dir, plan_abc, &j);
	expect(g, "a", ST_STALE, "output out.txt missing");
	expect(g, "b", ST_DONE, NULL);
	test_close(g, j);
	free(siga);
	free(sigb);
	free(sigc);
	test_rmrf(dir);
	free(dir);
}

static void test_directories_and_globs(void **state)
{
	char *dir = test_tmpdir();
	const char *plan = "[step d]\nrun = true\ninputs = src lib/*.c missing.txt\n";
	struct journal *j;
	struct graph *g;

	(void)state;
	make_dir(dir, "src");
	make_dir(dir, "src/sub");
	make_dir(dir, "lib");
	test_write(dir, "src/a.txt", "a");
	test_write(dir, "src/sub/b.txt", "b");
	test_write(dir, "lib/x.c", "x");
	test_write(dir, "lib/y.h", "y");
	g = reload(dir, plan, &j);
	test_run_all(g, j);
	test_close(g, j);

	test_write(dir, "src/sub/b.txt", "B");
	test_write(dir, "lib/y.h", "Y"); /* not matched by the glob */
	test_write(dir, "lib/z.c", "z");
	test_write(dir, "missing.txt", "now here");
	g = reload(dir, plan, &j);
	expect(g, "d", ST_STALE, "input src/sub/b.txt changed");
	{
		const char *want[] = {"input src/sub/b.txt changed", "input lib/z.c added", "input missing.txt changed"};

		expect_changes(g, "d", want, 3);
	}
	test_close(g, j);
	test_rmrf(dir);
	free(dir);
}

/* Named files before a directory and a wildcard: the parts already made for the
 * files join the lists the directory's and the wildcard's files go to, in order. */
static void test_files_then_globs(void **state)
{
	char *dir = test_tmpdir();
	const char *plan = "[step d]\nrun = true\ninputs = top.txt gone.txt src lib/*.c last.txt\n";
	struct journal *j;
	struct graph *g;

	(void)state;
	make_dir(dir, "src");
	make_dir(dir, "lib");
	test_write(dir, "top.txt", "t");
	test_write(dir, "src/a.txt", "a");
	test_write(dir, "lib/x.c", "x");
	test_write(dir, "last.txt", "l");
	g = reload(dir, plan, &j);
	test_run_all(g, j);
	test_close(g, j);

	g = reload(dir, plan, &j);
	expect(g, "d", ST_DONE, NULL);
	{ /* each file once, in the patterns' order */
		const char *want[] = {"top.txt", "gone.txt", "src/a.txt", "lib/x.c", "last.txt"};
		const struct sigpart *parts;
		size_t np = state_parts(test_node(g, "d"), &parts), k = 0;

		for (size_t i = 0; i < np; i++)
			if (parts[i].kind == PART_INPUT) {
				assert_true(k < 5);
				assert_string_equal(parts[i].name, want[k]);
				k++;
			}
		assert_int_equal(k, 5);
	}
	test_close(g, j);

	test_write(dir, "top.txt", "T");
	test_write(dir, "gone.txt", "here");
	test_write(dir, "src/a.txt", "A");
	test_write(dir, "lib/y.c", "y");
	test_write(dir, "last.txt", "L");
	g = reload(dir, plan, &j);
	{
		const char *want[] = {"input top.txt changed", "input gone.txt changed", "input src/a.txt changed",
		                      "input lib/y.c added", "input last.txt changed"};

		expect_changes(g, "d", want, 5);
	}
	test_close(g, j);
	test_rmrf(dir);
	free(dir);
}

static void test_decisions(void **state)
{
	char *dir = test_tmpdir();
	const char *plan = "[orch]\nname = decisions\n[phase p]\nnumber = 1\n"
	                   "[step a]\nphase = p\nrun = echo a\n"
	                   "[step sql]\nphase = p\nsql = t.sql\n"
	                   "[step ign]\nrun = echo ign\non_change = ignore\n"
	                   "[step always]\nrun = echo always\nalways = yes\n"
	                   "[step after]\nneeds = p ign\nrun = echo after\n"
	                   "[step gate]\nmanual = yes\nprompt = look\n"
	                   "[milestone M]\nneeds = p\n";
	const char *plan2 = "[orch]\nname = decisions\n[phase p]\nnumber = 1\n"
	                    "[step a]\nphase = p\nrun = echo a\n"
	                    "[step sql]\nphase = p\nsql = t.sql\n"
	                    "[step ign]\nrun = echo ign changed\non_change = ignore\n"
	                    "[step always]\nrun = echo always\nalways = yes\n"
	                    "[step after]\nneeds = p ign\nrun = echo after\n"
	                    "[step gate]\nmanual = yes\nprompt = look\n"
	                    "[milestone M]\nneeds = p\n";
	struct journal *j;
	struct graph *g;

	(void)state;
	test_write(dir, "t.sql", "create table t ();\n");
	g = reload(dir, plan, &j);
	expect(g, "gate", ST_NOTRUN, "waiting for approval");
	expect(g, "M", ST_NOTRUN, "not reached");
	assert_false(state_satisfied(test_node(g, "p")));
	test_run_all(g, j);
	assert_true(state_satisfied(test_node(g, "p")));
	assert_int_equal(test_append(j, EV_MILESTONE, test_node(g, "M"), NULL), 0);
	test_close(g, j);

	g = reload(dir, plan, &j);
	expect(g, "a", ST_DONE, NULL);
	expect(g, "always", ST_STALE, "always = yes");
	assert_false(state_satisfied(test_node(g, "always")));
	expect(g, "gate", ST_DONE, "approved");
	expect(g, "M", ST_DONE, NULL);
	assert_true(state_satisfied(test_node(g, "p")));
	test_close(g, j);

	/* an applied sql file changed: on_change = error; ignore: satisfied, dependents keep */
	test_write(dir, "t.sql", "create table t (id int);\n");
	g = reload(dir, plan2, &j);
	expect(g, "sql", ST_CHANGED, "sql changed");
	assert_false(state_satisfied(test_node(g, "sql")));
	expect(g, "ign", ST_STALE, "run changed (ignored: on_change = ignore)");
	assert_true(state_satisfied(test_node(g, "ign")));
	expect(g, "after", ST_DONE, NULL);
	expect(g, "M", ST_DONE, NULL);
	assert_false(state_satisfied(test_node(g, "p")));

	/* skip, force, interrupted, failed */
	assert_int_equal(test_append(j, EV_SKIP, test_node(g, "sql"), NULL), 0);
	assert_int_equal(test_append(j, EV_FORCE, test_node(g, "a"), NULL), 0);
	assert_int_equal(test_append(j, EV_START, test_node(g, "after"), NULL), 0);
	{
		struct outcome o = {.attempt = 1, .exit_status = -1, .signal = 9};

		assert_int_equal(test_append(j, EV_FAIL, test_node(g, "always"), &o), 0);
	}
	test_close(g, j);
	g = reload(dir, plan2, &j);
	expect(g, "sql", ST_SKIPPED, "skipped");
	assert_true(state_satisfied(test_node(g, "sql")));
	expect(g, "a", ST_NOTRUN, "forced");
	expect(g, "after", ST_INTERRUPTED, "interrupted");
	expect(g, "always", ST_FAILED, "failed (signal 9)");
	assert_false(state_satisfied(test_node(g, "p")));
	state_set(test_node(g, "a"), ST_DONE, NULL);
	assert_true(state_satisfied(test_node(g, "p")));
	state_set(test_node(g, "a"), ST_FAILED, "failed (exit 1)");
	assert_false(state_satisfied(test_node(g, "p")));
	test_close(g, j);
	test_rmrf(dir);
	free(dir);
}

/* The signature a step records is the one state_refresh returned just before it ran, and
 * a dependency completing in this run reaches its dependents' signatures through phases. */
static void test_refresh(void **state)
{
	char *dir = test_tmpdir(), *before;
	const char *plan = "[phase p]\nnumber = 1\n[phase q]\nnumber = 2\nafter = p\n"
	                   "[step gen]\nphase = p\nrun = echo x > gen.txt\n"
	                   "[step use]\nphase = q\nrun = cat gen.txt\ninputs = gen.txt\n";
	struct journal *j;
	struct graph *g;
	struct node *gen, *use;
	const char *sig;

	(void)state;
	g = reload(dir, plan, &j);
	gen = test_node(g, "gen");
	use = test_node(g, "use");
	expect(g, "use", ST_NOTRUN, NULL);
	before = xstrdup(state_signature(use));
	state_refresh(gen);
	assert_int_equal(test_append(j, EV_OK, gen, NULL), 0);
	state_set(gen, ST_DONE, NULL);
	test_write(dir, "gen.txt", "x\n");
	sig = state_refresh(use);
	assert_string_not_equal(sig, before);
	assert_int_equal(test_append(j, EV_OK, use, NULL), 0);
	{
		char hex[33];

		assert_string_equal(hash128_hex(journal_event(j, journal_count(j) - 1)->sig, hex), sig);
	}
	state_set(use, ST_DONE, NULL);
	test_close(g, j);
	g = reload(dir, plan, &j);
	expect(g, "gen", ST_DONE, NULL);
	expect(g, "use", ST_DONE, NULL);
	test_close(g, j);

	/* gen's command changes: use is stale through phase p */
	g = reload(dir,
	           "[phase p]\nnumber = 1\n[phase q]\nnumber = 2\nafter = p\n"
	           "[step gen]\nphase = p\nrun = echo y > gen.txt\n"
	           "[step use]\nphase = q\nrun = cat gen.txt\ninputs = gen.txt\n",
	           &j);
	expect(g, "gen", ST_STALE, "run changed");
	expect(g, "use", ST_STALE, "dependency gen changed (through phase p)");
	test_close(g, j);
	free(before);
	test_rmrf(dir);
	free(dir);
}

/* A phase is complete only once the phases its after names are: the order is transitive,
 * whatever the phase between is in (issue 13). */
static void test_phase_after_transitive(void **state)
{
	char *dir = test_tmpdir();
	const char *plan = "[phase a]\n[phase b]\nafter = a\n[phase c]\nafter = b\n"
	                   "[step a1]\nphase = a\nrun = echo a1\n"
	                   "[step b1]\nphase = b\nrun = echo b1\n"
	                   "[step c1]\nphase = c\nrun = echo c1\n";
	struct journal *j;
	struct graph *g;
	struct node *a1, *b, *c;

	(void)state;
	g = reload(dir, plan, &j);
	assert_int_equal(test_append(j, EV_SKIP, test_node(g, "b1"), NULL), 0);
	test_close(g, j);

	g = reload(dir, plan, &j);
	a1 = test_node(g, "a1");
	b = test_node(g, "b");
	c = test_node(g, "c");
	/* b's only step is skipped, and b is not complete while a is not */
	expect(g, "b1", ST_SKIPPED, "skipped");
	assert_false(state_satisfied(b));
	assert_string_equal(state_reason(b), "runs after phase a, which is not complete");
	assert_false(state_satisfied(c));
	assert_string_equal(state_reason(c), "1 of 1 steps to do");
	/* a1 done: a, then b, complete in turn (in memory, as the engine records) */
	state_refresh(a1);
	assert_int_equal(test_append(j, EV_OK, a1, NULL), 0);
	state_set(a1, ST_DONE, NULL);
	assert_true(state_satisfied(test_node(g, "a")));
	assert_true(state_satisfied(b));
	assert_string_equal(state_reason(b), "done");
	state_set(a1, ST_FAILED, "failed (exit 1)");
	assert_false(state_satisfied(b));
	test_close(g, j);

	/* the after edges add nothing to signatures: c1 still done once everything ran */
	g = reload(dir, plan, &j);
	test_run_all(g, j);
	test_close(g, j);
	g = reload(dir, plan, &j);
	expect(g, "c1", ST_DONE, "up to date");
	assert_true(state_satisfied(test_node(g, "c")));
	test_close(g, j);
	test_rmrf(dir);
	free(dir);
}

/* A milestone is not reached while a step it is made of is skipped, unless it says
 * allow_skipped = yes; through phases and milestones, not through a step's own needs. */
static void test_milestone_skips(void **state)
{
	char *dir = test_tmpdir();
	const char *plan = "[phase p]\n[phase q]\nafter = p\n"
	                   "[step s1]\nphase = p\nrun = echo s1\n"
	                   "[step s2]\nphase = p\nrun = echo s2\n"
	                   "[step t1]\nphase = q\nneeds = s1\nrun = echo t1\n"
	                   "[milestone M]\nneeds = p\n"
	                   "[milestone OK]\nneeds = p\nallow_skipped = yes\n"
	                   "[milestone UP]\nneeds = M\n"
	                   "[milestone Q]\nneeds = q t1\n";
	struct journal *j;
	struct graph *g;
	struct node *s1, *M;

	(void)state;
	g = reload(dir, plan, &j);
	test_run_all(g, j);
	for (size_t i = 0; i < g->milestones.n; i++) {
		assert_int_equal(test_append(j, EV_MILESTONE, g->milestones.v[i], NULL), 0);
		state_set(g->milestones.v[i], ST_DONE, NULL);
	}
	assert_int_equal(journal_sync(j), 0);
	M = test_node(g, "M");
	assert_false(state_milestone_blocked(M));
	assert_null(state_skipped_need(M));
	test_close(g, j);

	/* s1 skipped (say, forced and then skipped) */
	g = reload(dir, plan, &j);
	assert_int_equal(test_append(j, EV_SKIP, test_node(g, "s1"), NULL), 0);
	test_close(g, j);
	g = reload(dir, plan, &j);
	s1 = test_node(g, "s1");
	M = test_node(g, "M");
	assert_true(state_milestone_blocked(M));
	assert_false(state_satisfied(M));
	assert_int_equal(state_of(M), ST_NOTRUN);
	assert_string_equal(state_reason(M), "s1 is skipped (allow_skipped = yes accepts it)");
	assert_ptr_equal(state_skipped_need(M), s1);
	assert_ptr_equal(state_skipped_need(test_node(g, "p")), s1);
	/* allow_skipped = yes accepts it */
	assert_false(state_milestone_blocked(test_node(g, "OK")));
	expect(g, "OK", ST_DONE, NULL);
	/* through milestones */
	assert_true(state_milestone_blocked(test_node(g, "UP")));
	assert_string_equal(state_reason(test_node(g, "UP")), "s1 is skipped (allow_skipped = yes accepts it)");
	/* not through a step's own needs (t1 needs s1), nor through q's after p */
	assert_false(state_milestone_blocked(test_node(g, "Q")));
	expect(g, "Q", ST_DONE, NULL);
	/* the steps themselves: skipped counts as done for what needs it */
	assert_true(state_satisfied(s1));
	expect(g, "t1", ST_DONE, NULL);

	/* done again: M and UP are no longer held back; skipped again: held back again */
	state_refresh(s1);
	assert_int_equal(test_append(j, EV_OK, s1, NULL), 0);
	state_set(s1, ST_DONE, NULL);
	assert_false(state_milestone_blocked(M));
	assert_false(state_milestone_blocked(test_node(g, "UP")));
	assert_true(state_satisfied(M));
	state_set(test_node(g, "s2"), ST_SKIPPED, NULL);
	assert_true(state_milestone_blocked(M));
	assert_string_equal(state_reason(M), "s2 is skipped (allow_skipped = yes accepts it)");
	assert_true(state_milestone_blocked(test_node(g, "UP")));
	test_close(g, j);
	test_rmrf(dir);
	free(dir);
}

static double seconds(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* A node's state is found by its id: a node of another graph (the same id, the same
 * name) has none, nor has a node outside the cone state_load_cone read. */
static void test_state_of_its_graph(void **state)
{
	char *dir = test_tmpdir(), *other = test_tmpdir();
	struct graph *g = test_plan(dir, "[step a]\nrun = true\n[step b]\nneeds = a\nrun = true\n"),
	             *h = test_plan(other, "[step a]\nrun = true\n[step b]\nneeds = a\nrun = true\n");
	struct journal *j = test_open(g);
	struct node *a = test_node(g, "a");

	(void)state;
	test_run_all(g, j);
	assert_int_equal(state_of(a), ST_DONE);
	assert_int_equal(state_of(test_node(h, "a")), ST_NOTRUN); /* h was never loaded */
	assert_null(state_history(test_node(h, "a")));
	state_load_cone(g, j, &a, 1);
	assert_int_equal(state_of(a), ST_DONE);
	assert_int_equal(state_of(test_node(g, "b")), ST_NOTRUN); /* outside a's cone */
	assert_null(state_history(test_node(g, "b")));
	test_close(g, j);
	test_rmrf(dir);
	test_rmrf(other);
	free(dir);
	free(other);
}

static void test_100k_noop(void **state)
{
	char *dir = test_tmpdir();
	struct buf b = {0};
	struct journal *j;
	struct graph *g;
	double t0, t1, t2;
	size_t n = 100000;

	(void)state;
	buf_puts(&b, "[step s0]\nrun = true\n");
	for (size_t i = 1; i < n; i++)
		buf_printf(&b, "[step s%zu]\nneeds = s%zu%s\nrun = true\n", i, i - 1,
		           i > 300 ? " s1" : "");
	g = reload(dir, buf_str(&b), &j);
	test_run_all(g, j);
	test_close(g, j);
	g = test_plan(dir, buf_str(&b));
	t0 = seconds();
	assert_int_equal(journal_try_open(g, JOURNAL_LOCK | JOURNAL_CREATE, &j), 0);
	t1 = seconds();
	state_load(g, j);
	t2 = seconds();
	expect(g, "s99999", ST_DONE, NULL);
	/* generous bounds (sanitizers, a busy machine): they catch a quadratic walk */
	assert_true(t1 - t0 < 5.0);
	assert_true(t2 - t1 < 5.0);
	print_message("100,000 steps up to date: journal_open %.0f ms, state_load %.0f ms\n", (t1 - t0) * 1e3,
	              (t2 - t1) * 1e3);
	test_close(g, j);
	buf_free(&b);
	test_rmrf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_signatures),
		cmocka_unit_test(test_directories_and_globs),
		cmocka_unit_test(test_files_then_globs),
		cmocka_unit_test(test_decisions),
		cmocka_unit_test(test_refresh),
		cmocka_unit_test(test_phase_after_transitive),
		cmocka_unit_test(test_milestone_skips),
		cmocka_unit_test(test_state_of_its_graph),
		cmocka_unit_test(test_100k_noop),
	};

	verbosity = -2;
	/* the tests rewrite files within the same second: a short racy window, long enough
	 * that a file is never rewritten within the file system timestamp granularity of its
	 * cached stat data */
	hash_racy_ns = 50000000;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
