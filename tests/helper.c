/* tests/helper.c — exposes orch internals to the command-line tests, the way git's
 * test-tool does: `helper duration 1h30m`, `helper mask URL`, `helper show-step FILE
 * STEP KEY` (a step's key as loaded and expanded by the Orchfile reader). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"
#include "orchfile.h"
#include "util.h"

static void print_list(const struct vec *v)
{
	for (size_t i = 0; i < v->n; i++)
		puts(v->v[i]);
}

static void print_duration(int64_t ms)
{
	if (ms < 0)
		puts("-");
	else
		printf("%lld\n", (long long)ms);
}

/* Print KEY of step N; 0, or -1 when the key is unknown. */
static int show_key(const struct graph *g, const struct node *n, const char *key)
{
	const struct {
		const char *key;
		char *const *field;
	} strs[] = {
		{"title", &n->title},       {"run", &n->run},
		{"verify", &n->verify},     {"rollback", &n->rollback},
		{"sql", &n->sql},           {"sql_verify", &n->sql_verify},
		{"sql_rollback", &n->sql_rollback}, {"database", &n->database},
		{"prompt", &n->prompt},     {"type", &n->type},
		{"component", &n->component}, {"impact", &n->impact},
		{"refs", &n->refs},         {"validate", &n->validate},
	};

	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		if (strcmp(key, strs[i].key) == 0) {
			if (*strs[i].field)
				puts(*strs[i].field);
			else
				puts("(unset)");
			return 0;
		}
	}
	if (strcmp(key, "inputs") == 0)
		print_list(&n->inputs);
	else if (strcmp(key, "outputs") == 0)
		print_list(&n->outputs);
	else if (strcmp(key, "backup") == 0)
		print_list(&n->backup);
	else if (strcmp(key, "env") == 0)
		print_list(&n->env);
	else if (strcmp(key, "estimate") == 0)
		print_duration(n->est_ms);
	else if (strcmp(key, "timeout") == 0)
		print_duration(n->timeout_ms);
	else if (strcmp(key, "retry_delay") == 0)
		print_duration(n->retry_delay_ms);
	else if (strcmp(key, "retries") == 0)
		printf("%d\n", n->retries);
	else if (strcmp(key, "transaction") == 0)
		puts(n->transaction ? "yes" : "no");
	else if (strcmp(key, "always") == 0)
		puts(n->always ? "yes" : "no");
	else if (strcmp(key, "kind") == 0)
		puts(n->kind == NODE_STEP ? step_kindname(n) : node_kindname(n));
	else if (strcmp(key, "phase") == 0)
		puts(n->phase ? n->phase->name : "(none)");
	else if (strcmp(key, "number") == 0)
		printf("%d\n", n->number);
	else if (strcmp(key, "pool") == 0)
		puts(n->pool ? n->pool->name : "(none)");
	else if (strcmp(key, "on_change") == 0)
		puts((const char *[]){"default", "rerun", "error", "ignore"}[n->on_change]);
	else if (strcmp(key, "needs") == 0) {
		for (size_t i = 0; i < n->ndeps; i++)
			printf("%s %s %d\n", n->deps[i].why, n->deps[i].dep->name, n->deps[i].line);
	} else if (strcmp(key, "plan.name") == 0)
		puts(g->name);
	else if (strcmp(key, "plan.database") == 0)
		puts(g->database ? g->database : "(unset)");
	else if (strcmp(key, "plan.changelog") == 0)
		puts(g->changelog ? g->changelog : "(unset)");
	else if (strcmp(key, "plan.jobs") == 0)
		printf("%d\n", g->jobs);
	else
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "duration") == 0) {
		printf("%lld\n", (long long)parse_duration(argv[2]));
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "mask") == 0) {
		char *m = mask_password(argv[2]);

		puts(m);
		free(m);
		return 0;
	}
	if (argc == 5 && strcmp(argv[1], "show-step") == 0) {
		struct graph *g = orchfile_load(argv[2], NULL);
		struct node *n;

		if (!g)
			return 2;
		if (!(n = graph_find(g, argv[3]))) {
			fprintf(stderr, "helper: no step, phase or milestone '%s'\n", argv[3]);
			return 2;
		}
		if (show_key(g, n, argv[4]) < 0) {
			fprintf(stderr, "helper: unknown key '%s'\n", argv[4]);
			return 2;
		}
		return 0;
	}
	fprintf(stderr, "usage: helper duration D | mask CONNINFO | show-step FILE NAME KEY\n"
	                "  (KEY: a step, phase or milestone key, kind, or plan.name/database/changelog/jobs)\n");
	return 2;
}
