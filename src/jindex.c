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
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
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

struct reader {
	const char *p, *end;
	bool bad;
};

static void get(struct reader *r, void *out, size_t n)
{
	if (r->bad || (size_t)(r->end - r->p) < n) {
		r->bad = true;
		memset(out, 0, n);
		return;
	}
	memcpy(out, r->p, n);
	r->p += n;
}

/* A string of the index: NULL when none; *LEN its length. Points into the index. */
static const char *get_str(struct reader *r, uint32_t *len)
{
	const char *s;

	get(r, len, sizeof(*len));
	if (r->bad || *len == UINT32_MAX)
		return NULL;
	if ((size_t)(r->end - r->p) < *len) {
		r->bad = true;
		return NULL;
	}
	s = r->p;
	r->p += *len;
	return s;
}

static const char *own_n(struct arena *strs, const char *s, uint32_t n)
{
	return s ? arena_strndup(strs, s, n) : NULL;
}

static struct jevent *new_event(struct jindex *x, size_t *cap)
{
	if (x->nev == *cap) {
		*cap = *cap ? *cap * 2 : 256;
		x->ev = xreallocarray(x->ev, *cap, sizeof(*x->ev));
	}
	memset(&x->ev[x->nev], 0, sizeof(x->ev[0]));
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
	char *data;
	size_t len, cap = 0;
	struct reader r;
	uint64_t magic, isize, ilines;
	struct hash128 want, got;
	struct jindex x = {0};

	memset(out, 0, sizeof(*out));
	if (size < JINDEX_MIN || !(data = read_file(path, &len)))
		return 0;
	r = (struct reader){data, data + len, false};
	if (len < 32 + 16)
		goto stale;
	got = hash128_bytes(data, len - 16);
	memcpy(&want, data + len - 16, 16);
	if (!hash128_eq(got, want))
		goto stale;
	r.end = data + len - 16;
	get(&r, &magic, 8);
	get(&r, &isize, 8);
	get(&r, &ilines, 8);
	get(&r, &want, 16);
	if (r.bad || magic != INDEX_MAGIC || isize == 0 || (int64_t)isize > size)
		goto stale;
	if (hash_prefix(fd, (int64_t)isize, &got, &lastc) < 0 || lastc != '\n' || !hash128_eq(got, want))
		goto stale;
	/* every event takes at least its fixed fields: a count beyond that is damage */
	if (ilines > len / 64)
		goto stale;
	cap = ilines;
	x.ev = xreallocarray(NULL, cap ? cap : 1, sizeof(*x.ev));
	while (!r.bad && r.p < r.end) {
		struct jevent *e = new_event(&x, &cap);
		uint8_t kind, flag, hassig;
		int32_t v32[3];
		int64_t v64[3];
		uint64_t u64[2];
		struct hash128 sig;
		const char *name, *run, *msg, *log, *boot, *by, *comp, *author;
		uint32_t nname, nrun, nmsg, nlog, nboot, nby, ncomp, nauthor;
		int32_t pgid;
		int64_t pstart;

		get(&r, &kind, 1);
		get(&r, &flag, 1);
		get(&r, v32, sizeof(v32));
		get(&r, v64, sizeof(v64));
		get(&r, u64, sizeof(u64));
		get(&r, &hassig, 1);
		get(&r, &sig, sizeof(sig));
		name = get_str(&r, &nname);
		run = get_str(&r, &nrun);
		msg = get_str(&r, &nmsg);
		log = get_str(&r, &nlog);
		get(&r, &pgid, sizeof(pgid));
		get(&r, &pstart, sizeof(pstart));
		boot = get_str(&r, &nboot);
		by = get_str(&r, &nby);
		comp = get_str(&r, &ncomp);
		author = get_str(&r, &nauthor);
		if (r.bad || kind >= EV_NKINDS || !name || !run)
			goto stale;
		e->kind = (enum evkind)kind;
		e->timed_out = flag != 0;
		e->attempt = v32[0], e->exit_status = v32[1], e->signal = v32[2];
		e->time_ms = v64[0], e->start_ms = v64[1], e->duration_ms = v64[2];
		e->off = (int64_t)u64[0], e->len = (size_t)u64[1];
		e->line = x.nev;
		if (hassig)
			hash128_hex(sig, e->sig);
		if (nname) {
			char buf[256];

			if (nname < sizeof(buf)) {
				memcpy(buf, name, nname);
				buf[nname] = '\0';
				e->node = graph_find(g, buf);
			}
			e->name = e->node ? e->node->name : own_n(&x.strs, name, nname);
		} else {
			e->name = "";
		}
		/* consecutive events nearly always share the run id */
		if (x.nev > 1 && strlen(x.ev[x.nev - 2].run) == nrun && memcmp(x.ev[x.nev - 2].run, run, nrun) == 0)
			e->run = x.ev[x.nev - 2].run;
		else
			e->run = own_n(&x.strs, run, nrun);
		e->message = own_n(&x.strs, msg, nmsg);
		e->log = own_n(&x.strs, log, nlog);
		e->pgid = pgid;
		e->pstart = pstart;
		e->boot = own_n(&x.strs, boot, nboot);
		e->by = own_n(&x.strs, by, nby);
		e->component = own_n(&x.strs, comp, ncomp);
		if (x.nev > 1 && author && x.ev[x.nev - 2].author && strlen(x.ev[x.nev - 2].author) == nauthor &&
		    memcmp(x.ev[x.nev - 2].author, author, nauthor) == 0)
			e->author = x.ev[x.nev - 2].author;
		else
			e->author = own_n(&x.strs, author, nauthor);
	}
	if (r.bad || x.nev != ilines)
		goto stale;
	free(data);
	*out = x;
	return (int64_t)isize;
stale:
	arena_free(&x.strs);
	free(x.ev);
	free(data);
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
		uint8_t kind = (uint8_t)e->kind, flag = e->timed_out, hassig = e->sig[0] != '\0';
		int32_t v32[3] = {e->attempt, e->exit_status, e->signal};
		int64_t v64[3] = {e->time_ms, e->start_ms, e->duration_ms};
		uint64_t u64[2] = {(uint64_t)e->off, e->len};
		struct hash128 sig = {0, 0};

		if (hassig)
			hash128_parse(e->sig, &sig);
		put(&b, &kind, 1);
		put(&b, &flag, 1);
		put(&b, v32, sizeof(v32));
		put(&b, v64, sizeof(v64));
		put(&b, u64, sizeof(u64));
		put(&b, &hassig, 1);
		put(&b, &sig, sizeof(sig));
		put_str(&b, e->name);
		put_str(&b, e->run ? e->run : "");
		put_str(&b, e->message);
		put_str(&b, e->log);
		{
			int32_t pgid = e->pgid;

			put(&b, &pgid, sizeof(pgid));
			put(&b, &e->pstart, sizeof(e->pstart));
			put_str(&b, e->boot);
			put_str(&b, e->by);
			put_str(&b, e->component);
			put_str(&b, e->author);
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
