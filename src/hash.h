/* hash.h — XXH3 hashes: of short strings for lookup tables, of step definitions and of
 * file contents (streamed) for signatures. The one user of libxxhash. */
#ifndef ORCH_HASH_H
#define ORCH_HASH_H

#include <stddef.h>
#include <stdint.h>

/* 64-bit XXH3 of N bytes at P, for hash tables. */
uint64_t hash_bytes(const void *p, size_t n);

#endif
