/* agent.h: the shim's own thread ("poolshim"), started with every signal
 * blocked. Each interval it samples the threads (sampler.c), updates the pools
 * (pool.c), runs the controller (controller.c) and the dump triggers (dump.c).
 * Nothing else in the shim runs periodically. */
#ifndef PS_AGENT_H
#define PS_AGENT_H
#include <stdint.h>
#include "thread.h"

/* The constructor's: the agent is to run, from the process's second thread
 * on (agent.c: a process of one thread may need to stay one). */
void ps_agent_want(void);
/* Before a thread is created (pthread_create): starts the agent if it is
 * wanted and not running. Preserves errno. */
void ps_agent_ensure(void);
/* The program is about to confine its system calls (confine.h): marks the
 * shim confined and ends the agent (bounded wait), with no last sample.
 * Nothing before the shim is initialised. */
void ps_agent_confine(void);
/* Stops the agent (bounded wait) and takes a last sample; idempotent. */
void ps_agent_stop(void);

void ps_agent_after_fork_child(void);
#endif
