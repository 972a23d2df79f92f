/* Unit tests of hash.c: file hashes (read and mmapped) against in-memory hashes, and the
 * streaming hasher. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

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
		cmocka_unit_test(test_hasher),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
