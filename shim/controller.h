/* controller.h: the control loop that turns pool signals into a concurrency
 * limit per pool and applies it (POOLSHIM_CONTROL=on) or only logs it (advise). */
#ifndef PS_CONTROLLER_H
#define PS_CONTROLLER_H
#include <stdint.h>
#include "thread.h"

void ps_controller_tick(uint64_t now_ns);
void ps_controller_on_thread_exit(struct ps_thread *t);
#endif
