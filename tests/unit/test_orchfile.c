/* Unit tests of orchfile.c: sections, keys, variables, multi-line and long values,
 * error reporting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "orchfile.h"

static struct graph *parse(const char *text, int *errors)
{
	return orchfile_parse("test.orch", text, strlen(text), "/plan", errors);
}

/* Parse TEXT, expecting success. */
static struct graph *parse_ok(const char *text)
{
	int errors = -1;
	struct graph *g = parse(text, &errors);

	assert_int_equal(errors, 0);
	assert_non_null(g);
	return g;
}

/* Parse TEXT, expecting exactly N errors, with stderr silenced. */
static void parse_bad(const char *text, int n)
{
	int errors = 0, saved = dup(2);
	FILE *null = fopen("/dev/null", "w");

	assert_non_null(null);
	fflush(stderr);
	dup2(fileno(null), 2);
	assert_null(parse(text, &errors));
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	fclose(null);
	assert_int_equal(errors, n);
}

static void test_sections_and_keys(void **state)
{
	struct graph *g;
	struct node *s, *ph;

	(void)state;
	g = parse_ok("[orch]\nname = plan-a\njobs = 3\nchangelog = CL.md\n"
	             "[pool db]\ndepth = 2\n"
	             "[phase prep]\nnumber = 1\ntitle = Preparation\n"
	             "[step a]\ntitle = Step A\nphase = prep\nrun = echo a\nestimate = 1h30m\n"
	             "timeout = 20m\nretries = 2\nretry_delay = 5s\npool = db\nalways = yes\n"
	             "inputs = x.txt y/*.c\noutputs = out.txt\n"
	             "[step b]\nneeds = a\nsql = b.sql\nsql_verify = b.v.sql\nsql_rollback = b.r.sql\n"
	             "transaction = no\nbackup = t1 t2\n"
	             "[step gate]\nmanual = yes\nprompt = Look\n"
	             "[milestone M1]\ntitle = Ready\nneeds = prep gate\nvalidate = true\n");
	assert_string_equal(g->name, "plan-a");
	assert_int_equal(g->jobs, 3);
	assert_string_equal(g->changelog, "CL.md");
	assert_int_equal(g->steps.n, 3);
	s = graph_find(g, "a");
	assert_non_null(s);
	assert_string_equal(s->title, "Step A");
	assert_int_equal(s->est_ms, 90 * 60000);
	assert_int_equal(s->x->timeout_ms, 20 * 60000);
	assert_int_equal(s->x->retries, 2);
	assert_int_equal(s->x->retry_delay_ms, 5000);
	assert_true(s->always);
	assert_int_equal(s->inputs.n, 2);
	assert_string_equal(s->inputs.v[1], "y/*.c");
	assert_ptr_equal(s->pool, graph_findpool(g, "db"));
	assert_int_equal(s->pool->depth, 2);
	assert_int_equal(s->stepkind, STEP_RUN);
	assert_int_equal(s->on_change, ONCHANGE_RERUN);
	ph = graph_find(g, "prep");
	assert_ptr_equal(s->phase, ph);
	assert_int_equal(ph->number, 1);
	s = graph_find(g, "b");
	assert_int_equal(s->stepkind, STEP_SQL);
	assert_int_equal(s->on_change, ONCHANGE_ERROR);
	assert_false(s->transaction);
	assert_int_equal(s->x->backup.n, 2);
	assert_string_equal(s->title, "b");
	assert_int_equal(graph_find(g, "gate")->stepkind, STEP_MANUAL);
	assert_int_equal(graph_find(g, "M1")->ndeps, 2);
}

static void test_semicolon_and_hash_kept(void **state)
{
	struct graph *g;

	(void)state;
	g = parse_ok("[step a]\nrun = echo one ; echo two # not a comment\n; a comment\n# another\n");
	assert_string_equal(graph_find(g, "a")->run, "echo one ; echo two # not a comment");
}

static void test_multiline_value(void **state)
{
	struct graph *g;
	struct node *s;

	(void)state;
	g = parse_ok("[step a]\nrun = echo one\n    echo two\n\techo three\nenv = A=1\n  B=two words\n");
	s = graph_find(g, "a");
	assert_string_equal(s->run, "echo one\necho two\necho three");
	assert_int_equal(s->env.n, 2);
	assert_string_equal(s->env.v[1], "B=two words");
}

static void test_long_line(void **state)
{
	size_t n = 100 * 1024;
	char *text = malloc(n + 64), *p;
	struct graph *g;
	struct node *s;

	(void)state;
	p = text + sprintf(text, "[step a]\nrun = echo ");
	memset(p, 'x', n);
	strcpy(p + n, "\n[step b]\nrun = true\n");
	g = parse_ok(text);
	s = graph_find(g, "a");
	assert_int_equal(strlen(s->run), n + 5);
	assert_non_null(graph_find(g, "b"));
	free(text);
}

static void test_long_section_name(void **state)
{
	char text[512];
	struct graph *g;
	const char *name = "a-step-name-that-is-far-longer-than-fifty-bytes-which-inih-truncates";

	(void)state;
	snprintf(text, sizeof(text), "[step %s]\nrun = true\n[step b]\nneeds = %s\nrun = true\n", name, name);
	g = parse_ok(text);
	assert_non_null(graph_find(g, name));
	assert_int_equal(graph_find(g, "b")->ndeps, 1);
}

static void test_variables(void **state)
{
	struct graph *g;
	struct node *s;

	(void)state;
	setenv("ORCH_TEST_ENV", "from-env", 1);
	unsetenv("ORCH_TEST_UNSET");
	g = parse_ok("[vars]\nDIR = out/${step}\nBASE = base\nFULL = ${BASE}/x\n"
	             "[phase p1]\n"
	             "[step s1]\nphase = p1\nrun = echo ${DIR} ${FULL} ${ORCH_TEST_ENV} ${ORCH_TEST_UNSET:-dflt} "
	             "${phase} ${orch_dir} $${literal} $HOME ${run_id}\n");
	s = graph_find(g, "s1");
	assert_string_equal(s->run, "echo out/s1 base/x from-env dflt p1 /plan ${literal} $HOME $ORCH_RUN_ID");
}

static void test_phase_numbers_and_after(void **state)
{
	struct graph *g;
	struct node *t = NULL;

	(void)state;
	g = parse_ok("[phase b]\nnumber = 2\n[phase a]\n[phase c]\nafter = a b\n"
	             "[step x]\nphase = c\nrun = true\n[step y]\nphase = a\nrun = true\n");
	assert_int_equal(graph_find(g, "a")->number, 1);
	assert_int_equal(graph_find(g, "c")->number, 3);
	assert_string_equal(((struct node *)g->phases.v[0])->name, "a");
	assert_int_equal(graph_target(g, "phase3", &t), 0);
	assert_ptr_equal(t, graph_find(g, "c"));
	assert_int_equal(graph_target(g, "phase9", &t), -1);
	/* x waits for both phases it runs after: one edge to its phase's barrier, which
	 * needs them, and shown as declared */
	{
		struct node *x = graph_find(g, "x");
		struct depiter it = {.n = x};
		const struct edge *e;

		assert_int_equal(x->ndeps, 1);
		assert_true(x->deps[0].dep->isbarrier);
		assert_ptr_equal(x->deps[0].dep->phase, graph_find(g, "c"));
		e = graph_nextdep(&it);
		assert_non_null(e);
		assert_string_equal(e->dep->name, "a");
		assert_int_equal(e->why, EDGE_AFTER);
		e = graph_nextdep(&it);
		assert_non_null(e);
		assert_string_equal(e->dep->name, "b");
		assert_null(graph_nextdep(&it));
	}
}

static void test_errors_all_reported(void **state)
{
	(void)state;
	/* unknown key, undefined need, bad duration: three errors in one go */
	parse_bad("[step a]\nrun = true\ncolour = red\nneeds = nothing\nestimate = soon\n", 3);
	parse_bad("[step a]\nrun = true\n[step a]\nrun = true\n", 1);
	parse_bad("[step a]\nrun = true\nrun = false\n", 1);
	parse_bad("[step a]\n", 1);
	parse_bad("[stage a]\nrun = true\n", 1);
	parse_bad("[step a]\nrun = ${NOPE_NOT_SET_ANYWHERE}\n", 1);
	parse_bad("[step a]\nneeds = b\nrun = true\n[step b]\nneeds = a\nrun = true\n", 1);
	parse_bad("this is not ini\n[step a]\nrun = true\nalso not\n", 2);
	/* the keys after a broken header are not blamed on another section */
	parse_bad("[step a\nrun = true\n", 1);
	parse_bad("[step a]\nrun = true\n[step b\nrun = true\n", 1);
}

/* Parse LEN bytes of TEXT; returns the graph and what was printed on stderr in *MSGS. */
static struct graph *parse_len(const char *text, size_t len, int *errors, char **msgs)
{
	char path[] = "/tmp/orch-test-stderr.XXXXXX";
	int fd = mkstemp(path), saved = dup(2);
	struct graph *g;
	size_t n = 0;

	assert_true(fd >= 0);
	unlink(path);
	fflush(stderr);
	dup2(fd, 2);
	g = orchfile_parse("test.orch", text, len, "/plan", errors);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	*msgs = calloc(1, 4096);
	assert_non_null(*msgs);
	lseek(fd, 0, SEEK_SET);
	for (ssize_t r; n < 4095 && (r = read(fd, *msgs + n, 4095 - n)) > 0;)
		n += (size_t)r;
	close(fd);
	return g;
}

static void test_length_honoured(void **state)
{
	static const char text[] = "[step a]\nrun = true\n[step bb]\nrun = true\n";
	size_t cut = strlen("[step a]\nrun = true\n[step b");
	char *exact = malloc(cut), *msgs;
	int errors = -1;
	struct graph *g;

	(void)state;
	/* the text ends inside a header: what follows in memory is not the Orchfile's */
	assert_null(parse_len(text, cut, &errors, &msgs));
	assert_int_equal(errors, 1);
	assert_string_equal(msgs, "test.orch:3: section header without closing ']'\n");
	free(msgs);
	/* nor is a terminating NUL needed (an exact copy, for the sanitizers to watch) */
	assert_non_null(exact);
	memcpy(exact, text, cut);
	assert_null(parse_len(exact, cut, &errors, &msgs));
	assert_int_equal(errors, 1);
	free(msgs);
	g = parse_len(exact, strlen("[step a]\nrun = true"), &errors, &msgs);
	assert_non_null(g);
	assert_int_equal(errors, 0);
	assert_string_equal(graph_find(g, "a")->run, "true");
	free(msgs);
	free(exact);
}

static void test_nul_byte(void **state)
{
	static const char text[] = "[step a]\nrun = echo a\0rm -rf /\ntitle = A\n[step b]\0\nrun = true\n";
	char *msgs;
	int errors = -1;

	(void)state;
	/* inih would read "run = echo a" and never see the rest of the line */
	assert_null(parse_len(text, sizeof(text) - 1, &errors, &msgs));
	assert_int_equal(errors, 3);
	assert_string_equal(msgs, "test.orch:1: step 'a' has neither run, sql nor manual = yes\n"
	                          "test.orch:2: NUL byte in the line (an Orchfile is text)\n"
	                          "test.orch:4: NUL byte in the line (an Orchfile is text)\n");
	free(msgs);
}

/* [env]: every step that runs a shell command gets its keys, expanded for the step,
 * before its own env, which wins; a gate gets none; allow_skipped is a milestone's. */
static void test_plan_env(void **state)
{
	struct graph *g;
	struct node *a, *b, *gate;

	(void)state;
	g = parse_ok("[vars]\nFLAGS = execReportsEnabled=false,x=1\n"
	             "[env]\nREPORTS_FEATURE_FLAGS = ${FLAGS}\nLOG = logs/${step}.log\nMODE = plan\n"
	             "[step a]\nrun = true\n"
	             "[step b]\nrun = true\nenv = MODE=own\n       EXTRA=1\n"
	             "[step gate]\nmanual = yes\n"
	             "[milestone M]\nneeds = a\nallow_skipped = yes\n[milestone N]\nneeds = a\n");
	a = graph_find(g, "a");
	b = graph_find(g, "b");
	gate = graph_find(g, "gate");
	assert_int_equal(a->env.n, 3);
	assert_int_equal(a->x->env_plan, 3);
	assert_string_equal(a->env.v[0], "REPORTS_FEATURE_FLAGS=execReportsEnabled=false,x=1");
	assert_string_equal(a->env.v[1], "LOG=logs/a.log");
	assert_string_equal(a->env.v[2], "MODE=plan");
	assert_int_equal(b->env.n, 4);
	assert_int_equal(b->x->env_plan, 2);
	assert_string_equal(b->env.v[1], "LOG=logs/b.log");
	assert_string_equal(b->env.v[2], "MODE=own");
	assert_string_equal(b->env.v[3], "EXTRA=1");
	assert_int_equal(gate->env.n, 0);
	assert_true(graph_find(g, "M")->x->allow_skipped);
	assert_false(graph_find(g, "N")->x->allow_skipped);

	/* a bad key, an undefined variable (reported once, not once per step), a value
	 * with a newline, two [env] sections, a name, a bad allow_skipped */
	setenv("ORCH_TEST_NL", "one\ntwo", 1);
	parse_bad("[env]\n1X = y\nOK = ${ORCH_TEST_UNDEFINED_VAR}\n[step a]\nrun = true\n[step b]\nrun = true\n", 2);
	parse_bad("[env]\nNL = ${ORCH_TEST_NL}\n[step a]\nrun = true\n", 1);
	parse_bad("[env]\nA = 1\n[env]\nB = 2\n[step a]\nrun = true\n", 1);
	parse_bad("[env x]\nA = 1\n[step a]\nrun = true\n", 1);
	parse_bad("[step a]\nrun = true\n[milestone M]\nneeds = a\nallow_skipped = maybe\n", 1);
	unsetenv("ORCH_TEST_NL");
}

/* The changelog: CHANGELOG.md by default, none for none, a file of the plan's own. */
static void test_changelog(void **state)
{
	(void)state;
	assert_string_equal(parse_ok("[step a]\nrun = true\n")->changelog, "CHANGELOG.md");
	assert_null(parse_ok("[orch]\nchangelog = none\n[step a]\nrun = true\n")->changelog);
	assert_string_equal(parse_ok("[orch]\nchangelog = doc/log\n[step a]\nrun = true\n")->changelog, "doc/log");
	parse_bad("[orch]\nchangelog =\n[step a]\nrun = true\n", 1);
	parse_bad("[orch]\nchangelog = doc/\n[step a]\nrun = true\n", 1);
}

/* A target's keys: database, jobs, changelog and variables that win over [vars]; its
 * own state directory; without a target chosen, the plan does not load. */
static void test_targets(void **state)
{
	static const char text[] = "[orch]\nname = shop\ntarget = staging\njobs = 2\ndatabase = dbname=dev\n"
	                           "[vars]\nregion = none\nzone = z\n"
	                           "[target staging]\ndatabase = dbname=st\nregion = eu\n"
	                           "[target production]\ndatabase = dbname=prod\njobs = 8\nregion = us\n"
	                           "changelog = prod.md\n"
	                           "[step s]\nrun = echo ${target} ${region} ${zone}\n";
	struct graph *g;

	(void)state;
	orchfile_want_target(NULL);
	unsetenv("ORCH_TARGET");
	g = parse_ok(text);
	assert_string_equal(g->target, "staging");
	assert_string_equal(g->statedir, ".orch/staging");
	assert_string_equal(g->changelog, "CHANGELOG-staging.md"); /* its own, by default */
	assert_string_equal(g->database, "dbname=st");
	assert_int_equal(g->jobs, 2);
	assert_string_equal(graph_find(g, "s")->run, "echo staging eu z");
	assert_int_equal(g->targets.n, 2);

	setenv("ORCH_TARGET", "production", 1);
	g = parse_ok(text);
	assert_string_equal(g->statedir, ".orch/production");
	assert_string_equal(g->database, "dbname=prod");
	assert_int_equal(g->jobs, 8);
	assert_string_equal(g->changelog, "prod.md");
	assert_string_equal(graph_find(g, "s")->run, "echo production us z");
	/* --target wins over ORCH_TARGET */
	orchfile_want_target("staging");
	assert_string_equal(parse_ok(text)->target, "staging");
	orchfile_want_target("nosuch");
	parse_bad(text, 1);
	orchfile_want_target(NULL);
	unsetenv("ORCH_TARGET");
	/* none chosen, or a plan without targets given one */
	parse_bad("[orch]\nname = x\n[target a]\n[target b]\n[step s]\nrun = true\n", 1);
	orchfile_want_target("a");
	parse_bad("[step s]\nrun = true\n", 1);
	orchfile_want_target(NULL);
	/* no targets: as before */
	g = parse_ok("[step s]\nrun = true\n");
	assert_null(g->target);
	assert_string_equal(g->statedir, ".orch");
	/* a SQL step needs [orch] name */
	parse_bad("[step s]\nsql = s.sql\n", 1);
	assert_true(parse_ok("[orch]\nname = n\n[step s]\nsql = s.sql\n")->named);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sections_and_keys),
		cmocka_unit_test(test_semicolon_and_hash_kept),
		cmocka_unit_test(test_multiline_value),
		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_long_section_name),
		cmocka_unit_test(test_variables),
		cmocka_unit_test(test_phase_numbers_and_after),
		cmocka_unit_test(test_plan_env),
		cmocka_unit_test(test_errors_all_reported),
		cmocka_unit_test(test_length_honoured),
		cmocka_unit_test(test_nul_byte),
		cmocka_unit_test(test_changelog),
		cmocka_unit_test(test_targets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
