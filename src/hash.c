/* hash.c — XXH3 hashes of strings, definitions and file contents. */
#include "hash.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* On x86 the library picks SSE2, AVX2 or AVX-512 at run time through its _dispatch
 * entry points (the plain ones are built for baseline SSE2): 10% more throughput. */
#if (defined(__x86_64__) || defined(__i386__)) && defined(__has_include)
#if __has_include(<xxh_x86dispatch.h>)
#include <xxh_x86dispatch.h>
#endif
#endif
#include <xxhash.h>

#include "util.h"

uint64_t hash_bytes(const void *p, size_t n)
{
	return XXH3_64bits(p, n);
}

static struct hash128 from_xxh(XXH128_hash_t x)
{
	return (struct hash128){x.high64, x.low64};
}

struct hash128 hash128_bytes(const void *p, size_t n)
{
	return from_xxh(XXH3_128bits(p, n));
}

bool hash128_eq(struct hash128 a, struct hash128 b)
{
	return a.hi == b.hi && a.lo == b.lo;
}

static void hex64(uint64_t v, char *out)
{
	static const char digit[] = "0123456789abcdef";

	for (int i = 15; i >= 0; i--, v >>= 4)
		out[i] = digit[v & 15];
}

char *hash128_hex(struct hash128 a, char out[33])
{
	hex64(a.hi, out);
	hex64(a.lo, out + 16);
	out[32] = '\0';
	return out;
}

char *hash64_hex(uint64_t h, char out[17])
{
	hex64(h, out);
	out[16] = '\0';
	return out;
}

static int parse_hex64(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	for (int i = 0; i < 16; i++) {
		int c = s[i], d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else
			return -1;
		v = v << 4 | (uint64_t)d;
	}
	*out = v;
	return 0;
}

int hash128_parse(const char *hex, struct hash128 *out)
{
	struct hash128 h;

	if (parse_hex64(hex, &h.hi) < 0 || parse_hex64(hex + 16, &h.lo) < 0)
		return -1;
	*out = h;
	return 0;
}

int hash64_parse(const char *hex, uint64_t *out)
{
	return parse_hex64(hex, out);
}

/* The bytes added are gathered here and given to XXH3 in blocks: a signature is many
 * small pieces (a length, a name, two halves of a hash), and one XXH3 call each cost
 * more than the hashing. A digest of bytes that never filled the buffer is XXH3's
 * one-shot hash of them, which is the streaming digest of the same bytes. */
enum { HASHER_BUF = 1024 };

struct hasher {
	XXH3_state_t *st;
	size_t len;     /* bytes in buf */
	bool streaming; /* st holds bytes given before buf's */
	unsigned char buf[HASHER_BUF];
};

struct hasher *hasher_new(void)
{
	struct hasher *h = xmalloc(sizeof(*h));

	if (!(h->st = XXH3_createState()))
		fatalx(EXIT_FAILED, "out of memory");
	hasher_reset(h);
	return h;
}

void hasher_reset(struct hasher *h)
{
	h->len = 0;
	h->streaming = false;
}

void hasher_add(struct hasher *h, const void *p, size_t n)
{
	if (h->len + n <= HASHER_BUF) {
		memcpy(h->buf + h->len, p, n);
		h->len += n;
		return;
	}
	if (!h->streaming) {
		XXH3_128bits_reset(h->st);
		h->streaming = true;
	}
	XXH3_128bits_update(h->st, h->buf, h->len);
	h->len = 0;
	if (n > HASHER_BUF) {
		XXH3_128bits_update(h->st, p, n);
		return;
	}
	memcpy(h->buf, p, n);
	h->len = n;
}

void hasher_addu64(struct hasher *h, uint64_t v)
{
	unsigned char b[8];

	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	hasher_add(h, b, sizeof(b));
}

void hasher_addstr(struct hasher *h, const char *s)
{
	if (!s) {
		hasher_addu64(h, UINT64_MAX);
		return;
	}
	size_t n = strlen(s);

	hasher_addu64(h, n);
	hasher_add(h, s, n);
}

void hasher_addhash(struct hasher *h, struct hash128 v)
{
	hasher_addu64(h, v.hi);
	hasher_addu64(h, v.lo);
}

struct hash128 hasher_end(struct hasher *h)
{
	if (!h->streaming)
		return from_xxh(XXH3_128bits(h->buf, h->len));
	XXH3_128bits_update(h->st, h->buf, h->len);
	h->len = 0;
	return from_xxh(XXH3_128bits_digest(h->st));
}

void hasher_free(struct hasher *h)
{
	if (!h)
		return;
	XXH3_freeState(h->st);
	free(h);
}

/* Read in chunks this large: measured against mmap and other sizes on a 1 GiB file
 * (docs/performance.md), reading beats mmap (page faults) and matches xxhsum. */
enum { READ_CHUNK = 1 << 18 };

int hash_fd(int fd, struct hash128 *out)
{
	struct stat st;
	XXH3_state_t *xs;
	ssize_t n;
	char *chunk;

	if (fstat(fd, &st) < 0)
		return -1;
	if (S_ISDIR(st.st_mode)) {
		errno = EISDIR;
		return -1;
	}
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	if (!(xs = XXH3_createState()))
		fatalx(EXIT_FAILED, "out of memory");
	XXH3_128bits_reset(xs);
	chunk = xmalloc(READ_CHUNK);
	while ((n = read(fd, chunk, READ_CHUNK)) != 0) {
		if (n < 0) {
			int saved = errno;

			if (errno == EINTR)
				continue;
			free(chunk);
			XXH3_freeState(xs);
			errno = saved;
			return -1;
		}
		XXH3_128bits_update(xs, chunk, (size_t)n);
	}
	*out = from_xxh(XXH3_128bits_digest(xs));
	free(chunk);
	XXH3_freeState(xs);
	return 0;
}

int hash_file(const char *path, struct hash128 *out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), r, saved;

	if (fd < 0)
		return -1;
	r = hash_fd(fd, out);
	saved = errno;
	close(fd);
	errno = saved;
	return r;
}
