/* changelog.h — the Markdown changelog ([orch] changelog), made whole from the journal. */
#ifndef ORCH_CHANGELOG_H
#define ORCH_CHANGELOG_H

#include <stdbool.h>

#include "graph.h"
#include "journal.h"
#include "util.h"

/* G's changelog made from the events of J (NULL: no journal yet) and the journals
 * --reset kept into B: the same journals give the same bytes, whoever makes them and
 * whenever (format in changelog.c). Returns 0, or -1 when a kept journal cannot be read
 * (reported by the journal). */
int changelog_render(struct graph *g, struct journal *j, struct buf *b);
/* Write the changelog to PATH (NULL: the plan's [orch] changelog, a path relative to the
 * plan directory, the working directory then; nothing when the plan has none) with
 * write_file_atomic, creating its directory; a file that already says the same is not
 * touched, and one orch did not write is left alone with a warning. Says "wrote the
 * changelog to PATH" unless QUIET. Returns 0, 1 when the file was left alone, -2 when
 * a journal it is made from cannot be read, or -1 when it cannot be written;
 * each after a warning when QUIET (a run or an action keeping it), else an error (it
 * is what `orch --changelog` was asked for). */
int changelog_write(struct graph *g, struct journal *j, const char *path, bool quiet);

#endif
