/* util.c — errors, exit statuses, allocation, growable buffers and small parsers. */
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>

const char *argv0 = "orch";
int verbosity = 0;

static void vreport(const char *kind, const char *fmt, va_list ap)
{
	size_t n = strlen(fmt);
	int saved = errno;

	fflush(stdout);
	if (kind)
		fprintf(stderr, "%s: %s: ", argv0, kind);
	else
		fprintf(stderr, "%s: ", argv0);
	vfprintf(stderr, fmt, ap);
	if (n > 0 && fmt[n - 1] == ':')
		fprintf(stderr, " %s", strerror(saved));
	fputc('\n', stderr);
}

void fatalx(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport("error", fmt, ap);
	va_end(ap);
	exit(status);
}

void fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport("error", fmt, ap);
	va_end(ap);
	exit(EXIT_USAGE);
}

void warn(const char *fmt, ...)
{
	va_list ap;

	if (verbosity < -1)
		return;
	va_start(ap, fmt);
	vreport("warning", fmt, ap);
	va_end(ap);
}

void error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport("error", fmt, ap);
	va_end(ap);
}

void notice(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(NULL, fmt, ap);
	va_end(ap);
}

void diag(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	if (line > 0)
		fprintf(stderr, "%s:%d: ", file, line);
	else /* no line to blame (a --target the plan lacks): the file alone, never FILE:0 */
		fprintf(stderr, "%s: ", file);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

_Noreturn void usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport("error", fmt, ap);
	va_end(ap);
	usage_hint();
	exit(EXIT_USAGE);
}

void usage_hint(void)
{
	fprintf(stderr, "Try '%s --help'.\n", argv0);
}

void info(const char *fmt, ...)
{
	va_list ap;

	if (verbosity < 0)
		return;
	va_start(ap, fmt);
	vreport(NULL, fmt, ap);
	va_end(ap);
}

static _Noreturn void oom(void)
{
	fatalx(EXIT_FAILED, "out of memory");
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		oom();
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p)
		oom();
	return p;
}

void *xreallocarray(void *p, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		oom();
	p = realloc(p, n * size > 0 ? n * size : 1);
	if (!p)
		oom();
	return p;
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *xvasprintf(const char *fmt, va_list ap)
{
	va_list again;
	char *s;
	int n;

	va_copy(again, ap);
	n = vsnprintf(NULL, 0, fmt, ap);
	if (n < 0)
		fatalx(EXIT_FAILED, "vsnprintf:");
	s = xmalloc((size_t)n + 1);
	vsnprintf(s, (size_t)n + 1, fmt, again);
	va_end(again);
	return s;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	return s;
}

static void buf_grow(struct buf *b, size_t extra)
{
	if (b->len + extra + 1 <= b->cap)
		return;
	b->cap = b->cap ? b->cap * 2 : 64;
	while (b->cap < b->len + extra + 1)
		b->cap *= 2;
	b->s = xreallocarray(b->s, b->cap, 1);
}

void buf_add(struct buf *b, const char *s, size_t n)
{
	buf_grow(b, n);
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

void buf_puts(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void buf_putc(struct buf *b, char c)
{
	buf_add(b, &c, 1);
}

void buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		fatalx(EXIT_FAILED, "vsnprintf:");
	buf_grow(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

const char *buf_str(struct buf *b)
{
	if (!b->s)
		buf_grow(b, 0), b->s[0] = '\0';
	return b->s;
}

void buf_free(struct buf *b)
{
	free(b->s);
	b->s = NULL;
	b->len = b->cap = 0;
}

void vec_push(struct vec *a, void *p)
{
	if (a->n == a->cap) {
		if (a->cap == UINT32_MAX)
			fatal("out of memory: a list of %u items", a->cap);
		a->cap = !a->cap ? 4 : a->cap > UINT32_MAX / 2 ? UINT32_MAX : a->cap * 2;
		a->v = xreallocarray(a->v, a->cap, sizeof(*a->v));
	}
	a->v[a->n++] = p;
}

void vec_free(struct vec *a)
{
	free(a->v);
	a->v = NULL;
	a->n = a->cap = 0;
}

int64_t parse_duration(const char *s)
{
	int64_t total = 0;
	bool any = false;

	while (*s) {
		int64_t n = 0, unit;

		if (!isdigit((unsigned char)*s))
			return -1;
		while (isdigit((unsigned char)*s)) {
			if (n > INT64_MAX / 10 / 1000 / 86400)
				return -1;
			n = n * 10 + (*s++ - '0');
		}
		if (s[0] == 'm' && s[1] == 's')
			unit = 1, s += 2;
		else if (*s == 's')
			unit = 1000, s++;
		else if (*s == 'm')
			unit = 60 * 1000, s++;
		else if (*s == 'h')
			unit = 3600 * 1000, s++;
		else if (*s == 'd')
			unit = 86400 * 1000, s++;
		else
			return -1;
		total += n * unit;
		any = true;
	}
	return any ? total : -1;
}

char *format_known_duration(int64_t ms, char out[32])
{
	if (ms < 0)
		snprintf(out, 32, "-");
	else
		format_duration(ms, out, 32);
	return out;
}

char *temp_template(const char *what)
{
	const char *dir = getenv("TMPDIR");

	return xasprintf("%s/orch-%s-XXXXXX", dir && *dir ? dir : "/tmp", what);
}

const char *user_name(void)
{
	static char *name;
	const char *u = getenv("USER");
	struct passwd *pw;

	if (name)
		return name;
	if (u && *u)
		name = xstrdup(u);
	else if ((pw = getpwuid(getuid())))
		name = xstrdup(pw->pw_name);
	else
		name = xasprintf("%ld", (long)getuid());
	return name;
}

size_t text_width(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		w += ((unsigned char)*s & 0xC0) != 0x80;
	return w;
}

size_t text_prefix(const char *s, size_t width)
{
	size_t i = 0, chars = 0;

	for (; s[i]; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80 && chars++ == width)
			break;
	return i;
}

const char *user_at_host(void)
{
	static char *who;
	char host[256];

	if (!who) {
		if (gethostname(host, sizeof(host)) < 0)
			strcpy(host, "unknown");
		host[sizeof(host) - 1] = '\0';
		who = xasprintf("%s@%s", user_name(), host);
	}
	return who;
}

char *format_duration(int64_t ms, char *out, size_t outlen)
{
	int64_t s, d, h, m, sec;
	struct buf b = {0};

	if (ms < 0)
		ms = 0;
	s = ms / 1000;
	d = s / 86400, h = s / 3600 % 24, m = s / 60 % 60, sec = s % 60;
	if (s < 60 && ms % 1000 && s < 10)
		buf_printf(&b, "%.1fs", (double)ms / 1000);
	else if (s < 60)
		buf_printf(&b, "%llds", (long long)sec);
	else {
		if (d)
			buf_printf(&b, "%lldd", (long long)d);
		if (h)
			buf_printf(&b, "%lldh", (long long)h);
		if (m)
			buf_printf(&b, "%lldm", (long long)m);
		if (sec && !d && !h)
			buf_printf(&b, "%llds", (long long)sec);
	}
	snprintf(out, outlen, "%s", buf_str(&b));
	buf_free(&b);
	return out;
}

long parse_count(const char *s, long max)
{
	long n = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (!isdigit((unsigned char)*s))
			return -1;
		n = n * 10 + (*s - '0');
		if (n > max)
			return -1;
	}
	return n;
}

int parse_bool(const char *s)
{
	static const char *yes[] = {"yes", "true", "on", "1"};
	static const char *no[] = {"no", "false", "off", "0"};

	for (size_t i = 0; i < 4; i++) {
		if (strcmp(s, yes[i]) == 0)
			return 1;
		if (strcmp(s, no[i]) == 0)
			return 0;
	}
	return -1;
}

void split_words(const char *s, struct vec *out)
{
	while (*s) {
		size_t n;

		s += strspn(s, " \t\r\n");
		n = strcspn(s, " \t\r\n");
		if (n)
			vec_push(out, xstrndup(s, n));
		s += n;
	}
}

#define ARENA_BLOCK (256 * 1024)

static void *arena_get(struct arena *a, size_t n, size_t align)
{
	size_t at = (a->used + align - 1) & ~(align - 1);
	void *p;

	if (!a->block || at + n > a->cap) {
		size_t cap = n + sizeof(char *) > ARENA_BLOCK ? n + sizeof(char *) : ARENA_BLOCK;
		char *b = xmalloc(cap);

		*(char **)b = a->block;
		a->block = b;
		a->cap = cap;
		at = sizeof(char *); /* the link to the block before */
	}
	p = a->block + at;
	a->used = at + n;
	memset(p, 0, n);
	return p;
}

void *arena_alloc(struct arena *a, size_t n)
{
	/* a pointer's alignment: what the reader keeps there is pointers and ints */
	return arena_get(a, n, _Alignof(void *) > _Alignof(int64_t) ? _Alignof(void *) : _Alignof(int64_t));
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *p = arena_get(a, n + 1, 1);

	memcpy(p, s, n);
	return p;
}

void arena_free(struct arena *a)
{
	while (a->block) {
		char *prev = *(char **)a->block;

		free(a->block);
		a->block = prev;
	}
	a->used = a->cap = 0;
}

char *read_file(const char *path, size_t *len)
{
	struct buf b = {0};
	char chunk[65536];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0) {
			int saved = errno;

			if (errno == EINTR)
				continue;
			close(fd);
			buf_free(&b);
			errno = saved;
			return NULL;
		}
		buf_add(&b, chunk, (size_t)n);
	}
	close(fd);
	if (len)
		*len = b.len;
	return (char *)buf_str(&b);
}

long pread_full(int fd, void *buf, size_t n, int64_t off)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = pread(fd, (char *)buf + got, n - got, (off_t)(off + (int64_t)got));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (long)got;
}

int write_all(int fd, const void *data, size_t n)
{
	const char *p = data;

	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r, saved;

	if (fd < 0)
		return -1;
	r = fsync(fd);
	saved = errno;
	close(fd);
	errno = saved;
	return r;
}

int atomic_begin(struct atomic *a, const char *path)
{
	a->path = xstrdup(path);
	a->tmp = xasprintf("%s.tmp", path);
	if ((a->fd = open(a->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
		atomic_abort(a);
		return -1;
	}
	return 0;
}

int atomic_write(struct atomic *a, const void *data, size_t len)
{
	if (write_all(a->fd, data, len) < 0) {
		atomic_abort(a);
		return -1;
	}
	return 0;
}

void atomic_abort(struct atomic *a)
{
	int saved = errno;

	if (a->fd >= 0)
		close(a->fd);
	a->fd = -1;
	if (a->tmp)
		unlink(a->tmp);
	free(a->tmp);
	free(a->path);
	a->tmp = a->path = NULL;
	errno = saved;
}

int atomic_commit(struct atomic *a, bool sync)
{
	int r = 0;

	if ((sync && fsync(a->fd) < 0) || close(a->fd) < 0) {
		a->fd = -1;
		atomic_abort(a);
		return -1;
	}
	a->fd = -1;
	if (rename(a->tmp, a->path) < 0) {
		atomic_abort(a);
		return -1;
	}
	if (sync) {
		char *slash = strrchr(a->path, '/');
		char *dir = slash ? xstrndup(a->path, (size_t)(slash - a->path)) : xstrdup(".");

		r = fsync_dir(*dir ? dir : "/") < 0 ? -2 : 0; /* renamed, but not known durable */
		free(dir);
	}
	free(a->tmp);
	free(a->path);
	a->tmp = a->path = NULL;
	return r;
}

int write_file_atomic(const char *path, const void *data, size_t len, bool sync)
{
	struct atomic a;

	if (atomic_begin(&a, path) < 0 || atomic_write(&a, data, len) < 0)
		return -1;
	return atomic_commit(&a, sync);
}

/* Whether the KLEN bytes at KEY (percent-decoded first when DECODE, as in a URI) name
 * one of libpq's secrets: password, sslpassword. */
static bool secret_key(const char *key, size_t klen, bool decode)
{
	char k[16];
	size_t n = 0;

	for (size_t i = 0; i < klen; i++) {
		char c = key[i];

		if (decode && c == '%' && i + 2 < klen && isxdigit((unsigned char)key[i + 1]) &&
		    isxdigit((unsigned char)key[i + 2])) {
			char hex[3] = {key[i + 1], key[i + 2], '\0'};

			c = (char)strtol(hex, NULL, 16);
			i += 2;
		}
		if (n == sizeof(k) - 1)
			return false;
		k[n++] = c;
	}
	k[n] = '\0';
	return strcmp(k, "password") == 0 || strcmp(k, "sslpassword") == 0;
}

/* Parsed as libpq parses connection strings (fe-connect.c), so that what libpq takes
 * for a password is what is masked; where a malformed string leaves a doubt, more is
 * masked, never less. Nothing but the password fields: the text of the password may
 * be anywhere else in the string ("o" in "host=db.example.org") and stays. */
char *mask_password(const char *conn)
{
	struct buf b = {0};
	const char *p = conn;
	size_t pre = strncmp(conn, "postgresql://", 13) == 0 ? 13 : strncmp(conn, "postgres://", 11) == 0 ? 11 : 0;

	if (pre) {
		/* scheme://[user[:password]@]host...[?key=value&...]: libpq's user info ends at
		 * the first '@' before any '/'; the last '@' hides a password holding '@' too */
		const char *auth = conn + pre, *slash = auth + strcspn(auth, "/"), *at = NULL, *colon, *q;

		for (q = auth; q < slash && *q; q++)
			if (*q == '@')
				at = q;
		colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
		if (colon) {
			buf_add(&b, conn, (size_t)(colon + 1 - conn));
			buf_puts(&b, "***");
			p = at;
		}
		q = strchr(at ? at : auth, '?');
		q = q ? q + 1 : p + strlen(p); /* the parameters, if any */
		buf_add(&b, p, (size_t)(q - p));
		for (p = q; *p;) {
			size_t len = strcspn(p, "&"), klen = strcspn(p, "=&");

			if (klen < len && secret_key(p, klen, true)) {
				buf_add(&b, p, klen + 1);
				buf_puts(&b, "***");
			} else {
				buf_add(&b, p, len);
			}
			p += len;
			if (*p)
				buf_putc(&b, *p++);
		}
		buf_str(&b);
		return b.s;
	}
	/* key = value pairs; a value is 'quoted' or runs to a blank; \ escapes in both */
	while (*p) {
		const char *key = p, *val;
		size_t klen;

		if (isspace((unsigned char)*p)) {
			buf_putc(&b, *p++);
			continue;
		}
		while (*p && *p != '=' && !isspace((unsigned char)*p))
			p++;
		klen = (size_t)(p - key);
		buf_add(&b, key, klen);
		while (isspace((unsigned char)*p))
			buf_putc(&b, *p++);
		if (*p != '=')
			continue;
		buf_putc(&b, *p++);
		while (isspace((unsigned char)*p))
			buf_putc(&b, *p++);
		val = p;
		if (*p == '\'') {
			for (p++; *p && *p != '\''; p++)
				if (*p == '\\' && p[1])
					p++;
			if (*p)
				p++;
		} else {
			for (; *p && !isspace((unsigned char)*p); p++)
				if (*p == '\\' && p[1])
					p++;
		}
		if (secret_key(key, klen, false))
			buf_puts(&b, "***");
		else
			buf_add(&b, val, (size_t)(p - val));
	}
	buf_str(&b);
	return b.s;
}

/* One word of free text (no blanks) with its secrets masked into B: the password of a
 * URL's user:password@ (any scheme; a postgres URL as mask_password reads it, with its
 * ?password=), or the value of password=VALUE. */
static void mask_word(struct buf *b, const char *w, size_t n)
{
	const char *sep = NULL, *scheme, *auth, *end = w + n, *at = NULL, *colon = NULL, *eq;

	for (const char *q = w; q + 3 <= end && !sep; q++)
		if (memcmp(q, "://", 3) == 0)
			sep = q;
	if (sep) {
		for (scheme = sep; scheme > w && (isalnum((unsigned char)scheme[-1]) || strchr("+-.", scheme[-1]));)
			scheme--;
		buf_add(b, w, (size_t)(scheme - w));
		if (sep - scheme >= 8 && (strncmp(scheme, "postgres://", 11) == 0 || strncmp(scheme, "postgresql://", 13) == 0)) {
			char *url = xstrndup(scheme, (size_t)(end - scheme)), *m = mask_password(url);

			buf_puts(b, m);
			free(m);
			free(url);
			return;
		}
		auth = sep + 3;
		for (const char *q = auth; q < end && *q != '/'; q++)
			if (*q == '@')
				at = q;
		if (at)
			colon = memchr(auth, ':', (size_t)(at - auth));
		if (colon) {
			buf_add(b, scheme, (size_t)(colon + 1 - scheme));
			buf_puts(b, "***");
			buf_add(b, at, (size_t)(end - at));
		} else {
			buf_add(b, scheme, (size_t)(end - scheme));
		}
		return;
	}
	if ((eq = memchr(w, '=', n)) && secret_key(w, (size_t)(eq - w), false)) {
		buf_add(b, w, (size_t)(eq + 1 - w));
		buf_puts(b, "***");
		return;
	}
	buf_add(b, w, n);
}

char *mask_passwords_in(const char *text)
{
	struct buf b = {0};

	for (const char *p = text; *p;) {
		size_t n = strcspn(p, " \t\n\r");

		mask_word(&b, p, n);
		p += n;
		n = strspn(p, " \t\n\r");
		buf_add(&b, p, n);
		p += n;
	}
	buf_str(&b);
	return b.s;
}

int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void debug(const char *fmt, ...)
{
	va_list ap;

	if (verbosity < 2)
		return;
	va_start(ap, fmt);
	vreport("debug", fmt, ap);
	va_end(ap);
}

void debug_note(const char *kind, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fflush(stdout);
	fprintf(stderr, "%s: %s: ", argv0, kind);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

int edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	/* three rows of the table: i-2, i-1 and i */
	int *r0 = xcalloc(lb + 1, sizeof(int)), *r1 = xcalloc(lb + 1, sizeof(int));
	int *r2 = xcalloc(lb + 1, sizeof(int)), *t, d;

	for (size_t j = 0; j <= lb; j++)
		r1[j] = (int)j;
	for (size_t i = 1; i <= la; i++) {
		int ca = tolower((unsigned char)a[i - 1]);

		r2[0] = (int)i;
		for (size_t j = 1; j <= lb; j++) {
			int cb = tolower((unsigned char)b[j - 1]);
			int best = r1[j - 1] + (ca != cb);

			if (r1[j] + 1 < best)
				best = r1[j] + 1;
			if (r2[j - 1] + 1 < best)
				best = r2[j - 1] + 1;
			if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
			    tolower((unsigned char)a[i - 2]) == cb && r0[j - 2] + 1 < best)
				best = r0[j - 2] + 1;
			r2[j] = best;
		}
		t = r0, r0 = r1, r1 = r2, r2 = t;
	}
	d = r1[lb];
	free(r0), free(r1), free(r2);
	return d;
}

void suggest_start(struct suggestion *s, const char *word)
{
	s->word = word;
	s->best = NULL;
	s->dist = 0;
}

void suggest_offer(struct suggestion *s, const char *candidate)
{
	int d;

	if (strcmp(s->word, candidate) == 0)
		return;
	d = edit_distance(s->word, candidate);
	if (d > 2 || (size_t)d * 3 > strlen(s->word))
		return;
	if (!s->best || d < s->dist)
		s->best = candidate, s->dist = d;
}

size_t last_lines(const char *text, size_t len, size_t n)
{
	size_t start = len, lines = 0;

	/* back to the newline before the Nth line from the end (a last newline ends a line) */
	while (start > 0 && lines < n)
		if (text[--start] == '\n' && start + 1 < len)
			lines++;
	return lines == n && n > 0 ? start + 1 : start;
}
