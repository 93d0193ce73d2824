/* hist.c: reading the latency histogram (hist.h). Agent and report only. */
#include "hist.h"
#include <math.h>

/* lower bound of bucket b in ns */
static double bucket_low(int b)
{
    if (b == 0)
        return 0;
    int oct = (b - 1) / PS_HIST_SUB, sub = (b - 1) % PS_HIST_SUB;
    return ldexp(1.0 + sub / (double)PS_HIST_SUB, oct) * 1000;
}

double ps_hist_quantile(const struct ps_hist *h, double q, uint64_t *count)
{
    uint64_t total = 0;
    for (int b = 0; b < PS_HIST_BUCKETS; b++)
        total += __atomic_load_n(&h->n[b], __ATOMIC_RELAXED);
    if (count)
        *count = total;
    if (!total)
        return -1;
    uint64_t want = (uint64_t)ceil(q * (double)total), seen = 0;
    if (want < 1)
        want = 1;
    for (int b = 0; b < PS_HIST_BUCKETS; b++) {
        seen += __atomic_load_n(&h->n[b], __ATOMIC_RELAXED);
        if (seen >= want)
            return b == PS_HIST_BUCKETS - 1 ? bucket_low(b) : (bucket_low(b) + bucket_low(b + 1)) / 2;
    }
    return bucket_low(PS_HIST_BUCKETS - 1);
}
