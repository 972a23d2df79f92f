/* statcache.c — the stat cache: a file whose stat data match its entry is not read and
 * hashed again.
 *
 * The stat cache file (.orch/hashcache) is text, one file a line:
 *
 *	orch-hashcache 1
 *	<32 hex hash> <size> <mtime ns> <ctime ns> <inode> <device> <path>
 *	...
 *	end <number of entries>
 *
 * A cache without its end line is ignored (it was torn). Only entries whose mtime and
 * ctime were older than hash_racy_ns when the file was hashed are kept: a file changed
 * again within the file system's timestamp granularity would otherwise keep the same
 * stat data with different contents (git's "racy clean" problem). */
#include "statcache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "table.h"
#include "util.h"

int64_t hash_racy_ns = 2000000000;

struct centry {
	char *key;
	struct hash128 h;
	int64_t size, mtime_ns, ctime_ns;
	uint64_t ino, dev;
	bool used;
};

struct statcache {
	char *path; /* NULL: memory only */
	struct table entries; /* path -> struct centry */
	bool dirty;
	size_t reads;
};

/* The entry for KEY, created empty when missing. */
static struct centry *cache_get(struct statcache *c, const char *key)
{
	struct centry *e = table_get(&c->entries, key);

	if (!e) {
		e = xcalloc(1, sizeof(*e));
		e->key = xstrdup(key);
		table_put(&c->entries, e->key, e);
	}
	return e;
}


/* Parse the cache text; returns -1 when it is not a whole, valid cache. */
static int cache_parse(struct statcache *c, char *text)
{
	char *line = text, *nl;
	size_t count = 0;

	if (strncmp(line, "orch-hashcache 1\n", 17) != 0)
		return -1;
	line += 17;
	while ((nl = strchr(line, '\n'))) {
		struct centry tmp;
		char *p, *end;
		long long v[3];
		unsigned long long u[2];

		*nl = '\0';
		if (strncmp(line, "end ", 4) == 0)
			return strtoull(line + 4, &end, 10) == count && *end == '\0' && nl[1] == '\0' ? 0 : -1;
		if (strlen(line) < 34 || hash128_parse(line, &tmp.h) < 0 || line[32] != ' ')
			return -1;
		p = line + 33;
		for (int i = 0; i < 3; i++) {
			errno = 0;
			v[i] = strtoll(p, &end, 10);
			if (errno || end == p || *end != ' ')
				return -1;
			p = end + 1;
		}
		for (int i = 0; i < 2; i++) {
			errno = 0;
			u[i] = strtoull(p, &end, 10);
			if (errno || end == p || *end != ' ')
				return -1;
			p = end + 1;
		}
		if (!*p)
			return -1;
		struct centry *e = cache_get(c, p);

		e->h = tmp.h;
		e->size = v[0], e->mtime_ns = v[1], e->ctime_ns = v[2];
		e->ino = u[0], e->dev = u[1];
		e->used = false;
		count++;
		line = nl + 1;
	}
	return -1;
}

static void cache_clear(struct statcache *c)
{
	for (size_t i = 0; i < c->entries.cap; i++) {
		struct centry *e = c->entries.slot[i].value;

		if (e) {
			free(e->key);
			free(e);
		}
	}
	table_free(&c->entries);
}

struct statcache *statcache_open(const char *path)
{
	struct statcache *c = xcalloc(1, sizeof(*c));
	char *text;

	c->path = path ? xstrdup(path) : NULL;
	if (path && (text = read_file(path, NULL))) {
		if (cache_parse(c, text) < 0)
			cache_clear(c);
		free(text);
	}
	return c;
}

static int64_t ts_ns(struct timespec t)
{
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

int statcache_hash(struct statcache *c, const char *path, const char *key, struct hash128 *out)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return -1;
	return statcache_hash_stat(c, path, key, &st, out);
}

/* Does entry E hold the file whose stat data are SB? */
static bool entry_matches(const struct centry *e, const struct stat *sb)
{
	return (e->h.hi | e->h.lo | (uint64_t)e->size | (uint64_t)e->mtime_ns) &&
	       e->size == (int64_t)sb->st_size && e->mtime_ns == ts_ns(sb->st_mtim) &&
	       e->ctime_ns == ts_ns(sb->st_ctim) && e->ino == (uint64_t)sb->st_ino &&
	       e->dev == (uint64_t)sb->st_dev;
}

bool statcache_known(struct statcache *c, const char *key, const struct stat *sb, struct hash128 *out)
{
	struct centry *e;

	if (sb->st_mode == 0 || S_ISDIR(sb->st_mode) || !(e = table_get(&c->entries, key)) || !entry_matches(e, sb))
		return false;
	e->used = true;
	*out = e->h;
	return true;
}

int statcache_hash_stat(struct statcache *c, const char *path, const char *key, const struct stat *sb,
                        struct hash128 *out)
{
	struct stat st;
	struct centry *e;
	struct timespec now;
	int fd, saved;

	if (sb->st_mode == 0) {
		errno = ENOENT;
		return -1;
	}
	if (S_ISDIR(sb->st_mode)) {
		errno = EISDIR;
		return -1;
	}
	e = cache_get(c, key);
	if (entry_matches(e, sb)) {
		e->used = true;
		*out = e->h;
		return 0;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	/* the stat data from before the read: a change during it shows next time */
	if (fstat(fd, &st) < 0 || hash_fd(fd, out) < 0) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	close(fd);
	c->reads++;
	clock_gettime(CLOCK_REALTIME, &now);
	if (ts_ns(now) - ts_ns(st.st_mtim) > hash_racy_ns && ts_ns(now) - ts_ns(st.st_ctim) > hash_racy_ns) {
		e->h = *out;
		e->size = (int64_t)st.st_size;
		e->mtime_ns = ts_ns(st.st_mtim);
		e->ctime_ns = ts_ns(st.st_ctim);
		e->ino = (uint64_t)st.st_ino;
		e->dev = (uint64_t)st.st_dev;
		e->used = true;
		c->dirty = true;
	} else {
		/* racy: never trust this entry, not even later in this process */
		if (e->used || e->size || e->mtime_ns)
			c->dirty = true;
		memset(&e->h, 0, sizeof(e->h));
		e->size = e->mtime_ns = e->ctime_ns = 0;
		e->ino = e->dev = 0;
		e->used = false;
	}
	return 0;
}

static bool entry_valid(const struct centry *e)
{
	return e->key && e->used && strchr(e->key, '\n') == NULL;
}

int statcache_save(struct statcache *c)
{
	struct buf b = {0};
	size_t count = 0;
	char hex[33];

	if (!c->path || !c->dirty)
		return 0;
	buf_puts(&b, "orch-hashcache 1\n");
	for (size_t i = 0; i < c->entries.cap; i++) {
		const struct centry *e = c->entries.slot[i].value;

		if (!e || !entry_valid(e))
			continue;
		buf_printf(&b, "%s %lld %lld %lld %llu %llu %s\n", hash128_hex(e->h, hex), (long long)e->size,
		           (long long)e->mtime_ns, (long long)e->ctime_ns, (unsigned long long)e->ino,
		           (unsigned long long)e->dev, e->key);
		count++;
	}
	buf_printf(&b, "end %zu\n", count);
	if (write_file_atomic(c->path, b.s, b.len, true) < 0) {
		warn("cannot write the hash cache %s:", c->path);
		buf_free(&b);
		return -1;
	}
	c->dirty = false;
	buf_free(&b);
	return 0;
}

size_t statcache_reads(const struct statcache *c)
{
	return c->reads;
}

void statcache_free(struct statcache *c)
{
	if (!c)
		return;
	cache_clear(c);
	free(c->path);
	free(c);
}
