/* controller.h: the control loop that turns pool signals into a concurrency
 * limit per pool and applies it (POOLSHIM_CONTROL=on) or only logs it (advise).
 * Agent thread only, except ps_controller_on_thread_exit (the exiting thread). */
#ifndef PS_CONTROLLER_H
#define PS_CONTROLLER_H
#include <stdint.h>
#include "thread.h"

struct ps_view;
/* One step of the control law: the agent's view of the pools this tick in,
 * decisions out, acted on through the throttle and expansion. Reads nothing
 * of the pools but the view (its unit tests pass views of their own). */
void ps_controller_tick(const struct ps_view *view, uint64_t now_ns);
void ps_controller_on_thread_exit(struct ps_thread *t);
/* The controller ran in this process (not a forked child that never ticked). */
int ps_controller_active(void);
/* The size the controller ran pool pi at and measured best (mode on, settled),
 * with its tasks/s; 0 when it has no such measurement. */
int ps_controller_measured(int pi, double *tput);
/* Decisions logged by this process so far (agent thread). */
unsigned ps_controller_decisions_total(void);
#endif
