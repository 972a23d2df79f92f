/* jout.h — a JSON document written as it is made: the framing (objects, arrays, keys)
 * written directly, each value dumped by jansson — one built and freed at once
 * (jout_value), or a scalar set in a jansson value kept for the document (jout_str,
 * jout_int, jout_bool, jout_null) — so a document of a million steps needs the memory of
 * one step. What jansson dumped is kept for the same value's next use (each key, the
 * last string each key had, a few recent strings, small integers, true, false, null):
 * a document repeats them in every step. The bytes are those json_dumpf would write for
 * the whole document with the same flags. */
#ifndef ORCH_JOUT_H
#define ORCH_JOUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "table.h"

#define JOUT_DEPTH 16
#define JOUT_KEYS 256 /* keys whose dump is kept for their next use */
#define JOUT_FRONT 256 /* keys found by their address before the table */
#define JOUT_RECENT 4 /* strings last dumped, kept with their dumps */
#define JOUT_SMALL 1024 /* integers 0 .. JOUT_SMALL-1 kept as dumped */

struct jkey;
struct jmemo {
	char *s;    /* a string dumped (NULL: none yet), slen bytes */
	char *d;    /* its dump, dlen bytes */
	size_t slen, dlen, scap, dcap;
};

struct jout {
	FILE *f;
	size_t flags;  /* jansson's dump flags; the indent comes from JSON_INDENT */
	int indent;    /* spaces per level */
	int depth;     /* open containers */
	bool empty[JOUT_DEPTH]; /* nothing written in the container at this depth yet */
	bool keyed;    /* a key was written: the next value is its value */
	char *buf;     /* the last value's dump, kept for the next (freed at the end) */
	size_t cap;
	char *out;     /* output not yet written to F, written in blocks of 64 KiB */
	json_t *str, *num; /* the scalars jout_str and jout_int set and dump, kept for the next */
	struct table keys; /* key -> its dump (struct jkey), up to JOUT_KEYS of them */
	size_t olen, ocap;
	struct jfront { const char *key; struct jkey *k; } front[JOUT_FRONT]; /* keys by address */
	struct jkey *lastkey; /* the key just written, when kept: its value's memo */
	struct jmemo recent[JOUT_RECENT]; /* strings last dumped through jansson */
	unsigned nextrecent;  /* the one to replace next */
	char (*small)[8];     /* the dumps of 0 .. JOUT_SMALL-1, their length in [7] (0: none yet) */
	char lit[3][8];       /* the dumps of null, true, false, the same way */
};

/* Start a document on F, dumped with jansson's FLAGS. Nothing else may write to F until
 * the outermost container is closed (the output is written in blocks). */
void jout_init(struct jout *o, FILE *f, size_t flags);
/* Open an object or an array ('{' or '['): as an array item, or as the last key's value. */
void jout_open(struct jout *o, char c);
/* Close the innermost container ('}' or ']'); the outermost ends the document and
 * writes what is left of it. */
void jout_close(struct jout *o, char c);
/* A key of the open object; its value follows (jout_value, or jout_open). */
void jout_key(struct jout *o, const char *key);
/* Write V (a reference taken) as an array item or the last key's value, and free it. */
void jout_value(struct jout *o, json_t *v);
/* jout_key and jout_value. */
void jout_set(struct jout *o, const char *key, json_t *v);

/* Scalars, as the value of KEY (NULL: an array item, or the value of the last key). */
/* A string (NULL: null); one that is not valid UTF-8 (jansson holds none) is null. */
void jout_str(struct jout *o, const char *key, const char *s);
void jout_int(struct jout *o, const char *key, int64_t v);
void jout_bool(struct jout *o, const char *key, bool b);
void jout_null(struct jout *o, const char *key);

#endif
