/* init.h: the shim's life cycle (see init.c). */
#ifndef PS_INIT_H
#define PS_INIT_H
extern int ps_pid;          /* our pid as of the constructor or the last fork */
/* Stops the agent and writes the report, once per process image. */
void ps_finish(const char *why);
#endif
