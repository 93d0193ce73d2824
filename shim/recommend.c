/* recommend.c: see recommend.h for the model. Thresholds, and why:
 *  - serialized: contention (lock + cond + spin) is at least the useful work
 *    (cpu + io + sleep) and one object holds >= 60 % of it: adding threads only
 *    lengthens the queue on that object;
 *  - CPU-starved: run-queue delay >= half the CPU time: the cores are
 *    oversubscribed, fewer threads would finish the same work sooner;
 *  - I/O-bound: W/C > 1 (the article's routing rule), CPU-bound: W/C < 0.25. */
#include "recommend.h"
#include "log.h"
#include "jsonw.h"
#include <math.h>
#include <string.h>

const char *const ps_class_name[] = { "idle", "io-bound", "cpu-bound", "mixed", "serialized",
                                      "cpu-starved" };

static int clamp_threads(double v)
{
    if (!(v >= 1))
        return 1;
    if (v > 100000)
        return 100000;
    return (int)floor(v + 1e-9);
}

void ps_recommend(const struct ps_rec_in *in, struct ps_rec_out *o)
{
    memset(o, 0, sizeof *o);
    double C = in->cpu_s, W = in->io_s + in->sleep_s;
    double contention = in->lock_s + in->cond_s + in->spin_s;
    o->w_c = C > 0 ? W / C : 0;
    o->goetz = in->cores * (1 + o->w_c);
    o->effective_parallelism = in->wall_s > 0 ? C / in->wall_s : 0;
    char wc[32], g[32], b[32];
    ps_fmt_double(wc, sizeof wc, o->w_c, 2);
    ps_fmt_double(g, sizeof g, o->goetz, 1);

    if (C + W + contention <= 0) {
        o->cls = PS_CLASS_IDLE;
        o->recommended_threads = in->threads > 0 ? in->threads : 1;
        ps_fmt(o->reason, sizeof o->reason, "no work measured: keep the current size");
        return;
    }
    int serial = contention >= 0.5 * (C + W) && in->top_wait_s >= 0.6 * contention && contention > 0;
    double hold = in->top_is_handoff ? C : in->top_hold_s;
    if (serial && hold <= 0)
        serial = 0;                        /* no hold time known: no bottleneck to name */
    if (serial && hold > 0) {
        o->bottleneck = (C + W) / hold;
        if (o->bottleneck < 1)
            o->bottleneck = 1;
    }
    double target = o->goetz;
    if (o->bottleneck > 0 && o->bottleneck < target)
        target = o->bottleneck;
    o->recommended_threads = clamp_threads(target);

    if (serial) {
        o->cls = PS_CLASS_SERIAL;
        ps_fmt_double(b, sizeof b, o->bottleneck, 2);
        if (in->top_is_handoff) {
            o->recommended_processes = in->cores;
            ps_fmt(o->reason, sizeof o->reason,
                   "serialized: threads hand one condvar to each other (a GIL-like lock); W/C %s, "
                   "at most %s threads can progress: more threads will not help, use %d processes",
                   wc, b, in->cores);
        } else {
            ps_fmt(o->reason, sizeof o->reason,
                   "serialized on one lock: contention exceeds useful work and the lock is held "
                   "1/%s of the time each thread works; more threads will not help, shorten the "
                   "critical section", b);
        }
    } else if (in->runq_s >= 0.5 * C && C > 0 && in->threads > in->cores) {
        o->cls = PS_CLASS_STARVED;
        ps_fmt(o->reason, sizeof o->reason,
               "CPU-starved: threads wait for a core as long as they run; W/C %s gives %s threads",
               wc, g);
    } else if (o->w_c > 1) {
        o->cls = PS_CLASS_IO;
        ps_fmt(o->reason, sizeof o->reason, "I/O-bound: W/C %s, cores x (1 + W/C) = %s threads", wc, g);
    } else if (o->w_c < 0.25) {
        o->cls = PS_CLASS_CPU;
        ps_fmt(o->reason, sizeof o->reason, "CPU-bound: W/C %s, cores x (1 + W/C) = %s threads", wc, g);
    } else {
        o->cls = PS_CLASS_MIXED;
        ps_fmt(o->reason, sizeof o->reason, "mixed: W/C %s, cores x (1 + W/C) = %s threads", wc, g);
    }
}
