/* report.h: the exit report: poolshim.<pid>.json (format in docs/format.md)
 * and the short summary on stderr. */
#ifndef PS_REPORT_H
#define PS_REPORT_H
#include "jsonw.h"
#include <stdint.h>

/* Takes the final sample must have been done by the caller (ps_agent_stop). */
void ps_report_write(const char *why);
/* The report's body, for dumps that embed the same pool and lock sections. */
void ps_report_pools_json(struct ps_jw *w, int with_history);
void ps_report_locks_json(struct ps_jw *w);
void ps_report_threads_json(struct ps_jw *w);
struct ps_obj;
struct ps_obj *ps_report_top_contention(int pool, double *wait_s);
/* A GIL-like object: a condvar handed between the pool's workers, or either
 * half of a lock the pool builds from a mutex and a condvar. */
int ps_report_is_handoff(int pool, const struct ps_obj *o);
struct ps_pool;
/* The pool's task count is known (its wait for work or its queue mutex is):
 * else the report writes null, not 0. */
int ps_report_tasks_seen(const struct ps_pool *p);
/* Pool pi's totals and its one recommendation (size, class, reason): what
 * every printed size comes from. 0 for a pool that never had a thread. */
struct ps_pool_totals;
struct ps_rec_out;
int ps_report_answer(int pi, uint64_t now, struct ps_pool_totals *tot, struct ps_rec_out *ro,
                     struct ps_obj **top);
#endif
