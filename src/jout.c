/* jout.c — JSON documents written as they are made (the framing by hand, each value
 * dumped by jansson), byte for byte what json_dumpf writes for the whole document. */
#include "jout.h"

#include <stdlib.h>
#include <string.h>

#include "table.h"
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
		for (size_t i = 0; i < o->keys.cap; i++)
			free(o->keys.slot[i].value);
		table_free(&o->keys);
		json_decref(o->str);
		json_decref(o->num);
		o->str = o->num = NULL;
		o->buf = o->out = NULL;
		o->cap = o->ocap = 0;
	}
}

/* V (a borrowed reference) as jansson dumps it with FLAGS, in o->buf; its length. */
static size_t dump(struct jout *o, json_t *v, size_t flags)
{
	size_t need = json_dumpb(v, o->buf, o->cap, flags);

	if (need == 0)
		fatal("cannot write JSON");
	if (need > o->cap) {
		o->cap = need + need / 2;
		o->buf = xreallocarray(o->buf, o->cap, 1);
		if (json_dumpb(v, o->buf, o->cap, flags) != need)
			fatal("cannot write JSON");
	}
	return need;
}

/* A scalar (a string, a number, true, false, null) as jansson writes it, in o->buf. */
static size_t dump_scalar(struct jout *o, json_t *v)
{
	return dump(o, v, JSON_ENCODE_ANY | (o->flags & (JSON_ENSURE_ASCII | JSON_ESCAPE_SLASH)));
}

static void put_dump(struct jout *o, json_t *v)
{
	put(o, o->buf, dump_scalar(o, v));
}

/* S as jansson writes a JSON string, in o->buf, through one string value kept for the
 * document; invalid UTF-8 (which jansson refuses to hold) becomes null. */
static size_t dump_string(struct jout *o, const char *s)
{
	if (!o->str && !(o->str = json_string("")))
		fatal("out of memory building JSON");
	return dump_scalar(o, json_string_set(o->str, s) < 0 ? json_null() : o->str);
}

static void put_string(struct jout *o, const char *s)
{
	put(o, o->buf, dump_string(o, s));
}

/* A key's bytes, as jansson dumped them the first time it was written: a document
 * repeats the same few keys in every step's object. */
struct keydump {
	size_t len;
	char bytes[]; /* the dump, then the key itself, NUL-terminated */
};

static void put_key(struct jout *o, const char *key)
{
	struct keydump *k = table_get(&o->keys, key);
	size_t len, klen;

	if (k) {
		put(o, k->bytes, k->len);
		return;
	}
	len = dump_string(o, key);
	put(o, o->buf, len);
	if (o->keys.n >= JOUT_KEYS)
		return;
	klen = strlen(key);
	k = xmalloc(sizeof(*k) + len + klen + 1);
	k->len = len;
	memcpy(k->bytes, o->buf, len);
	memcpy(k->bytes + len, key, klen + 1);
	table_put(&o->keys, k->bytes + len, k);
}

void jout_key(struct jout *o, const char *key)
{
	before_item(o);
	put_key(o, key);
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
	need = dump(o, v, flags);
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
		put_dump(o, json_null());
}

void jout_int(struct jout *o, const char *key, int64_t v)
{
	scalar(o, key);
	if (!o->num && !(o->num = json_integer(0)))
		fatal("out of memory building JSON");
	json_integer_set(o->num, v);
	put_dump(o, o->num);
}

void jout_bool(struct jout *o, const char *key, bool b)
{
	scalar(o, key);
	put_dump(o, b ? json_true() : json_false());
}

void jout_null(struct jout *o, const char *key)
{
	scalar(o, key);
	put_dump(o, json_null());
}
