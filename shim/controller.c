/* controller.c: placeholder hooks; the control law lands with issue 4.
 * Until then the agent calls these and nothing is acted on. */
#include "controller.h"

void ps_controller_tick(uint64_t now_ns) { (void)now_ns; }
void ps_controller_on_thread_exit(struct ps_thread *t) { (void)t; }
