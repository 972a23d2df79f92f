/* orchfile.h — reads an Orchfile (INI, through inih) into a validated graph, reporting
 * every error it finds as FILE:LINE: message. */
#ifndef ORCH_ORCHFILE_H
#define ORCH_ORCHFILE_H

#include <stddef.h>

#include "graph.h"

/* The Orchfile to use when -f is not given: "Orchfile", else "orchfile", else
 * "sqitch.plan" (the top of a sqitch project); NULL if none. */
const char *orchfile_default(void);
/* Read the plan for target environment NAME ([target NAME]) from now on; NULL: the
 * environment's ORCH_TARGET, else [orch] target. */
void orchfile_want_target(const char *name);
/* Define the variable NAME=VALUE (-D) for every Orchfile read after: over [vars], for
 * ${NAME} and for SQL files' :NAME. Returns -1 when NV is not NAME=VALUE. */
int orchfile_define(const char *nv);
/* Read and validate the Orchfile at PATH. On errors, print them all to stderr and return
 * NULL; the count is stored in *NERRORS when it is not NULL. */
struct graph *orchfile_load(const char *path, int *nerrors);
/* The same for TEXT (LEN bytes) named NAME, as if it lived in directory DIR. */
struct graph *orchfile_parse(const char *name, const char *text, size_t len, const char *dir, int *nerrors);

#endif
