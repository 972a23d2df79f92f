/* os.h — the operating system at the edge: spawning step scripts in their own process
 * groups, killing groups, signals turned into a pollable file descriptor, terminals. */
#ifndef ORCH_OS_H
#define ORCH_OS_H

#include <stdbool.h>
#include <sys/types.h>

/* A spawned /bin/sh -e script: its pid (also its process group) and the read end of
 * the pipe carrying its stdout and stderr. */
struct proc {
	pid_t pid;
	int fd;
	int go; /* the script waits for a newline here before it does anything (os_go) */
};

/* Run SCRIPT with /bin/sh -e in a new process group, stdin from /dev/null, stdout and
 * stderr to a pipe, with the environment plus ENV ("KEY=value" entries, NULL-ended)
 * and the default disposition of every signal orch catches. A script of any size
 * (past 64 KiB the shell reads it from an anonymous file). Returns 0, or -1 with errno set. */
int os_spawn(const char *script, char *const env[], struct proc *p);
/* Run the program ARGV[0] (looked up in PATH) with ARGV, stdin from /dev/null, its
 * stdout to the file OUT (created or truncated) when not NULL, its stderr orch's, and
 * wait for it (pg_dump, diff). Returns its exit status (128+N when killed by signal
 * N), or -1 with errno set when it could not start. */
int os_run(char *const argv[], const char *out);
/* Who runs this orch, for the journal and the changelog: $ORCH_AUTHOR, else git's
 * user.name (`git config user.name` in the working directory), else the user name
 * ($USER). Asked once per process; control characters become spaces. */
const char *os_author(void);
/* Let P's script start (after its start is recorded); with RUN false, make it exit 125
 * without running anything. Either way the gate is closed. */
void os_go(struct proc *p, bool run);
/* Send SIG to the process group PGID (ignoring one that is already gone). */
void os_killgroup(pid_t pgid, int sig);
/* Catch SIGINT, SIGTERM, SIGHUP and SIGCHLD; each writes a byte to a pipe whose read
 * end os_sigfd() returns, so poll() wakes up. Catch SIGPIPE too: see os_stdout_lost. */
void os_signals_init(void);
int os_sigfd(void);
/* Drain the signal pipe; returns the first terminating signal caught so far (0: none). */
int os_signals_take(void);
/* The first terminating signal caught so far (0: none), the pipe left as it is. */
int os_signal_caught(void);
/* Wait up to TIMEOUT_MS (-1: no limit) for FD to be ready for EVENTS (POLLIN, POLLOUT).
 * Returns 1 when it is, 0 on timeout or when a signal interrupted the wait, -1 on error
 * (errno set). *SIG is set to the terminating signal caught (SIGINT, SIGTERM, SIGHUP:
 * by os_signals_init, now or earlier), which is left for os_signals_take; before
 * os_signals_init those signals keep their default action, which ends orch. */
int os_wait(int fd, short events, int timeout_ms, int *sig);
/* Whether standard output turned out to be a pipe nobody reads (`orch | head -1`):
 * from then on it goes to /dev/null, and the run goes on. Known once os_signals_init
 * has been called and a write failed. */
bool os_stdout_lost(void);
/* Open /dev/null on standard input, output or error where they are closed, so that no
 * file orch opens later (the lock, the journal) takes their descriptor. */
void os_stdfds(void);
/* Whether FD is a terminal. */
bool os_isatty(int fd);
/* Make FD non-blocking and close-on-exec. */
int os_nonblock(int fd);
/* Start COMMAND with /bin/sh -c in a process group of its own, INPUT (LEN bytes, at
 * most a pipe's buffer) on its stdin, stdout and stderr to /dev/null; do not wait for
 * it. Returns 0 with *PID, or -1 with errno set. For notifications. */
int os_spawn_input(const char *command, const char *input, size_t len, pid_t *pid);
/* Create the directories of PATH (mkdir -p). Returns 0 or -1 with errno set. */
int os_mkdirs(const char *path, mode_t mode);

#endif
