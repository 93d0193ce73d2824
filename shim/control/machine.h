/* machine.h: what the whole machine and process are doing, for the
 * controller (its watchdog, and the cores its model may give a pool).
 * Its own object so that unit tests link a machine of their choosing in its
 * place (tests/unit/test_controller.c) and nothing test-only ships in the
 * library. Agent thread only. */
#ifndef PS_MACHINE_H
#define PS_MACHINE_H
#include <stdint.h>

/* Idle CPU of the machine since the last call, in cores (/proc/stat: idle
 * and iowait); 0 when unknown or when the last call is over a second old. */
double ps_machine_idle_cores(uint64_t now_ns);
/* CPU time of the whole process so far, every thread's (the kernel's sum,
 * as schedstat's); 0 when unknown. */
uint64_t ps_machine_process_cpu_ns(void);
#endif
