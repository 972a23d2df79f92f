/* jout.c — JSON documents written as they are made (the framing by hand, each value
 * dumped by jansson, each dump kept for the same value's next use), byte for byte what
 * json_dumpf writes for the whole document. */
#include "jout.h"

#include <stdlib.h>
#include <string.h>

#include "table.h"
#include "util.h"

/* The output is gathered here and written in blocks of about this size. */
#define JOUT_FLUSH (64 * 1024)

static const char *jkey_key(const void *k);

void jout_init(struct jout *o, FILE *f, size_t flags)
{
	memset(o, 0, sizeof(*o));
	table_init(&o->keys, jkey_key);
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

/* A comma, a newline and 160 spaces: what comes between items, copied at once. */
#define SP32 "                                "
static const char pad[] = ",\n" SP32 SP32 SP32 SP32 SP32;

/* A newline and the indentation of DEPTH levels (jansson's dump_indent), after a comma
 * when COMMA; without an indent, the comma and the space after it unless compact. */
static void newline(struct jout *o, int depth, bool comma)
{
	size_t n = (size_t)depth * (size_t)o->indent;

	if (o->indent > 0 && n + 2 < sizeof(pad)) {
		put(o, pad + !comma, n + 1 + comma);
	} else if (o->indent > 0) {
		char *p;

		if (comma)
			putch(o, ',');
		p = room(o, n + 1);
		*p = '\n';
		memset(p + 1, ' ', n);
		o->olen += n + 1;
	} else if (comma) {
		put(o, ", ", o->flags & JSON_COMPACT ? 1 : 2);
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

/* A key's bytes, as jansson dumped them the first time it was written, with what comes
 * before it (a comma, a newline and the indentation of the depth it was first written
 * at) and the separator after it; and the last string written as its value, with its
 * dump: a document repeats the same few keys in every step's object, at the same depth,
 * often with the same values. */
struct jkey {
	struct jmemo last;
	int depth;    /* the depth the bytes before the key are for (-1: none kept) */
	size_t pre;   /* their length */
	size_t skip;  /* what of them the first item of an object leaves out (the comma) */
	size_t len;   /* pre, then the key's dump and the separator */
	char bytes[]; /* those, then the key itself, NUL-terminated */
};

static const char *key_text(const struct jkey *k)
{
	return k->bytes + k->len;
}

/* The key a struct jkey is found by in o->keys. */
static const char *jkey_key(const void *k)
{
	return key_text(k);
}

static void memo_free(struct jmemo *m)
{
	free(m->s);
	free(m->d);
	memset(m, 0, sizeof(*m));
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
		for (size_t i = 0; i < o->keys.cap; i++) {
			struct jkey *k = o->keys.slot[i];

			if (k)
				memo_free(&k->last);
			free(k);
		}
		table_free(&o->keys);
		for (size_t i = 0; i < JOUT_RECENT; i++)
			memo_free(&o->recent[i]);
		free(o->small);
		json_decref(o->str);
		json_decref(o->num);
		o->str = o->num = NULL;
		o->buf = o->out = NULL;
		o->small = NULL;
		o->cap = o->ocap = 0;
		memset(o->front, 0, sizeof(o->front));
		o->lastkey = NULL;
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

/* S as jansson writes a JSON string, in o->buf, through one string value kept for the
 * document; invalid UTF-8 (which jansson refuses to hold) becomes null. */
static size_t dump_string(struct jout *o, const char *s)
{
	if (!o->str && !(o->str = json_string("")))
		fatal("out of memory building JSON");
	return dump_scalar(o, json_string_set(o->str, s) < 0 ? json_null() : o->str);
}

/* M holds S (N bytes) and its dump D (DLEN bytes). */
static void memo_set(struct jmemo *m, const char *s, size_t n, const char *d, size_t dlen)
{
	if (n + 1 > m->scap) {
		m->scap = n + 1 + n / 2;
		m->s = xreallocarray(m->s, m->scap, 1);
	}
	if (dlen > m->dcap) {
		m->dcap = dlen + dlen / 2;
		m->d = xreallocarray(m->d, m->dcap, 1);
	}
	memcpy(m->s, s, n + 1);
	memcpy(m->d, d, dlen);
	m->slen = n;
	m->dlen = dlen;
}

static bool memo_holds(const struct jmemo *m, const char *s)
{
	return m->s && m->s[0] == s[0] && strcmp(m->s, s) == 0;
}

/* S as a string value: its dump kept as the last value of K (NULL: none), or among
 * the strings last dumped, or dumped now by jansson. */
static void put_string(struct jout *o, struct jkey *k, const char *s)
{
	struct jmemo *m = NULL;

	if (k && memo_holds(&k->last, s)) {
		put(o, k->last.d, k->last.dlen);
		return;
	}
	for (size_t i = 0; i < JOUT_RECENT && !m; i++)
		if (memo_holds(&o->recent[i], s))
			m = &o->recent[i];
	if (!m) {
		size_t len = dump_string(o, s);

		m = &o->recent[o->nextrecent++ % JOUT_RECENT];
		memo_set(m, s, strlen(s), o->buf, len);
	}
	put(o, m->d, m->dlen);
	if (k)
		memo_set(&k->last, m->s, m->slen, m->d, m->dlen);
}

/* A singleton (null, true, false: I = 0, 1, 2) as jansson dumped it the first time. */
static void put_lit(struct jout *o, int i)
{
	static json_t *(*const make[3])(void) = { json_null, json_true, json_false };

	if (!o->lit[i][7]) {
		size_t len = dump_scalar(o, make[i]());

		if (len >= sizeof(o->lit[i]))
			fatal("cannot write JSON");
		memcpy(o->lit[i], o->buf, len);
		o->lit[i][7] = (char)len;
	}
	put(o, o->lit[i], (size_t)o->lit[i][7]);
}

/* The key K's entry, by its address first (a caller's keys are the same few strings,
 * checked by their text), then by its text; NULL when JOUT_KEYS are kept already. */
static struct jkey *find_key(struct jout *o, const char *key)
{
	uint64_t h = (uint64_t)(uintptr_t)key * UINT64_C(0x9e3779b97f4a7c15);
	struct jfront *f = &o->front[(h >> 56) % JOUT_FRONT], *end = o->front + JOUT_FRONT;
	struct jkey *k;
	size_t len, klen, sep = o->flags & JSON_COMPACT ? 1 : 2, pre = 0, skip = 0;
	int depth = -1;

	for (int i = 0; i < 4 && f->key && f->key != key; i++)
		f = f + 1 < end ? f + 1 : o->front;
	if (f->key == key && strcmp(key_text(f->k), key) == 0)
		return f->k;
	if (!(k = table_get(&o->keys, key)) && o->keys.n < JOUT_KEYS) {
		if (o->indent > 0 && (size_t)o->depth * (size_t)o->indent + 2 < sizeof(pad)) {
			pre = (size_t)o->depth * (size_t)o->indent + 2; /* ",\n" and the indentation */
			skip = 1;
		} else if (o->indent == 0) {
			pre = skip = sep; /* ", " or "," */
		}
		if (pre && o->depth > 0)
			depth = o->depth;
		else
			pre = skip = 0;
		len = dump_string(o, key);
		klen = strlen(key);
		k = xmalloc(sizeof(*k) + pre + len + sep + klen + 1);
		memset(&k->last, 0, sizeof(k->last));
		k->depth = depth;
		k->pre = pre;
		k->skip = skip;
		k->len = pre + len + sep;
		memcpy(k->bytes, o->indent > 0 ? pad : ", ", pre);
		memcpy(k->bytes + pre, o->buf, len);
		memcpy(k->bytes + pre + len, ": ", sep);
		memcpy(k->bytes + k->len, key, klen + 1);
		table_put(&o->keys, k);
	}
	f->key = k ? key : NULL;
	f->k = k;
	return k;
}

void jout_key(struct jout *o, const char *key)
{
	struct jkey *k = find_key(o, key);

	if (k && k->depth == o->depth && !o->keyed) {
		size_t skip = o->empty[o->depth - 1] ? k->skip : 0;

		/* the separator, the indentation and the key at once */
		put(o, k->bytes + skip, k->len - skip);
		o->empty[o->depth - 1] = false;
	} else if (k) {
		before_item(o);
		put(o, k->bytes + k->pre, k->len - k->pre);
	} else {
		before_item(o);
		put(o, o->buf, dump_string(o, key));
		if (o->flags & JSON_COMPACT)
			putch(o, ':');
		else
			put(o, ": ", 2);
	}
	o->lastkey = k;
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

/* KEY (NULL: an array item, or the last key's value) before a scalar; the key's entry
 * (NULL: none kept, or an array item). */
static struct jkey *scalar(struct jout *o, const char *key)
{
	struct jkey *k = NULL;

	if (key) {
		jout_key(o, key);
		k = o->lastkey;
	} else if (o->keyed) {
		k = o->lastkey;
	} else {
		before_item(o);
	}
	o->keyed = false;
	return k;
}

void jout_str(struct jout *o, const char *key, const char *s)
{
	struct jkey *k = scalar(o, key);

	if (s)
		put_string(o, k, s);
	else
		put_lit(o, 0);
}

void jout_int(struct jout *o, const char *key, int64_t v)
{
	size_t len;

	(void)scalar(o, key);
	if (v >= 0 && v < JOUT_SMALL && o->small && o->small[v][7]) {
		put(o, o->small[v], (size_t)o->small[v][7]);
		return;
	}
	if (!o->num && !(o->num = json_integer(0)))
		fatal("out of memory building JSON");
	json_integer_set(o->num, v);
	len = dump_scalar(o, o->num);
	put(o, o->buf, len);
	if (v >= 0 && v < JOUT_SMALL && len < sizeof(o->small[v])) {
		if (!o->small)
			o->small = xcalloc(JOUT_SMALL, sizeof(*o->small));
		memcpy(o->small[v], o->buf, len);
		o->small[v][7] = (char)len;
	}
}

void jout_bool(struct jout *o, const char *key, bool b)
{
	(void)scalar(o, key);
	put_lit(o, b ? 1 : 2);
}

void jout_null(struct jout *o, const char *key)
{
	(void)scalar(o, key);
	put_lit(o, 0);
}
