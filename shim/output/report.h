/* report.h: the exit report: poolshim.<pid>.json (format in docs/format.md)
 * and the short summary on stderr. Both write out the agent's last view
 * (view.h), so they give the same answers as the dumps and the profile. */
#ifndef PS_REPORT_H
#define PS_REPORT_H
#include "jsonw.h"
#include <stdint.h>

/* The caller has taken the final view (ps_agent_stop's last tick). */
void ps_report_write(const char *why);
/* Agent, after its tick: now and then while the program runs, the same
 * report from that tick's view ("why": "running", no summary), so that a
 * program that ends without exit handlers (a raw exit_group: Go; a crash; a
 * kill) leaves one; none once *stopping is set (exit stops the agent, then
 * writes the final one). Returns the time spent writing, 0 when not due. */
uint64_t ps_report_interim_tick(uint64_t now_ns, const int *stopping);
/* The report's body, for dumps that embed the same pool and lock sections. */
void ps_report_pools_json(struct ps_jw *w, int with_history);
void ps_report_locks_json(struct ps_jw *w);
void ps_report_threads_json(struct ps_jw *w);
/* The report's "controller" section (control_report.c); profile: the profile
 * file written for this run (profile.h), or NULL. */
void ps_report_controller_json(struct ps_jw *w, const char *profile);
#endif
