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

/* The hasher's digest is XXH3-128 of the bytes added, however they were cut and
 * however many there are (below, at and above its buffer's size): the signatures
 * journals hold stay valid. */
static void test_hasher_pieces(void **state)
{
	struct hasher *h = hasher_new();
	size_t sizes[] = {0, 1, 17, 1023, 1024, 1025, 3000, 70000};
	char *data = xmalloc(70000);

	(void)state;
	for (size_t i = 0; i < 70000; i++)
		data[i] = (char)(i * 131 + i / 7);
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		size_t n = sizes[s];

		for (size_t cut = 1; cut <= 2048; cut = cut * 3 + 1) {
			hasher_reset(h);
			for (size_t at = 0; at < n; at += cut)
				hasher_add(h, data + at, n - at < cut ? n - at : cut);
			assert_true(hash128_eq(hasher_end(h), hash128_bytes(data, n)));
		}
	}
	hasher_reset(h);
	hasher_add(h, data, 5000);
	assert_true(hash128_eq(hasher_end(h), hasher_end(h))); /* a digest changes nothing */
	hasher_free(h);
	free(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file_hash),
		cmocka_unit_test(test_hasher),
		cmocka_unit_test(test_hasher_pieces),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
