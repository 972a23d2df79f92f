/* tests/helper.c — exposes orch internals to the command-line tests, the way git's
 * test-tool does: `helper duration 1h30m`, `helper mask URL`, `helper show-step FILE
 * STEP KEY` (a step's key as loaded and expanded by the Orchfile reader), `helper hash
 * FILE` (XXH3-128, as xxhsum -H2 prints it), `helper state FILE`, `helper record FILE
 * EVENT STEP...`, `helper run-all FILE` (the journal without the engine) and `helper
 * action FILE ACTION [STEP...]` (the journal actions of the command line). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actions.h"
#include "graph.h"
#include "hash.h"
#include "journal.h"
#include "orchfile.h"
#include "state.h"
#include "util.h"

/* Append an event for N as the engine does, with its signature (and parts for a
 * completion), and take it into the history. */
static void append(struct journal *j, enum evkind kind, struct node *n, const struct outcome *o)
{
	struct outcome ev = *o;
	long at;

	state_outcome(n, kind, &ev);
	if ((at = journal_append(j, kind, n, &ev)) >= 0)
		state_noted((size_t)at);
}

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
		{"verify", &n->x->verify},     {"rollback", &n->x->rollback},
		{"sql", &n->sql},           {"sql_verify", &n->x->sql_verify},
		{"sql_rollback", &n->x->sql_rollback}, {"database", &n->x->database},
		{"prompt", &n->x->prompt},     {"type", &n->x->type},
		{"component", &n->x->component}, {"impact", &n->x->impact},
		{"refs", &n->x->refs},         {"validate", &n->x->validate},
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
		print_list(&n->x->outputs);
	else if (strcmp(key, "backup") == 0)
		print_list(&n->x->backup);
	else if (strcmp(key, "env") == 0)
		print_list(&n->env);
	else if (strcmp(key, "estimate") == 0)
		print_duration(n->est_ms);
	else if (strcmp(key, "timeout") == 0)
		print_duration(n->x->timeout_ms);
	else if (strcmp(key, "retry_delay") == 0)
		print_duration(n->x->retry_delay_ms);
	else if (strcmp(key, "retries") == 0)
		printf("%d\n", n->x->retries);
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
			printf("%s %s %d\n", edge_kindname(n->deps[i].why), n->deps[i].dep->name, n->deps[i].line);
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

static int event_kind(const char *s)
{
	static const char *k[] = {"start", "ok", "fail", "interrupted", "skip", "approve", "force",
	                          "rollback-start", "rollback-ok", "rollback-fail", "milestone"};

	for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++)
		if (strcmp(s, k[i]) == 0)
			return (int)i;
	return -1;
}

/* `helper state FILE`: every step and milestone with its state and reason, as the engine
 * would see them; `helper record FILE EVENT STEP...`: record events the way the engine does
 * (ok marks the step done); `helper run-all FILE`: record every step not satisfied as
 * started and succeeded, in order, without running anything. */
static int journal_cmd(int argc, char **argv)
{
	struct graph *g = orchfile_load(argv[2], NULL);
	struct journal *j;
	int status = 0;

	if (!g)
		return 2;
	if (strcmp(argv[1], "state") == 0) {
		j = journal_open(g, 0);
		state_load(g, j);
		for (size_t i = 0; i < g->nodes.n; i++) {
			struct node *n = g->nodes.v[i];

			if (n->kind != NODE_PHASE)
				printf("%s %s %s\n", n->name, state_name(state_of(n)), state_reason(n));
		}
		journal_close(j);
		return 0;
	}
	j = journal_open(g, JOURNAL_LOCK | JOURNAL_CREATE);
	state_load(g, j);
	if (strcmp(argv[1], "run-all") == 0) {
		struct vec order = {0};

		graph_select(g, NULL, 0, MARK_SELECTED);
		graph_order(g, MARK_SELECTED, false, &order);
		for (size_t i = 0; i < order.n; i++) {
			struct node *n = order.v[i];
			struct outcome o = {.attempt = 1, .start_ms = wall_ms(), .duration_ms = 1};

			if (n->kind != NODE_STEP || state_satisfied(n))
				continue;
			state_refresh(n);
			append(j, EV_START, n, &o);
			append(j, EV_OK, n, &o);
			state_set(n, ST_DONE, NULL);
			printf("%s\n", n->name);
		}
		vec_free(&order);
	} else {
		int k = argc > 3 ? event_kind(argv[3]) : -1;

		if (k < 0) {
			fprintf(stderr, "helper: unknown event '%s'\n", argc > 3 ? argv[3] : "");
			status = 2;
		}
		for (int i = 4; i < argc && !status; i++) {
			struct node *n = graph_find(g, argv[i]);
			struct outcome o = {.attempt = 1, .exit_status = k == EV_FAIL ? 1 : 0};

			if (!n) {
				fprintf(stderr, "helper: no step '%s'\n", argv[i]);
				status = 2;
				break;
			}
			state_refresh(n);
			append(j, (enum evkind)k, n, &o);
			if (k == EV_OK || k == EV_APPROVE || k == EV_MILESTONE)
				state_set(n, ST_DONE, NULL);
		}
	}
	journal_sync(j);
	journal_close(j);
	return status;
}

/* `helper action FILE skip|force|approve|reset|reset-yes|why|check [STEP...]`: the
 * journal actions of the command line, called directly. */
static int action_cmd(int argc, char **argv)
{
	struct graph *g = orchfile_load(argv[2], NULL);
	const char *a = argv[3];

	if (!g)
		return 2;
	if (strcmp(a, "skip") == 0 && argc == 5)
		return action_skip(g, argv[4]);
	if (strcmp(a, "force") == 0 && argc >= 5)
		return action_force(g, argv + 4, (size_t)(argc - 4));
	if (strcmp(a, "approve") == 0 && argc == 5)
		return action_approve(g, argv[4]);
	if (strcmp(a, "reset") == 0 && argc == 4)
		return action_reset(g, false, false);
	if (strcmp(a, "reset-yes") == 0 && argc == 4)
		return action_reset(g, true, false);
	if (strcmp(a, "why") == 0 && argc == 5)
		return action_why(g, argv[4]);
	if (strcmp(a, "check") == 0 && argc == 4)
		return action_check_journal(g);
	fprintf(stderr, "helper: bad action '%s'\n", a);
	return 2;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "ck") == 0) {
		/* a journal line (without its checksum) with its checksum, as orch ends it */
		size_t n = strlen(argv[2]);
		char hex[17];

		if (n < 2 || argv[2][n - 1] != '}')
			return 2;
		printf("%.*s,\"ck\":\"%s\"}\n", (int)(n - 1), argv[2], hash64_hex(hash_bytes(argv[2], n - 1), hex));
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "hash") == 0) {
		struct hash128 h;
		char hex[33];

		if (hash_file(argv[2], &h) < 0) {
			perror(argv[2]);
			return 1;
		}
		printf("%s  %s\n", hash128_hex(h, hex), argv[2]);
		return 0;
	}
	if ((argc == 3 && (strcmp(argv[1], "state") == 0 || strcmp(argv[1], "run-all") == 0)) ||
	    (argc >= 4 && strcmp(argv[1], "record") == 0))
		return journal_cmd(argc, argv);
	if (argc >= 4 && strcmp(argv[1], "action") == 0)
		return action_cmd(argc, argv);
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
	fprintf(stderr, "usage: helper duration D | mask CONNINFO | show-step FILE NAME KEY | hash FILE\n"
	                "       helper state FILE | run-all FILE | record FILE EVENT STEP...\n"
	                "       helper action FILE skip|force|approve|reset|reset-yes|why|check [STEP...]\n"
	                "  (KEY: a step, phase or milestone key, kind, or plan.name/database/changelog/jobs)\n");
	return 2;
}
