/* dump.h: saturation and on-demand dumps (every thread's state and stack, the
 * wait-for graph, pool history, allocations) written as poolshim.<pid>.dump.<n>.json. */
#ifndef PS_DUMP_H
#define PS_DUMP_H
#include <stdint.h>

void ps_dump_tick(uint64_t now_ns);
#endif
