/* table.h — a string-keyed hash table (open addressing, keys hashed with XXH3 once: the
 * hash is kept beside each slot, compared before the key, and reused when the table
 * grows), for the graph's names and the stat cache's paths. */
#ifndef ORCH_TABLE_H
#define ORCH_TABLE_H

#include <stddef.h>
#include <stdint.h>

struct tableslot {
	const char *key; /* NULL: free; owned by the caller, who keeps it alive */
	void *value;
};

struct table {
	struct tableslot *slot;
	uint32_t *hash; /* by slot: the low half of its key's hash */
	size_t n, cap;  /* entries, slots (a power of two) */
};

/* The value stored for KEY, or NULL. */
void *table_get(const struct table *t, const char *key);
/* Store VALUE for KEY unless KEY is there; returns the value KEY had (NULL when new). */
void *table_put(struct table *t, const char *key, void *value);
/* Make room for N entries in all, so that they go in without the table growing. */
void table_reserve(struct table *t, size_t n);
/* Free the slots (not the keys or values). */
void table_free(struct table *t);

#endif
