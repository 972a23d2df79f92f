/* table.c — a string-keyed hash table: open addressing with linear probing, at most
 * half full, keys hashed with XXH3. */
#include "table.h"

#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "util.h"

static struct tableslot *find(const struct table *t, const char *key)
{
	size_t mask = t->cap - 1;
	size_t i = hash_bytes(key, strlen(key)) & mask;

	while (t->slot[i].key && strcmp(t->slot[i].key, key) != 0)
		i = (i + 1) & mask;
	return &t->slot[i];
}

static void grow(struct table *t)
{
	struct tableslot *old = t->slot;
	size_t oldcap = t->cap;

	t->cap = oldcap ? oldcap * 2 : 64;
	t->slot = xcalloc(t->cap, sizeof(*t->slot));
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].key)
			*find(t, old[i].key) = old[i];
	free(old);
}

void *table_get(const struct table *t, const char *key)
{
	return t->cap ? find(t, key)->value : NULL;
}

void *table_put(struct table *t, const char *key, void *value)
{
	struct tableslot *s;

	if ((t->n + 1) * 2 > t->cap)
		grow(t);
	s = find(t, key);
	if (s->key)
		return s->value;
	s->key = key;
	s->value = value;
	t->n++;
	return NULL;
}

void table_free(struct table *t)
{
	free(t->slot);
	t->slot = NULL;
	t->n = t->cap = 0;
}
