/* inbox.c — .orch/inbox/: requests to the running orch. A request is ID.json, written
 * whole (temp file, rename), {"action":"approve","step":"gate","by":"ana@laptop"}; the
 * running orch records what it asks in the journal, then writes ID.answer
 * ({"accepted":true,"message":"..."}) and removes ID.json. The asker waits for the
 * answer and removes it. A crash between the record and the answer leaves ID.json,
 * which the next orch answers ("already approved"). */
#include "inbox.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "util.h"

static char *inbox_dir(const char *dir)
{
	return xasprintf("%s/inbox", dir);
}

static char *file_of(const char *dir, const char *id, const char *ext)
{
	return xasprintf("%s/inbox/%s.%s", dir, id, ext);
}

/* Write OBJ to PATH whole: temp file, fsync, rename. */
static int write_json(const char *path, json_t *obj)
{
	char *text = json_dumps(obj, JSON_COMPACT);
	int r;

	if (!text)
		fatalx(EXIT_FAILED, "out of memory");
	r = write_file_atomic(path, text, strlen(text), true);
	free(text);
	return r;
}

char *inbox_post(const char *dir, const char *action, const char *step, const char *reason)
{
	char *in = inbox_dir(dir), *id, *path;
	json_t *o;

	if (mkdir(in, 0755) < 0 && errno != EEXIST) {
		error("cannot create %s:", in);
		free(in);
		return NULL;
	}
	free(in);
	id = xasprintf("%lld-%ld", (long long)wall_ms(), (long)getpid());
	path = file_of(dir, id, "json");
	o = json_pack("{s:s, s:s, s:s}", "action", action, "step", step, "by", user_at_host());
	if (o && reason)
		json_object_set_new(o, "reason", json_string(reason));
	if (!o || write_json(path, o) < 0) {
		error("cannot write %s:", path);
		json_decref(o);
		free(path);
		free(id);
		return NULL;
	}
	json_decref(o);
	free(path);
	return id;
}

int inbox_wait(const char *dir, const char *id, int64_t timeout_ms, char **answer, bool (*still_running)(void *),
               void *arg)
{
	char *path = file_of(dir, id, "answer");
	int64_t until = now_ms() + timeout_ms;
	int result = -1;

	*answer = NULL;
	for (;;) {
		json_t *o = json_load_file(path, 0, NULL);

		if (o) {
			const char *m = json_string_value(json_object_get(o, "message"));

			result = json_is_true(json_object_get(o, "accepted"));
			*answer = xstrdup(m ? m : "");
			json_decref(o);
			unlink(path);
			break;
		}
		if (now_ms() >= until)
			break;
		if (still_running && !still_running(arg)) {
			result = -2;
			break;
		}
		poll(NULL, 0, 50);
	}
	free(path);
	return result;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct request *)a)->id, ((const struct request *)b)->id);
}

size_t inbox_take(const char *dir, struct request **out)
{
	char *in = inbox_dir(dir);
	DIR *d = opendir(in);
	struct dirent *de;
	size_t n = 0, cap = 0;

	*out = NULL;
	free(in);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		char *path;
		json_t *o;
		const char *action, *step, *by, *reason;

		if (len < 6 || strcmp(de->d_name + len - 5, ".json") != 0)
			continue;
		path = xasprintf("%s/inbox/%s", dir, de->d_name);
		o = json_load_file(path, 0, NULL);
		free(path);
		action = json_string_value(json_object_get(o, "action"));
		step = json_string_value(json_object_get(o, "step"));
		by = json_string_value(json_object_get(o, "by"));
		reason = json_string_value(json_object_get(o, "reason"));
		if (o && action && step) {
			if (n == cap) {
				cap = cap ? cap * 2 : 4;
				*out = xreallocarray(*out, cap, sizeof(**out));
			}
			(*out)[n++] = (struct request){xstrndup(de->d_name, len - 5), xstrdup(action), xstrdup(step),
			                               xstrdup(by ? by : "someone"), reason ? xstrdup(reason) : NULL};
		}
		json_decref(o);
	}
	closedir(d);
	if (n > 1)
		qsort(*out, n, sizeof(**out), by_name);
	return n;
}

void inbox_answer(const char *dir, const struct request *r, bool accepted, const char *message)
{
	char *path = file_of(dir, r->id, "answer");
	json_t *o = json_pack("{s:b, s:s}", "accepted", accepted, "message", message);

	if (!o || write_json(path, o) < 0)
		warn("cannot answer the request %s: %s:", r->id, path);
	json_decref(o);
	free(path);
	inbox_withdraw(dir, r->id);
}

void inbox_withdraw(const char *dir, const char *id)
{
	char *path = file_of(dir, id, "json");

	if (unlink(path) < 0 && errno != ENOENT)
		warn("cannot remove %s:", path);
	free(path);
}

void inbox_free(struct request *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].id);
		free(v[i].action);
		free(v[i].step);
		free(v[i].by);
		free(v[i].reason);
	}
	free(v);
}
