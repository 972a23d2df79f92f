/* proc.c — is a step an earlier orch started still running? A pid alone does not say:
 * after a reboot or enough forks it names another process. The start event records the
 * step's process group id (its shell's pid), that shell's start time and the boot id;
 * the group is the step's while the leader with that start time lives, or, once the
 * leader is gone, while the group has members (Linux hands out no pid that is still a
 * process group's id). */
#include "proc.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "os.h"
#include "util.h"

const char *proc_boot_id(void)
{
	static char id[64];
	static bool read_once;
	char *s;

	if (read_once)
		return id;
	read_once = true;
	if ((s = read_file("/proc/sys/kernel/random/boot_id", NULL))) {
		snprintf(id, sizeof(id), "%.*s", (int)strcspn(s, "\n"), s);
		free(s);
	}
	return id;
}

/* Fields of /proc/PID/stat: the state letter and the start time; -1 when no such process. */
static int64_t stat_of(pid_t pid, char *state, long *pgrp)
{
	char path[64], *s, *p;
	long long start = -1;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if (!(s = read_file(path, NULL)))
		return -1;
	/* pid (comm) state ppid pgrp ...: the comm may hold spaces and parentheses, so count
	 * the fields after its last ')': starttime is the 22nd field, the 20th after the comm */
	if ((p = strrchr(s, ')')) && p[1] == ' ') {
		*state = p[2];
		if (pgrp)
			*pgrp = sscanf(p + 3, "%*d %ld", pgrp) == 1 ? *pgrp : -1;
		for (int field = 3; field <= 22 && p; field++) /* p: the space before FIELD */
			p = strchr(p + 1, ' ');
		if (p)
			start = strtoll(p + 1, NULL, 10);
	}
	free(s);
	return start;
}

int64_t proc_start_time(pid_t pid)
{
	char state;

	return stat_of(pid, &state, NULL);
}

/* Whether a live (not zombie) process other than the leader is in group PGID. */
static bool group_has_members(pid_t pgid)
{
	DIR *d;
	struct dirent *de;
	bool found = false;

	if (kill(-pgid, 0) < 0 && errno != EPERM)
		return false;
	if (!(d = opendir("/proc")))
		return true;
	while (!found && (de = readdir(d))) {
		char state;
		long pgrp = -1;
		long pid = strtol(de->d_name, NULL, 10);

		if (pid > 0 && stat_of((pid_t)pid, &state, &pgrp) >= 0 && pgrp == pgid && state != 'Z' && state != 'X')
			found = true;
	}
	closedir(d);
	return found;
}

bool proc_group_alive(pid_t pgid, int64_t pstart, const char *boot)
{
	int64_t started;
	char state;

	if (pgid <= 1 || !boot || strcmp(boot, proc_boot_id()) != 0)
		return false;
	if ((started = stat_of(pgid, &state, NULL)) >= 0) {
		/* pstart 0: unknown (an earlier orch read the wrong field); the group is then
		 * taken for the step's while it has a live process: waiting is the safe side */
		if (pstart != 0 && started != pstart)
			return false; /* the pid names another process now */
		if (state != 'Z' && state != 'X')
			return true;
	}
	return group_has_members(pgid);
}

int proc_group_wait(pid_t pgid, int64_t pstart, const char *boot, bool stop, int64_t grace_ms)
{
	int64_t killat = stop ? now_ms() + grace_ms : 0;
	struct pollfd p = {os_sigfd(), POLLIN, 0};
	int sig;

	if (stop)
		kill(-pgid, SIGTERM);
	while (proc_group_alive(pgid, pstart, boot)) {
		if (poll(&p, 1, 100) < 0 && errno != EINTR)
			return SIGTERM;
		if ((sig = os_signals_take()))
			return sig;
		if (killat && now_ms() >= killat) {
			kill(-pgid, SIGKILL);
			killat = 0;
		}
	}
	return 0;
}
