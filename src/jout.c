/* jout.c — JSON documents written as they are made (the framing by hand, each value
 * dumped by jansson, a record's object dumped by jansson at once), byte for byte what
 * json_dumpf writes for the whole document. */
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

/* jansson's output of a value nested DEPTH levels deep is its top-level output with
 * the indentation of DEPTH levels after each newline (a string never holds one): the
 * NEED bytes of o->buf copied a line at a time. */
static void put_nested(struct jout *o, size_t need)
{
	const char *p, *end;

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

/* The record: a value of the last record, where it was. The next record's value for the
 * same key (or array position) of the same container is set in it in place; a record
 * of another shape drops what differs and adds its own. Every slot's value is alive in
 * o->rec: a container dropped takes its slots out of the list with it. */
struct jslot {
	json_t *parent;  /* the container holding it */
	const char *key; /* its key (jansson's copy), NULL in an array */
	void *iter;      /* in an object: its member, for json_object_iter_set_new */
	size_t index;    /* in an array: its position */
	json_t *v;       /* its value (the parent's reference) */
	int level;       /* 1: a member of the record itself, 2: of a container in it, ... */
};

/* The level of the innermost container open in the record (0: the record itself). */
static int level(const struct jout *o)
{
	return o->depth - o->recdepth;
}

/* Take the slots from FROM that are at LEVEL or deeper (what one container holds, in
 * document order) out of the list; with UNLINK, also out of their containers. */
static void drop_slots(struct jout *o, size_t from, int lvl, bool unlink)
{
	size_t end = from;

	while (end < o->nslot && o->slot[end].level >= lvl)
		end++;
	if (unlink)
		for (size_t i = end; i-- > from;) {
			struct jslot *sl = &o->slot[i];

			if (sl->level == lvl &&
			    (sl->key ? json_object_del(sl->parent, sl->key) : json_array_remove(sl->parent, sl->index)))
				fatal("internal error: cannot drop a JSON value");
		}
	if (end == from)
		return;
	memmove(o->slot + from, o->slot + end, (o->nslot - end) * sizeof(*o->slot));
	o->nslot -= end - from;
}

/* The slot of the record's next value if the last record had the same value there;
 * else NULL, and what the last record had from here on in this container is dropped. */
static struct jslot *refill(struct jout *o)
{
	int l = level(o);
	json_t *parent = o->open[l];
	struct jslot *sl = o->cur < o->nslot ? &o->slot[o->cur] : NULL;

	if (json_is_object(parent) != (o->key != NULL))
		fatal("internal error: JSON key %s", o->key ? "in an array" : "missing");
	if (sl && sl->parent == parent &&
	    (o->key ? strcmp(sl->key, o->key) == 0 : sl->index == o->items[l]))
		return sl;
	drop_slots(o, o->cur, l + 1, true);
	return NULL;
}

/* The next value is in place: on to the one after it. */
static void advance(struct jout *o)
{
	o->cur++;
	o->items[level(o)]++;
	o->key = NULL;
}

/* V (a reference taken) in place of SL's value. */
static void replace(struct jout *o, struct jslot *sl, json_t *v)
{
	if (!v)
		fatal("out of memory building JSON");
	if (json_is_object(sl->v) || json_is_array(sl->v))
		drop_slots(o, (size_t)(sl - o->slot) + 1, sl->level + 1, false);
	if (sl->key ? json_object_iter_set_new(sl->parent, sl->iter, v) : json_array_set_new(sl->parent, sl->index, v))
		fatal("out of memory building JSON");
	sl->v = v;
}

/* V (a reference taken), the record's next value, new in its container. */
static void add(struct jout *o, json_t *v)
{
	int l = level(o);
	struct jslot sl = { .parent = o->open[l], .index = o->items[l], .v = v, .level = l + 1 };

	if (!v)
		fatal("out of memory building JSON");
	if (o->key) {
		if (json_object_get(sl.parent, o->key))
			fatal("internal error: JSON key %s twice", o->key);
		if (json_object_set_new(sl.parent, o->key, v) || !(sl.iter = json_object_iter_at(sl.parent, o->key)))
			fatal("cannot build JSON (key %s)", o->key);
		sl.key = json_object_iter_key(sl.iter);
	} else if (json_array_append_new(sl.parent, v)) {
		fatal("out of memory building JSON");
	}
	if (o->nslot == o->slotcap) {
		o->slotcap = o->slotcap ? 2 * o->slotcap : 32;
		o->slot = xreallocarray(o->slot, o->slotcap, sizeof(*o->slot));
	}
	memmove(o->slot + o->cur + 1, o->slot + o->cur, (o->nslot - o->cur) * sizeof(*o->slot));
	o->slot[o->cur] = sl;
	o->nslot++;
}

/* V (a reference taken) as the record's next value. */
static void rec_value(struct jout *o, json_t *v)
{
	struct jslot *sl = refill(o);

	if (sl)
		replace(o, sl, v);
	else
		add(o, v);
	advance(o);
}

/* A singleton (true, false, null) as the record's next value. */
static void rec_single(struct jout *o, json_t *v)
{
	struct jslot *sl = refill(o);

	if (!sl)
		add(o, v);
	else if (sl->v != v)
		replace(o, sl, v);
	advance(o);
}

/* S (NULL: null; not UTF-8: null, as jansson holds none) as the record's next value. */
static void rec_str(struct jout *o, const char *s)
{
	struct jslot *sl = refill(o);
	json_t *v;

	if (sl && s && json_is_string(sl->v)) {
		if (strcmp(json_string_value(sl->v), s) != 0 && json_string_set(sl->v, s) < 0)
			replace(o, sl, json_null());
	} else if (!sl || !json_is_null(sl->v) || s) {
		v = s ? json_string(s) : NULL;
		if (!v)
			v = json_null();
		if (sl)
			replace(o, sl, v);
		else
			add(o, v);
	}
	advance(o);
}

static void rec_int(struct jout *o, int64_t i)
{
	struct jslot *sl = refill(o);

	if (sl && json_is_integer(sl->v))
		json_integer_set(sl->v, i);
	else if (sl)
		replace(o, sl, json_integer(i));
	else
		add(o, json_integer(i));
	advance(o);
}

/* An object or an array ('{' or '[') opened as the record's next value. */
static void rec_open(struct jout *o, char c)
{
	struct jslot *sl = refill(o);
	json_t *v;

	if (o->depth >= JOUT_DEPTH)
		fatal("internal error: JSON nested too deep");
	if (sl && (c == '{' ? json_is_object(sl->v) : json_is_array(sl->v))) {
		v = sl->v;
	} else {
		v = c == '{' ? json_object() : json_array();
		if (sl)
			replace(o, sl, v);
		else
			add(o, v);
	}
	advance(o);
	o->depth++;
	o->open[level(o)] = v;
	o->items[level(o)] = 0;
}

/* Close the record's innermost container; the record itself is dumped and written. */
static void rec_close(struct jout *o, char c)
{
	int l = level(o);

	if (json_is_object(o->open[l]) != (c == '}'))
		fatal("internal error: JSON closed with the wrong bracket");
	drop_slots(o, o->cur, l + 1, true);
	o->depth--;
	if (l == 0) {
		o->recdepth = 0;
		o->cur = 0;
		put_nested(o, dump(o, o->rec, o->flags));
	}
}

void jout_record(struct jout *o)
{
	if (o->recdepth) {
		rec_open(o, '{');
		return;
	}
	if (o->depth >= JOUT_DEPTH)
		fatal("internal error: JSON nested too deep");
	before_item(o);
	if (!o->rec && !(o->rec = json_object()))
		fatal("out of memory building JSON");
	o->recdepth = ++o->depth;
	o->open[0] = o->rec;
	o->items[0] = 0;
	o->cur = 0;
	o->key = NULL;
}

void jout_open(struct jout *o, char c)
{
	if (o->recdepth) {
		rec_open(o, c);
		return;
	}
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
	if (o->recdepth) {
		rec_close(o, c);
		return;
	}
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
		json_decref(o->rec);
		free(o->slot);
		o->str = o->num = o->rec = NULL;
		o->buf = o->out = NULL;
		o->slot = NULL;
		o->cap = o->ocap = 0;
		o->nslot = o->slotcap = o->cur = 0;
	}
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
	if (o->recdepth) {
		o->key = key;
		return;
	}
	before_item(o);
	put_key(o, key);
	if (o->flags & JSON_COMPACT)
		putch(o, ':');
	else
		put(o, ": ", 2);
	o->keyed = true;
}

/* V is dumped into a buffer kept for the next one, then copied a line at a time. */
void jout_value(struct jout *o, json_t *v)
{
	size_t need;

	if (!v)
		fatal("out of memory building JSON");
	if (o->recdepth) {
		rec_value(o, v);
		return;
	}
	before_item(o);
	need = dump(o, v, o->flags | JSON_ENCODE_ANY);
	json_decref(v);
	put_nested(o, need);
}

void jout_set(struct jout *o, const char *key, json_t *v)
{
	jout_key(o, key);
	jout_value(o, v);
}

/* KEY (NULL: an array item, or the last key's value) before a scalar; false when the
 * scalar goes in the record, not out. */
static bool scalar(struct jout *o, const char *key)
{
	if (o->recdepth) {
		if (key)
			o->key = key;
		return false;
	}
	if (key)
		jout_key(o, key);
	else
		before_item(o);
	o->keyed = false;
	return true;
}

void jout_str(struct jout *o, const char *key, const char *s)
{
	if (!scalar(o, key))
		rec_str(o, s);
	else if (s)
		put_string(o, s);
	else
		put_dump(o, json_null());
}

void jout_int(struct jout *o, const char *key, int64_t v)
{
	if (!scalar(o, key)) {
		rec_int(o, v);
		return;
	}
	if (!o->num && !(o->num = json_integer(0)))
		fatal("out of memory building JSON");
	json_integer_set(o->num, v);
	put_dump(o, o->num);
}

void jout_bool(struct jout *o, const char *key, bool b)
{
	if (!scalar(o, key))
		rec_single(o, b ? json_true() : json_false());
	else
		put_dump(o, b ? json_true() : json_false());
}

void jout_null(struct jout *o, const char *key)
{
	if (!scalar(o, key))
		rec_single(o, json_null());
	else
		put_dump(o, json_null());
}
