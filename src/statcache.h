/* statcache.h — the stat cache that spares re-reading unchanged files: a file's hash
 * is answered from its size, times, inode and device when they match the last hashing. */
#ifndef ORCH_STATCACHE_H
#define ORCH_STATCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "hash.h"

/* The stat cache (.orch/hashcache): path -> (size, mtime ns, ctime ns, inode, device,
 * hash). A file whose stat data match an entry is not read again. A file modified within
 * hash_racy_ns of the moment it was hashed is hashed again next time (racy-git rule). */
struct statcache;
/* Nanoseconds of the racy window (default 2 s: the coarsest common file system granularity). */
extern int64_t hash_racy_ns;
/* Load the cache from PATH (a missing or unreadable file is an empty cache); PATH NULL
 * gives a memory-only cache. */
struct statcache *statcache_open(const char *path);
/* Hash the file at PATH (KEY: its name in the cache, e.g. relative to the plan), using
 * and updating the cache. Returns 0, or -1 with errno set (ENOENT: missing, EISDIR: a
 * directory). */
int statcache_hash(struct statcache *c, const char *path, const char *key, struct hash128 *out);
/* statcache_hash of a file whose stat data the caller has just taken (ST; st_mode 0
 * means the file is missing): no second stat. */
int statcache_hash_stat(struct statcache *c, const char *path, const char *key, const struct stat *st,
                        struct hash128 *out);
/* Answer KEY's hash from the cache alone when its entry matches ST (the file unchanged
 * since it was hashed); false when it must be read (statcache_hash_stat), for which the
 * caller then builds the path. */
bool statcache_known(struct statcache *c, const char *key, const struct stat *st, struct hash128 *out);
/* Write the entries used since open to the cache file, atomically (temp file + rename),
 * if anything changed. Returns 0, or -1 after a warning. */
int statcache_save(struct statcache *c);
/* Only some of the plan's files will be asked for (a load of part of the graph): the cache
 * file is then never written, since it keeps only the entries used. */
void statcache_partial(struct statcache *c);
/* How many files were read (not answered from the cache) since open. */
size_t statcache_reads(const struct statcache *c);
/* Free C without saving. */
void statcache_free(struct statcache *c);

#endif
