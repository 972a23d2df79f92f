/* jout.c — JSON documents written as they are made (the framing by hand, each value by
 * jansson or in the bytes jansson writes for it), byte for byte what json_dumpf writes
 * for the whole document. */
#include "jout.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* The output is gathered here and written in blocks of about this size. */
#define JOUT_FLUSH (64 * 1024)

void jout_init(struct jout *o, FILE *f, size_t flags)
{
	memset(o, 0, sizeof(*o));
	o->f = f;
	o->flags = flags;
	o->indent = (int)(flags & JSON_MAX_INDENT);
}

/* Write what is gathered. A failed write leaves F's error indicator set, which the end
 * of main reports (a closed pipe, `orch --status --json | head`, is no failure). */
static void flush(struct jout *o)
{
	if (o->olen && !ferror(o->f))
		(void)fwrite(o->out, 1, o->olen, o->f);
	o->olen = 0;
}

/* Room for N more bytes of output. */
static char *room(struct jout *o, size_t n)
{
	if (o->olen + n > o->ocap) {
		flush(o);
		if (n > o->ocap) {
			o->ocap = n + JOUT_FLUSH;
			o->out = xreallocarray(o->out, o->ocap, 1);
		}
	}
	return o->out + o->olen;
}

static void put(struct jout *o, const char *s, size_t n)
{
	memcpy(room(o, n), s, n);
	o->olen += n;
	if (o->olen >= JOUT_FLUSH)
		flush(o);
}

static void putch(struct jout *o, char c)
{
	*room(o, 1) = c;
	o->olen++;
}

/* A newline and the indentation of DEPTH levels (jansson's dump_indent); without an
 * indent, the space after a separator unless compact. */
static void newline(struct jout *o, int depth, bool space)
{
	size_t n = (size_t)depth * (size_t)o->indent;

	if (o->indent > 0) {
		char *p = room(o, n + 1);

		*p = '\n';
		memset(p + 1, ' ', n);
		o->olen += n + 1;
	} else if (space && !(o->flags & JSON_COMPACT)) {
		putch(o, ' ');
	}
}

/* What comes before an item of the open container: a separator, then a new line. */
static void before_item(struct jout *o)
{
	if (o->keyed) {
		o->keyed = false;
		return;
	}
	if (o->depth == 0)
		return;
	if (!o->empty[o->depth - 1])
		putch(o, ',');
	newline(o, o->depth, !o->empty[o->depth - 1]);
	o->empty[o->depth - 1] = false;
}

void jout_open(struct jout *o, char c)
{
	if (o->depth >= JOUT_DEPTH)
		fatal("internal error: JSON nested too deep");
	before_item(o);
	putch(o, c);
	o->empty[o->depth++] = true;
}

void jout_close(struct jout *o, char c)
{
	if (o->depth == 0)
		fatal("internal error: JSON closed more than opened");
	o->depth--;
	if (!o->empty[o->depth])
		newline(o, o->depth, false);
	putch(o, c);
	if (o->depth == 0) {
		flush(o);
		free(o->buf);
		free(o->out);
		o->buf = o->out = NULL;
		o->cap = o->ocap = 0;
	}
}

/* Does jansson write S (LEN bytes) as itself between quotes? It does when every byte is
 * printable ASCII (0x20 to 0x7e) other than '"' and '\\' (and '/' with
 * JSON_ESCAPE_SLASH): jansson's dump_string escapes only those below 0x20, the quote,
 * the backslash, the slash when asked, and non-ASCII with JSON_ENSURE_ASCII; anything
 * outside ASCII also needs its UTF-8 checked. Those strings go to jansson. */
static bool plain(const struct jout *o, const char *s, size_t len)
{
	bool slash = o->flags & JSON_ESCAPE_SLASH;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c > 0x7e || c == '"' || c == '\\' || (slash && c == '/'))
			return false;
	}
	return true;
}

/* S as a JSON string: between quotes when plain, else as jansson dumps it; invalid
 * UTF-8 (which jansson refuses to hold) becomes null. */
static void put_string(struct jout *o, const char *s)
{
	size_t len = strlen(s);
	json_t *v;
	size_t need;

	if (plain(o, s, len)) {
		char *p = room(o, len + 2);

		p[0] = '"';
		memcpy(p + 1, s, len);
		p[len + 1] = '"';
		o->olen += len + 2;
		if (o->olen >= JOUT_FLUSH)
			flush(o);
		return;
	}
	v = json_stringn(s, len);
	if (!v) {
		put(o, "null", 4);
		return;
	}
	need = json_dumpb(v, o->buf, o->cap, JSON_ENCODE_ANY | (o->flags & (JSON_ENSURE_ASCII | JSON_ESCAPE_SLASH)));
	if (need == 0)
		fatal("cannot write JSON");
	if (need > o->cap) {
		o->cap = need + need / 2;
		o->buf = xreallocarray(o->buf, o->cap, 1);
		if (json_dumpb(v, o->buf, o->cap, JSON_ENCODE_ANY | (o->flags & (JSON_ENSURE_ASCII | JSON_ESCAPE_SLASH))) != need)
			fatal("cannot write JSON");
	}
	json_decref(v);
	put(o, o->buf, need);
}

void jout_key(struct jout *o, const char *key)
{
	before_item(o);
	put_string(o, key);
	if (o->flags & JSON_COMPACT)
		putch(o, ':');
	else
		put(o, ": ", 2);
	o->keyed = true;
}

/* jansson's output of a value nested DEPTH levels deep is its top-level output with
 * the indentation of DEPTH levels after each newline (a string never holds one). The
 * value is dumped into a buffer kept for the next one, then copied a line at a time. */
void jout_value(struct jout *o, json_t *v)
{
	size_t flags = o->flags | JSON_ENCODE_ANY, need;
	const char *p, *end;

	if (!v)
		fatal("out of memory building JSON");
	before_item(o);
	need = json_dumpb(v, o->buf, o->cap, flags);
	if (need == 0)
		fatal("cannot write JSON");
	if (need > o->cap) {
		o->cap = need + need / 2;
		o->buf = xreallocarray(o->buf, o->cap, 1);
		if (json_dumpb(v, o->buf, o->cap, flags) != need)
			fatal("cannot write JSON");
	}
	json_decref(v);
	for (p = o->buf, end = o->buf + need; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if (!nl) {
			put(o, p, (size_t)(end - p));
			break;
		}
		put(o, p, (size_t)(nl - p));
		newline(o, o->depth, false);
		p = nl + 1;
	}
}

void jout_set(struct jout *o, const char *key, json_t *v)
{
	jout_key(o, key);
	jout_value(o, v);
}

/* KEY (NULL: an array item) before a scalar. */
static void scalar(struct jout *o, const char *key)
{
	if (key)
		jout_key(o, key);
	else
		before_item(o);
	o->keyed = false;
}

void jout_str(struct jout *o, const char *key, const char *s)
{
	scalar(o, key);
	if (s)
		put_string(o, s);
	else
		put(o, "null", 4);
}

/* jansson writes an integer with "%" JSON_INTEGER_FORMAT: plain decimal digits. */
void jout_int(struct jout *o, const char *key, int64_t v)
{
	char d[24], *p = d + sizeof(d);
	uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;

	scalar(o, key);
	do
		*--p = (char)('0' + u % 10);
	while (u /= 10);
	if (v < 0)
		*--p = '-';
	put(o, p, (size_t)(d + sizeof(d) - p));
}

void jout_bool(struct jout *o, const char *key, bool b)
{
	scalar(o, key);
	if (b)
		put(o, "true", 4);
	else
		put(o, "false", 5);
}

void jout_null(struct jout *o, const char *key)
{
	scalar(o, key);
	put(o, "null", 4);
}
