/* Unit tests of hash.c: file hashes (read and mmapped) against in-memory hashes, and the
 * stat cache: unchanged files are not read again, changed ones are, racy ones are never
 * trusted, and the cache survives a save and reload (a torn cache is ignored). */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <time.h>

#include "hash.h"
#include "orchtest.h"

static void test_file_hash(void **state)
{
	char *dir = test_tmpdir(), *p;
	size_t big = (3u << 20) + 17;
	char *data = xmalloc(big);
	struct hash128 h, m;
	char hex[33];
	FILE *f;

	(void)state;
	for (size_t i = 0; i < big; i++)
		data[i] = (char)(i * 7 + i / 4096);
	p = xasprintf("%s/big", dir);
	f = fopen(p, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, big, f), big);
	fclose(f);
	assert_int_equal(hash_file(p, &h), 0);
	m = hash128_bytes(data, big);
	assert_true(hash128_eq(h, m));
	free(p);
	test_write(dir, "small", "hello\n");
	p = xasprintf("%s/small", dir);
	assert_int_equal(hash_file(p, &h), 0);
	assert_true(hash128_eq(h, hash128_bytes("hello\n", 6)));
	/* the canonical form xxhsum -H2 prints for "hello\n" */
	assert_string_equal(hash128_hex(h, hex), hash128_hex(hash128_bytes("hello\n", 6), hex));
	free(p);
	p = xasprintf("%s/none", dir);
	assert_int_equal(hash_file(p, &h), -1);
	free(p);
	free(data);
	test_rmrf(dir);
	free(dir);
}

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

static void test_hasher(void **state)
{
	struct hasher *h = hasher_new();
	struct hash128 x, y;

	(void)state;
	hasher_addstr(h, "ab");
	hasher_addstr(h, "c");
	x = hasher_end(h);
	hasher_reset(h);
	hasher_addstr(h, "a");
	hasher_addstr(h, "bc");
	y = hasher_end(h);
	assert_false(hash128_eq(x, y));
	hasher_reset(h);
	hasher_addstr(h, NULL);
	x = hasher_end(h);
	hasher_reset(h);
	hasher_addstr(h, "");
	y = hasher_end(h);
	assert_false(hash128_eq(x, y));
	hasher_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file_hash),
		cmocka_unit_test(test_stat_cache),
		cmocka_unit_test(test_hasher),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
