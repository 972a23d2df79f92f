/* jout.c — JSON documents written as they are made (the framing by hand, each value by
 * jansson), byte for byte what json_dumpf writes for the whole document. */
#include "jout.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

void jout_init(struct jout *o, FILE *f, size_t flags)
{
	memset(o, 0, sizeof(*o));
	o->f = f;
	o->flags = flags;
	o->indent = (int)(flags & JSON_MAX_INDENT);
}

/* A newline and the indentation of DEPTH levels (jansson's dump_indent); without an
 * indent, the space after a separator unless compact. */
static void newline(struct jout *o, int depth, bool space)
{
	static const char spaces[] = "\n                                                                ";
	size_t n = (size_t)depth * (size_t)o->indent;

	if (o->indent > 0) {
		fputc('\n', o->f);
		for (; n > sizeof(spaces) - 2; n -= sizeof(spaces) - 2)
			fwrite(spaces + 1, 1, sizeof(spaces) - 2, o->f);
		fwrite(spaces + 1, 1, n, o->f);
	} else if (space && !(o->flags & JSON_COMPACT)) {
		fputc(' ', o->f);
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
		fputc(',', o->f);
	newline(o, o->depth, !o->empty[o->depth - 1]);
	o->empty[o->depth - 1] = false;
}

void jout_open(struct jout *o, char c)
{
	if (o->depth >= JOUT_DEPTH)
		fatal("internal error: JSON nested too deep");
	before_item(o);
	fputc(c, o->f);
	o->empty[o->depth++] = true;
}

void jout_close(struct jout *o, char c)
{
	if (o->depth == 0)
		fatal("internal error: JSON closed more than opened");
	o->depth--;
	if (!o->empty[o->depth])
		newline(o, o->depth, false);
	fputc(c, o->f);
	if (o->depth == 0) {
		free(o->buf);
		o->buf = NULL;
		o->cap = 0;
	}
}

void jout_key(struct jout *o, const char *key)
{
	json_t *k = json_string(key);

	before_item(o);
	if (!k || json_dumpf(k, o->f, JSON_ENCODE_ANY | (o->flags & JSON_ENSURE_ASCII)) != 0)
		fatal("cannot write JSON key '%s'", key);
	json_decref(k);
	fputs(o->flags & JSON_COMPACT ? ":" : ": ", o->f);
	o->keyed = true;
}

/* jansson's output of a value nested DEPTH levels deep is its top-level output with
 * the indentation of DEPTH levels after each newline (a string never holds one). The
 * value is dumped into a buffer kept for the next one, then written a line at a time. */
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
			fwrite(p, 1, (size_t)(end - p), o->f);
			break;
		}
		fwrite(p, 1, (size_t)(nl - p), o->f);
		newline(o, o->depth, false);
		p = nl + 1;
	}
}

void jout_set(struct jout *o, const char *key, json_t *v)
{
	jout_key(o, key);
	jout_value(o, v);
}
