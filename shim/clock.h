/* clock.h: the shim's one time source for wait spans.
 * CLOCK_MONOTONIC through the vDSO (~27 ns here) is read only on slow paths
 * (contended locks, blocking calls); CPU clocks are never read per call. */
#ifndef PS_CLOCK_H
#define PS_CLOCK_H
#include <stdint.h>
#include <time.h>

static inline uint64_t ps_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
#endif
