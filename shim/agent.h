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

void ps_agent_after_fork_child(void);
#endif
