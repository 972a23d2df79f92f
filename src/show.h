/* show.h — read-only views of a plan: --list (text and JSON), --graph (Graphviz DOT)
 * and the dry run's listing. */
#ifndef ORCH_SHOW_H
#define ORCH_SHOW_H

#include <stdbool.h>
#include <stdio.h>

#include "graph.h"

/* Print the plan's steps, phases and milestones; as one JSON document when JSON. */
void show_list(struct graph *g, bool json, FILE *out);
/* Print the dependency graph of the nodes marked MARK (every node when MARK_NONE) in DOT. */
void show_dot(struct graph *g, enum mark mark, FILE *out);
/* The DOT/JSON-safe quoted form of S, as a new string. */
char *dot_quote(const char *s);
/* Print the steps TARGETS (all when NTARGETS is 0) would run and why, in the order a
 * run at -j 1 starts them (a gate where it is approved), under a phase heading each time
 * the phase changes, with the count and estimate; changes nothing. Returns an exit
 * status. */
int show_dry(struct graph *g, struct node **targets, size_t ntargets);

#endif
