/* Unit tests of pg.c against a real PostgreSQL (tests/pg/server.sh exports PGHOST): each
 * run creates its own database, drives steps with pg_start / pg_advance under poll(),
 * and drops the database at the end. Without PGHOST the tests skip, except in CI. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "graph.h"
#include "hash.h"
#include "orchfile.h"
#include "os.h"
#include "pg.h"
#include "util.h"

static char dbname[64];   /* the test database */
static char conninfo[96] = "dbname=none"; /* "dbname=<dbname>": the rest from PG* */
static char *dir;         /* plan directory of the test plans */
static struct vec graphs; /* kept until exit, as orch keeps its graph */

/* Run a shell command; its stdout as a new string (trailing newline removed). */
static char *sh(const char *fmt, ...)
{
	va_list ap;
	char cmd[8192], buf[4096];
	struct buf out = {0};
	FILE *p;
	size_t n;
	int st;

	va_start(ap, fmt);
	assert_true(vsnprintf(cmd, sizeof(cmd), fmt, ap) < (int)sizeof(cmd));
	va_end(ap);
	p = popen(cmd, "r");
	assert_non_null(p);
	while ((n = fread(buf, 1, sizeof(buf), p)) > 0)
		buf_add(&out, buf, n);
	st = pclose(p);
	if (st != 0)
		fail_msg("command failed (%d): %s", st, cmd);
	buf_str(&out);
	while (out.len && out.s[out.len - 1] == '\n')
		out.s[--out.len] = '\0';
	return out.s;
}

/* psql -c SQL on the test database, unaligned tuples only. */
static char *psql(const char *sql)
{
	assert_null(strchr(sql, '\'')); /* quoted for the shell in '...' */
	return sh("psql -X -q -A -t -v ON_ERROR_STOP=1 -d %s -c '%s'", dbname, sql);
}

static char *dump(void)
{
	return sh("pg_dump --no-owner -N orch -N orch_backup -d %s | grep -v -e '^--' -e '^$' -e '^.restrict' -e '^.unrestrict'", dbname);
}

static void writefile(const char *name, const char *text)
{
	char *p = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(p, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
	free(p);
}

/* A plan named NAME whose steps are given as Orchfile text; the database key is added. */
static struct graph *plan(const char *name, const char *steps)
{
	char *text = xasprintf("[orch]\nname = %s\ndatabase = %s\n\n%s", name, conninfo, steps);
	int errors = -1;
	struct graph *g = orchfile_parse("Orchfile", text, strlen(text), dir, &errors);

	assert_int_equal(errors, 0);
	assert_non_null(g);
	vec_push(&graphs, g);
	free(text);
	return g;
}

/* Start WHAT of step NAME and drive it to the end under poll(); returns pg_advance's
 * last result (or -1 when pg_start failed) with the log in LOG and the error in *ERR. */
static int drive(struct graph *g, const char *name, enum pgwhat what, const char *sig, struct buf *log, char **err)
{
	bool locked = false;
	struct pgjob *job = pg_start(g, graph_find(g, name), what, sig, err, &locked);
	int r = 0;

	if (!job)
		return -1;
	while (r == 0) {
		bool wr;
		struct pollfd p = {.fd = pg_fd(job, &wr)};

		p.events = POLLIN | (wr ? POLLOUT : 0);
		assert_true(poll(&p, 1, 20000) > 0);
		r = pg_advance(job, log, err);
		if (r == 0)
			assert_null(*err);
	}
	pg_free(job);
	return r;
}

static int run(struct graph *g, const char *name, enum pgwhat what, char **err)
{
	struct buf log = {0};
	int r = drive(g, name, what, "sig1", &log, err);

	if (r < 0 && getenv("TEST_PG_VERBOSE"))
		fprintf(stderr, "%s\n%s\n", *err, buf_str(&log));
	buf_free(&log);
	return r;
}

/* LOG contains PART. */
static void expect_log(struct buf *log, const char *part)
{
	if (!strstr(buf_str(log), part))
		fail_msg("log does not contain \"%s\":\n%s", part, buf_str(log));
}

static void expect_err(const char *err, const char *part)
{
	assert_non_null(err);
	if (getenv("TEST_PG_VERBOSE"))
		fprintf(stderr, "error: %s\n", err);
	if (!strstr(err, part))
		fail_msg("error \"%s\" does not contain \"%s\"", err, part);
}

static int setup(void **state)
{
	const char *ci = getenv("CI");

	char tmpl[] = "/tmp/orch-pg-unit-XXXXXX";

	(void)state;
	assert_non_null(mkdtemp(tmpl));
	dir = xstrdup(tmpl);
	if (!getenv("PGHOST")) {
		if (ci && strcmp(ci, "true") == 0) {
			fprintf(stderr, "test_pg: no PostgreSQL server (PGHOST unset) in CI\n");
			return -1;
		}
		return 0;
	}
	snprintf(dbname, sizeof(dbname), "orch_unit_%ld_%ld", (long)getpid(), (long)time(NULL));
	snprintf(conninfo, sizeof(conninfo), "dbname=%s", dbname);
	free(sh("psql -X -q -d postgres -c 'CREATE DATABASE %s'", dbname));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	pg_close_all();
	if (*dbname)
		free(sh("psql -X -q -d postgres -c 'DROP DATABASE IF EXISTS %s WITH (FORCE)'", dbname));
	if (dir) {
		free(sh("rm -rf '%s'", dir));
		free(dir);
	}
	return 0;
}

#define NEED_SERVER()                    \
	do {                             \
		(void)state;             \
		if (!*dbname)            \
			skip();          \
	} while (0)

static const char brands_sql[] =
	"CREATE TABLE brands (id int PRIMARY KEY, name text NOT NULL UNIQUE);\n"
	"CREATE TABLE contexts (id int PRIMARY KEY, brand_id int REFERENCES brands, name text);\n"
	"INSERT INTO brands VALUES (1, 'acme'), (2, 'globex');\n"
	"INSERT INTO contexts VALUES (1, 1, 'web'), (2, 2, 'mobile');\n";

static void test_migration(void **state)
{
	struct graph *g;
	struct buf log = {0};
	char *err = NULL, *s, *sig = NULL;

	NEED_SERVER();
	writefile("m1.sql", brands_sql);
	writefile("m2.sql",
	          "-- move the contexts' names into brands; drop the column\n"
	          "ALTER TABLE brands ADD COLUMN contexts text;\n"
	          "UPDATE brands b SET contexts = (SELECT string_agg(name, ',') FROM contexts c WHERE c.brand_id = b.id);\n"
	          "ALTER TABLE contexts DROP COLUMN name;\n"
	          "DO $$ BEGIN RAISE NOTICE 'moved %; rows', (SELECT count(*) FROM brands); END $$;\n");
	writefile("m2.verify.sql", "SELECT 1/(SELECT count(*) FROM brands WHERE contexts IS NOT NULL);\n");
	g = plan("mig", "[step m1]\nsql = m1.sql\n\n[step m2]\nneeds = m1\nsql = m2.sql\nsql_verify = m2.verify.sql\n");

	assert_int_equal(pg_applied(g, graph_find(g, "m1"), "sig1", &err), 0);
	assert_int_equal(drive(g, "m1", PG_APPLY, "sig1", &log, &err), 1);
	assert_null(err);
	assert_int_equal(drive(g, "m2", PG_APPLY, "sig2", &log, &err), 1);
	assert_null(err);
	s = psql("SELECT id, contexts FROM brands ORDER BY id");
	assert_string_equal(s, "1|web\n2|mobile");
	free(s);
	/* the log: the files, each statement's status, notices, the verify */
	/* (libpq hands notices over as they arrive, sometimes before the previous
	 * statement's status) */
	expect_log(&log, "-- m2.sql\nALTER TABLE\nUPDATE 2\n");
	expect_log(&log, "NOTICE: moved 2; rows\n");
	expect_log(&log, "DO\n-- m2.verify.sql\nSELECT 1\n");
	/* the registry */
	assert_int_equal(pg_applied(g, graph_find(g, "m1"), "sig1", &err), 1);
	assert_int_equal(pg_applied(g, graph_find(g, "m2"), "sig2", &err), 1);
	assert_int_equal(pg_applied(g, graph_find(g, "m2"), "other", &err), 0);
	assert_int_equal(pg_lookup(g, graph_find(g, "m2"), &sig, &err), 1);
	assert_string_equal(sig, "sig2");
	free(sig);
	s = psql("SELECT plan, step, signature FROM orch.registry WHERE plan = $$mig$$ ORDER BY step");
	assert_string_equal(s, "mig|m1|sig1\nmig|m2|sig2");
	free(s);
	buf_free(&log);
}

static void test_failure_rolls_back(void **state)
{
	struct graph *g;
	struct buf log = {0};
	char *err = NULL, *before, *after;

	NEED_SERVER();
	writefile("f0.sql", "CREATE TABLE items (id int PRIMARY KEY, v text);\nINSERT INTO items VALUES (1, 'a');\n");
	writefile("f1.sql",
	          "/* a comment; with a semicolon */\n"
	          "CREATE TABLE more (id int);\n"
	          "INSERT INTO items VALUES (2, 'it''s; fine');\n"
	          "DO $body$ BEGIN PERFORM 1; END $body$;\n"
	          "UPDATE items SET v = 'changed';\n"
	          "INSERT INTO items\n"
	          "  VALUES (1, 'duplicate');\n"
	          "INSERT INTO items VALUES (3, 'never');\n");
	g = plan("fail", "[step f0]\nsql = f0.sql\n\n[step f1]\nsql = f1.sql\n");
	assert_int_equal(run(g, "f0", PG_APPLY, &err), 1);
	before = dump();
	assert_int_equal(drive(g, "f1", PG_APPLY, "s", &log, &err), -1);
	/* no position from the server: the statement and its line, as psql -f says */
	expect_err(err, "f1.sql:6: ERROR 23505: duplicate key value violates unique constraint \"items_pkey\"");
	expect_log(&log, "DETAIL: Key (id)=(1) already exists.");
	expect_log(&log, "STATEMENT: INSERT INTO items ...");
	expect_log(&log, "ROLLBACK");
	free(err);
	after = dump();
	assert_string_equal(before, after);
	assert_int_equal(pg_applied(g, graph_find(g, "f1"), "s", &err), 0);
	free(before);
	free(after);
	buf_free(&log);
}

static void test_error_position(void **state)
{
	struct graph *g;
	struct buf log = {0};
	char *err = NULL, *s;

	NEED_SERVER();
	writefile("p.sql", "CREATE TABLE pos_a (id int);\n-- the next one fails\nSELECT id,\n\t  nosuch FROM pos_a;\n");
	writefile("syntax.sql", "CREATE TABLE pos_b (id int);\nCREATE TABLE pos_c (id int) oops;\n");
	g = plan("pos", "[step p]\nsql = p.sql\n\n[step syntax]\nsql = syntax.sql\n");
	assert_int_equal(drive(g, "p", PG_APPLY, "s", &log, &err), -1);
	expect_err(err, "p.sql:4:4: ERROR 42703: column \"nosuch\" does not exist");
	expect_log(&log, "    4 | \t  nosuch FROM pos_a;\n      | \t  ^\n");
	free(err);
	assert_int_equal(run(g, "syntax", PG_APPLY, &err), -1);
	expect_err(err, "syntax.sql:2:29: ERROR 42601: syntax error at or near \"oops\"");
	free(err);
	s = psql("SELECT count(*) FROM pg_class WHERE relname LIKE $$pos_%$$");
	assert_string_equal(s, "0");
	free(s);
	buf_free(&log);
}

static void test_verify_failure(void **state)
{
	struct graph *g;
	char *err = NULL, *s;

	NEED_SERVER();
	writefile("v.sql", "CREATE TABLE verified (id int);\n");
	writefile("v.verify.sql", "SELECT 1;\nSELECT 1/count(*) FROM verified;\n");
	g = plan("ver", "[step v]\nsql = v.sql\nsql_verify = v.verify.sql\n");
	assert_int_equal(run(g, "v", PG_APPLY, &err), -1);
	expect_err(err, "v.verify.sql:2: ERROR 22012: division by zero");
	free(err);
	s = psql("SELECT to_regclass($$verified$$) IS NULL");
	assert_string_equal(s, "t");
	free(s);
	assert_int_equal(pg_applied(g, graph_find(g, "v"), "sig1", &err), 0);
}

static void test_rollback_sql(void **state)
{
	struct graph *g;
	char *err = NULL, *s;

	NEED_SERVER();
	writefile("r.sql", "CREATE TABLE rolled (id int);\nINSERT INTO rolled VALUES (1);\n");
	writefile("r.rollback.sql", "DROP TABLE rolled;\n");
	g = plan("rb", "[step r]\nsql = r.sql\nsql_rollback = r.rollback.sql\n\n[step norb]\nsql = r.sql\n");
	assert_int_equal(run(g, "r", PG_APPLY, &err), 1);
	assert_int_equal(pg_applied(g, graph_find(g, "r"), "sig1", &err), 1);
	assert_int_equal(run(g, "r", PG_REVERT, &err), 1);
	s = psql("SELECT to_regclass($$rolled$$) IS NULL");
	assert_string_equal(s, "t");
	free(s);
	assert_int_equal(pg_applied(g, graph_find(g, "r"), "sig1", &err), 0);
	assert_int_equal(run(g, "norb", PG_REVERT, &err), -1);
	expect_err(err, "neither sql_rollback nor backup");
	free(err);
}

static void test_backup_restore(void **state)
{
	struct graph *g;
	struct buf log = {0};
	char *err = NULL, *before, *after, *s, *b;

	NEED_SERVER();
	free(psql("CREATE TABLE stock (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, sku text UNIQUE,"
	          " qty int CHECK (qty >= 0), twice int GENERATED ALWAYS AS (qty * 2) STORED);"
	          " CREATE TABLE moves (id serial PRIMARY KEY, sku text REFERENCES stock (sku), n int);"
	          " INSERT INTO stock (sku, qty) SELECT $$sku$$ || i, i FROM generate_series(1, 500) i;"
	          " INSERT INTO moves (sku, n) SELECT $$sku$$ || i, i FROM generate_series(1, 500, 7) i;"
	          " DELETE FROM stock WHERE id = 3;"));
	writefile("b.sql", "DELETE FROM moves WHERE n > 100;\nUPDATE stock SET qty = 0;\nDELETE FROM stock WHERE id > 250;\n");
	g = plan("bk", "[step squash]\nsql = b.sql\nbackup = stock moves\n");
	before = sh("psql -X -A -t -d %s -c 'TABLE stock ORDER BY id' -c 'TABLE moves ORDER BY id'", dbname);
	assert_int_equal(drive(g, "squash", PG_APPLY, "s", &log, &err), 1);
	b = pg_backup_table(g, graph_find(g, "squash"), "stock");
	assert_string_equal(b, "orch_backup.\"bk__squash__stock\"");
	expect_log(&log, "backup: stock -> orch_backup.\"bk__squash__stock\" (499 rows)");
	expect_log(&log, "backup: moves -> orch_backup.\"bk__squash__moves\" (72 rows)");
	s = psql("SELECT backup FROM orch.registry WHERE plan = $$bk$$");
	assert_string_equal(s, "orch_backup.\"bk__squash__stock\" orch_backup.\"bk__squash__moves\"");
	free(s);
	free(b);
	s = psql("SELECT count(*) FROM stock WHERE qty > 0");
	assert_string_equal(s, "0");
	free(s);
	assert_int_equal(drive(g, "squash", PG_REVERT, NULL, &log, &err), 1);
	expect_log(&log, "restore: stock <- orch_backup.\"bk__squash__stock\" (499 rows)");
	after = sh("psql -X -A -t -d %s -c 'TABLE stock ORDER BY id' -c 'TABLE moves ORDER BY id'", dbname);
	assert_string_equal(before, after);
	assert_int_equal(pg_applied(g, graph_find(g, "squash"), "s", &err), 0);
	free(before);
	free(after);
	buf_free(&log);
}

static void test_backup_name_long(void **state)
{
	struct graph *g;
	char *b;

	(void)state;
	g = plan("a-plan-with-a-rather-long-name", "[step and-a-step-with-a-long-name-too]\nsql = x.sql\n");
	b = pg_backup_table(g, graph_find(g, "and-a-step-with-a-long-name-too"), "public.some_table");
	/* 63 bytes at most inside the quotes */
	assert_true(strlen(b) - strlen("orch_backup.\"\"") <= 63);
	assert_int_equal(strncmp(b, "orch_backup.\"a-plan-with-a-rather-long-name__and-a-step-wit_", 60), 0);
	free(b);
}

static void test_transaction_no(void **state)
{
	struct graph *g;
	char *err = NULL, *s;

	NEED_SERVER();
	writefile("ix0.sql", "CREATE TABLE big (id int, v text);\n");
	writefile("ix.sql", "CREATE INDEX CONCURRENTLY big_v ON big (v);\nCREATE INDEX CONCURRENTLY big_id ON big (id);\n");
	writefile("tx.sql", "CREATE TABLE tx1 (id int);\nCOMMIT;\nCREATE TABLE tx2 (id int);\n");
	g = plan("txno", "[step ix0]\nsql = ix0.sql\n\n[step ix]\nsql = ix.sql\ntransaction = no\n\n"
	                 "[step ixtx]\nsql = ix.sql\n\n[step tx]\nsql = tx.sql\n");
	assert_int_equal(run(g, "ix0", PG_APPLY, &err), 1);
	assert_int_equal(run(g, "ixtx", PG_APPLY, &err), -1);
	expect_err(err, "ix.sql:1: ERROR 25001: CREATE INDEX CONCURRENTLY cannot run inside a transaction block");
	free(err);
	assert_int_equal(run(g, "ix", PG_APPLY, &err), 1);
	s = psql("SELECT string_agg(indexname, $$ $$ ORDER BY indexname) FROM pg_indexes WHERE tablename = $$big$$");
	assert_string_equal(s, "big_id big_v");
	free(s);
	assert_int_equal(pg_applied(g, graph_find(g, "ix"), "sig1", &err), 1);
	/* statements one by one: the split respects quotes, dollar quotes, comments and
	 * BEGIN ATOMIC bodies (each piece would fail alone) */
	writefile("split.sql",
	          "CREATE TABLE sp (v text); -- a comment; with a semicolon\n"
	          "INSERT INTO sp VALUES ('a;b'), (E'c\\';d'), ($$e;f$$), ($t$g;$$;h$t$);\n"
	          "/* a /* nested */ comment; */ INSERT INTO sp VALUES (\"left\"(';x', 2));\n"
	          "CREATE FUNCTION sp_n() RETURNS bigint LANGUAGE sql\n"
	          "BEGIN ATOMIC\n"
	          "  SELECT CASE WHEN true THEN 1 ELSE 0 END;\n"
	          "  SELECT count(*) FROM sp;\n"
	          "END;\n"
	          "CREATE FUNCTION sp_p() RETURNS int LANGUAGE plpgsql AS $$\n"
	          "BEGIN\n"
	          "  RETURN 1;\n"
	          "END $$;\n"
	          "SELECT sp_n() + sp_p()\n");
	g = plan("split", "[step sp]\nsql = split.sql\ntransaction = no\n");
	assert_int_equal(run(g, "sp", PG_APPLY, &err), 1);
	s = psql("SELECT string_agg(v, $$|$$ ORDER BY v) || $$ $$ || sp_n() FROM sp");
	assert_string_equal(s, ";x|a;b|c';d|e;f|g;$$;h 5");
	free(s);
	/* a file that ends orch's transaction is refused before anything runs */
	g = plan("txno2", "[step tx]\nsql = tx.sql\n");
	assert_int_equal(run(g, "tx", PG_APPLY, &err), -1);
	expect_err(err, "tx.sql:2: commit ends orch's transaction");
	free(err);
}

static void test_parallel_cancel_lost(void **state)
{
	struct graph *g;
	struct pgjob *a, *b;
	struct buf log = {0};
	char *err = NULL, *s;
	bool locked;
	int ra = 0, rb = 0;

	NEED_SERVER();
	writefile("sleep.sql", "CREATE TABLE slept (id int);\nSELECT pg_sleep(30);\n");
	writefile("quick.sql", "CREATE TABLE quick (id int);\nSELECT pg_sleep(0.2);\n");
	g = plan("par", "[step sleep]\nsql = sleep.sql\n\n[step quick]\nsql = quick.sql\n");

	/* two steps at once on one database: two connections */
	a = pg_start(g, graph_find(g, "sleep"), PG_APPLY, "s", &err, &locked);
	assert_non_null(a);
	b = pg_start(g, graph_find(g, "quick"), PG_APPLY, "s", &err, &locked);
	assert_non_null(b);
	{
		bool w;

		assert_int_not_equal(pg_fd(a, &w), pg_fd(b, &w));
	}
	while (rb == 0) {
		bool wa, wb;
		struct pollfd p[2] = {{.fd = pg_fd(a, &wa), .events = POLLIN}, {.fd = pg_fd(b, &wb), .events = POLLIN}};

		p[0].events |= wa ? POLLOUT : 0;
		p[1].events |= wb ? POLLOUT : 0;
		assert_true(poll(p, 2, 20000) > 0);
		if (p[0].revents)
			assert_int_equal(pg_advance(a, &log, &err), 0);
		if (p[1].revents)
			rb = pg_advance(b, &log, &err);
	}
	assert_int_equal(rb, 1);
	pg_free(b);
	/* cancel the sleeping one: rolled back, not applied */
	pg_cancel(a);
	while (ra == 0) {
		bool w;
		struct pollfd p = {.fd = pg_fd(a, &w), .events = POLLIN};

		assert_true(poll(&p, 1, 20000) > 0);
		ra = pg_advance(a, &log, &err);
	}
	assert_int_equal(ra, -1);
	expect_err(err, "ERROR 57014: canceling statement due to user request");
	free(err);
	pg_free(a);
	s = psql("SELECT to_regclass($$slept$$) IS NULL, to_regclass($$quick$$) IS NOT NULL");
	assert_string_equal(s, "t|t");
	free(s);

	/* the connection dies under a step (server restarted): a clear error, then the
	 * next step reconnects */
	a = pg_start(g, graph_find(g, "sleep"), PG_APPLY, "s", &err, &locked);
	assert_non_null(a);
	for (int64_t t0 = now_ms(); now_ms() - t0 < 500;) {
		bool w;
		struct pollfd p = {.fd = pg_fd(a, &w), .events = POLLIN};

		if (poll(&p, 1, 100) > 0)
			assert_int_equal(pg_advance(a, &log, &err), 0);
	}
	free(sh("psql -X -q -d %s -c \"SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
	        " WHERE query LIKE '%%pg_sleep(30)%%' AND pid <> pg_backend_pid()\" >/dev/null", dbname));
	ra = 0;
	while (ra == 0) {
		bool w;
		struct pollfd p = {.fd = pg_fd(a, &w), .events = POLLIN};

		assert_true(poll(&p, 1, 20000) > 0);
		ra = pg_advance(a, &log, &err);
	}
	assert_int_equal(ra, -1);
	expect_err(err, "lost the connection to database \"");
	expect_err(err, "step 'sleep' was not applied");
	free(err);
	pg_free(a);
	writefile("sleep.sql", "CREATE TABLE slept (id int);\n");
	assert_int_equal(run(g, "sleep", PG_APPLY, &err), 1);
	buf_free(&log);
}

static void test_server_restart(void **state)
{
	struct graph *g;
	char *err = NULL, *s;
	const char *d = getenv("PG_TEST_DIR"), *bin = getenv("PG_TEST_BIN");

	NEED_SERVER();
	if (!d || !bin)
		skip(); /* not our throwaway server: leave it alone */
	writefile("rs1.sql", "CREATE TABLE rs1 (id int);\n");
	writefile("rs2.sql", "CREATE TABLE rs2 (id int);\n");
	g = plan("restart", "[step rs1]\nsql = rs1.sql\n\n[step rs2]\nsql = rs2.sql\n");
	assert_int_equal(run(g, "rs1", PG_APPLY, &err), 1);
	/* every connection (the idle one, the one holding the lock) dies */
	free(sh("%s %s/pg_ctl -D %s/data -m fast -w restart >/dev/null", geteuid() == 0 ? "runuser -u postgres --" : "",
	        bin, d));
	assert_int_equal(pg_applied(g, graph_find(g, "rs1"), "sig1", &err), 1);
	assert_int_equal(run(g, "rs2", PG_APPLY, &err), 1);
	s = psql("SELECT count(*) FROM orch.registry WHERE plan = $$restart$$");
	assert_string_equal(s, "2");
	free(s);
}

static void test_lock(void **state)
{
	struct graph *g, *g2;
	char *err = NULL;
	bool locked = false;
	int fds[2], back[2];
	pid_t pid;
	char c;
	int64_t t0;
	int st;

	NEED_SERVER();
	g = plan("lockplan", "[step l]\nsql = l.sql\n");
	writefile("l.sql", "SELECT 1;\n");
	/* a fresh start, so the second orch (a child process) shares no connection */
	pg_close_all();
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(pipe(back), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		close(back[1]);
		c = pg_lock(g, graph_find(g, "l"), &err, &locked) == 0 ? 'y' : 'n';
		if (write(fds[1], &c, 1) != 1)
			_exit(2);
		if (read(back[0], &c, 1) < 0) /* until the parent is done */
			_exit(2);
		_exit(0); /* the connection, and the lock, go with the process */
	}
	close(fds[1]);
	close(back[0]);
	assert_int_equal(read(fds[0], &c, 1), 1);
	assert_int_equal(c, 'y');

	setenv("ORCH_LOCK_TIMEOUT", "1", 1);
	t0 = now_ms();
	assert_int_equal(pg_lock(g, graph_find(g, "l"), &err, &locked), -1);
	assert_true(locked);
	assert_true(now_ms() - t0 >= 900);
	expect_err(err, "is locked by another orch migrating it (pid ");
	expect_err(err, "application_name orch");
	free(err);
	/* pg_start says the same */
	assert_int_equal(run(g, "l", PG_APPLY, &err), -1);
	expect_err(err, "is locked by another orch");
	free(err);
	/* the lock is the database's: another plan waits too */
	g2 = plan("otherplan", "[step l]\nsql = l.sql\n");
	assert_int_equal(pg_lock(g2, graph_find(g2, "l"), &err, &locked), -1);
	assert_true(locked);
	free(err);
	/* unless it shares the database: its lock is its own */
	g2 = plan("sharing", "[step l]\nsql = l.sql\n");
	g2->share_database = true;
	assert_int_equal(pg_lock(g2, graph_find(g2, "l"), &err, &locked), 0);
	pg_close_all(); /* its lock goes: the next pg_lock of g connects again */

	close(back[1]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(fds[0]);
	setenv("ORCH_LOCK_TIMEOUT", "5", 1);
	assert_int_equal(pg_lock(g, graph_find(g, "l"), &err, &locked), 0);
	assert_int_equal(run(g, "l", PG_APPLY, &err), 1);
	unsetenv("ORCH_LOCK_TIMEOUT");
}

static void test_same_database_two_strings(void **state)
{
	struct graph *g;
	char *err = NULL, *text;
	bool locked = false;
	int errors = -1;

	NEED_SERVER();
	/* one plan, two spellings of one database: this orch holds the lock already */
	text = xasprintf("[orch]\nname = twostr\ndatabase = %s\n\n[step a]\nsql = l.sql\n\n"
	                 "[step b]\nsql = l.sql\ndatabase = postgresql:///%s?application_name=x\n",
	                 conninfo, dbname);
	g = orchfile_parse("Orchfile", text, strlen(text), dir, &errors);
	free(text);
	assert_non_null(g);
	vec_push(&graphs, g);
	setenv("ORCH_LOCK_TIMEOUT", "0", 1);
	assert_int_equal(pg_lock(g, graph_find(g, "a"), &err, &locked), 0);
	assert_int_equal(pg_lock(g, graph_find(g, "b"), &err, &locked), 0);
	assert_int_equal(run(g, "b", PG_APPLY, &err), 1);
	unsetenv("ORCH_LOCK_TIMEOUT");
}

static void test_password_masked(void **state)
{
	static const char *const bad[] = {
		"postgresql://orchuser:s3cr3t-pw@127.0.0.1:1/nodb?connect_timeout=2",
		"host=127.0.0.1 port=1 dbname=nodb user=orchuser password=s3cr3t-pw connect_timeout=2",
		"host=127.0.0.1 port=1 dbname=nodb user=orchuser password='s3cr3t-pw' connect_timeout=2",
	};
	char *err = NULL, *text;
	bool locked;
	int errors;

	(void)state;
	writefile("pw.sql", "SELECT 1;\n");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct graph *g;

		text = xasprintf("[orch]\nname = pw\n\n[step s]\nsql = pw.sql\ndatabase = %s\n", bad[i]);
		errors = -1;
		g = orchfile_parse("Orchfile", text, strlen(text), dir, &errors);
		free(text);
		assert_non_null(g);
		vec_push(&graphs, g);
		assert_null(pg_start(g, graph_find(g, "s"), PG_APPLY, "s", &err, &locked));
		expect_err(err, "cannot connect to database \"nodb\" on host 127.0.0.1 port 1: ");
		assert_null(strstr(err, "s3cr3t"));
		assert_false(locked);
		free(err);
		assert_int_equal(pg_applied(g, graph_find(g, "s"), "s", &err), -1);
		assert_null(strstr(err, "s3cr3t"));
		free(err);
	}
	if (*dbname) {
		/* the server answers: a role that does not exist */
		struct graph *g;

		text = xasprintf("[orch]\nname = pw\n\n[step s]\nsql = pw.sql\ndatabase = dbname=%s user=nosuchrole"
		                 " password=s3cr3t-pw\n", dbname);
		errors = -1;
		g = orchfile_parse("Orchfile", text, strlen(text), dir, &errors);
		free(text);
		vec_push(&graphs, g);
		assert_null(pg_start(g, graph_find(g, "s"), PG_APPLY, "s", &err, &locked));
		expect_err(err, "role \"nosuchrole\" does not exist");
		assert_null(strstr(err, "s3cr3t"));
		free(err);
	}
}

/* A signal while pg_lock waits for another orch's lock ends the wait at once: it
 * returns PG_INTERRUPTED, the lock not taken, and the signal is left for the engine.
 * Last of all: a signal caught stays caught for the rest of the process. */
static void test_lock_interrupted(void **state)
{
	struct graph *g;
	char *err = NULL;
	bool locked = true;
	int fds[2], back[2], st;
	pid_t holder, killer;
	char c;
	int64_t t0;

	NEED_SERVER();
	g = plan("intrplan", "[step l]\nsql = l.sql\n");
	writefile("l.sql", "SELECT 1;\n");
	pg_close_all();
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(pipe(back), 0);
	holder = fork();
	assert_true(holder >= 0);
	if (holder == 0) {
		close(fds[0]);
		close(back[1]);
		c = pg_lock(g, graph_find(g, "l"), &err, &locked) == 0 ? 'y' : 'n';
		if (write(fds[1], &c, 1) != 1 || read(back[0], &c, 1) < 0)
			_exit(2);
		_exit(0);
	}
	close(fds[1]);
	close(back[0]);
	assert_int_equal(read(fds[0], &c, 1), 1);
	assert_int_equal(c, 'y');

	os_signals_init();
	killer = fork();
	assert_true(killer >= 0);
	if (killer == 0) {
		struct timespec ts = {0, 300 * 1000000L};

		nanosleep(&ts, NULL);
		kill(getppid(), SIGINT);
		_exit(0);
	}
	setenv("ORCH_LOCK_TIMEOUT", "30", 1);
	t0 = now_ms();
	assert_int_equal(pg_lock(g, graph_find(g, "l"), &err, &locked), PG_INTERRUPTED);
	assert_true(now_ms() - t0 < 5000);
	assert_false(locked);
	expect_err(err, "Interrupt while waiting for the lock on database ");
	free(err);
	assert_int_equal(os_signals_take(), SIGINT);
	/* pg_start says so too, without waiting again */
	t0 = now_ms();
	assert_int_equal(run(g, "l", PG_APPLY, &err), -1);
	assert_true(now_ms() - t0 < 5000);
	expect_err(err, "Interrupt before waiting for the lock on database ");
	free(err);
	assert_int_equal(waitpid(killer, &st, 0), killer);
	close(back[1]);
	assert_int_equal(waitpid(holder, &st, 0), holder);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(fds[0]);
	unsetenv("ORCH_LOCK_TIMEOUT");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backup_name_long),
		cmocka_unit_test(test_migration),
		cmocka_unit_test(test_failure_rolls_back),
		cmocka_unit_test(test_error_position),
		cmocka_unit_test(test_verify_failure),
		cmocka_unit_test(test_rollback_sql),
		cmocka_unit_test(test_backup_restore),
		cmocka_unit_test(test_transaction_no),
		cmocka_unit_test(test_parallel_cancel_lost),
		cmocka_unit_test(test_server_restart),
		cmocka_unit_test(test_lock),
		cmocka_unit_test(test_same_database_two_strings),
		cmocka_unit_test(test_password_masked),
		cmocka_unit_test(test_lock_interrupted),
	};
	int r = cmocka_run_group_tests(tests, setup, teardown);

	for (size_t i = 0; i < graphs.n; i++)
		(void)graphs.v[i]; /* graphs live until exit */
	return r;
}
