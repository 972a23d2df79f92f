/* Unit tests of flyway.c: how Flyway versions compare (parts as numbers, '.' and '_'
 * alike, missing parts as 0), and a directory of migrations into steps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <sys/stat.h>

#include "flyway.h"
#include "orchtest.h"

static void test_vercmp(void **state)
{
	static const char *const ordered[] = {
		"0.9", "1", "1.0.1", "1.1", "1.2", "1.2.9", "1.2.10", "1.10", "2", "10", "2026.01.05", "99999999999999999999",
	};
	static const char *const same[][2] = {
		{"1_1", "1.1"}, {"1", "1.0"}, {"1.0.0", "1"}, {"010", "10"}, {"1_2_10", "1.2.10"}, {"2026_01_05", "2026.1.5"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(ordered) / sizeof(*ordered); i++)
		for (size_t j = 0; j < sizeof(ordered) / sizeof(*ordered); j++) {
			int c = flyway_vercmp(ordered[i], ordered[j]);

			if ((i < j && c >= 0) || (i == j && c != 0) || (i > j && c <= 0))
				fail_msg("flyway_vercmp(%s, %s) = %d", ordered[i], ordered[j], c);
		}
	for (size_t i = 0; i < sizeof(same) / sizeof(*same); i++)
		if (flyway_vercmp(same[i][0], same[i][1]) != 0 || flyway_vercmp(same[i][1], same[i][0]) != 0)
			fail_msg("%s and %s differ", same[i][0], same[i][1]);
}

static void test_add(void **state)
{
	char *dir = test_tmpdir(), *d;
	struct graph *g;
	struct vec steps = {0};
	static const char *const files[] = {
		"V1.2.10__ten.sql", "V1.2.9__nine.sql", "V1_1__one_one.sql", "V1__first.sql", "U1.2.10__ten.sql",
		"R__b_view.sql", "R__a_view.sql", "notes.txt", "afterMigrate.sql",
	};
	static const char *const want[] = {
		"V1__first", "V1_1__one_one", "V1.2.9__nine", "V1.2.10__ten", "R__a_view", "R__b_view",
	};

	(void)state;
	d = xasprintf("%s/sql", dir);
	assert_int_equal(mkdir(d, 0755), 0);
	for (size_t i = 0; i < sizeof(files) / sizeof(*files); i++) {
		char *f = xasprintf("sql/%s", files[i]);

		test_write(dir, f, "SELECT 1;\n");
		free(f);
	}
	g = graph_new("Orchfile", dir);
	assert_int_equal(flyway_add(g, "sql/", NULL, 3, &steps), 0);
	assert_int_equal(steps.n, sizeof(want) / sizeof(*want));
	for (size_t i = 0; i < steps.n; i++) {
		struct node *n = steps.v[i];

		assert_string_equal(n->name, want[i]);
		assert_int_equal(n->line, 3);
		assert_int_equal(n->stepkind, STEP_SQL);
		/* versioned: each needs the one before; repeatable: the last versioned one */
		assert_int_equal(n->ndeps, i ? 1 : 0);
		if (i)
			assert_string_equal(n->deps[0].dep->name, want[i < 4 ? i - 1 : 3]);
		assert_int_equal(n->on_change, i < 4 ? ONCHANGE_ERROR : ONCHANGE_RERUN);
	}
	assert_string_equal(((struct node *)steps.v[3])->sql, "sql/V1.2.10__ten.sql");
	assert_string_equal(((struct node *)steps.v[3])->x->sql_rollback, "sql/U1.2.10__ten.sql");
	assert_null(((struct node *)steps.v[2])->x->sql_rollback);
	assert_string_equal(((struct node *)steps.v[1])->title, "one one");
	vec_free(&steps);
	free(d);
	test_rmrf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vercmp),
		cmocka_unit_test(test_add),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
