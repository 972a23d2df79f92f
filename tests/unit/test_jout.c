/* Unit tests of jout.c: a document written piece by piece is byte for byte what
 * json_dumpf writes for the whole document, with and without indentation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "jout.h"

/* The same document both ways: whole (json_dumpf) and streamed (jout), then compared. */
static void check_flags(size_t flags)
{
	char *whole = NULL, *streamed = NULL;
	size_t wlen = 0, slen = 0;
	FILE *w = open_memstream(&whole, &wlen), *s = open_memstream(&streamed, &slen);
	json_t *doc = json_object(), *steps = json_array(), *empty = json_array();
	struct jout o;

	assert_non_null(w);
	assert_non_null(s);
	/* whole */
	json_object_set_new(doc, "plan", json_string("p \"quoted\"\n\xc3\xa9"));
	json_object_set_new(doc, "none", json_null());
	json_object_set_new(doc, "ratio", json_real(0.125));
	for (int i = 0; i < 3; i++) {
		json_t *st = json_object(), *last = json_object();

		json_object_set_new(st, "name", json_sprintf("s%d", i));
		json_object_set_new(st, "n", json_integer(i));
		json_object_set_new(last, "event", json_string("ok"));
		json_object_set_new(last, "tags", i ? json_pack("[ss]", "a", "b") : json_array());
		json_object_set_new(st, "last", last);
		json_array_append_new(steps, st);
	}
	json_object_set_new(doc, "steps", steps);
	json_object_set_new(doc, "empty", empty);
	json_object_set_new(doc, "obj", json_object());
	json_dumpf(doc, w, flags);
	fclose(w);
	/* streamed: the framing by hand, each step its own value */
	jout_init(&o, s, flags);
	jout_open(&o, '{');
	jout_set(&o, "plan", json_string("p \"quoted\"\n\xc3\xa9"));
	jout_set(&o, "none", json_null());
	jout_set(&o, "ratio", json_real(0.125));
	jout_key(&o, "steps");
	jout_open(&o, '[');
	for (size_t i = 0; i < json_array_size(steps); i++)
		jout_value(&o, json_incref(json_array_get(steps, i)));
	jout_close(&o, ']');
	jout_key(&o, "empty");
	jout_open(&o, '[');
	jout_close(&o, ']');
	jout_key(&o, "obj");
	jout_open(&o, '{');
	jout_close(&o, '}');
	jout_close(&o, '}');
	fclose(s);
	assert_string_equal(streamed, whole);
	json_decref(doc);
	free(whole);
	free(streamed);
}

static void test_indented(void **state)
{
	(void)state;
	check_flags(JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
	check_flags(JSON_INDENT(4) | JSON_PRESERVE_ORDER);
}

static void test_flat(void **state)
{
	(void)state;
	check_flags(JSON_PRESERVE_ORDER);
	check_flags(JSON_COMPACT | JSON_PRESERVE_ORDER);
	check_flags(JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
}

/* DOC dumped whole by jansson with FLAGS into W (*WHOLE) is byte for byte what was
 * streamed into S (*STREAMED); both freed. */
static void same_bytes(json_t *doc, size_t flags, FILE *w, char **whole, FILE *s, char **streamed)
{
	json_dumpf(doc, w, flags);
	fclose(w);
	fclose(s);
	assert_string_equal(*streamed, *whole);
	json_decref(doc);
	free(*whole);
	free(*streamed);
}

/* The scalars jout writes itself are the bytes jansson dumps for them: every single
 * byte as a string (those jansson escapes, and non-ASCII, go to jansson), longer
 * strings, integers at both ends, booleans and null, in an object and an array. */
static void check_scalars(size_t flags)
{
	static const char *strs[] = { "", "plain ascii 0123", "a/b", "tab\there", "quote\"", "back\\slash",
	                              "\xc3\xa9t\xc3\xa9", "\xe2\x9c\x93 ok", "del\x7f", "2026-12-02T06:07:57.371Z" };
	static const int64_t ints[] = { 0, 1, -1, 9, 10, 1234567890123LL, INT64_MAX, INT64_MIN };
	char *whole = NULL, *streamed = NULL;
	size_t wlen = 0, slen = 0;
	FILE *w = open_memstream(&whole, &wlen), *s = open_memstream(&streamed, &slen);
	json_t *doc = json_object(), *a = json_array(), *bytes = json_array();
	struct jout o;

	assert_non_null(w);
	assert_non_null(s);
	jout_init(&o, s, flags);
	jout_open(&o, '{');
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		char key[16];

		snprintf(key, sizeof(key), "s%zu", i);
		json_object_set_new(doc, key, json_string(strs[i]));
		jout_str(&o, key, strs[i]);
	}
	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		json_array_append_new(a, json_integer(ints[i]));
	}
	json_object_set_new(doc, "ints", a);
	jout_key(&o, "ints");
	jout_open(&o, '[');
	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++)
		jout_int(&o, NULL, ints[i]);
	jout_close(&o, ']');
	json_object_set_new(doc, "t", json_true());
	jout_bool(&o, "t", true);
	json_object_set_new(doc, "f", json_false());
	jout_bool(&o, "f", false);
	json_object_set_new(doc, "n", json_null());
	jout_null(&o, "n");
	json_object_set_new(doc, "nul", json_null());
	jout_str(&o, "nul", NULL);
	/* every byte but NUL, alone (a lone byte of 0x80 or more is not UTF-8: null) */
	jout_key(&o, "bytes");
	jout_open(&o, '[');
	for (int c = 1; c < 256; c++) {
		char one[2] = { (char)c, 0 };
		json_t *v = json_string(one);

		json_array_append_new(bytes, v ? v : json_null());
		jout_str(&o, NULL, one);
	}
	jout_close(&o, ']');
	json_object_set_new(doc, "bytes", bytes);
	jout_close(&o, '}');
	same_bytes(doc, flags, w, &whole, s, &streamed);
}

static void test_scalars(void **state)
{
	(void)state;
	check_scalars(JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	check_scalars(JSON_PRESERVE_ORDER);
	check_scalars(JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
	check_scalars(JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ESCAPE_SLASH);
}

/* Step I of a list, both ways: streamed through O, and built whole into A. The values
 * repeat and change from one step to the next (members there or not, an array growing
 * and shrinking, null in place of an object or a string, a string that is not UTF-8,
 * a number in place of a string, the same string under another key, small and large
 * integers), so every dump jout keeps for a next use meets a value it must not fit. */
static void put_step(struct jout *o, json_t *a, int i)
{
	static const char *titles[] = { NULL, "plain", "\xff not UTF-8", "p \"quoted\"\n\xc3\xa9", "a/b" };
	const char *title = titles[i % 5];
	char name[16], one[2] = { (char)(i % 255 + 1), 0 };
	json_t *r = json_object(), *v;

	snprintf(name, sizeof(name), "s%d", i);
	jout_open(o, '{');
	jout_str(o, "name", name);
	json_object_set_new(r, "name", json_string(name));
	jout_str(o, "title", title);
	v = title ? json_string(title) : NULL;
	json_object_set_new(r, "title", v ? v : json_null());
	jout_str(o, "byte", one);
	v = json_string(one);
	json_object_set_new(r, "byte", v ? v : json_null());
	if (i % 4 == 1) {
		jout_str(o, "database", "applied");
		jout_null(o, "disagreement");
		json_object_set_new(r, "database", json_string("applied"));
		json_object_set_new(r, "disagreement", json_null());
	}
	if (i % 7 == 3) {
		jout_str(o, "n", "seven");
		json_object_set_new(r, "n", json_string("seven"));
	} else if (i % 7 == 0) {
		jout_null(o, "n");
		json_object_set_new(r, "n", json_null());
	} else {
		jout_int(o, "n", (int64_t)i * 1000 - 5);
		json_object_set_new(r, "n", json_integer((json_int_t)i * 1000 - 5));
	}
	jout_int(o, "edge", i % 3 == 0 ? 1023 : i % 3 == 1 ? 1024 : -1);
	json_object_set_new(r, "edge", json_integer(i % 3 == 0 ? 1023 : i % 3 == 1 ? 1024 : -1));
	jout_bool(o, "done", i % 2);
	json_object_set_new(r, "done", json_boolean(i % 2));
	jout_key(o, "needs");
	jout_open(o, '[');
	v = json_array();
	for (int j = 0; j < i % 4; j++) {
		const char *s = j == 2 && i % 8 == 3 ? "\xc3" : titles[(i + j) % 4 + 1];
		json_t *e = json_string(s);

		jout_str(o, NULL, s);
		json_array_append_new(v, e ? e : json_null());
	}
	if (i % 9 == 4) {
		jout_int(o, NULL, i);
		json_array_append_new(v, json_integer(i));
	}
	jout_close(o, ']');
	json_object_set_new(r, "needs", v);
	if (i % 6 == 2) {
		jout_set(o, "extra", json_pack("{s:i,s:[s,n]}", "k", i, "l", "x"));
		json_object_set_new(r, "extra", json_pack("{s:i,s:[s,n]}", "k", i, "l", "x"));
	}
	jout_key(o, "last");
	if (i % 3 == 1) {
		jout_null(o, NULL);
		json_object_set_new(r, "last", json_null());
	} else {
		json_t *l = json_object();

		jout_open(o, '{');
		jout_str(o, "event", i % 2 ? "ok" : "fail");
		json_object_set_new(l, "event", json_string(i % 2 ? "ok" : "fail"));
		if (i % 5 == 2) {
			jout_key(o, "inner");
			jout_open(o, '{');
			jout_close(o, '}');
			json_object_set_new(l, "inner", json_object());
			jout_key(o, "inner2");
			jout_open(o, '{');
			jout_int(o, "x", i);
			jout_close(o, '}');
			json_object_set_new(l, "inner2", json_pack("{s:i}", "x", i));
		}
		jout_int(o, "attempt", i);
		json_object_set_new(l, "attempt", json_integer(i));
		jout_close(o, '}');
		json_object_set_new(r, "last", l);
	}
	jout_str(o, "tail", "end");
	json_object_set_new(r, "tail", json_string("end"));
	jout_close(o, '}');
	json_array_append_new(a, r);
}

/* Steps, in two lists of their own shapes and in one beside other objects, are byte
 * for byte the dump of the whole document. */
static void check_steps(size_t flags)
{
	char *whole = NULL, *streamed = NULL;
	size_t wlen = 0, slen = 0;
	FILE *w = open_memstream(&whole, &wlen), *s = open_memstream(&streamed, &slen);
	json_t *doc = json_object(), *steps = json_array(), *failed = json_array(), *mixed = json_array();
	struct jout o;

	assert_non_null(w);
	assert_non_null(s);
	jout_init(&o, s, flags);
	jout_open(&o, '{');
	jout_key(&o, "steps");
	jout_open(&o, '[');
	for (int i = 0; i < 600; i++)
		put_step(&o, steps, i);
	jout_close(&o, ']');
	json_object_set_new(doc, "steps", steps);
	jout_key(&o, "failed");
	jout_open(&o, '[');
	for (int i = 0; i < 3; i++) {
		jout_open(&o, '{');
		jout_str(&o, "name", "f");
		jout_int(&o, "exit_status", i);
		jout_str(&o, "event", "ok"); /* a key first written deeper */
		jout_close(&o, '}');
		json_array_append_new(failed, json_pack("{s:s,s:i,s:s}", "name", "f", "exit_status", i, "event", "ok"));
	}
	jout_close(&o, ']');
	json_object_set_new(doc, "failed", failed);
	jout_key(&o, "empty");
	jout_open(&o, '{');
	jout_close(&o, '}');
	json_object_set_new(doc, "empty", json_object());
	jout_key(&o, "mixed");
	jout_open(&o, '[');
	for (int i = 0; i < 40; i++) {
		if (i % 3 == 0) {
			jout_open(&o, '{');
			jout_str(&o, "plain", "yes");
			jout_close(&o, '}');
			json_array_append_new(mixed, json_pack("{s:s}", "plain", "yes"));
		} else {
			put_step(&o, mixed, i * 7);
		}
	}
	jout_close(&o, ']');
	json_object_set_new(doc, "mixed", mixed);
	jout_close(&o, '}');
	same_bytes(doc, flags, w, &whole, s, &streamed);
}

static void test_steps(void **state)
{
	(void)state;
	check_steps(JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
	check_steps(JSON_INDENT(4) | JSON_PRESERVE_ORDER);
	check_steps(JSON_PRESERVE_ORDER);
	check_steps(JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
	check_steps(JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ESCAPE_SLASH);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_indented),
		cmocka_unit_test(test_flat),
		cmocka_unit_test(test_scalars),
		cmocka_unit_test(test_steps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
