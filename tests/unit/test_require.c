/* Unit tests of require.c: the requirement language parsed, its errors, and evaluated
 * against metric values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "require.h"

/* name=value[ unit] pairs, NULL-terminated */
static bool lookup(void *arg, const char *name, double *value, const char **unit)
{
	static char u[32];

	for (const char **m = arg; *m; m++) {
		size_t n = strlen(name);
		char *end;

		if (strncmp(*m, name, n) == 0 && (*m)[n] == '=') {
			*value = strtod(*m + n + 1, &end);
			snprintf(u, sizeof(u), "%s", *end == ' ' ? end + 1 : end);
			*unit = u;
			return true;
		}
	}
	return false;
}

/* Whether TEXT holds for METRICS; WHY gets the reason it does not. */
static bool eval(const char *text, const char **metrics, char *why, size_t len)
{
	char *err = NULL;
	struct require *r = require_parse(text, &err);
	struct buf b = {0};
	bool ok;

	assert_non_null(r);
	assert_null(err);
	ok = require_eval(r, lookup, metrics, &b);
	snprintf(why, len, "%s", buf_str(&b));
	buf_free(&b);
	require_free(r);
	return ok;
}

static void test_require_eval(void **state)
{
	const char *m[] = {"coverage=93.5 %", "p95_ms=240 ms", "error_rate=0.02", NULL};
	char why[256];

	(void)state;
	assert_true(eval("coverage >= 90", m, why, sizeof(why)));
	assert_true(eval("coverage>=90&&p95_ms<300", m, why, sizeof(why)));
	assert_false(eval("coverage >= 90 && p95_ms < 300 && error_rate <= 0.01", m, why, sizeof(why)));
	assert_string_equal(why, "error_rate is 0.02, needs <= 0.01");
	assert_true(eval("error_rate <= 0.01 || coverage > 93", m, why, sizeof(why)));
	assert_false(eval("(error_rate <= 0.01 || coverage > 95) && p95_ms < 300", m, why, sizeof(why)));
	assert_string_equal(why, "error_rate is 0.02, needs <= 0.01, and coverage is 93.5 %, needs > 95");
	/* && binds tighter than || */
	assert_true(eval("coverage > 95 && p95_ms < 1 || error_rate == 0.02", m, why, sizeof(why)));
	assert_true(eval("coverage != 1 && coverage == 93.5", m, why, sizeof(why)));
	/* units: when both say one, they agree */
	assert_true(eval("p95_ms < 300ms", m, why, sizeof(why)));
	assert_true(eval("coverage >= 90 %", m, why, sizeof(why)));
	assert_false(eval("p95_ms < 300s", m, why, sizeof(why)));
	assert_string_equal(why, "p95_ms is 240 ms, not in s (needs < 300s)");
	assert_false(eval("orphans == 0", m, why, sizeof(why)));
	assert_string_equal(why, "orphans not reported (needs == 0)");
}

static void test_require_errors(void **state)
{
	static const struct {
		const char *text, *err;
	} bad[] = {
		{"", "expected a metric name or '(' at the end"},
		{"coverage", "expected a comparison (<, <=, >, >=, ==, !=) at the end"},
		{"coverage >= ", "expected a number at the end"},
		{"coverage >= ninety", "expected a number at column 13 ('ninety')"},
		{"coverage >= 90 &", "expected && or || at column 16 ('&')"},
		{"coverage >= 90 and p95 < 3", "expected && or || or the end at column 16 ('and p95 < 3')"},
		{"(coverage >= 90", "expected ')' at the end"},
		{"coverage >= 90)", "expected && or || or the end at column 15 (')')"},
		{"90 <= coverage", "expected a metric name or '(' at column 1 ('90 <= coverage')"},
		{"a < 1 ||", "expected a metric name or '(' at the end"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *err = NULL;
		struct require *r = require_parse(bad[i].text, &err);

		assert_null(r);
		assert_non_null(err);
		assert_string_equal(err, bad[i].err);
		free(err);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_require_eval),
		cmocka_unit_test(test_require_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
