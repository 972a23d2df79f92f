/* hash.h — XXH3 hashes: of short strings for lookup tables, of step definitions and of
 * file contents (streamed in large reads) for signatures, and their hex forms. The one
 * user of libxxhash. */
#ifndef ORCH_HASH_H
#define ORCH_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A 128-bit XXH3 hash. */
struct hash128 {
	uint64_t hi, lo;
};

/* 64-bit XXH3 of N bytes at P, for hash tables. */
uint64_t hash_bytes(const void *p, size_t n);
/* 128-bit XXH3 of N bytes at P. */
struct hash128 hash128_bytes(const void *p, size_t n);
/* Whether A and B are equal. */
bool hash128_eq(struct hash128 a, struct hash128 b);
/* A as 32 lowercase hex digits (canonical order, as `xxhsum -H2` prints it) into OUT. */
char *hash128_hex(struct hash128 a, char out[33]);
/* The low 64 bits of A as 16 hex digits into OUT (short hashes in the journal). */
char *hash64_hex(uint64_t h, char out[17]);
/* The inverse of hash128_hex: the first 32 characters of HEX (lowercase hex digits; what
 * follows is not looked at) into *OUT. Returns 0, or -1 when they are not hex digits. */
int hash128_parse(const char *hex, struct hash128 *out);
/* The inverse of hash64_hex, for the first 16 characters of HEX. Returns 0 or -1. */
int hash64_parse(const char *hex, uint64_t *out);

/* A streaming 128-bit hash over several pieces. */
struct hasher;
/* A new hasher, reset. */
struct hasher *hasher_new(void);
/* Start over. */
void hasher_reset(struct hasher *h);
/* Add N bytes at P. */
void hasher_add(struct hasher *h, const void *p, size_t n);
/* Add a string with its length, so that ("ab","c") and ("a","bc") differ; NULL differs from "". */
void hasher_addstr(struct hasher *h, const char *s);
/* Add a 64-bit number. */
void hasher_addu64(struct hasher *h, uint64_t v);
/* Add a 128-bit hash. */
void hasher_addhash(struct hasher *h, struct hash128 v);
/* The hash of everything added since the last reset. */
struct hash128 hasher_end(struct hasher *h);
/* Free H. */
void hasher_free(struct hasher *h);

/* Hash the contents of the file open at FD (read to the end in large chunks).
 * Returns 0, or -1 with errno set. */
int hash_fd(int fd, struct hash128 *out);
/* Hash the contents of the file at PATH. Returns 0, or -1 with errno set. */
int hash_file(const char *path, struct hash128 *out);

#endif
