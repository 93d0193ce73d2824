/* hist.h: a latency histogram that writers fill with one relaxed atomic add
 * and no lock: log-linear buckets, 4 per octave from 1 us to ~16 s (each
 * within 19 % of its neighbours), so a percentile is known to within a
 * bucket. Used for the pools' handoff latency (pool.c). */
#ifndef PS_HIST_H
#define PS_HIST_H
#include <stdint.h>

#define PS_HIST_SUB 4                      /* buckets per octave */
#define PS_HIST_OCT 24                     /* 1 us .. 2^24 us */
#define PS_HIST_BUCKETS (PS_HIST_SUB * PS_HIST_OCT + 2)   /* + under 1 us, + over */

struct ps_hist { uint32_t n[PS_HIST_BUCKETS]; };

static inline int ps_hist_bucket(uint64_t ns)
{
    uint64_t us = ns / 1000;
    if (us < 1)
        return 0;
    int oct = 63 - __builtin_clzll(us);               /* floor(log2(us)) */
    if (oct >= PS_HIST_OCT)
        return PS_HIST_BUCKETS - 1;
    /* the next two bits below the top one say where in the octave */
    int sub = oct >= 2 ? (int)((us >> (oct - 2)) & 3) : (int)((us << (2 - oct)) & 3);
    return 1 + oct * PS_HIST_SUB + sub;
}

static inline void ps_hist_add(struct ps_hist *h, uint64_t ns)
{
    __atomic_fetch_add(&h->n[ps_hist_bucket(ns)], 1, __ATOMIC_RELAXED);
}

/* The value (ns) at quantile q (0..1), the middle of its bucket; -1 if empty. */
double ps_hist_quantile(const struct ps_hist *h, double q, uint64_t *count);
#endif
