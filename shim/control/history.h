/* history.h: what earlier runs of the same command measured of each pool, so
 * that a run's recommendation can use sizes it did not run (recommend.h's
 * ps_recommend_history). One file, POOLSHIM_DIR/poolshim.history, one line
 * per pool per run, appended at exit (docs/format.md). "The same command" is
 * the command line with every run of digits read as one (`rg --threads 4 x`
 * and `rg --threads 10 x` are one command; `rg x` and `rg y` are two). Agent
 * thread, or at exit after the agent stopped; POOLSHIM_HISTORY=off: none. */
#ifndef PS_HISTORY_H
#define PS_HISTORY_H
#include "recommend.h"
#include <stddef.h>
#include <stdint.h>

/* Constructor: the command's key, from /proc/self/cmdline as it is before
 * the program rewrites its argv for a title. */
void ps_history_note_command(void);
/* The points earlier runs of this command recorded for pool pi (by its
 * label), the newest at each size but `skip_threads`: up to max into out,
 * their count. The file is read once, at the first call. */
int ps_history_points(int pi, int skip_threads, struct ps_rec_point *out, int max);
/* At exit (not for an interim report): appends this run's pools that ran at
 * one size (not under POOLSHIM_CONTROL=on) and were sized by their W/C. */
void ps_history_append(void);
/* For tests: the key of a command line (NUL-separated arguments, len
 * bytes), and one line of the file parsed (0) or rejected (-1). */
uint64_t ps_history_key(const char *cmdline, size_t len);
int ps_history_parse_line(const char *line, size_t len, uint64_t *key, struct ps_rec_point *p, char *pool,
                          size_t pool_cap);
#endif
