/* Unit tests of sqlsplit.c, no server needed: where statements start and end (quotes,
 * E'' strings, dollar quotes, comments, parentheses, BEGIN ATOMIC bodies, a last
 * statement without its semicolon, CRLF), their first words, line:column of an
 * offset, the transaction-control statements refused, and reading a file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "orchtest.h"
#include "sqlsplit.h"

/* TEXT split, as sqlfile_read would leave it (without a path). */
static struct sqlfile split(const char *text)
{
	struct sqlfile f = {0};

	f.text = xstrdup(text);
	f.len = strlen(text);
	sql_split(&f);
	return f;
}

/* Statement I of F as a new string. */
static char *stmt(const struct sqlfile *f, size_t i)
{
	assert_true(i < f->nstmts);
	assert_true(f->stmts[i].start < f->stmts[i].end);
	assert_true(f->stmts[i].end <= f->len);
	return xstrndup(f->text + f->stmts[i].start, f->stmts[i].end - f->stmts[i].start);
}

/* TEXT splits into exactly the statements given (NULL-terminated), byte for byte. */
static void expect_split(const char *text, ...)
{
	struct sqlfile f = split(text);
	va_list ap;
	const char *want;
	size_t i = 0;

	va_start(ap, text);
	while ((want = va_arg(ap, const char *))) {
		char *got;

		if (i >= f.nstmts)
			fail_msg("%s: only %zu statements, wanted \"%s\" too", text, f.nstmts, want);
		got = stmt(&f, i++);
		assert_string_equal(got, want);
		free(got);
	}
	va_end(ap);
	if (i != f.nstmts)
		fail_msg("%s: %zu statements, wanted %zu", text, f.nstmts, i);
	sqlfile_free(&f);
}

static void expect_words(const char *text, size_t i, const char *w0, const char *w1)
{
	struct sqlfile f = split(text);

	assert_true(i < f.nstmts);
	assert_string_equal(f.stmts[i].word[0], w0);
	assert_string_equal(f.stmts[i].word[1], w1);
	sqlfile_free(&f);
}

static void test_plain(void **state)
{
	(void)state;
	expect_split("CREATE TABLE a (x int);\nINSERT INTO a VALUES (1);\n", "CREATE TABLE a (x int);",
	             "INSERT INTO a VALUES (1);", NULL);
	expect_split("SELECT 1;SELECT 2;", "SELECT 1;", "SELECT 2;", NULL);
	expect_split("  \n\tSELECT 1 ;  ", "SELECT 1 ;", NULL);
	/* semicolons inside parentheses do not end a statement */
	expect_split("CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO u VALUES (1); DELETE FROM v);\nSELECT 2;",
	             "CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO u VALUES (1); DELETE FROM v);",
	             "SELECT 2;", NULL);
	/* the first two words, lowercase, cut at 15 bytes */
	expect_words("CREATE  Table a (x int);", 0, "create", "table");
	expect_words("SELECT;", 0, "select", "");
	expect_words("(SELECT 1);", 0, "select", "");
	expect_words("Select averyveryverylongname FROM t;", 0, "select", "averyveryverylo");
	expect_words("SELECT 1;\n  vacuum analyze t;", 1, "vacuum", "analyze");
}

static void test_single_quotes(void **state)
{
	(void)state;
	expect_split("SELECT 'a;b', 'it''s; fine';\nSELECT 2;", "SELECT 'a;b', 'it''s; fine';", "SELECT 2;", NULL);
	expect_split("INSERT INTO t VALUES (';'), ('--'), ('/*');SELECT 2;",
	             "INSERT INTO t VALUES (';'), ('--'), ('/*');", "SELECT 2;", NULL);
	expect_split("SELECT '';SELECT '''';", "SELECT '';", "SELECT '''';", NULL);
	/* a standard string takes no backslash escapes: the quote after \ closes it */
	expect_split("SELECT 'a\\';SELECT 2;", "SELECT 'a\\';", "SELECT 2;", NULL);
	/* a quoted word is not a word */
	expect_words("SELECT 'begin';", 0, "select", "");
}

static void test_double_quotes(void **state)
{
	(void)state;
	expect_split("CREATE TABLE \"we;ird\" (\"a\"\"b;\" int);SELECT \"x'y\";",
	             "CREATE TABLE \"we;ird\" (\"a\"\"b;\" int);", "SELECT \"x'y\";", NULL);
	/* backslashes mean nothing in identifiers */
	expect_split("SELECT \"a\\\";SELECT 2;", "SELECT \"a\\\";", "SELECT 2;", NULL);
	expect_words("SELECT \"from\" FROM t;", 0, "select", "from");
	expect_words("UPDATE \"T\" SET x = 1;", 0, "update", "set");
}

static void test_escape_strings(void **state)
{
	(void)state;
	expect_split("SELECT E'it\\'s; a\\\\';SELECT 2;", "SELECT E'it\\'s; a\\\\';", "SELECT 2;", NULL);
	expect_split("SELECT e'\\';';\nSELECT 2;", "SELECT e'\\';';", "SELECT 2;", NULL);
	expect_split("SELECT x, E'\\'' FROM t;SELECT 2;", "SELECT x, E'\\'' FROM t;", "SELECT 2;", NULL);
	expect_split("SELECT E'a'';b';SELECT 2;", "SELECT E'a'';b';", "SELECT 2;", NULL);
	/* E at the end of a longer word does not make an escape string */
	expect_split("SELECT 1 AS type'\\';SELECT 2;", "SELECT 1 AS type'\\';", "SELECT 2;", NULL);
}

static void test_dollar_quotes(void **state)
{
	(void)state;
	expect_split("CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;\nSELECT 2;",
	             "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;", "SELECT 2;", NULL);
	/* tagged, holding other tags and bare $$ */
	expect_split("DO $body$ BEGIN PERFORM $x$;$x$; EXECUTE $$a;b$$; END $body$;\nSELECT 2;",
	             "DO $body$ BEGIN PERFORM $x$;$x$; EXECUTE $$a;b$$; END $body$;", "SELECT 2;", NULL);
	expect_split("DO $a$ SELECT $b$ ; $a$;SELECT 2;", "DO $a$ SELECT $b$ ; $a$;", "SELECT 2;", NULL);
	expect_split("DO $_1ü$ ; $_1ü$;SELECT 2;", "DO $_1ü$ ; $_1ü$;", "SELECT 2;", NULL);
	/* quotes and comments mean nothing inside */
	expect_split("SELECT $$it's -- /*;$$;SELECT 2;", "SELECT $$it's -- /*;$$;", "SELECT 2;", NULL);
	/* parameters and $ inside words are not dollar quotes */
	expect_split("PREPARE p AS SELECT $1;SELECT 2;", "PREPARE p AS SELECT $1;", "SELECT 2;", NULL);
	expect_split("SELECT a$b$ FROM t;SELECT 2;", "SELECT a$b$ FROM t;", "SELECT 2;", NULL);
	/* an unterminated one runs to the end */
	expect_split("SELECT 1;\nDO $$ BEGIN; END;\n", "SELECT 1;", "DO $$ BEGIN; END;\n", NULL);
}

static void test_comments(void **state)
{
	struct sqlfile f;

	(void)state;
	expect_split("-- a; b\nSELECT 1; /* c; /* nested; */ still; */ SELECT 2;", "SELECT 1;", "SELECT 2;", NULL);
	expect_split("SELECT /* ; */ 3 -- ;\n;", "SELECT /* ; */ 3 -- ;\n;", NULL);
	expect_split("SELECT 1 /* a /* b /* c */ ; */ ; */ + 1;", "SELECT 1 /* a /* b /* c */ ; */ ; */ + 1;", NULL);
	expect_split("SELECT 1; -- the end", "SELECT 1;", NULL);
	expect_split("SELECT 1 -- no semicolon, no newline", "SELECT 1 -- no semicolon, no newline", NULL);
	/* an unterminated block comment runs to the end */
	expect_split("SELECT 1 /* ; SELECT 2;", "SELECT 1 /* ; SELECT 2;", NULL);
	/* a statement starts at its first token, after the comments before it */
	f = split("/* head */ -- line\n  INSERT INTO t VALUES (1);");
	assert_int_equal(f.nstmts, 1);
	assert_int_equal(f.stmts[0].start, 21);
	assert_string_equal(f.stmts[0].word[0], "insert");
	sqlfile_free(&f);
	/* the comment is no word */
	expect_words("/* commit; */ SELECT -- begin\n 1;", 0, "select", "");
}

static void test_no_final_semicolon(void **state)
{
	(void)state;
	expect_split("SELECT 1;\nSELECT 2\n", "SELECT 1;", "SELECT 2\n", NULL);
	expect_split("SELECT 2", "SELECT 2", NULL);
	expect_split("SELECT (1;", "SELECT (1;", NULL);
	/* an unterminated string or identifier runs to the end, and is sent: the server
	 * reports it rather than orch dropping it (transaction = no sends statements) */
	expect_split("VACUUM;\nSELECT 'oops;\n", "VACUUM;", "SELECT 'oops;\n", NULL);
	expect_split("VACUUM;\nSELECT 'it''", "VACUUM;", "SELECT 'it''", NULL);
	expect_split("VACUUM;\nSELECT E'\\';", "VACUUM;", "SELECT E'\\';", NULL);
	expect_split("VACUUM;\nSELECT \"oops;", "VACUUM;", "SELECT \"oops;", NULL);
}

static void test_empty(void **state)
{
	static const char *const empty[] = {
		"", "   \n\t\r\n", ";", ";; ;\n;", "-- only a comment\n", "/* c */\n-- d", "; -- x\n;/* ; */;",
		"/* unterminated ;",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(empty) / sizeof(*empty); i++)
		expect_split(empty[i], NULL);
	expect_split("SELECT 1;;;\n;SELECT 2", "SELECT 1;", "SELECT 2", NULL);
}

static void test_begin_atomic(void **state)
{
	(void)state;
	expect_split("CREATE FUNCTION f() RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT 1;\n"
	             "  SELECT CASE WHEN true THEN 2 END;\nEND;\nSELECT 3;",
	             "CREATE FUNCTION f() RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT 1;\n"
	             "  SELECT CASE WHEN true THEN 2 END;\nEND;",
	             "SELECT 3;", NULL);
	expect_split("create or replace procedure p() begin atomic insert into t values (1); end;select 2;",
	             "create or replace procedure p() begin atomic insert into t values (1); end;", "select 2;",
	             NULL);
	/* elsewhere BEGIN and END are just words */
	expect_split("BEGIN; SELECT CASE WHEN true THEN 1 END; END;", "BEGIN;", "SELECT CASE WHEN true THEN 1 END;",
	             "END;", NULL);
}

static void test_crlf(void **state)
{
	struct sqlfile f;
	int line, col;
	size_t ls;

	(void)state;
	expect_split("SELECT 1;\r\n-- c;\r\nSELECT\r\n 'a;b';\r\n", "SELECT 1;", "SELECT\r\n 'a;b';", NULL);
	expect_split("SELECT 1 -- c;\r\n;\r\n", "SELECT 1 -- c;\r\n;", NULL);
	f = split("SELECT 1;\r\n-- c;\r\nSELECT\r\n 'a;b';\r\n");
	assert_int_equal(f.nstmts, 2);
	sqlfile_linecol(&f, f.stmts[1].start, &line, &col, &ls);
	assert_int_equal(line, 3);
	assert_int_equal(col, 1);
	assert_int_equal(ls, f.stmts[1].start);
	sqlfile_linecol(&f, (size_t)(strstr(f.text, "'a;b'") - f.text), &line, &col, &ls);
	assert_int_equal(line, 4);
	assert_int_equal(col, 2);
	sqlfile_free(&f);
}

static void test_linecol(void **state)
{
	struct sqlfile f = split("SELECT 1;\n\n  SELECT \xc3\xbcn\xc3\xaf, 2;\n");
	size_t off = (size_t)(strstr(f.text, ", 2") - f.text) + 2, ls;
	int line, col;

	(void)state;
	sqlfile_linecol(&f, 0, &line, &col, &ls);
	assert_int_equal(line, 1);
	assert_int_equal(col, 1);
	assert_int_equal(ls, 0);
	sqlfile_linecol(&f, 8, &line, &col, &ls);
	assert_int_equal(line, 1);
	assert_int_equal(col, 9);
	/* on line 3, columns count characters: ü and ï are two bytes each */
	sqlfile_linecol(&f, off, &line, &col, &ls);
	assert_int_equal(line, 3);
	assert_int_equal(col, 15);
	assert_int_equal(ls, 11);
	assert_int_equal(f.text[off], '2');
	/* the newline belongs to its line; past the end means the end */
	sqlfile_linecol(&f, 9, &line, &col, &ls);
	assert_int_equal(line, 1);
	assert_int_equal(col, 10);
	sqlfile_linecol(&f, 10, &line, &col, &ls);
	assert_int_equal(line, 2);
	assert_int_equal(col, 1);
	sqlfile_linecol(&f, f.len + 100, &line, &col, &ls);
	assert_int_equal(line, 4);
	assert_int_equal(col, 1);
	assert_int_equal(ls, f.len);
	sqlfile_free(&f);
}

/* The statement sqlfile_txstmt flags in TEXT, as a new string, or NULL. */
static char *txstmt(const char *text)
{
	struct sqlfile f = split(text);
	const struct sqlstmt *st = sqlfile_txstmt(&f);
	char *s = st ? xstrndup(f.text + st->start, st->end - st->start) : NULL;

	sqlfile_free(&f);
	return s;
}

static void test_txstmt(void **state)
{
	static const char *const flagged[] = {
		"BEGIN;", "begin transaction;", "BEGIN ISOLATION LEVEL SERIALIZABLE;", "START TRANSACTION;",
		"Commit;", "COMMIT AND CHAIN;", "COMMIT PREPARED 'x';", "END;", "end work;", "ABORT;",
		"ROLLBACK;", "ROLLBACK WORK;", "ROLLBACK AND CHAIN;", "ROLLBACK PREPARED 'x';", "PREPARE TRANSACTION 'x';",
		"/* a comment first */ COMMIT;", "COMMIT",
	};
	static const char *const allowed[] = {
		"", "SELECT 1;", "ROLLBACK TO SAVEPOINT a;", "rollback to a;",
		"ROLLBACK WORK TO SAVEPOINT a;", "rollback transaction to a;", "SAVEPOINT a;", "RELEASE SAVEPOINT a;",
		"START something;", "PREPARE p AS SELECT 1;", "SELECT 'BEGIN; COMMIT;';", "-- COMMIT;\nSELECT 1;",
		"/* ROLLBACK; */", "DO $$ BEGIN COMMIT; END $$;", "SELECT \"commit\";",
		"CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END;",
		"CREATE TABLE commit (begin int);", "SELECT 1 AS end;",
	};
	char *s;

	(void)state;
	for (size_t i = 0; i < sizeof(flagged) / sizeof(*flagged); i++) {
		s = txstmt(flagged[i]);
		if (!s)
			fail_msg("not flagged: %s", flagged[i]);
		free(s);
	}
	for (size_t i = 0; i < sizeof(allowed) / sizeof(*allowed); i++) {
		s = txstmt(allowed[i]);
		if (s)
			fail_msg("flagged: %s (%s)", allowed[i], s);
	}
	/* the first one found, whole */
	s = txstmt("SELECT 1;\nSAVEPOINT a;\nROLLBACK TO a;\nCOMMIT;\nBEGIN;\n");
	assert_non_null(s);
	assert_string_equal(s, "COMMIT;");
	free(s);
}

static enum sqlwrap wrap(const char *text)
{
	struct sqlfile f = split(text);
	enum sqlwrap w = sqlfile_wrap(&f);

	sqlfile_free(&f);
	return w;
}

/* sqitch's wrappers: BEGIN ... COMMIT (deploy, revert), BEGIN ... ROLLBACK (verify); the
 * wrapper itself is not flagged, anything else is. */
static void test_wrap(void **state)
{
	static const char *const commit[] = {
		"BEGIN;\nCREATE TABLE t (x int);\nCOMMIT;\n", "-- deploy t\nbegin work;\nSELECT 1;\nend;\n-- the end\n",
		"START TRANSACTION; SELECT 1; COMMIT TRANSACTION;", "BEGIN; COMMIT;", "BEGIN;\nSELECT 1;\nCOMMIT",
	};
	static const char *const rollback[] = {
		"BEGIN;\nSELECT x FROM t WHERE false;\nROLLBACK;\n", "begin transaction; select 1; abort;",
	};
	static const char *const none[] = {
		"", "BEGIN;", "COMMIT;", "SELECT 1; COMMIT;", "BEGIN; SELECT 1;", "BEGIN ISOLATION LEVEL SERIALIZABLE; SELECT 1; COMMIT;",
		"BEGIN; SELECT 1; COMMIT AND CHAIN;", "BEGIN; SELECT 1; ROLLBACK TO SAVEPOINT a;", "SAVEPOINT a; SELECT 1; COMMIT;",
		"BEGIN; SELECT 1; PREPARE TRANSACTION 'x';", "SELECT 1; BEGIN; SELECT 2; COMMIT;",
		"START TRANSACTION READ ONLY; SELECT 1; COMMIT;",
	};
	char *s;

	(void)state;
	for (size_t i = 0; i < sizeof(commit) / sizeof(*commit); i++) {
		if (wrap(commit[i]) != SQL_WRAP_COMMIT)
			fail_msg("not a BEGIN ... COMMIT wrapper: %s", commit[i]);
		if ((s = txstmt(commit[i])))
			fail_msg("wrapper flagged: %s (%s)", commit[i], s);
	}
	for (size_t i = 0; i < sizeof(rollback) / sizeof(*rollback); i++) {
		if (wrap(rollback[i]) != SQL_WRAP_ROLLBACK)
			fail_msg("not a BEGIN ... ROLLBACK wrapper: %s", rollback[i]);
		if ((s = txstmt(rollback[i])))
			fail_msg("wrapper flagged: %s (%s)", rollback[i], s);
	}
	for (size_t i = 0; i < sizeof(none) / sizeof(*none); i++)
		if (wrap(none[i]) != SQL_WRAP_NONE)
			fail_msg("a wrapper: %s", none[i]);
	/* inside a wrapper, other transaction control is still flagged */
	s = txstmt("BEGIN;\nSELECT 1;\nCOMMIT;\nBEGIN;\nSELECT 2;\nCOMMIT;\n");
	assert_non_null(s);
	assert_string_equal(s, "COMMIT;");
	free(s);
	s = txstmt("BEGIN;\nSAVEPOINT a;\nROLLBACK TO a;\nROLLBACK;\nSELECT 2;\nROLLBACK;\n");
	assert_non_null(s);
	assert_string_equal(s, "ROLLBACK;");
	free(s);
}

static void test_sqlfile_read(void **state)
{
	char *dir = test_tmpdir(), *abs, *err = NULL;
	struct sqlfile f;

	(void)state;
	test_write(dir, "m.sql", "CREATE TABLE t (x int);\n-- done\nINSERT INTO t VALUES (1)\n");
	assert_int_equal(sqlfile_read(dir, "m.sql", &f, &err), 0);
	assert_null(err);
	assert_string_equal(f.path, "m.sql");
	assert_int_equal(f.len, strlen(f.text));
	assert_int_equal(f.nstmts, 2);
	assert_string_equal(f.stmts[1].word[0], "insert");
	sqlfile_free(&f);
	/* an absolute path ignores the directory; a NULL directory is the working one */
	abs = xasprintf("%s/m.sql", dir);
	assert_int_equal(sqlfile_read("/nonexistent", abs, &f, &err), 0);
	assert_string_equal(f.path, abs);
	assert_int_equal(f.nstmts, 2);
	sqlfile_free(&f);
	assert_int_equal(sqlfile_read(NULL, abs, &f, &err), 0);
	sqlfile_free(&f);
	free(abs);
	/* a missing file: the path as given, and why */
	assert_int_equal(sqlfile_read(dir, "none.sql", &f, &err), -1);
	assert_string_equal(err, "cannot read none.sql: No such file or directory");
	free(err);
	sqlfile_free(&f);
	test_rmrf(dir);
	free(dir);
}


/* TEXT (as file m.sql in a new directory, with FILES "name", "text", ... beside it)
 * read with VARS; returns the directory, F filled, *RC sqlfile_read_vars's result. */
static char *psql_read(struct sqlfile *f, int *rc, char **err, const char *const *vars, const char *text, ...)
{
	char *dir = test_tmpdir();
	struct vec v = {0};
	va_list ap;
	const char *name;

	test_write(dir, "m.sql", text);
	va_start(ap, text);
	while ((name = va_arg(ap, const char *))) {
		const char *body = va_arg(ap, const char *);
		char *sub = xstrdup(name), *slash = strrchr(sub, '/');

		if (slash) {
			char *d;

			*slash = '\0';
			d = xasprintf("%s/%s", dir, sub);
			mkdir(d, 0777);
			free(d);
		}
		free(sub);
		test_write(dir, name, body);
	}
	va_end(ap);
	for (size_t i = 0; vars && vars[i]; i++)
		vec_push(&v, (void *)vars[i]);
	*err = NULL;
	*rc = sqlfile_read_vars(dir, "m.sql", &v, f, err);
	vec_free(&v);
	return dir;
}

static void done(struct sqlfile *f, char *dir, char *err)
{
	sqlfile_free(f);
	free(err);
	test_rmrf(dir);
	free(dir);
}

static void test_psql_variables(void **state)
{
	static const char *const vars[] = {"tbl=my table", "n=42", "who=it's", "bs=a\\b", "expr=1 + :n", NULL};
	struct sqlfile f;
	char *err, *dir;
	int rc;

	(void)state;
	dir = psql_read(&f, &rc, &err, vars,
	                "SELECT :n, :'who', :\"tbl\", :'bs', :{?n}, :{?none};\n"
	                "SELECT ':n', \":n\", $$:n$$, x::int, :undefined, :'undefined' -- :n\n;\n"
	                "SELECT :expr /* :n */;\n",
	                NULL);
	assert_int_equal(rc, 0);
	assert_int_equal(f.nstmts, 3);
	assert_string_equal(f.text, "SELECT 42, 'it''s', \"my table\",  E'a\\\\b', TRUE, FALSE;\n"
	                            "SELECT ':n', \":n\", $$:n$$, x::int, :undefined, :'undefined' -- :n\n;\n"
	                            "SELECT 1 + 42 /* :n */;\n");
	done(&f, dir, err);
}

static void test_psql_set_and_positions(void **state)
{
	static const char *const vars[] = {"schema=app", NULL};
	struct sqlfile f;
	struct sqlpos p;
	char *err, *dir;
	int rc;

	(void)state;
	dir = psql_read(&f, &rc, &err, vars,
	                "\\set ON_ERROR_STOP on\n"
	                "\\set t 'brands' \\set cols :schema '_id'\n"
	                "CREATE TABLE :\"schema\".:t (:cols int);\n"
	                "\\unset t\n"
	                "SELECT :t, nmae;\n",
	                NULL);
	assert_int_equal(rc, 0);
	assert_int_equal(f.nstmts, 2);
	assert_string_equal(f.text + f.stmts[0].start, "CREATE TABLE \"app\".brands (app_id int);\n\nSELECT :t, nmae;\n");
	/* "nmae" is on line 5, column 12 of m.sql; the variable's value maps to :cols */
	sqlfile_pos(&f, (size_t)(strstr(f.text, "nmae") - f.text), &p);
	assert_string_equal(p.src->path, "m.sql");
	assert_int_equal(p.line, 5);
	assert_int_equal(p.col, 12);
	sqlfile_pos(&f, (size_t)(strstr(f.text, "_id") - f.text), &p);
	assert_int_equal(p.line, 3);
	assert_int_equal(p.col, 28);
	done(&f, dir, err);
}

static void test_psql_includes(void **state)
{
	struct sqlfile f;
	struct sqlpos p;
	char *err, *dir;
	int rc;

	(void)state;
	dir = psql_read(&f, &rc, &err, NULL,
	                "\\i sub/a.sql\nSELECT 3;\n",
	                "sub/a.sql", "SELECT 1;\n\\ir b.sql\n",
	                "sub/b.sql", "\\set x 2\n  SELECT :x, oops\n",
	                NULL);
	assert_int_equal(rc, 0);
	assert_int_equal(f.nstmts, 3);
	assert_int_equal(f.nsrcs, 3);
	sqlfile_pos(&f, (size_t)(strstr(f.text, "oops") - f.text), &p);
	assert_string_equal(p.src->path, "sub/b.sql");
	assert_int_equal(p.line, 2);
	assert_int_equal(p.col, 14);
	sqlfile_pos(&f, f.stmts[2].start, &p);
	assert_string_equal(p.src->path, "m.sql");
	assert_int_equal(p.line, 2);
	done(&f, dir, err);

	/* a missing file, a cycle: FILE:LINE of the \i */
	dir = psql_read(&f, &rc, &err, NULL, "SELECT 1;\n\\i nothere.sql\n", NULL);
	assert_int_equal(rc, -1);
	assert_string_equal(err, "m.sql:2: \\i nothere.sql: cannot read nothere.sql: No such file or directory");
	done(&f, dir, err);
	dir = psql_read(&f, &rc, &err, NULL, "\\i a.sql\n", "a.sql", "SELECT 1;\n\n\\ir m.sql\n", NULL);
	assert_int_equal(rc, -1);
	assert_string_equal(err, "a.sql:3: \\ir m.sql: m.sql includes itself (through a.sql)");
	done(&f, dir, err);
	dir = psql_read(&f, &rc, &err, NULL, "SELECT\n\\i a.sql\n1;", "a.sql", "SELECT 1;\n", NULL);
	assert_int_equal(rc, -1);
	assert_string_equal(err, "m.sql:2: \\i inside a statement: end the statement with ';' first");
	done(&f, dir, err);
}

static void test_psql_commands(void **state)
{
	static const struct {
		const char *text, *err;
	} bad[] = {
		{"SELECT 1;\n\\pset format csv\n", "m.sql:2: \\pset is a psql command orch does not run"},
		{"\\copy t from 'x.csv'\n", "m.sql:1: \\copy reads a file where psql runs"},
		{"\\connect other\n", "m.sql:1: \\connect: a step's SQL runs on its one database"},
		{"\n\\if :x\n", "m.sql:2: \\if: psql's conditionals are not supported"},
		{"\\set x `date`\n", "m.sql:1: \\set: `command` runs a shell command"},
		{"\\gexec\n", "m.sql:1: \\gexec with no query before it"},
		{"\\set\n", "m.sql:1: \\set needs a variable name"},
	};
	struct sqlfile f;
	char *err, *dir;
	int rc;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		dir = psql_read(&f, &rc, &err, NULL, bad[i].text, NULL);
		assert_int_equal(rc, -1);
		if (strncmp(err, bad[i].err, strlen(bad[i].err)) != 0)
			fail_msg("%s: got \"%s\"", bad[i].text, err);
		done(&f, dir, err);
	}
	/* \echo, \gexec (with or without ';' before it), COPY FROM stdin with its rows */
	dir = psql_read(&f, &rc, &err, NULL,
	                "\\echo 'loading brands:' now\n"
	                "SELECT format('CREATE TABLE t%s ()', i) FROM generate_series(1, 2) i \\gexec\n"
	                "SELECT 'VACUUM';\n\\gexec\n"
	                "COPY brands (id, name) FROM stdin;\n1\tone\n2\ttwo\n\\.\n"
	                "SELECT 1;\n",
	                NULL);
	assert_int_equal(rc, 0);
	assert_int_equal(f.nstmts, 5);
	assert_int_equal(f.stmts[0].kind, SQL_ECHO);
	assert_int_equal(f.stmts[0].datalen, strlen("loading brands: now"));
	assert_memory_equal(f.extra.s + f.stmts[0].data, "loading brands: now", f.stmts[0].datalen);
	assert_int_equal(f.stmts[1].kind, SQL_GEXEC);
	assert_int_equal(f.stmts[2].kind, SQL_GEXEC);
	assert_int_equal(f.stmts[3].kind, SQL_COPY);
	assert_int_equal(f.stmts[3].dataline, 6);
	assert_int_equal(f.stmts[3].datalen, strlen("1\tone\n2\ttwo\n"));
	assert_memory_equal(f.extra.s + f.stmts[3].data, "1\tone\n2\ttwo\n", f.stmts[3].datalen);
	assert_int_equal(f.stmts[4].kind, SQL_PLAIN);
	assert_string_equal(f.stmts[4].word[0], "select");
	done(&f, dir, err);
}

static void test_psql_secrets(void **state)
{
	static const char *const vars[] = {"APP_PASSWORD=s3'cret", "name=app", NULL};
	struct sqlfile f;
	char *err, *dir, *m;
	int rc;

	(void)state;
	assert_true(sql_secret_name("APP_PASSWORD"));
	assert_true(sql_secret_name("api_token"));
	assert_true(sql_secret_name("SECRET"));
	assert_false(sql_secret_name("PASSWORDS"));
	assert_false(sql_secret_name("name"));
	dir = psql_read(&f, &rc, &err, vars, "\\set DB_SECRET hush\nCREATE ROLE :name PASSWORD :'APP_PASSWORD';\n", NULL);
	assert_int_equal(rc, 0);
	m = sqlfile_mask(&f, f.text);
	assert_string_equal(m, "\nCREATE ROLE app PASSWORD '***';\n");
	free(m);
	m = sqlfile_mask(&f, "value s3'cret and hush");
	assert_string_equal(m, "value *** and ***");
	free(m);
	done(&f, dir, err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_single_quotes),
		cmocka_unit_test(test_double_quotes),
		cmocka_unit_test(test_escape_strings),
		cmocka_unit_test(test_dollar_quotes),
		cmocka_unit_test(test_comments),
		cmocka_unit_test(test_no_final_semicolon),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_begin_atomic),
		cmocka_unit_test(test_crlf),
		cmocka_unit_test(test_linecol),
		cmocka_unit_test(test_txstmt),
		cmocka_unit_test(test_wrap),
		cmocka_unit_test(test_sqlfile_read),
		cmocka_unit_test(test_psql_variables),
		cmocka_unit_test(test_psql_set_and_positions),
		cmocka_unit_test(test_psql_includes),
		cmocka_unit_test(test_psql_commands),
		cmocka_unit_test(test_psql_secrets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
