/* util.h — errors, exit statuses, allocation, growable buffers and small parsers
 * shared by every other module. */
#ifndef ORCH_UTIL_H
#define ORCH_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Exit statuses of SPEC §2. */
enum exitstatus {
	EXIT_DONE = 0,        /* done or already up to date */
	EXIT_FAILED = 1,      /* a step failed */
	EXIT_USAGE = 2,       /* bad usage or bad Orchfile */
	EXIT_LOCKED = 3,      /* another orch holds the lock */
	EXIT_JOURNAL = 4,     /* journal unreadable */
	EXIT_RECORD = 5,      /* progress cannot be recorded: .orch cannot be written or synced */
	EXIT_INTERRUPTED = 130,
};

/* Name used as the prefix of diagnostics ("orch"). */
extern const char *argv0;

/* Print "orch: error: MSG" and exit with STATUS; a trailing ':' in FMT appends strerror(errno). */
_Noreturn void fatalx(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* fatalx with EXIT_USAGE, for setup and load-time errors. */
_Noreturn void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print "orch: warning: MSG" (trailing ':' appends strerror(errno)). */
void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print "orch: error: MSG" without exiting (trailing ':' appends strerror(errno)). */
void error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print "orch: MSG" on stderr, whatever the verbosity: what a run left undone. */
void notice(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print "FILE:LINE: MSG" on stderr: a message about a line of a file the user wrote. */
void diag(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Print "orch: error: MSG" and "Try 'orch --help'.", and exit with EXIT_USAGE. */
_Noreturn void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print "Try 'orch --help'." on stderr. */
void usage_hint(void);
/* Print "orch: MSG" as information unless quiet. */
void info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Verbosity: -1 quiet, 0 normal, 1+ verbose (set from -q / -v / ORCH_LOG_LEVEL). */
extern int verbosity;

/* Allocation that never returns NULL (out of memory is fatal). */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xreallocarray(void *p, size_t n, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* printf into a new string. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* vprintf into a new string. */
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* A growable byte buffer, always NUL-terminated when len > 0 or after buf_str(). */
struct buf {
	char *s;
	size_t len, cap;
};
/* Append N bytes of S. */
void buf_add(struct buf *b, const char *s, size_t n);
/* Append a C string. */
void buf_puts(struct buf *b, const char *s);
/* Append one byte. */
void buf_putc(struct buf *b, char c);
/* Append printf output. */
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Return the contents as a C string (never NULL). */
const char *buf_str(struct buf *b);
/* Forget the contents and free the storage. */
void buf_free(struct buf *b);

/* A growable array of pointers: counted in 32 bits (8 bytes fewer in each of the lists a
 * node has, a million of them); vec_push refuses a 2^32nd item. */
struct vec {
	void **v;
	uint32_t n, cap;
};
/* Append P. */
void vec_push(struct vec *a, void *p);
/* Free the array storage (not the elements). */
void vec_free(struct vec *a);

/* Parse a duration such as "45m", "1h30m", "2d", "90s", "500ms" into milliseconds;
 * returns -1 when S is not a duration. */
int64_t parse_duration(const char *s);
/* Format milliseconds compactly ("1h30m", "45m", "12s", "0s") into OUT (at least 32 bytes). */
char *format_duration(int64_t ms, char *out, size_t outlen);
/* Like format_duration, but "-" for a negative (unknown) duration; OUT has 32 bytes. */
char *format_known_duration(int64_t ms, char out[32]);
/* Who runs orch: $USER, else the name of the real uid, else the uid (for the journal,
 * the changelog and the registry). */
const char *user_name(void);
/* A template for mkstemp or mkdtemp in the temporary directory ($TMPDIR, else /tmp):
 * "DIR/orch-WHAT-XXXXXX", a new string. */
char *temp_template(const char *what);
/* Characters (UTF-8 code points) in S: what a terminal column count needs. */
size_t text_width(const char *s);
/* The bytes of the first WIDTH characters of S (all of S when it is shorter). */
size_t text_prefix(const char *s, size_t width);
/* "user@host": who asked for an approval or a skip. */
const char *user_at_host(void);
/* Parse a non-negative decimal integer no larger than MAX; -1 when invalid. */
long parse_count(const char *s, long max);
/* Parse yes/no/true/false/on/off/1/0; returns 1, 0 or -1 when invalid. */
int parse_bool(const char *s);
/* Split S on blanks (spaces, tabs, newlines) into new strings appended to OUT. */
void split_words(const char *s, struct vec *out);
/* An arena: many small allocations of one lifetime, packed into large blocks with no
 * per-allocation overhead and freed together (the Orchfile reader's sections). */
struct arena {
	char *block; /* the current block; each starts with a pointer to the one before */
	size_t used, cap;
};
/* N zeroed bytes from A, aligned for pointers and 64-bit integers (not for long
 * double). Never NULL. */
void *arena_alloc(struct arena *a, size_t n);
/* A copy of the N bytes at S, NUL-terminated, in A. */
char *arena_strndup(struct arena *a, const char *s, size_t n);
/* Free every block of A; A is empty again. */
void arena_free(struct arena *a);

/* Read a whole file into a new NUL-terminated buffer; returns NULL with errno set. */
char *read_file(const char *path, size_t *len);
/* Read N bytes at offset OFF of FD into BUF, fewer only at the end of the file: how
 * many, or -1 with errno set. */
long pread_full(int fd, void *buf, size_t n, int64_t off);
/* Where the last N lines of TEXT (LEN bytes) begin: the end of a log to show. */
size_t last_lines(const char *text, size_t len, size_t n);
/* Write N bytes at DATA to FD, retrying short writes. Returns 0, or -1 with errno set. */
int write_all(int fd, const void *data, size_t n);
/* fsync the directory DIR, so that a rename or a new file in it is durable. */
int fsync_dir(const char *dir);
/* Replace the file PATH with LEN bytes at DATA: written to PATH.tmp, (with SYNC) fsynced,
 * renamed over PATH and its directory fsynced. PATH is either the old file or the new
 * one, never a mix. Returns 0, or -1 with errno set (PATH.tmp removed), or -2 as
 * atomic_commit. */
int write_file_atomic(const char *path, const void *data, size_t len, bool sync);
/* write_file_atomic in pieces, for a file too large to hold whole: begin (PATH.tmp
 * created), write any number of times, then commit (SYNC: fsync, rename over PATH,
 * fsync of the directory) or abort. Each returns 0, or -1 with errno set, PATH.tmp
 * removed and nothing left to abort; commit returns -2 (errno set) when PATH was
 * replaced but the directory's fsync failed: PATH is the new file, not known durable. */
struct atomic {
	char *path, *tmp;
	int fd;
};
int atomic_begin(struct atomic *a, const char *path);
int atomic_write(struct atomic *a, const void *data, size_t len);
int atomic_commit(struct atomic *a, bool sync);
void atomic_abort(struct atomic *a);
/* Copy of a connection string with any password replaced by "***". */
char *mask_password(const char *conninfo);
/* Copy of free text (a message, a step's refs) with the passwords of the URLs in it
 * (scheme://user:password@...) and of its password=VALUE words replaced by "***". */
char *mask_passwords_in(const char *text);
/* Monotonic clock in milliseconds. */
int64_t now_ms(void);
/* Wall clock in milliseconds since the epoch. */
int64_t wall_ms(void);

/* Print "orch: KIND: MSG" on stderr whatever the verbosity: the output of a debug mode
 * the user asked for (-d explain, -d stats). */
void debug_note(const char *kind, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print "orch: debug: MSG" at ORCH_LOG_LEVEL=debug (or -vv): spawns, syncs, locks, connections. */
void debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The edit distance between A and B (Damerau's optimal string alignment: insertions,
 * deletions, substitutions and swaps of two neighbours), letters compared ignoring case. */
int edit_distance(const char *a, const char *b);
/* "Did you mean": the closest of the candidates offered to WORD, if one is close enough
 * (at most 2 edits, and at most a third of WORD's length). */
struct suggestion {
	const char *word;
	const char *best; /* NULL until a close candidate is offered */
	int dist;
};
/* Start looking for the candidate closest to WORD. */
void suggest_start(struct suggestion *s, const char *word);
/* Offer CANDIDATE (kept by the caller while S is used); the first of the closest wins. */
void suggest_offer(struct suggestion *s, const char *candidate);

#endif
