/* trace.h: POOLSHIM_TRACE=on, the per-thread state timeline that
 * `poolshim export trace` turns into Chrome trace-event JSON (docs/format.md,
 * "The trace file").
 *
 * What is recorded, and by whom:
 *  - every wrapped wait a thread ends (account.h's span close: begin, end,
 *    cause, kind, object, and whether the controller had parked it), by the
 *    thread itself into its own ring: one bounded ring per thread record,
 *    mapped when the record is claimed, kept across the record's reuse. The
 *    times are the span's own (the clock the span already read), so the
 *    hook costs no clock read; with tracing off the record's ring pointer is
 *    NULL and the span close pays one predictable test;
 *  - the thread's cumulative CPU and run-queue time at every agent sample
 *    (schedstat), by the agent into a second ring of the same record: running
 *    and run-queue time are known per sampling interval, not per slice;
 *  - each pool's history sample, by the agent, into a per-pool ring that
 *    outlives the report's last PS_HIST samples.
 * A full ring overwrites its oldest entries: the file says how many were lost.
 * Writers are single (the owner; the agent), readers copy at exit or at a
 * dump and discard entries a writer may have overwritten meanwhile.
 * ps_trace_write puts poolshim.<pid>.trace.json beside the report, atomically. */
#ifndef PS_TRACE_H
#define PS_TRACE_H
#include <stdint.h>

struct ps_thread;
struct ps_pool_sample;
struct ps_jw;

/* One wrapped wait. what: cause | kind << 8 | PS_TRACE_PARKED */
struct ps_trace_ev {
    uint64_t t0_ns, t1_ns;
    uint64_t obj;
    uint32_t what, pad;
};
#define PS_TRACE_PARKED (1u << 16)

struct ps_trace_smp {
    uint64_t t_ns, cpu_ns, runq_ns;
};

#define PS_TRACE_SAMPLES 8192    /* per thread: 13 minutes at the default 100 ms interval */

struct ps_trace_ring {
    uint64_t ev_n;               /* events written ever (owner); latest at (ev_n - 1) % cap */
    uint64_t smp_n;              /* samples written ever (agent) */
    uint32_t cap;                /* events the ring holds */
    struct ps_trace_smp smp[PS_TRACE_SAMPLES];
    struct ps_trace_ev ev[];
};

/* Constructor: reads ps_cfg.trace; 0 when off or ready. */
int ps_trace_init(void);
/* A record being claimed: its ring (mapped on first use, emptied on reuse),
 * or NULL when tracing is off or mapping failed (that thread is untraced). */
struct ps_trace_ring *ps_trace_ring_for(struct ps_trace_ring *old);
/* The owner, at a span's close (account.h), tracing only: records the span
 * [t0_ns, t0_ns + dt_ns] with the thread's current kind and object, then
 * clears cur_kind (the span's last step). Returns dt_ns. */
uint64_t ps_trace_span(struct ps_thread *t, uint64_t t0_ns, uint64_t dt_ns, int cause);
/* The agent, after sampling a thread's schedstat. */
void ps_trace_sample(struct ps_thread *t, uint64_t now_ns);
/* The agent, after writing pool pi's history sample number n (0-based). */
void ps_trace_pool_sample(int pi, uint32_t n, const struct ps_pool_sample *s);
/* The report's "trace" key: the trace file's name, or null when off. */
void ps_trace_report_json(struct ps_jw *w);
/* Writes poolshim.<pid>.trace.json (at exit and with each dump). */
void ps_trace_write(void);
#endif
