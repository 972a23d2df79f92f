/* tests/faults.c — a fault shim for the command-line tests, loaded with LD_PRELOAD: it
 * makes one kind of call on the files whose path contains ORCH_FAULT_PATH fail, the way
 * a full disk, a failing disk or a read-only file system would.
 *
 *	ORCH_FAULT_PATH   a substring of the path ("journal.jsonl", ".orch/lock")
 *	ORCH_FAULT_OP     write | fsync (fsync and fdatasync) | open (opening for writing)
 *	ORCH_FAULT_ERRNO  ENOSPC (default), EIO, EROFS or EACCES
 *	ORCH_FAULT_AFTER  let this many such calls succeed first (default 0)
 *	ORCH_FAULT_SHORT  with write: write half of the bytes (a short write), not an error
 *
 * ORCH_FAULT_OP=spawn-stop is no failure: orch stops itself (SIGSTOP) just before it
 * spawns its first step (posix_spawn), for a test to kill it at that moment — a worker
 * that has claimed a step and not begun it. ORCH_FAULT_PATH is not used then.
 *
 * Once the first call fails, every later one on those files fails too, as on a disk that
 * has filled up. Only the orch process is affected: the shim unsets LD_PRELOAD for what
 * orch spawns. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

enum { MAXFD = 4096 };

static bool watched[MAXFD];
static long calls;
static bool tripped;

static const char *op(void)
{
	const char *s = getenv("ORCH_FAULT_OP");

	return s ? s : "";
}

static bool matches(const char *path)
{
	const char *p = getenv("ORCH_FAULT_PATH");

	return p && *p && path && strstr(path, p);
}

static int fault_errno(void)
{
	const char *e = getenv("ORCH_FAULT_ERRNO");

	if (!e || strcmp(e, "ENOSPC") == 0)
		return ENOSPC;
	if (strcmp(e, "EIO") == 0)
		return EIO;
	if (strcmp(e, "EROFS") == 0)
		return EROFS;
	return EACCES;
}

/* Whether this call (of the configured kind, on a watched file) fails. */
static bool trip(void)
{
	const char *after = getenv("ORCH_FAULT_AFTER");

	if (tripped)
		return true;
	if (calls++ < (after ? atol(after) : 0))
		return false;
	tripped = true;
	return true;
}

static void watch(int fd, const char *path)
{
	if (fd >= 0 && fd < MAXFD)
		watched[fd] = matches(path);
}

static bool is_watched(int fd)
{
	return fd >= 0 && fd < MAXFD && watched[fd];
}

__attribute__((constructor)) static void init(void)
{
	unsetenv("LD_PRELOAD"); /* the steps orch runs are not under test */
}

static int do_open(int (*real)(const char *, int, ...), const char *path, int flags, mode_t mode)
{
	int fd;

	if (strcmp(op(), "open") == 0 && (flags & (O_WRONLY | O_RDWR | O_CREAT)) && matches(path) && trip()) {
		errno = fault_errno();
		return -1;
	}
	fd = real(path, flags, mode);
	watch(fd, path);
	return fd;
}

int open(const char *path, int flags, ...)
{
	static int (*real)(const char *, int, ...);
	mode_t mode = 0;
	va_list ap;

	if (!real)
		real = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, "open");
	if (flags & (O_CREAT | O_TMPFILE)) {
		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	return do_open(real, path, flags, mode);
}

int open64(const char *path, int flags, ...)
{
	static int (*real)(const char *, int, ...);
	mode_t mode = 0;
	va_list ap;

	if (!real)
		real = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, "open64");
	if (flags & (O_CREAT | O_TMPFILE)) {
		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	return do_open(real, path, flags, mode);
}

int close(int fd)
{
	static int (*real)(int);

	if (!real)
		real = (int (*)(int))dlsym(RTLD_NEXT, "close");
	if (fd >= 0 && fd < MAXFD)
		watched[fd] = false;
	return real(fd);
}

ssize_t write(int fd, const void *buf, size_t n)
{
	static ssize_t (*real)(int, const void *, size_t);

	if (!real)
		real = (ssize_t (*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
	if (strcmp(op(), "write") == 0 && is_watched(fd) && trip()) {
		if (getenv("ORCH_FAULT_SHORT") && n > 1 && calls == 1 + (getenv("ORCH_FAULT_AFTER") ? atol(getenv("ORCH_FAULT_AFTER")) : 0))
			return real(fd, buf, n / 2);
		errno = fault_errno();
		return -1;
	}
	return real(fd, buf, n);
}

static int do_sync(int (*real)(int), int fd)
{
	if (strcmp(op(), "fsync") == 0 && is_watched(fd) && trip()) {
		errno = fault_errno();
		return -1;
	}
	return real(fd);
}

int fsync(int fd)
{
	static int (*real)(int);

	if (!real)
		real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
	return do_sync(real, fd);
}

int fdatasync(int fd)
{
	static int (*real)(int);

	if (!real)
		real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
	return do_sync(real, fd);
}

int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa, const posix_spawnattr_t *attr,
                char *const argv[], char *const envp[])
{
	static int (*real)(pid_t *, const char *, const posix_spawn_file_actions_t *, const posix_spawnattr_t *,
	                   char *const[], char *const[]);
	static bool stopped;

	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "posix_spawn");
	if (strcmp(op(), "spawn-stop") == 0 && !stopped) {
		stopped = true;
		raise(SIGSTOP);
	}
	return real(pid, path, fa, attr, argv, envp);
}
