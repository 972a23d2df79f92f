/* jindex.c — the journal's binary index: parsed events, vouched for by a hash of the
 * journal bytes.
 *
 * Parsing JSON is most of the cost of opening a large journal. .orch/journal.idx keeps
 * the events of the journal's first SIZE bytes already parsed, with the XXH3-128 of those
 * bytes: when the journal still starts with exactly those bytes, the events are taken
 * from the index and only the lines after them are parsed. Any other change to the
 * journal (an edit, damage, a compaction) changes the hash, and then every line is
 * parsed and checked. The index is a cache: a missing, stale or torn one costs only
 * time. Layout (native byte order, checked by the magic number):
 *
 *	u64 magic, u64 size, u64 lines, 16 bytes hash of the journal's first size bytes
 *	per event: u8 kind, u8 timed_out, 3 x i32 attempt/exit/signal, 3 x i64 time/start/
 *	           duration, 2 x u64 off/len, u8 has_sig, the sig as two u64 (hi, lo), then name,
 *	           run, message and log as u32 length (UINT32_MAX: none) and bytes, then
 *	           i32 pgid, i64 pstart, and the boot id, by, component and author as strings
 *	16 bytes: hash of everything above
 */
#include "jindex.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hash.h"

static const uint64_t INDEX_MAGIC = 0x3678646a6863726fULL; /* "orchjdx6" */

static void put(struct buf *b, const void *p, size_t n)
{
	buf_add(b, p, n);
}

static void put_str(struct buf *b, const char *s)
{
	uint32_t n = s ? (uint32_t)strlen(s) : UINT32_MAX;

	put(b, &n, sizeof(n));
	if (s)
		put(b, s, n);
}

/* The index read a chunk at a time and hashed as it is read, never held whole. The
 * event being read (from mark) stays in the buffer, each of its strings whole, until
 * the next event begins: its strings are offsets from mark until then. */
struct reader {
	int fd;
	char *buf;
	size_t cap, len, pos, mark; /* buf holds len bytes, the next to read at pos */
	int64_t off, end;           /* the file offset of buf[len]; where the data ends */
	struct hasher *h;           /* of the data read so far */
	bool bad;
};

enum { READ_CHUNK = 256 << 10 };

/* Whether N bytes from pos are in the buffer (read more, the event at mark moved to the
 * front, when not). */
static bool fill(struct reader *r, size_t n)
{
	if (r->bad)
		return false;
	if (r->len - r->pos >= n)
		return true;
	if ((int64_t)(n - (r->len - r->pos)) > r->end - r->off) {
		r->bad = true;
		return false;
	}
	if (r->mark > 0) {
		memmove(r->buf, r->buf + r->mark, r->len - r->mark);
		r->len -= r->mark;
		r->pos -= r->mark;
		r->mark = 0;
	}
	if (r->pos + n > r->cap) {
		r->cap = r->pos + n > 2 * r->cap ? r->pos + n : 2 * r->cap;
		r->buf = xreallocarray(r->buf, r->cap, 1);
	}
	while (r->len - r->pos < n) {
		size_t want = r->cap - r->len;
		ssize_t got;

		if ((int64_t)want > r->end - r->off)
			want = (size_t)(r->end - r->off);
		got = pread(r->fd, r->buf + r->len, want, (off_t)r->off);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			r->bad = true;
			return false;
		}
		hasher_add(r->h, r->buf + r->len, (size_t)got);
		r->len += (size_t)got;
		r->off += got;
	}
	return true;
}

static void get(struct reader *r, void *out, size_t n)
{
	if (!fill(r, n)) {
		memset(out, 0, n);
		return;
	}
	memcpy(out, r->buf + r->pos, n);
	r->pos += n;
}

/* A string of the index as its offset from mark (-1: none); *LEN its length. */
static long get_str(struct reader *r, uint32_t *len)
{
	long at;

	get(r, len, sizeof(*len));
	if (r->bad || *len == UINT32_MAX || !fill(r, *len))
		return -1;
	at = (long)(r->pos - r->mark);
	r->pos += *len;
	return at;
}

/* The string at offset AT of the event being read (until the next get). */
static const char *str_at(const struct reader *r, long at)
{
	return at < 0 ? NULL : r->buf + r->mark + at;
}

static struct jevent *new_event(struct jindex *x, size_t *cap)
{
	if (x->nev == *cap) {
		*cap = *cap ? *cap * 2 : 256;
		x->ev = xreallocarray(x->ev, *cap, sizeof(*x->ev));
	}
	memset(&x->ev[x->nev], 0, sizeof(x->ev[0]));
	x->ev[x->nev].x = &jextra_none;
	return &x->ev[x->nev++];
}

/* The hash of the first N bytes of FD, read in large chunks, and its last byte in *LAST.
 * Returns 0, or -1 when FD holds fewer bytes or cannot be read. */
static int hash_prefix(int fd, int64_t n, struct hash128 *out, char *last)
{
	enum { CHUNK = 256 << 10 };
	char *chunk = xmalloc(CHUNK);
	struct hasher *h = hasher_new();
	int64_t off = 0;

	while (off < n) {
		size_t want = n - off < CHUNK ? (size_t)(n - off) : CHUNK;
		ssize_t got = pread(fd, chunk, want, (off_t)off);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		hasher_add(h, chunk, (size_t)got);
		*last = chunk[got - 1];
		off += got;
	}
	*out = hasher_end(h);
	hasher_free(h);
	free(chunk);
	return off == n ? 0 : -1;
}

int64_t jindex_load(const char *path, int fd, int64_t size, struct graph *g, struct jindex *out)
{
	char lastc = 0;
	struct stat st;
	struct reader r = {.fd = -1};
	uint64_t magic, isize, ilines;
	struct hash128 want, got;
	struct jindex x = {0};
	size_t cap = 0;
	struct jrecent recent = {{0}, 0}; /* the extras kept last */

	memset(out, 0, sizeof(*out));
	if (size < JINDEX_MIN || (r.fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	if (fstat(r.fd, &st) < 0 || st.st_size < 32 + 16)
		goto stale;
	r.end = (int64_t)st.st_size - 16; /* then the hash of everything before it */
	r.cap = READ_CHUNK;
	r.buf = xmalloc(r.cap);
	r.h = hasher_new();
	get(&r, &magic, 8);
	get(&r, &isize, 8);
	get(&r, &ilines, 8);
	get(&r, &want, 16);
	if (r.bad || magic != INDEX_MAGIC || isize == 0 || (int64_t)isize > size)
		goto stale;
	if (hash_prefix(fd, (int64_t)isize, &got, &lastc) < 0 || lastc != '\n' || !hash128_eq(got, want))
		goto stale;
	/* every event takes at least its fixed fields: a count beyond that is damage */
	if (ilines > (uint64_t)st.st_size / 64)
		goto stale;
	cap = ilines;
	x.ev = xreallocarray(NULL, cap ? cap : 1, sizeof(*x.ev));
	while (!r.bad && (r.pos < r.len || r.off < r.end)) {
		struct jevent *e;
		uint8_t kind, flag, hassig;
		int32_t v32[3];
		int64_t v64[3];
		uint64_t u64[2];
		struct hash128 sig;
		long oname, orun, omsg, olog, oboot, oby, ocomp, oauthor;
		const char *name, *run, *msg, *log, *boot, *by, *comp, *author;
		uint32_t nname, nrun, nmsg, nlog, nboot, nby, ncomp, nauthor;
		int32_t pgid;
		int64_t pstart;

		r.mark = r.pos;
		get(&r, &kind, 1);
		get(&r, &flag, 1);
		get(&r, v32, sizeof(v32));
		get(&r, v64, sizeof(v64));
		get(&r, u64, sizeof(u64));
		get(&r, &hassig, 1);
		get(&r, &sig, sizeof(sig));
		oname = get_str(&r, &nname);
		orun = get_str(&r, &nrun);
		omsg = get_str(&r, &nmsg);
		olog = get_str(&r, &nlog);
		get(&r, &pgid, sizeof(pgid));
		get(&r, &pstart, sizeof(pstart));
		oboot = get_str(&r, &nboot);
		oby = get_str(&r, &nby);
		ocomp = get_str(&r, &ncomp);
		oauthor = get_str(&r, &nauthor);
		/* the whole event is in the buffer now, from mark: its strings are pointers */
		name = str_at(&r, oname), run = str_at(&r, orun), msg = str_at(&r, omsg);
		log = str_at(&r, olog), boot = str_at(&r, oboot), by = str_at(&r, oby);
		comp = str_at(&r, ocomp), author = str_at(&r, oauthor);
		if (r.bad || kind >= EV_NKINDS || !name || !run)
			goto stale;
		e = new_event(&x, &cap);
		e->kind = (enum evkind)kind;
		e->timed_out = flag != 0;
		e->attempt = v32[0], e->exit_status = v32[1], e->signal = v32[2];
		e->time_ms = v64[0], e->start_ms = v64[1], e->duration_ms = v64[2];
		if (u64[1] > UINT32_MAX || x.nev > UINT32_MAX)
			goto stale;
		e->off = (int64_t)u64[0], e->len = (uint32_t)u64[1];
		e->line = (uint32_t)x.nev;
		e->hassig = hassig != 0;
		if (hassig)
			e->sig = sig;
		if (nname) {
			char buf[256];

			if (nname < sizeof(buf)) {
				memcpy(buf, name, nname);
				buf[nname] = '\0';
				e->node = graph_find(g, buf);
			}
		}
		{
			bool gone = nname && !e->node; /* a name no node has: kept with the event */
			struct jextra v = {.run = run, .author = author, .message = msg, .log = log,
			                   .name = gone ? name : NULL, .boot = boot, .by = by, .component = comp,
			                   .pstart = pstart, .pgid = pgid};
			uint32_t len[JEXTRA_STRINGS] = {nrun, nauthor, nmsg, nlog, nname, nboot, nby, ncomp};

			e->x = jextra_intern(&x.strs, &v, len, &recent);
		}
	}
	if (r.bad || x.nev != ilines || r.pos != r.len || r.off != r.end)
		goto stale;
	/* the hash of the data read, against the one at the end of the file */
	if (pread(r.fd, &want, 16, (off_t)r.end) != 16 || !hash128_eq(hasher_end(r.h), want))
		goto stale;
	close(r.fd);
	free(r.buf);
	hasher_free(r.h);
	*out = x;
	return (int64_t)isize;
stale:
	arena_free(&x.strs);
	free(x.ev);
	close(r.fd);
	free(r.buf);
	hasher_free(r.h);
	return 0;
}

/* Hand the bytes gathered in B to the index file and to its hash, and empty B. Returns
 * 0, or -1 with errno set (and A aborted). */
static int flush_block(struct atomic *a, struct hasher *hs, struct buf *b)
{
	hasher_add(hs, b->s, b->len);
	if (atomic_write(a, b->s, b->len) < 0)
		return -1;
	b->len = 0;
	return 0;
}

/* Written a block at a time (BLOCK bytes, and the event that crossed it), the hash of
 * the bytes kept as they go: memory does not grow with the journal. */
int jindex_save(const char *path, int fd, int64_t size, const struct jevent *ev, size_t n)
{
	enum { BLOCK = 256 << 10 };
	struct buf b = {0};
	struct atomic a;
	struct hasher *hs;
	uint64_t v;
	struct hash128 h;
	char lastc;
	int r = -1;

	if (hash_prefix(fd, size, &h, &lastc) < 0) {
		errno = EIO;
		return -1;
	}
	if (atomic_begin(&a, path) < 0)
		return -1;
	hs = hasher_new();

	v = INDEX_MAGIC;
	put(&b, &v, 8);
	v = (uint64_t)size;
	put(&b, &v, 8);
	v = n;
	put(&b, &v, 8);
	put(&b, &h, 16);
	for (size_t i = 0; i < n; i++) {
		const struct jevent *e = &ev[i];
		uint8_t kind = (uint8_t)e->kind, flag = e->timed_out, hassig = e->hassig;
		int32_t v32[3] = {e->attempt, e->exit_status, e->signal};
		int64_t v64[3] = {e->time_ms, e->start_ms, e->duration_ms};
		uint64_t u64[2] = {(uint64_t)e->off, e->len};
		struct hash128 sig = hassig ? e->sig : (struct hash128){0, 0};

		put(&b, &kind, 1);
		put(&b, &flag, 1);
		put(&b, v32, sizeof(v32));
		put(&b, v64, sizeof(v64));
		put(&b, u64, sizeof(u64));
		put(&b, &hassig, 1);
		put(&b, &sig, sizeof(sig));
		put_str(&b, event_name(e));
		put_str(&b, e->x->run ? e->x->run : "");
		put_str(&b, e->x->message);
		put_str(&b, e->x->log);
		{
			int32_t pgid = e->x->pgid;

			put(&b, &pgid, sizeof(pgid));
			put(&b, &e->x->pstart, sizeof(e->x->pstart));
			put_str(&b, e->x->boot);
			put_str(&b, e->x->by);
			put_str(&b, e->x->component);
			put_str(&b, e->x->author);
		}
		if (b.len >= BLOCK && flush_block(&a, hs, &b) < 0)
			goto out;
	}
	if (b.len && flush_block(&a, hs, &b) < 0)
		goto out;
	h = hasher_end(hs);
	put(&b, &h, 16);
	/* a cache: not synced; a failure costs only time at the next open */
	if (atomic_write(&a, b.s, b.len) < 0 || atomic_commit(&a, false) < 0)
		goto out;
	r = 0;
out:
	hasher_free(hs);
	buf_free(&b);
	return r;
}
