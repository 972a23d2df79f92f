/* os.c — spawning step scripts in their own process groups with posix_spawn, killing
 * groups, signals as a self-pipe for poll(), terminals. */
#define _GNU_SOURCE
#include "os.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

extern char **environ;

static int sigpipe_fds[2] = {-1, -1};
static volatile sig_atomic_t caught;
static volatile sig_atomic_t stdout_lost;

static void on_signal(int sig)
{
	int saved = errno;
	char c = (char)sig;

	if (sig != SIGCHLD && !caught)
		caught = sig;
	if (write(sigpipe_fds[1], &c, 1) < 0) {
		/* the pipe is full: poll will wake up anyway */
	}
	errno = saved;
}

/* A write to a closed pipe. When standard output is that pipe (its reader is gone:
 * `orch | head -1`), the plan goes on: what orch still prints goes to /dev/null
 * instead, and main says the output was lost. Only async-signal-safe calls here. */
static void on_sigpipe(int sig)
{
	int saved = errno, fd;
	struct pollfd p = {.fd = STDOUT_FILENO, .events = POLLOUT};

	(void)sig;
	if (!stdout_lost && poll(&p, 1, 0) == 1 && (p.revents & POLLERR) &&
	    (fd = open("/dev/null", O_WRONLY)) >= 0) {
		if (dup2(fd, STDOUT_FILENO) >= 0)
			stdout_lost = 1;
		if (fd != STDOUT_FILENO)
			close(fd);
	}
	errno = saved;
}

bool os_stdout_lost(void)
{
	return stdout_lost;
}

int os_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -1;
	return fcntl(fd, F_SETFD, FD_CLOEXEC);
}

void os_signals_init(void)
{
	struct sigaction sa;
	int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGCHLD};

	if (sigpipe_fds[0] >= 0)
		return;
	if (pipe(sigpipe_fds) < 0 || os_nonblock(sigpipe_fds[0]) < 0 || os_nonblock(sigpipe_fds[1]) < 0)
		fatalx(EXIT_FAILED, "pipe:");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sigaction(sigs[i], &sa, NULL) < 0)
			fatalx(EXIT_FAILED, "sigaction:");
	/* caught, not ignored: steps start with the default (exec resets a caught signal,
	 * and os_spawn resets it explicitly too) */
	sa.sa_handler = on_sigpipe;
	if (sigaction(SIGPIPE, &sa, NULL) < 0)
		fatalx(EXIT_FAILED, "sigaction:");
}

int os_sigfd(void)
{
	return sigpipe_fds[0];
}

int os_signals_take(void)
{
	char drain[64];

	while (read(sigpipe_fds[0], drain, sizeof(drain)) > 0)
		;
	return caught;
}

/* The environment for a step: ours, with ENV's keys replaced or added. */
static char **merge_env(char *const env[])
{
	size_t n = 0, extra = 0, k = 0;
	char **out;

	while (environ[n])
		n++;
	while (env && env[extra])
		extra++;
	out = xcalloc(n + extra + 1, sizeof(*out));
	for (size_t i = 0; i < n; i++) {
		size_t klen = strcspn(environ[i], "=");
		bool replaced = false;

		for (size_t j = 0; j < extra && !replaced; j++)
			replaced = strncmp(env[j], environ[i], klen) == 0 && env[j][klen] == '=';
		if (!replaced)
			out[k++] = environ[i];
	}
	for (size_t j = 0; j < extra; j++)
		out[k++] = env[j];
	out[k] = NULL;
	return out;
}

int os_spawn(const char *script, char *const env[], struct proc *p)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, defaults;
	int fds[2], rc;
	char *argv[] = {"sh", "-e", "-c", (char *)script, NULL};
	char **envp;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
	posix_spawnattr_init(&attr);
	sigemptyset(&none);
	sigemptyset(&defaults);
	sigaddset(&defaults, SIGINT);
	sigaddset(&defaults, SIGTERM);
	sigaddset(&defaults, SIGHUP);
	sigaddset(&defaults, SIGCHLD);
	sigaddset(&defaults, SIGPIPE);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &defaults);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	envp = merge_env(env);
	rc = posix_spawn(&p->pid, "/bin/sh", &fa, &attr, argv, envp);
	free(envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	close(fds[1]);
	if (rc != 0) {
		close(fds[0]);
		errno = rc;
		return -1;
	}
	p->fd = fds[0];
	if (os_nonblock(p->fd) < 0)
		return -1;
	return 0;
}

void os_killgroup(pid_t pgid, int sig)
{
	if (pgid > 0)
		kill(-pgid, sig);
}

void os_stdfds(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		int n;

		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		/* the lowest free descriptor: FD itself */
		if ((n = open("/dev/null", fd ? O_WRONLY : O_RDONLY)) < 0)
			fatalx(EXIT_FAILED, "/dev/null:");
		if (n != fd) {
			dup2(n, fd);
			close(n);
		}
	}
}

bool os_isatty(int fd)
{
	return isatty(fd) == 1;
}

int os_mkdirs(const char *path, mode_t mode)
{
	char *p = xstrdup(path);

	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST) {
			free(p);
			return -1;
		}
		*s = '/';
	}
	if (mkdir(p, mode) < 0 && errno != EEXIST) {
		free(p);
		return -1;
	}
	free(p);
	return 0;
}
