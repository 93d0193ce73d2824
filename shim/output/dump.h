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
/* How one dump is written: with stacks taken in-process by the dump signal,
 * or as a picture without stacks (no thread is signalled) that `poolshim
 * dump` or the supervising `poolshim run` merges with the stacks it took by
 * ptrace; capture.method and capture.why say which, and why. */
struct ps_dump_how {
    int signal_stacks;            /* 1: signal every thread for its stack */
    const char *method;           /* capture.method: "signal" or "none" */
    const char *why;              /* capture.why, one sentence */
    const char *name;             /* file name in POOLSHIM_DIR; NULL: poolshim.<pid>.dump.<n>.json */
};
/* Writes dump number n now, as how says. 0, or -errno if no file was written. */
int ps_dump_write(int n, int reason, int pool, const char *detail, const struct ps_dump_how *how);
struct ps_jw;
/* The report's "dumps" (the files this run wrote, why) and "deadlock" (the
 * first cycle found: threads, the locks they wait on, its dump) sections. */
void ps_dump_report_json(struct ps_jw *w);
/* One line on the deadlock found, for the summary; 0 if none. */
int ps_dump_summary(char *out, size_t cap);
/* Dumps written by this process so far. */
int ps_dump_count(void);
#endif
