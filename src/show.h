/* show.h — read-only views of a plan: --list (text and JSON), --graph (Graphviz DOT),
 * the dry run's listing and the tools -t targets, -t commands and -t query. */
#ifndef ORCH_SHOW_H
#define ORCH_SHOW_H

#include <stdbool.h>
#include <stdio.h>

#include "graph.h"

/* Print the plan's steps, phases and milestones; as one JSON document when JSON. */
void show_list(struct graph *g, bool json, FILE *out);
/* Print the dependency graph of the nodes marked MARK (every node when MARK_NONE) in DOT;
 * with WORDS (status_words), each node filled with its state's colour, and a legend. */
void show_dot(struct graph *g, enum mark mark, FILE *out, const char **words);
/* The DOT/JSON-safe quoted form of S, as a new string. */
char *dot_quote(const char *s);
/* Print the steps TARGETS (all when NTARGETS is 0) would run and why, in the order a
 * run at -j 1 starts them (a gate where it is approved), under a phase heading each time
 * the phase changes, with the count and estimate; changes nothing. Returns an exit
 * status. */
int show_dry(struct graph *g, struct node **targets, size_t ntargets);

/* Append to OUT, in the order -n shows them, the steps TARGETS (all when NTARGETS is 0)
 * would run: the decision of -n and -q. Returns their number. */
size_t show_pending(struct graph *g, struct node **targets, size_t ntargets, struct vec *out);
/* -t targets: every target name, one per line: steps, phases (name and phaseN),
 * milestones, all. */
void show_targets(struct graph *g, FILE *out);
/* -t commands: what running TARGETS (all when NTARGETS is 0) would run, in the order -n
 * shows, up to date or not: each step's run, sql, sql_verify and verify, each
 * milestone's validate, under a "# NAME (KEY)" line; a manual gate as "# NAME (manual)". */
void show_commands(struct graph *g, struct node **targets, size_t ntargets, FILE *out);
/* -t query: what N needs and what needs it, each with its kind and the key that
 * declared the edge. */
void show_query(struct graph *g, const struct node *n, FILE *out);

#endif
