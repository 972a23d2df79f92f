/* jindex.h — the journal's binary index (.orch/journal.idx): the events of the
 * journal's first bytes kept already parsed, vouched for by a hash of those bytes, so
 * that opening a large journal parses only what was appended since. A cache: a
 * missing, stale or damaged index costs only time. */
#ifndef ORCH_JINDEX_H
#define ORCH_JINDEX_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "graph.h"
#include "util.h"

/* Journals smaller than this parse fast enough without an index. */
enum { JINDEX_MIN = 256 << 10 };

/* Events loaded from an index. */
struct jindex {
	struct jevent *ev; /* a new array */
	size_t nev;
	struct arena strs; /* the strings the events point to (names of nodes not in G, runs,
	                    * messages, logs): the caller frees them */
};

/* Load the index at PATH if it vouches for the first bytes of the journal open on FD
 * (SIZE bytes in all; read with pread, in chunks, never whole): its events into *OUT,
 * nodes found in G. Returns the bytes covered, or 0 (nothing in *OUT) when the index is
 * missing or stale. */
int64_t jindex_load(const char *path, int fd, int64_t size, struct graph *g, struct jindex *out);
/* Write the index of the N events EV that cover the first SIZE bytes of the journal
 * open on FD to PATH (atomically, not synced). Returns 0, or -1 with errno set. */
int jindex_save(const char *path, int fd, int64_t size, const struct jevent *ev, size_t n);

#endif
