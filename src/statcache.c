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
 * The numbers are decimal as printf writes them (a '-' for a time before 1970), single
 * blanks between the fields, the lines in the order the entries were first used. A
 * cache without its end line (it was torn) or with any line not so is ignored, and
 * rebuilt as the files are hashed again. Only entries whose mtime and
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
	size_t at;   /* its line in the file read (SIZE_MAX: new) */
	bool used;   /* answered or hashed since open, so saved */
	bool queued; /* in order */
	bool dead;   /* a later line of a key the file has twice: never used */
};

/* The file is saved in the order its entries were first used, which is the order the
 * next run asks for them when the plan has not changed (steps in topological order):
 * a lookup is first tried against the next line of the file read, and the table of
 * every entry is built only at the first lookup that order does not answer. */
struct statcache {
	char *path; /* NULL: memory only */
	struct centry *arr; /* the entries read, in the file's order */
	size_t narr, cursor; /* the next line a lookup tries */
	struct centry *last; /* the entry of the last lookup */
	struct table entries; /* path -> struct centry, once indexed */
	bool indexed;
	struct vec order;     /* the entries used, in their first use's order */
	struct arena mem;     /* the entries and their keys */
	bool dirty;
	bool reorder; /* an entry read was first used out of the file's order: save it */
	bool partial; /* only some of the plan's files were asked for: never saved (statcache_partial) */
	size_t reads;
};

/* Put every entry read in the table (the first line of a key wins). */
static void cache_index(struct statcache *c)
{
	table_reserve(&c->entries, c->narr);
	for (size_t i = 0; i < c->narr; i++)
		if (table_put(&c->entries, &c->arr[i]))
			c->arr[i].dead = true;
	c->indexed = true;
}

/* The entry for KEY, or NULL. */
static struct centry *cache_find(struct statcache *c, const char *key)
{
	struct centry *e;

	if (c->last && strcmp(c->last->key, key) == 0)
		return c->last;
	if (c->cursor < c->narr && !c->arr[c->cursor].dead && strcmp(c->arr[c->cursor].key, key) == 0)
		return c->last = &c->arr[c->cursor++];
	if (!c->indexed)
		cache_index(c);
	if ((e = table_get(&c->entries, key))) {
		if (e->at != SIZE_MAX && !e->queued)
			c->reorder = true;
		if (e->at != SIZE_MAX && e->at >= c->cursor)
			c->cursor = e->at + 1; /* the lines after it are likely asked next */
		c->last = e;
	}
	return e;
}

/* The entry for KEY, created empty when missing. */
static struct centry *cache_get(struct statcache *c, const char *key)
{
	struct centry *e = cache_find(c, key);

	if (!e) {
		e = arena_alloc(&c->mem, sizeof(*e));
		e->key = arena_strndup(&c->mem, key, strlen(key));
		e->at = SIZE_MAX;
		table_put(&c->entries, e); /* indexed by cache_find */
		c->last = e;
	}
	return e;
}

static void mark_used(struct statcache *c, struct centry *e)
{
	e->used = true;
	if (!e->queued) {
		e->queued = true;
		vec_push(&c->order, e);
	}
}


/* The decimal number at *P, at most MAX, followed by a blank, which is passed. The
 * cache is orch's own file, written with printf's %lld and %llu: digits only (a '-'
 * is read by parse_i64). */
static bool parse_u64(const char **pp, uint64_t max, uint64_t *out)
{
	const char *p = *pp;
	uint64_t v = 0;
	unsigned d;

	for (; (d = (unsigned)(*p - '0')) < 10 && p - *pp < 19; p++)
		v = v * 10 + d; /* 19 digits cannot overflow */
	if (d < 10) { /* a 20th digit */
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
		p++;
	}
	if (p == *pp || *p != ' ' || v > max)
		return false;
	*pp = p + 1;
	*out = v;
	return true;
}

static bool parse_i64(const char **pp, int64_t *out)
{
	bool neg = **pp == '-';
	uint64_t v;

	*pp += neg;
	if (!parse_u64(pp, neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, &v))
		return false;
	*out = neg ? (v ? -(int64_t)(v - 1) - 1 : 0) : (int64_t)v;
	return true;
}

/* Parse the cache text of LEN bytes; returns -1 when it is not a whole, valid cache. The
 * end line is read first: it says how many entries there are, which are then taken in
 * one allocation, their keys packed in the arena (the table is built when a lookup
 * needs it: cache_find). */
static int cache_parse(struct statcache *c, char *text, size_t len)
{
	const char *line = text, *last;
	char *nl;
	uint64_t want;
	size_t count = 0;
	struct centry *arr;

	if (len < 17 + 6 || strncmp(line, "orch-hashcache 1\n", 17) != 0 || text[len - 1] != '\n')
		return -1;
	for (last = text + len - 1; last > text && last[-1] != '\n'; last--)
		;
	text[len - 1] = ' '; /* the number is followed by a blank for parse_u64 */
	if (strncmp(last, "end ", 4) != 0 || (last += 4, !parse_u64(&last, SIZE_MAX, &want)) ||
	    last != text + len || want > len / 34)
		return -1;
	text[len - 1] = '\n';
	arr = want ? arena_alloc(&c->mem, (size_t)want * sizeof(*arr)) : NULL;
	line += 17;
	while ((nl = memchr(line, '\n', len - (size_t)(line - text)))) {
		struct centry *e;
		const char *p;
		size_t klen;

		if (strncmp(line, "end ", 4) == 0) {
			if (count != want || nl != text + len - 1)
				return -1;
			c->arr = arr;
			c->narr = count;
			return 0;
		}
		if (count == want || nl - line < 34 || line[32] != ' ')
			return -1;
		e = &arr[count];
		if (hash128_parse(line, &e->h) < 0)
			return -1;
		p = line + 33;
		if (!parse_i64(&p, &e->size) || !parse_i64(&p, &e->mtime_ns) || !parse_i64(&p, &e->ctime_ns) ||
		    !parse_u64(&p, UINT64_MAX, &e->ino) || !parse_u64(&p, UINT64_MAX, &e->dev))
			return -1;
		*nl = '\0';
		klen = (size_t)(nl - p);
		if (!klen || strlen(p) != klen) /* no key, or a NUL byte in it */
			return -1;
		e->key = arena_strndup(&c->mem, p, klen);
		e->at = count;
		count++;
		line = nl + 1;
	}
	return -1;
}

static void cache_clear(struct statcache *c)
{
	table_free(&c->entries);
	vec_free(&c->order);
	arena_free(&c->mem);
	c->arr = c->last = NULL;
	c->narr = c->cursor = 0;
	c->indexed = false;
}

static const char *centry_key(const void *e)
{
	return ((const struct centry *)e)->key;
}

struct statcache *statcache_open(const char *path)
{
	struct statcache *c = xcalloc(1, sizeof(*c));
	char *text;
	size_t len;

	table_init(&c->entries, centry_key);

	c->path = path ? xstrdup(path) : NULL;
	if (path && (text = read_file(path, &len))) {
		if (cache_parse(c, text, len) < 0)
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

	if (sb->st_mode == 0 || S_ISDIR(sb->st_mode) || !(e = cache_find(c, key)) || !entry_matches(e, sb))
		return false;
	mark_used(c, e);
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
		mark_used(c, e);
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
		mark_used(c, e);
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
	return e->key && e->used && !e->dead && strchr(e->key, '\n') == NULL;
}

int statcache_save(struct statcache *c)
{
	struct buf b = {0};
	size_t count = 0;
	char hex[33];

	if (!c->path || c->partial || !(c->dirty || c->reorder))
		return 0;
	if (!c->indexed)
		cache_index(c); /* marks a key's later lines dead */
	buf_puts(&b, "orch-hashcache 1\n");
	for (size_t i = 0; i < c->order.n; i++) { /* in the order of use: see struct statcache */
		const struct centry *e = c->order.v[i];

		if (!entry_valid(e))
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
	c->dirty = c->reorder = false;
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

void statcache_partial(struct statcache *c)
{
	if (c)
		c->partial = true;
}
