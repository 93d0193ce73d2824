/* agent.h: the shim's own thread ("poolshim"), started with every signal
 * blocked. Each interval it samples the threads (sampler.c), updates the pools
 * (pool.c), runs the controller (controller.c) and the dump triggers (dump.c).
 * Nothing else in the shim runs periodically. */
#ifndef PS_AGENT_H
#define PS_AGENT_H
#include <stdint.h>
#include "thread.h"

int ps_agent_start(void);
/* Stops the agent (bounded wait) and takes a last sample; idempotent. */
void ps_agent_stop(void);
/* The pool of a thread starting with routine fn and name prefix (applies
 * POOLSHIM_POOL); -1 for no pool. */
int ps_agent_pool_for(const struct ps_thread *t, const char *prefix);
/* A thread of ours is about to exit (the throttle must not keep it parked). */
void ps_agent_on_thread_exit(struct ps_thread *t);
extern struct ps_thread ps_agent_rec;
extern int ps_agent_prev_tid;    /* the previous agent's tid, after a restart */
extern uint64_t ps_start_ns;
extern int ps_ncores;        /* ps_cores rounded up: batch sizes, caps */
extern double ps_cores;       /* CPUs the process can use (cores.h): pool sizing */

void ps_agent_after_fork_child(void);
/* Wakes the agent for an early tick (dump requests). Async-signal-safe. */
void ps_agent_kick(void);
/* At exit or exec: one warning when POOLSHIM_POOL names a routine no thread
 * ran (POOLSHIM_EXPAND's twin is ps_expand_check_names). */
void ps_agent_check_pool_name(void);
#endif
