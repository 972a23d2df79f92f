/* table.c — a string-keyed hash table: open addressing with linear probing, at most
 * half full, keys hashed with XXH3. */
#include "table.h"

#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "util.h"

static uint64_t hash_of(const char *key)
{
	return hash_bytes(key, strlen(key));
}

/* The slot of KEY (hash H), or the free slot where it would go. */
static size_t find(const struct table *t, const char *key, uint64_t h)
{
	size_t mask = t->cap - 1, i = (size_t)h & mask;
	uint32_t h32 = (uint32_t)h;

	while (t->slot[i] && (t->hash[i] != h32 || strcmp(t->key(t->slot[i]), key) != 0))
		i = (i + 1) & mask;
	return i;
}

static void grow(struct table *t)
{
	void **old = t->slot;
	uint32_t *oldhash = t->hash;
	size_t oldcap = t->cap;

	t->cap = oldcap ? oldcap * 2 : 64;
	t->slot = xcalloc(t->cap, sizeof(*t->slot));
	t->hash = xcalloc(t->cap, sizeof(*t->hash));
	for (size_t i = 0; i < oldcap; i++) {
		size_t mask = t->cap - 1, k;

		if (!old[i])
			continue;
		/* the slot is found from the low bits, which the kept half holds: no rehash */
		for (k = oldhash[i] & mask; t->slot[k]; k = (k + 1) & mask)
			;
		t->slot[k] = old[i];
		t->hash[k] = oldhash[i];
	}
	free(old);
	free(oldhash);
}

void table_init(struct table *t, table_keyfn *key)
{
	memset(t, 0, sizeof(*t));
	t->key = key;
}

void table_reserve(struct table *t, size_t n)
{
	while (n * 2 > t->cap)
		grow(t);
}

void *table_get(const struct table *t, const char *key)
{
	return t->cap ? t->slot[find(t, key, hash_of(key))] : NULL;
}

void *table_put(struct table *t, void *value)
{
	const char *key = t->key(value);
	uint64_t h = hash_of(key);
	size_t i;

	if ((t->n + 1) * 2 > t->cap)
		grow(t);
	i = find(t, key, h);
	if (t->slot[i])
		return t->slot[i];
	t->slot[i] = value;
	t->hash[i] = (uint32_t)h;
	t->n++;
	return NULL;
}

void table_free(struct table *t)
{
	free(t->slot);
	free(t->hash);
	t->slot = NULL;
	t->hash = NULL;
	t->n = t->cap = 0;
}
