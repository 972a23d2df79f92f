/* hash.c — XXH3 hashes of strings, definitions and file contents. */
#include "hash.h"

#include <xxhash.h>

uint64_t hash_bytes(const void *p, size_t n)
{
	return XXH3_64bits(p, n);
}
