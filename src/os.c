/* os.c — spawning step scripts in their own process groups with posix_spawn, killing
 * groups, signals as a self-pipe for poll(), terminals. */
/* the one file beyond what the Makefile's feature macros give: Linux's memfd_create and
 * pipe2 */
#define _GNU_SOURCE
#include "os.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
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

int os_signal_caught(void)
{
	return caught;
}

int os_wait(int fd, short events, int timeout_ms, int *sig)
{
	sigset_t block, old;
	struct pollfd p = {.fd = fd, .events = events};
	struct timespec ts, *tsp = NULL;
	int r, saved;

	*sig = 0;
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	/* blocked from the check to ppoll, which unblocks them atomically: a signal caught
	 * in between still interrupts the wait */
	sigprocmask(SIG_BLOCK, &block, &old);
	if (!caught) {
		if (timeout_ms >= 0) {
			ts.tv_sec = timeout_ms / 1000;
			ts.tv_nsec = (long)(timeout_ms % 1000) * 1000000;
			tsp = &ts;
		}
		r = ppoll(&p, 1, tsp, &old);
	} else {
		r = 0;
	}
	saved = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (caught) {
		*sig = caught;
		return 0;
	}
	if (r < 0 && saved == EINTR)
		return 0; /* another signal (SIGCHLD): the caller waits again */
	errno = saved;
	return r < 0 ? -1 : r > 0;
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

/* Scripts up to this size go to sh as its -c argument; Linux refuses a single argument
 * over 128 KiB (MAX_ARG_STRLEN), and the environment shares the room. */
#define SCRIPT_ARG_MAX (64 * 1024)
/* The file descriptor a longer script reaches the shell on (see script_file). */
#define SCRIPT_FD 3
/* The gate: the shell waits on GO_FD for orch's word that the step's start is recorded;
 * when orch dies first, the pipe's end reads as end of file and the script never runs. */
#define GO_FD 4
#define GATE "IFS= read -r __orch_go <&4 || exit 125; exec 4<&-; unset __orch_go; "

/* A longer script is read by the shell from SCRIPT_FD, an anonymous file holding it
 * (a memfd: nothing to clean up, even after a crash):
 * `sh -e -c WRAPPER sh`, where WRAPPER reads the script, closes SCRIPT_FD so that the
 * step's commands do not inherit it, and evals it. $0 stays "sh", stdin stays
 * /dev/null, and the shell still leads the step's process group. */
static const char script_wrapper[] =
	"__orch_script=$(/bin/cat <&3) || exit; exec 3<&-; " GATE "eval \"unset __orch_script; $__orch_script\"";

/* An anonymous file holding SCRIPT, at offset 0, close-on-exec; -1 with errno set. */
static int script_file(const char *script)
{
	size_t n = strlen(script);
	int fd = memfd_create("orch-script", MFD_CLOEXEC); /* Linux 3.17 and later: the target */

	if (fd < 0)
		return -1;
	if (write_all(fd, script, n) < 0 || lseek(fd, 0, SEEK_SET) < 0) {
		int saved = errno;

		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

int os_spawn(const char *script, char *const env[], struct proc *p)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, defaults;
	int fds[2], go[2], rc, sfd = -1;
	char *gated, *argv[] = {"sh", "-e", "-c", NULL, NULL, NULL};
	char **envp;

	if (strlen(script) > SCRIPT_ARG_MAX) {
		if ((sfd = script_file(script)) < 0)
			return -1;
		if (sfd == SCRIPT_FD) {
			/* dup2 onto itself would keep close-on-exec */
			int hi = fcntl(sfd, F_DUPFD_CLOEXEC, SCRIPT_FD + 1);

			close(sfd);
			if ((sfd = hi) < 0)
				return -1;
		}
		argv[3] = (char *)script_wrapper;
		argv[4] = "sh";
	}
	if (pipe2(fds, O_CLOEXEC) < 0) {
		rc = errno;
		if (sfd >= 0)
			close(sfd);
		errno = rc;
		return -1;
	}
	if (pipe2(go, O_CLOEXEC) < 0) {
		rc = errno;
		close(fds[0]);
		close(fds[1]);
		if (sfd >= 0)
			close(sfd);
		errno = rc;
		return -1;
	}
	gated = xasprintf(GATE "%s", script); /* one line: the script's line numbers stay */
	if (!argv[3])
		argv[3] = gated;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
	if (sfd >= 0)
		posix_spawn_file_actions_adddup2(&fa, sfd, SCRIPT_FD);
	posix_spawn_file_actions_adddup2(&fa, go[0], GO_FD);
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
	close(go[0]);
	free(gated);
	if (sfd >= 0)
		close(sfd);
	if (rc != 0) {
		close(fds[0]);
		close(go[1]);
		errno = rc;
		return -1;
	}
	p->fd = fds[0];
	p->go = go[1];
	if (os_nonblock(p->fd) < 0) {
		/* the script has not passed its gate: it ends without running */
		rc = errno;
		os_go(p, false);
		waitpid(p->pid, NULL, 0);
		close(p->fd);
		p->fd = -1;
		errno = rc;
		return -1;
	}
	return 0;
}

void os_go(struct proc *p, bool run)
{
	if (p->go < 0)
		return;
	if (run && write(p->go, "\n", 1) != 1) {
		/* the shell is gone already: its exit status tells */
	}
	close(p->go);
	p->go = -1;
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

int os_run(char *const argv[], const char *out)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t def;
	pid_t pid;
	int rc, st;

	if (posix_spawn_file_actions_init(&fa) != 0)
		return -1;
	if (posix_spawnattr_init(&at) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		return -1;
	}
	sigemptyset(&def);
	sigaddset(&def, SIGINT);
	sigaddset(&def, SIGTERM);
	sigaddset(&def, SIGHUP);
	sigaddset(&def, SIGPIPE);
	sigaddset(&def, SIGCHLD);
	rc = posix_spawnattr_setsigdefault(&at, &def);
	if (rc == 0)
		rc = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGDEF);
	if (rc == 0)
		rc = posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	if (rc == 0 && out)
		rc = posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, out, O_WRONLY | O_CREAT | O_TRUNC, 0666);
	if (rc == 0) {
		fflush(stdout);
		rc = posix_spawnp(&pid, argv[0], &fa, &at, argv, environ);
	}
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	if (rc != 0) {
		errno = rc;
		return -1;
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

int os_spawn_input(const char *command, const char *input, size_t len, pid_t *pid)
{
	char *argv[] = {"/bin/sh", "-c", (char *)command, NULL};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	int fds[2], rc;

	if (pipe(fds) < 0)
		return -1;
	if ((rc = posix_spawn_file_actions_init(&fa)) != 0) {
		close(fds[0]), close(fds[1]);
		return errno = rc, -1;
	}
	posix_spawnattr_init(&at);
	/* its own process group, so that the whole of it can be stopped; default signals */
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP);
	posix_spawn_file_actions_adddup2(&fa, fds[0], 0);
	posix_spawn_file_actions_addclose(&fa, fds[1]);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	rc = posix_spawn(pid, "/bin/sh", &fa, &at, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	close(fds[0]);
	if (rc != 0) {
		close(fds[1]);
		return errno = rc, -1;
	}
	/* short, and within a pipe's buffer: written whole at once, never waiting; a
	 * command that does not read it is no reason for orch to die of SIGPIPE */
	{
		struct sigaction ign, old;

		memset(&ign, 0, sizeof(ign));
		ign.sa_handler = SIG_IGN;
		sigemptyset(&ign.sa_mask);
		sigaction(SIGPIPE, &ign, &old);
		rc = write_all(fds[1], input, len);
		sigaction(SIGPIPE, &old, NULL);
	}
	close(fds[1]);
	return rc < 0 && errno != EPIPE ? -1 : 0;
}

/* `git config --get user.name` in the working directory, NULL when git is missing,
 * fails or has none. */
static char *git_user_name(void)
{
	char *argv[] = {"git", "config", "--get", "user.name", NULL};
	posix_spawn_file_actions_t fa;
	char buf[1024];
	size_t len = 0;
	ssize_t n;
	pid_t pid;
	int fds[2], rc, st;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return NULL;
	if (posix_spawn_file_actions_init(&fa) != 0) {
		close(fds[0]);
		close(fds[1]);
		return NULL;
	}
	rc = posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	if (rc == 0)
		rc = posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
	if (rc == 0)
		rc = posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
	if (rc == 0)
		rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	if (rc != 0) {
		close(fds[0]);
		return NULL;
	}
	while (len < sizeof(buf) - 1 && ((n = read(fds[0], buf + len, sizeof(buf) - 1 - len)) > 0 || (n < 0 && errno == EINTR)))
		if (n > 0)
			len += (size_t)n;
	close(fds[0]);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return NULL;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return NULL;
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' '))
		len--;
	buf[len] = '\0';
	return len ? xstrdup(buf) : NULL;
}

const char *os_author(void)
{
	static char *author;
	const char *a = getenv("ORCH_AUTHOR");

	if (author)
		return author;
	if (a && *a)
		author = xstrdup(a);
	else if (!(author = git_user_name()))
		author = xstrdup(user_name());
	for (char *c = author; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = ' ';
	return author;
}
