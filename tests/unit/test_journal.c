/* Unit tests of journal.c: append and load round trip, torn last lines, damaged lines
 * (exit 4, file unchanged), the lock, compaction and reset. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "orchtest.h"
#include "os.h"

static const char *plan2 = "[step a]\nrun = echo a\n[step b]\nneeds = a\nrun = echo b\n";

static void test_round_trip(void **state)
{
	char *dir = test_tmpdir(), *text;
	struct graph *g = test_plan(dir, plan2);
	struct journal *j = test_open(g);
	struct node *a = test_node(g, "a"), *b = test_node(g, "b");
	struct outcome o = {.attempt = 2, .exit_status = 3, .start_ms = 1764133920123, .duration_ms = 1500,
	                    .log = ".orch/logs/a.2.log", .message = "exit status 3"};
	const struct jevent *e;
	char run[64];
	size_t len;

	(void)state;
	assert_int_equal(state_of(a), ST_NOTRUN);
	assert_string_equal(state_reason(a), "never run");
	state_refresh(a);
	assert_int_equal(test_append(j, EV_START, a, &o), 0);
	assert_int_equal(test_append(j, EV_FAIL, a, &o), 0);
	snprintf(run, sizeof(run), "%s", journal_runid(j));
	test_close(g, j);

	j = test_open(g);
	assert_int_equal(journal_count(j), 2);
	e = journal_event(j, 1);
	assert_int_equal(e->kind, EV_FAIL);
	assert_ptr_equal(e->node, a);
	assert_string_equal(event_name(e), "a");
	assert_string_equal(e->x->run, run);
	assert_int_equal(e->attempt, 2);
	assert_int_equal(e->exit_status, 3);
	assert_int_equal(e->start_ms, 1764133920123);
	assert_int_equal(e->duration_ms, 1500);
	assert_string_equal(e->x->log, ".orch/logs/a.2.log");
	assert_string_equal(e->x->message, "exit status 3");
	assert_int_equal(e->line, 2);
	assert_true(e->hassig);
	assert_int_equal(state_of(a), ST_FAILED);
	assert_string_equal(state_reason(a), "failed (exit 3)");
	assert_false(state_satisfied(a));
	test_run_all(g, j);
	test_close(g, j);

	j = test_open(g);
	assert_int_equal(journal_count(j), 6);
	assert_int_equal(state_of(a), ST_DONE);
	assert_int_equal(state_of(b), ST_DONE);
	assert_true(state_satisfied(b));
	test_close(g, j);

	/* every line is one JSON object with the format version first and its checksum last */
	text = test_read(dir, ".orch/journal.jsonl", &len);
	assert_non_null(text);
	assert_int_equal(strncmp(text, "{\"v\":2,\"t\":\"", 12), 0);
	assert_int_equal(strncmp(strchr(text, '\n') - 25, ",\"ck\":\"", 7), 0);
	assert_non_null(strstr(text, "\"ev\":\"ok\",\"step\":\"b\""));
	assert_non_null(strstr(text, "\"deps\":{\"a\":\""));
	assert_int_equal(text[len - 1], '\n');
	free(text);
	test_rmrf(dir);
	free(dir);
}

/* Run a plan once, then return the journal's text (and leave it in place). */
static char *one_run(const char *dir, struct graph *g, size_t *len)
{
	struct journal *j = test_open(g);

	test_run_all(g, j);
	test_close(g, j);
	return test_read(dir, ".orch/journal.jsonl", len);
}

static void append_raw(const char *dir, const char *bytes)
{
	char *p = xasprintf("%s/.orch/journal.jsonl", dir);
	int fd = open(p, O_WRONLY | O_APPEND);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, bytes, strlen(bytes)), (ssize_t)strlen(bytes));
	close(fd);
	free(p);
}

static void test_torn_last_line(void **state)
{
	char *dir = test_tmpdir(), *before, *after;
	struct graph *g = test_plan(dir, plan2);
	struct journal *j;
	size_t len, len2;

	(void)state;
	before = one_run(dir, g, &len);
	append_raw(dir, "{\"v\":1,\"t\":\"2026-11-26T05:12:00.123Z\",\"ev\":\"ok\",\"st");
	j = test_open(g);
	assert_int_equal(journal_count(j), 4);
	assert_int_equal(state_of(test_node(g, "b")), ST_DONE);
	/* cut off before the next append */
	after = test_read(dir, ".orch/journal.jsonl", &len2);
	assert_int_equal(len2, len);
	assert_memory_equal(after, before, len);
	free(after);
	assert_int_equal(test_append(j, EV_FORCE, test_node(g, "b"), NULL), 0);
	test_close(g, j);
	j = test_open(g);
	assert_int_equal(journal_count(j), 5);
	assert_int_equal(state_of(test_node(g, "b")), ST_NOTRUN);
	assert_string_equal(state_reason(test_node(g, "b")), "forced");
	test_close(g, j);

	/* a crash that left zeros leaves no newline either: torn */
	free(before);
	before = test_read(dir, ".orch/journal.jsonl", &len);
	append_raw(dir, "\0\0\0");
	j = test_open(g);
	assert_int_equal(journal_count(j), 5);
	test_close(g, j);
	after = test_read(dir, ".orch/journal.jsonl", &len2);
	assert_int_equal(len2, len);
	free(after);

	/* a complete last line that does not read is damage, not a torn write: exit 4, the
	 * file untouched */
	append_raw(dir, "{\"v\":1,\"ev\":\n");
	j = NULL;
	assert_int_equal(journal_try_open(g, JOURNAL_LOCK, &j), EXIT_JOURNAL);
	assert_null(j);
	after = test_read(dir, ".orch/journal.jsonl", &len2);
	assert_int_equal(len2, len + strlen("{\"v\":1,\"ev\":\n"));
	free(after);
	free(before);
	test_rmrf(dir);
	free(dir);
}

static void test_damaged_middle_line(void **state)
{
	static const char *bad[] = {
		"{\"v\":1,\"t\":\"2026-11-26T05:12:00.123Z\",\"ev\":\"ok\",\"st\n",
		"garbage\n",
		"{\"v\":3,\"t\":\"2026-11-26T05:12:00.123Z\",\"ev\":\"ok\",\"step\":\"a\"}\n",
		"{\"v\":2,\"t\":\"2026-11-26T05:12:00.123Z\",\"ev\":\"ok\",\"step\":\"a\"}\n",
		"{\"v\":1,\"t\":\"yesterday\",\"ev\":\"ok\",\"step\":\"a\"}\n",
		"{\"v\":1,\"t\":\"2026-11-26T05:12:00.123Z\",\"ev\":\"exploded\",\"step\":\"a\"}\n",
		"{\"v\":1,\"t\":\"2026-11-26T05:12:00.123Z\",\"ev\":\"ok\"}\n",
		"{\"v\":1,\"t\":\"2026-11-26T05:12:00.123Z\",\"ev\":\"ok\",\"step\":\"a\",\"sig\":\"xyz\"}\n",
		"\n",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *dir = test_tmpdir(), *before, *after;
		struct graph *g = test_plan(dir, plan2);
		struct journal *j = NULL;
		size_t len, len2;

		free(one_run(dir, g, &len));
		append_raw(dir, bad[i]);
		append_raw(dir, "{\"v\":1,\"t\":\"2026-11-26T05:12:00.123Z\",\"ev\":\"force\",\"step\":\"a\"}\n");
		append_raw(dir, "{\"v\":1,\"t\":\"2026-11-26T05:12:00.123Z\",\"ev\":\"torn");
		before = test_read(dir, ".orch/journal.jsonl", &len);
		assert_int_equal(journal_try_open(g, JOURNAL_LOCK | JOURNAL_CREATE, &j), EXIT_JOURNAL);
		assert_null(j);
		assert_int_equal(journal_try_open(g, 0, &j), EXIT_JOURNAL);
		/* byte for byte unchanged, torn last line included */
		after = test_read(dir, ".orch/journal.jsonl", &len2);
		assert_int_equal(len, len2);
		assert_memory_equal(before, after, len);
		/* and the lock was released */
		assert_int_equal(journal_try_open(g, JOURNAL_LOCK, &j), EXIT_JOURNAL);
		free(before);
		free(after);
		test_rmrf(dir);
		free(dir);
	}
}

static void test_lock(void **state)
{
	char *dir = test_tmpdir(), *pid;
	struct graph *g = test_plan(dir, plan2);
	struct journal *j1 = NULL, *j2 = NULL, *r = NULL;

	(void)state;
	assert_int_equal(journal_try_open(g, JOURNAL_LOCK | JOURNAL_CREATE, &j1), 0);
	assert_true(journal_locked(j1));
	pid = test_read(dir, ".orch/lock", NULL);
	assert_int_equal(atol(pid), (long)getpid());
	free(pid);
	assert_int_equal(journal_try_open(g, JOURNAL_LOCK | JOURNAL_CREATE, &j2), EXIT_LOCKED);
	assert_null(j2);
	/* readers need no lock, and cannot write */
	assert_int_equal(journal_try_open(g, 0, &r), 0);
	assert_non_null(r);
	assert_false(journal_locked(r));
	state_load(g, r);
	assert_int_equal(test_append(r, EV_SKIP, test_node(g, "a"), NULL), -1);
	journal_close(r);
	journal_close(j1);
	assert_int_equal(journal_try_open(g, JOURNAL_LOCK, &j2), 0);
	journal_close(j2);
	state_free(g);
	test_rmrf(dir);
	free(dir);
}

static void test_no_journal(void **state)
{
	char *dir = test_tmpdir(), *p;
	struct graph *g = test_plan(dir, plan2);
	struct journal *j = (struct journal *)1;
	struct stat st;

	(void)state;
	assert_int_equal(journal_try_open(g, JOURNAL_LOCK, &j), 0);
	assert_null(j);
	p = xasprintf("%s/.orch", dir);
	assert_int_equal(stat(p, &st), -1);
	free(p);
	state_load(g, NULL);
	assert_int_equal(state_of(test_node(g, "b")), ST_NOTRUN);
	assert_int_equal(strlen(state_signature(test_node(g, "b"))), 32);
	state_free(g);
	test_rmrf(dir);
	free(dir);
}

static void test_compact_and_reset(void **state)
{
	char *dir = test_tmpdir(), *text, *sig;
	struct graph *g = test_plan(dir, "[step a]\nrun = echo a\n[step b]\nneeds = a\nrun = echo b\n"
	                                  "[step c]\nrun = echo c\n[milestone M]\nneeds = a\n");
	struct journal *j = test_open(g);
	struct node *a = test_node(g, "a"), *c = test_node(g, "c"), *m = test_node(g, "M");
	size_t len;
	int n;

	(void)state;
	test_run_all(g, j);
	assert_int_equal(test_append(j, EV_MILESTONE, m, NULL), 0);
	for (int i = 0; i < 50; i++) {
		struct outcome o = {.attempt = 1, .exit_status = 1};

		assert_int_equal(test_append(j, EV_START, a, &o), 0);
		assert_int_equal(test_append(j, EV_OK, a, &o), 0);
		assert_int_equal(test_append(j, EV_START, c, &o), 0);
		assert_int_equal(test_append(j, EV_FAIL, c, &o), 0);
	}
	assert_int_equal(test_append(j, EV_START, c, NULL), 0);
	assert_int_equal(test_compact(j), 0);
	/* a: its last ok; b: its ok; c: its ok, its last fail and the start after; M */
	assert_int_equal(journal_count(j), 6);
	sig = xstrdup(state_signature(a));
	test_close(g, j);
	j = test_open(g);
	assert_int_equal(journal_count(j), 6);
	assert_int_equal(state_of(a), ST_DONE);
	assert_int_equal(state_of(test_node(g, "b")), ST_DONE);
	assert_int_equal(state_of(c), ST_INTERRUPTED);
	assert_int_equal(state_of(m), ST_DONE);
	assert_string_equal(state_signature(a), sig);

	n = journal_reset(j);
	assert_int_equal(n, 1);
	assert_int_equal(journal_count(j), 1);
	assert_int_equal(journal_event(j, 0)->kind, EV_RESET);
	test_close(g, j);
	text = test_read(dir, ".orch/journal.jsonl.1", &len);
	assert_non_null(text);
	assert_int_equal(len > 0 && text[len - 1] == '\n', 1);
	free(text);
	j = test_open(g);
	assert_int_equal(state_of(a), ST_NOTRUN);
	assert_int_equal(journal_reset(j), 2);
	test_close(g, j);
	free(sig);
	test_rmrf(dir);
	free(dir);
}

/* Copy every event of J (the fields that matter) for comparison. */
static struct jevent *snapshot(struct journal *j, size_t *n)
{
	struct jevent *v = xcalloc(journal_count(j), sizeof(*v));

	*n = journal_count(j);
	for (size_t i = 0; i < *n; i++)
		v[i] = *journal_event(j, i);
	return v;
}

static void same_events(struct journal *j, const struct jevent *v, size_t n)
{
	assert_int_equal(journal_count(j), n);
	for (size_t i = 0; i < n; i++) {
		const struct jevent *e = journal_event(j, i);

		assert_int_equal(e->kind, v[i].kind);
		assert_ptr_equal(e->node, v[i].node);
		assert_string_equal(event_name(e), v[i].node ? v[i].node->name : ""); /* v[i].x went with its journal */
		assert_int_equal(e->hassig, v[i].hassig);
		assert_true(hash128_eq(e->sig, v[i].sig));
		assert_int_equal(e->time_ms, v[i].time_ms);
		assert_int_equal(e->start_ms, v[i].start_ms);
		assert_int_equal(e->duration_ms, v[i].duration_ms);
		assert_int_equal(e->attempt, v[i].attempt);
		assert_int_equal(e->exit_status, v[i].exit_status);
		assert_int_equal(e->line, v[i].line);
		assert_int_equal(e->off, v[i].off);
		assert_int_equal(e->len, v[i].len);
	}
}

/* A string longer than one read of the index (256 KiB) comes back whole from it. */
static void test_index_long_string(void **state)
{
	char *dir = test_tmpdir(), *idx, *big = xmalloc(300001);
	struct graph *g = test_plan(dir, plan2);
	struct journal *j = test_open(g);
	struct node *a = test_node(g, "a");
	struct outcome o = {.attempt = 1, .exit_status = 1, .message = big};
	struct stat st, st2;

	(void)state;
	memset(big, 'm', 300000);
	big[300000] = '\0';
	assert_int_equal(test_append(j, EV_START, a, NULL), 0);
	assert_int_equal(test_append(j, EV_FAIL, a, &o), 0);
	assert_int_equal(test_append(j, EV_START, a, NULL), 0);
	test_close(g, j);
	idx = xasprintf("%s/.orch/journal.idx", dir);
	assert_int_equal(stat(idx, &st), 0);
	assert_true(st.st_size > 300000);
	j = test_open(g);
	assert_int_equal(journal_count(j), 3);
	assert_string_equal(journal_event(j, 1)->x->message, big);
	assert_null(journal_event(j, 2)->x->message);
	assert_int_equal(state_of(a), ST_INTERRUPTED);
	test_close(g, j);
	/* read from the index: a stale one would have been parsed around and written again */
	assert_int_equal(stat(idx, &st2), 0);
	assert_int_equal(st2.st_ino, st.st_ino);
	free(idx);
	free(big);
	test_rmrf(dir);
	free(dir);
}

/* What only some events say (a start's process, who asked, a component) comes back the
 * same from a full parse and from the index; an event that says none of it shares the
 * one empty extra. */
/* The extras test_extras appended; B_GONE: read by a plan without step b. */
static void check_extras(struct journal *j, bool b_gone)
{
	const struct jextra *x;

	assert_int_equal(journal_count(j), 3);
	assert_string_equal(event_name(journal_event(j, 0)), "a");
	assert_null(journal_event(j, 0)->x->name);
	assert_string_equal(event_name(journal_event(j, 2)), "b");
	assert_true(b_gone ? journal_event(j, 2)->node == NULL : journal_event(j, 2)->node != NULL);
	assert_true(b_gone ? journal_event(j, 2)->x->name != NULL : journal_event(j, 2)->x->name == NULL);
	x = journal_event(j, 0)->x;
	assert_int_equal(x->pgid, 4242);
	assert_int_equal(x->pstart, 77);
	assert_string_equal(x->boot, "b00t-id");
	assert_null(x->by);
	assert_null(x->component);
	x = journal_event(j, 1)->x; /* its message, and the start's run and author shared */
	assert_int_equal(x->pgid, 0);
	assert_null(x->boot);
	assert_int_equal(strlen(x->message), 300000);
	assert_ptr_equal(x->run, journal_event(j, 0)->x->run);
	assert_ptr_equal(x->author, journal_event(j, 0)->x->author);
	x = journal_event(j, 2)->x;
	assert_int_equal(x->pgid, 0);
	assert_null(x->boot);
	assert_string_equal(x->by, "ann@host");
	assert_string_equal(x->component, "api");
}

static void test_extras(void **state)
{
	char *dir = test_tmpdir(), *idx, *big = xmalloc(300001);
	struct graph *g = test_plan(dir, plan2), *gone;
	struct journal *j = test_open(g);
	struct node *a = test_node(g, "a"), *b = test_node(g, "b");
	struct outcome start = {.attempt = 1, .exit_status = -1, .pgid = 4242, .pstart = 77, .boot = "b00t-id"};
	struct outcome fail = {.attempt = 1, .exit_status = 2, .message = big}; /* an index is worth writing */
	struct outcome skip = {.exit_status = -1, .by = "ann@host", .component = "api"};
	struct stat st, st2;

	(void)state;
	memset(big, 'm', 300000);
	big[300000] = '\0';
	assert_int_equal(test_append(j, EV_START, a, &start), 0);
	assert_int_equal(test_append(j, EV_FAIL, a, &fail), 0);
	assert_int_equal(test_append(j, EV_SKIP, b, &skip), 0);
	check_extras(j, false); /* as appended */
	test_close(g, j);
	idx = xasprintf("%s/.orch/journal.idx", dir);
	assert_int_equal(stat(idx, &st), 0);
	j = test_open(g); /* from the index */
	check_extras(j, false);
	test_close(g, j);
	assert_int_equal(stat(idx, &st2), 0);
	assert_int_equal(st2.st_ino, st.st_ino);
	/* a plan whose step b is gone: its events keep the name they recorded */
	gone = test_plan(dir, "[step a]\nrun = echo a\n");
	j = test_open(gone); /* from the index */
	check_extras(j, true);
	test_close(gone, j);
	assert_int_equal(unlink(idx), 0);
	j = test_open(g); /* parsed */
	check_extras(j, false);
	test_close(g, j);
	assert_int_equal(unlink(idx), 0);
	j = test_open(gone);
	check_extras(j, true);
	test_close(gone, j);
	free(idx);
	free(big);
	test_rmrf(dir);
	free(dir);
}

/* The index of a large journal gives the same events as parsing it, and does not hide
 * damage: any change to the bytes it covers means a full parse. */
static void test_index(void **state)
{
	char *dir = test_tmpdir(), *idx = NULL, *jp;
	struct graph *g = test_plan(dir, plan2);
	struct journal *j = test_open(g);
	struct node *a = test_node(g, "a"), *b = test_node(g, "b");
	struct jevent *v;
	size_t n;
	struct stat st;
	FILE *f;

	(void)state;
	for (int i = 0; i < 2000; i++) {
		struct outcome o = {.attempt = i % 3 + 1, .exit_status = i % 5, .start_ms = 1764133920000 + i,
		                    .duration_ms = i, .message = i % 7 ? NULL : "some message"};

		assert_int_equal(test_append(j, EV_START, a, &o), 0);
		assert_int_equal(test_append(j, i % 2 ? EV_FAIL : EV_OK, i % 3 ? a : b, &o), 0);
	}
	/* what a full parse gives */
	test_close(g, j);
	j = test_open(g);
	v = snapshot(j, &n);
	for (size_t i = 0; i + 1 < n; i += 2) /* loaded, they share it too */
		assert_ptr_equal(journal_event(j, i)->x, journal_event(j, i + 1)->x);
	test_close(g, j);
	idx = xasprintf("%s/.orch/journal.idx", dir);
	jp = xasprintf("%s/.orch/journal.jsonl", dir);
	assert_int_equal(stat(idx, &st), 0);

	/* from the index */
	j = test_open(g);
	same_events(j, v, n);
	/* the author each event recorded, kept by the index too; an attempt's start and end
	 * say the same besides their kind and times: they share what else they say */
	for (size_t i = 0; i < n; i++)
		assert_string_equal(journal_event(j, i)->x->author, os_author());
	for (size_t i = 0; i + 1 < n; i += 2)
		assert_ptr_equal(journal_event(j, i)->x, journal_event(j, i + 1)->x);
	assert_int_equal(state_of(a), ST_FAILED);
	test_close(g, j);

	/* lines appended after it are parsed */
	append_raw(dir, "{\"v\":1,\"t\":\"2026-11-26T05:12:00.123Z\",\"ev\":\"force\",\"step\":\"b\"}\n");
	j = test_open(g);
	assert_int_equal(journal_count(j), n + 1);
	assert_int_equal(journal_event(j, n)->kind, EV_FORCE);
	assert_int_equal(journal_event(j, n)->line, n + 1);
	assert_int_equal(state_of(b), ST_NOTRUN);
	test_close(g, j);

	/* a byte changed inside what the index covers: damage found, exit 4 */
	f = fopen(jp, "r+");
	assert_non_null(f);
	fseek(f, (long)v[n / 2].off + 3, SEEK_SET);
	fputc('X', f);
	fclose(f);
	j = NULL;
	assert_int_equal(journal_try_open(g, JOURNAL_LOCK, &j), EXIT_JOURNAL);
	assert_null(j);

	free(v);
	free(idx);
	free(jp);
	test_rmrf(dir);
	free(dir);
}

/* Every single-bit flip of a journal is found: the journal is refused (exit 4) and left
 * as it was, except a flip of the very last newline, which reads as a torn last line. */
static void test_bit_flips(void **state)
{
	char *dir = test_tmpdir(), *text, *path, *now;
	struct graph *g = test_plan(dir, plan2);
	size_t len, len2, refused = 0, torn = 0;
	int saved = dup(STDERR_FILENO), null = open("/dev/null", O_WRONLY);

	(void)state;
	text = one_run(dir, g, &len);
	path = xasprintf("%s/.orch/journal.jsonl", dir);
	dup2(null, STDERR_FILENO); /* thousands of refusals, each with its message */
	for (size_t i = 0; i < len; i++) {
		for (int bit = 0; bit < 8; bit++) {
			struct journal *j = NULL;
			int fd = open(path, O_WRONLY | O_TRUNC), r;

			text[i] ^= (char)(1 << bit);
			assert_int_equal(write(fd, text, len), (ssize_t)len);
			close(fd);
			r = journal_try_open(g, 0, &j);
			if (r == EXIT_JOURNAL) {
				refused++;
				now = test_read(dir, ".orch/journal.jsonl", &len2);
				assert_int_equal(len2, len);
				assert_memory_equal(now, text, len);
				free(now);
			} else {
				/* only the last newline: its line is torn, the others load */
				assert_int_equal(r, 0);
				assert_int_equal(i, len - 1);
				assert_int_equal(journal_count(j), 3);
				journal_close(j);
				torn++;
			}
			text[i] ^= (char)(1 << bit);
		}
	}
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(null);
	assert_int_equal(torn, 8);
	assert_int_equal(refused, len * 8 - 8);
	free(path);
	free(text);
	test_rmrf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_torn_last_line),
		cmocka_unit_test(test_damaged_middle_line),
		cmocka_unit_test(test_lock),
		cmocka_unit_test(test_no_journal),
		cmocka_unit_test(test_compact_and_reset),
		cmocka_unit_test(test_index),
		cmocka_unit_test(test_index_long_string),
		cmocka_unit_test(test_extras),
		cmocka_unit_test(test_bit_flips),
	};

	verbosity = -2; /* the tests provoke warnings and errors on purpose */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
