/* proc.h — the processes of steps an earlier orch started: what identifies one beyond
 * the reuse of its pid (its start time, the boot), whether it still runs, and waiting
 * for it or stopping it, so that a step never runs twice at once. Linux's /proc. */
#ifndef ORCH_PROC_H
#define ORCH_PROC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* This boot's id (/proc/sys/kernel/random/boot_id), "" when unknown. */
const char *proc_boot_id(void);
/* When process PID started, in clock ticks since boot (/proc/PID/stat), -1 when there is
 * no such process. */
int64_t proc_start_time(pid_t pid);
/* Whether the process group PGID that a step started as (its leader started at PSTART,
 * in the boot BOOT) still has a process in it. */
bool proc_group_alive(pid_t pgid, int64_t pstart, const char *boot);
/* Wait until that group is gone, polling; with KILL, send it SIGTERM first and SIGKILL
 * after GRACE_MS. Returns 0 once it is gone, or the signal that interrupted the wait
 * (os_signals_init must have been called). */
int proc_group_wait(pid_t pgid, int64_t pstart, const char *boot, bool kill, int64_t grace_ms);

#endif
