/* Unit tests of statcache.c: unchanged files are not read again, changed ones are, racy
 * ones are never trusted, and the cache survives a save and reload (a torn cache is
 * ignored). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <time.h>

#include "orchtest.h"
#include "statcache.h"

static void sleep_ms(long ms)
{
	struct timespec t = {ms / 1000, (ms % 1000) * 1000000};

	nanosleep(&t, NULL);
}

static void test_stat_cache(void **state)
{
	char *dir = test_tmpdir(), *cpath = NULL, *a, *b;
	struct statcache *c;
	struct hash128 h1, h2;

	(void)state;
	hash_racy_ns = 30000000; /* 30 ms */
	cpath = xasprintf("%s/hashcache", dir);
	a = xasprintf("%s/a", dir);
	b = xasprintf("%s/b", dir);
	test_write(dir, "a", "aaaa");
	test_write(dir, "b", "bbbb");

	/* just written: racy, read every time */
	c = statcache_open(cpath);
	assert_int_equal(statcache_hash(c, a, "a", &h1), 0);
	assert_int_equal(statcache_hash(c, a, "a", &h2), 0);
	assert_int_equal(statcache_reads(c), 2);
	assert_true(hash128_eq(h1, h2));
	statcache_free(c);

	sleep_ms(60);
	c = statcache_open(cpath);
	assert_int_equal(statcache_hash(c, a, "a", &h1), 0);
	assert_int_equal(statcache_hash(c, b, "b", &h2), 0);
	assert_int_equal(statcache_reads(c), 2);
	assert_int_equal(statcache_hash(c, a, "a", &h1), 0);
	assert_int_equal(statcache_reads(c), 2); /* answered from the cache */
	assert_true(hash128_eq(h1, hash128_bytes("aaaa", 4)));
	assert_int_equal(statcache_save(c), 0);
	statcache_free(c);

	/* reloaded: nothing read; a changed file (same size) is read again */
	c = statcache_open(cpath);
	assert_int_equal(statcache_hash(c, a, "a", &h1), 0);
	assert_int_equal(statcache_hash(c, b, "b", &h2), 0);
	assert_int_equal(statcache_reads(c), 0);
	test_write(dir, "b", "BBBB");
	assert_int_equal(statcache_hash(c, b, "b", &h2), 0);
	assert_int_equal(statcache_reads(c), 1);
	assert_true(hash128_eq(h2, hash128_bytes("BBBB", 4)));
	/* a missing file and a directory are errors, not hashes */
	assert_int_equal(statcache_hash(c, dir, "dir", &h2), -1);
	statcache_free(c);

	/* a torn cache (no end line) is ignored */
	{
		size_t len;
		char *text = read_file(cpath, &len);
		FILE *f;

		assert_non_null(text);
		assert_non_null(strstr(text, "\nend 2\n"));
		f = fopen(cpath, "w");
		fwrite(text, 1, len - 4, f);
		fclose(f);
		free(text);
	}
	c = statcache_open(cpath);
	assert_int_equal(statcache_hash(c, a, "a", &h1), 0);
	assert_int_equal(statcache_reads(c), 1);
	statcache_free(c);
	free(a);
	free(b);
	free(cpath);
	test_rmrf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stat_cache),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
