/* kick.h: the agent's doorbell. Whoever needs a tick now rather than at the
 * next interval (a dump request, from a signal handler too) rings it; the
 * agent (agent.c) sleeps on the word. Here, below both, so that capture code
 * can ring without depending on the agent's loop. */
#ifndef PS_KICK_H
#define PS_KICK_H

extern int ps_kick_word;     /* bumped per ring; the agent futex-waits on it */
extern int ps_agent_up;      /* the agent's thread runs (it starts with the program's second) */
/* Async-signal-safe: an atomic add and a futex wake. */
void ps_kick(void);
#endif
