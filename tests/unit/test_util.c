/* Unit tests of util.c: durations, counts, booleans, word splitting, password masking,
 * reading a file at an offset. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "orchtest.h"
#include "util.h"

static void test_parse_duration(void **state)
{
	(void)state;
	assert_int_equal(parse_duration("90s"), 90000);
	assert_int_equal(parse_duration("45m"), 45 * 60000);
	assert_int_equal(parse_duration("1h30m"), 90 * 60000);
	assert_int_equal(parse_duration("2d"), 2LL * 86400000);
	assert_int_equal(parse_duration("250ms"), 250);
	assert_int_equal(parse_duration("1m30s"), 90000);
	assert_int_equal(parse_duration(""), -1);
	assert_int_equal(parse_duration("60"), -1);
	assert_int_equal(parse_duration("m"), -1);
	assert_int_equal(parse_duration("5x"), -1);
	assert_int_equal(parse_duration("-5m"), -1);
	assert_int_equal(parse_duration("99999999999999999999d"), -1);
}

static void test_format_duration(void **state)
{
	char b[32];

	(void)state;
	assert_string_equal(format_duration(0, b, sizeof(b)), "0s");
	assert_string_equal(format_duration(1500, b, sizeof(b)), "1.5s");
	assert_string_equal(format_duration(45 * 60000, b, sizeof(b)), "45m");
	assert_string_equal(format_duration(90 * 60000, b, sizeof(b)), "1h30m");
	assert_string_equal(format_duration(72000, b, sizeof(b)), "1m12s");
	assert_string_equal(format_duration(2LL * 86400000 + 3600000, b, sizeof(b)), "2d1h");
}

static void test_parse_count_bool(void **state)
{
	(void)state;
	assert_int_equal(parse_count("4", 10), 4);
	assert_int_equal(parse_count("11", 10), -1);
	assert_int_equal(parse_count("", 10), -1);
	assert_int_equal(parse_count("4x", 10), -1);
	assert_int_equal(parse_bool("yes"), 1);
	assert_int_equal(parse_bool("off"), 0);
	assert_int_equal(parse_bool("maybe"), -1);
}

static void test_split_words(void **state)
{
	struct vec v = {0};

	(void)state;
	split_words("  a\tbb \n c  ", &v);
	assert_int_equal(v.n, 3);
	assert_string_equal(v.v[0], "a");
	assert_string_equal(v.v[1], "bb");
	assert_string_equal(v.v[2], "c");
	for (size_t i = 0; i < v.n; i++)
		free(v.v[i]);
	vec_free(&v);
}

static const char *tail(const char *text, size_t n)
{
	return text + last_lines(text, strlen(text), n);
}

static void test_last_lines(void **state)
{
	(void)state;
	assert_string_equal(tail("a\nb\nc\n", 2), "b\nc\n");
	assert_string_equal(tail("a\nb\nc", 2), "b\nc");
	assert_string_equal(tail("a\nb\nc\n", 3), "a\nb\nc\n");
	assert_string_equal(tail("a\nb\nc\n", 9), "a\nb\nc\n");
	assert_string_equal(tail("\n\nx\n", 1), "x\n");
	assert_string_equal(tail("a\nb\n", 0), "");
	assert_string_equal(tail("", 3), "");
}

static void check_mask(const char *in, const char *want)
{
	char *got = mask_password(in);

	assert_string_equal(got, want);
	free(got);
}

static void test_mask_password(void **state)
{
	(void)state;
	check_mask("postgres://alice:s3cret@db.example:5432/app", "postgres://alice:***@db.example:5432/app");
	check_mask("postgresql://alice@db/app", "postgresql://alice@db/app");
	check_mask("postgres://db/app?sslmode=require", "postgres://db/app?sslmode=require");
	check_mask("host=db password=s3cret dbname=app", "host=db password=*** dbname=app");
	check_mask("host=db password = 'a b\\'c' user=x", "host=db password = *** user=x");
	check_mask("dbname=app", "dbname=app");
}

static void check_mask_text(const char *in, const char *want)
{
	char *got = mask_passwords_in(in);

	assert_string_equal(got, want);
	free(got);
}

/* Free text: each URL's password and each password=VALUE, the rest as it was. */
static void test_mask_passwords_in(void **state)
{
	(void)state;
	/* the comma could be the password's: libpq would take it so */
	check_mask_text("see postgres://bob:s3cret@db/x?password=k3y, then", "see postgres://bob:***@db/x?password=*** then");
	check_mask_text("(https://ana:tok3n@git.example/r) #12", "(https://ana:***@git.example/r) #12");
	check_mask_text("https://git.example/a:b@c and http://ana@h/", "https://git.example/a:b@c and http://ana@h/");
	check_mask_text("host=db  password=s3cret\tuser=x", "host=db  password=***\tuser=x");
	check_mask_text("JIRA-1 JIRA-2", "JIRA-1 JIRA-2");
	check_mask_text("", "");
}

/* Only the password fields are masked, as libpq reads them; the text of a short
 * password elsewhere stays as it is. */
static void test_mask_password_fields(void **state)
{
	(void)state;
	/* URI: user:password@, the password may hold '?' or '@'; ?password= and sslpassword */
	check_mask("postgresql://o:o@host.example.org/orders", "postgresql://o:***@host.example.org/orders");
	check_mask("postgresql://bob:a?b@db/app", "postgresql://bob:***@db/app");
	check_mask("postgresql://bob:p@ss@db/app", "postgresql://bob:***@db/app");
	check_mask("postgresql://bob:@db/app", "postgresql://bob:***@db/app");
	check_mask("postgresql://db/app?user=bob&password=s3cret&sslmode=require",
	           "postgresql://db/app?user=bob&password=***&sslmode=require");
	check_mask("postgresql://db/app?pass%77ord=s3cret&sslpassword=k3y",
	           "postgresql://db/app?pass%77ord=***&sslpassword=***");
	check_mask("postgresql://bob@db:5432/app?application_name=a:b", "postgresql://bob@db:5432/app?application_name=a:b");
	check_mask("postgresql:///orders?host=/tmp/pg", "postgresql:///orders?host=/tmp/pg");
	/* keyword form: quoted with an escaped quote, a blank inside, backslash escapes */
	check_mask("password=o host=one.example.org dbname=orders", "password=*** host=one.example.org dbname=orders");
	check_mask("host=db password='a b' user=o", "host=db password=*** user=o");
	check_mask("host=db password='it\\'s' user=x", "host=db password=*** user=x");
	check_mask("host=db password=a\\ b user=x", "host=db password=*** user=x");
	check_mask("host=db sslpassword=k3y", "host=db sslpassword=***");
	/* a key that only looks like one, a URI as the value of another key */
	check_mask("passfile=/home/o/.pgpass application_name=password", "passfile=/home/o/.pgpass application_name=password");
	check_mask("application_name=postgresql://u:x@h password=s", "application_name=postgresql://u:x@h password=***");
	/* no password */
	check_mask("host=db user=o dbname=orders", "host=db user=o dbname=orders");
	check_mask("orders", "orders");
	check_mask("", "");
}

/* pread_full: all it asks for, fewer only at the end of the file, -1 on a bad fd. */
static void test_pread_full(void **state)
{
	char *dir = test_tmpdir(), *path = xasprintf("%s/f", dir), buf[16];
	int fd;

	(void)state;
	test_write(dir, "f", "0123456789");
	assert_true((fd = open(path, O_RDONLY)) >= 0);
	assert_int_equal(pread_full(fd, buf, 4, 3), 4);
	assert_memory_equal(buf, "3456", 4);
	assert_int_equal(pread_full(fd, buf, sizeof(buf), 6), 4);
	assert_memory_equal(buf, "6789", 4);
	assert_int_equal(pread_full(fd, buf, 1, 10), 0);
	close(fd);
	assert_int_equal(pread_full(fd, buf, 1, 0), -1);
	free(path);
	test_rmrf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_duration),
		cmocka_unit_test(test_format_duration),
		cmocka_unit_test(test_parse_count_bool),
		cmocka_unit_test(test_split_words),
		cmocka_unit_test(test_last_lines),
		cmocka_unit_test(test_mask_password),
		cmocka_unit_test(test_mask_password_fields),
		cmocka_unit_test(test_mask_passwords_in),
		cmocka_unit_test(test_pread_full),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
