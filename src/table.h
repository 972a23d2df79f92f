/* table.h — a string-keyed hash table (open addressing, keys hashed with XXH3 once: the
 * hash is kept beside each slot, compared before the key, and reused when the table
 * grows; the key is the value's own), for the graph's names and the stat cache's paths. */
#ifndef ORCH_TABLE_H
#define ORCH_TABLE_H

#include <stddef.h>
#include <stdint.h>

/* The key VALUE is stored under: a table keeps its values only (8 bytes a slot fewer),
 * each of which knows its own key (a node its name, a cache entry its path). */
typedef const char *table_keyfn(const void *value);

struct table {
	void **slot;    /* the values, NULL: free */
	uint32_t *hash; /* by slot: the low half of its key's hash */
	size_t n, cap;  /* entries, slots (a power of two) */
	table_keyfn *key;
};

/* An empty table whose values give their keys through KEY. */
void table_init(struct table *t, table_keyfn *key);
/* The value stored for KEY, or NULL. */
void *table_get(const struct table *t, const char *key);
/* Store VALUE (under the key it gives) unless that key is there; returns the value the
 * key had (NULL when new). */
void *table_put(struct table *t, void *value);
/* Make room for N entries in all, so that they go in without the table growing. */
void table_reserve(struct table *t, size_t n);
/* Free the slots (not the keys or values); the table is empty again, KEY kept. */
void table_free(struct table *t);

#endif
