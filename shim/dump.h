/* dump.h: saturation and on-demand dumps (every thread's state and stack, the
 * wait-for graph, pool history, allocations) written as
 * poolshim.<pid>.dump.<n>.json (docs/format.md, docs/dumps.md).
 * dump.c decides when (triggers, limits); dump_write.c collects and writes.
 * Agent thread only. */
#ifndef PS_DUMP_H
#define PS_DUMP_H
#include <stddef.h>
#include <stdint.h>

enum ps_dump_reason { PS_DUMP_NONE, PS_DUMP_QUEUE, PS_DUMP_BLOCKED, PS_DUMP_CPU_PLATEAU, PS_DUMP_CONVOY,
                      PS_DUMP_DEADLOCK, PS_DUMP_REQUEST };
extern const char *const ps_dump_reason_name[];

/* Checks the triggers and writes a dump if one fires; returns the time spent
 * writing (0 if none), which the agent leaves out of its sampling budget. */
uint64_t ps_dump_tick(uint64_t now_ns);
/* Writes dump number n now. */
void ps_dump_write(int n, int reason, int pool, const char *detail);
struct ps_jw;
/* The report's "dumps" (the files this run wrote, why) and "deadlock" (the
 * first cycle found: threads, the locks they wait on, its dump) sections. */
void ps_dump_report_json(struct ps_jw *w);
/* One line on the deadlock found, for the summary; 0 if none. */
int ps_dump_summary(char *out, size_t cap);
#endif
