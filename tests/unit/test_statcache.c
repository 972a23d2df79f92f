/* Unit tests of statcache.c: unchanged files are not read again, changed ones are, racy
 * ones are never trusted, and the cache survives a save and reload (a torn cache is
 * ignored). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
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


/* A cache line for file PATH (key KEY) with its real stat data and the hash HEX; MTIME
 * replaces its mtime when not NULL. */
static char *line_for(const char *path, const char *key, const char *hex, const char *mtime)
{
	struct stat st;
	char *mt, *line;

	assert_int_equal(stat(path, &st), 0);
	mt = mtime ? xstrdup(mtime)
	           : xasprintf("%lld", (long long)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec);
	line = xasprintf("%s %lld %s %lld %llu %llu %s\n", hex, (long long)st.st_size, mt,
	                 (long long)st.st_ctim.tv_sec * 1000000000 + st.st_ctim.tv_nsec, (unsigned long long)st.st_ino,
	                 (unsigned long long)st.st_dev, key);
	free(mt);
	return line;
}

static void put_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* How many files statcache_hash had to read for KEY with the cache file holding TEXT,
 * and the hash it gave. */
static size_t reads_with(const char *cpath, const char *text, const char *path, const char *key, struct hash128 *h)
{
	struct statcache *c;
	size_t n;

	put_file(cpath, text);
	c = statcache_open(cpath);
	assert_int_equal(statcache_hash(c, path, key, h), 0);
	n = statcache_reads(c);
	statcache_free(c);
	return n;
}

/* The cache file is orch's own, read by hand: every field is checked, and a file with
 * any bad line is ignored as a whole (the files are hashed again). */
static void test_cache_format(void **state)
{
	char *dir = test_tmpdir(), *cpath, *a, *b, *good, *text;
	const char *hex = "0123456789abcdef0123456789abcdef";
	struct hash128 h, fake;
	struct timespec old[2] = {{-100, 5}, {-100, 5}};
	struct statcache *c;
	size_t len;
	/* each after a good line of another key; "%s 1 2 3 4 5 z\nend 2\n" is read */
	const char *bad[] = {
		"%s 0x1 2 3 4 5 z\nend 2\n",                   /* not decimal */
		"%s 1 2 3 4 99999999999999999999 z\nend 2\n",  /* above 2^64 - 1 */
		"%s 9223372036854775808 2 3 4 5 z\nend 2\n",   /* above 2^63 - 1 */
		"%s 1 2 3 4 5 z\nend 3\n",                     /* the count is wrong */
		"%s 1 2 3 4 5 z\nend 2\nmore\n",               /* something after the end */
		"%s 1 2 3 4 5 \nend 2\n",                      /* no key */
		"%s 1 2 3 4 5 z\nend 2",                       /* no newline at the end */
		"%s 1  2 3 4 5 z\nend 2\n",                    /* two blanks */
		"%s +1 2 3 4 5 z\nend 2\n",                    /* a sign printf does not write */
		"%.31s 1 2 3 4 5 z\nend 2\n",                  /* a short hash */
		"%s 1 2 3 4 5\nend 2\n",                       /* a field short */
	};

	(void)state;
	hash_racy_ns = 0;
	assert_int_equal(hash128_parse(hex, &fake), 0);
	cpath = xasprintf("%s/hashcache", dir);
	a = xasprintf("%s/a", dir);
	b = xasprintf("%s/b", dir);
	test_write(dir, "a", "aaaa");
	test_write(dir, "b", "bbbb");
	/* a file from before 1970: a negative mtime is read back */
	assert_int_equal(utimensat(AT_FDCWD, a, old, 0), 0);
	good = line_for(a, "a", hex, NULL);
	assert_non_null(strstr(good, " -99999999995 "));
	text = xasprintf("orch-hashcache 1\n%send 1\n", good);
	assert_int_equal(reads_with(cpath, text, a, "a", &h), 0);
	assert_true(hash128_eq(h, fake)); /* answered from the line */
	free(text);
	{ /* the same with a good second line: read, so each bad one below fails for its fault */
		char *l = xasprintf("%s 1 2 3 4 5 z\nend 2\n", hex);

		text = xasprintf("orch-hashcache 1\n%s%s", good, l);
		assert_int_equal(reads_with(cpath, text, a, "a", &h), 0);
		free(text);
		free(l);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *l = xasprintf(bad[i], hex);

		text = xasprintf("orch-hashcache 1\n%s%s", good, l);
		/* the good line alone would be answered; with the bad one, the file is read */
		assert_int_equal(reads_with(cpath, text, a, "a", &h), 1);
		assert_true(hash128_eq(h, hash128_bytes("aaaa", 4)));
		free(text);
		free(l);
	}
	free(good);

	/* saved in the order of use, whatever the order read; a key twice: its first line */
	{
		char *la = line_for(a, "a", hex, NULL), *lb = line_for(b, "b", hex, NULL);
		char *la2 = line_for(a, "a", "ffffffffffffffffffffffffffffffff", NULL);

		text = xasprintf("orch-hashcache 1\n%s%s%send 3\n", la, la2, lb);
		put_file(cpath, text);
		free(text);
		c = statcache_open(cpath);
		assert_int_equal(statcache_hash(c, b, "b", &h), 0);
		assert_int_equal(statcache_hash(c, a, "a", &h), 0);
		assert_true(hash128_eq(h, fake));
		assert_int_equal(statcache_reads(c), 0);
		assert_int_equal(statcache_save(c), 0); /* nothing read, but out of order: written */
		statcache_free(c);
		text = read_file(cpath, &len);
		assert_non_null(text);
		{
			char *want = xasprintf("orch-hashcache 1\n%s%send 2\n", lb, la);

			assert_string_equal(text, want);
			free(want);
		}
		free(text);
		/* in order now: a save with nothing new leaves the file alone */
		c = statcache_open(cpath);
		assert_int_equal(statcache_hash(c, b, "b", &h), 0);
		assert_int_equal(statcache_hash(c, a, "a", &h), 0);
		assert_int_equal(statcache_hash(c, b, "b", &h), 0); /* again: no reorder either */
		assert_int_equal(statcache_reads(c), 0);
		put_file(cpath, "orch-hashcache 1\nend 0\n"); /* would be rewritten if saved */
		assert_int_equal(statcache_save(c), 0);
		statcache_free(c);
		text = read_file(cpath, &len);
		assert_string_equal(text, "orch-hashcache 1\nend 0\n");
		free(text);
		free(la);
		free(la2);
		free(lb);
	}
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
		cmocka_unit_test(test_cache_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
