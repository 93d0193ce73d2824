/* confine.h: the process has confined its own system calls (a seccomp
 * filter: Chromium's renderers and utility processes, or any sandbox), and
 * from then on the shim makes none of its own. A filter kills or traps a
 * call it was not written for: a Chromium renderer crashed at the shim's
 * first process_vm_readv (reading a new thread's start argument). Set by
 * the wrappers of seccomp(2) and prctl(PR_SET_SECCOMP) before the filter
 * goes in (the agent is stopped first: agent.c), never cleared. What the
 * wrappers record in memory goes on; what needs a call of ours stops: the
 * agent's sampling, reading a thread's own counters at its start and exit,
 * the thread's switches, an fd's type, the report (written by no one:
 * opening a file is what such filters forbid first) and our stderr lines. */
#ifndef PS_CONFINE_H
#define PS_CONFINE_H

extern int ps_confined;

static inline int ps_is_confined(void)
{
    return __atomic_load_n(&ps_confined, __ATOMIC_ACQUIRE);
}
#endif
