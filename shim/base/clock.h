/* clock.h: the shim's one time source for wait spans, lock hold times and
 * task boundaries: CLOCK_MONOTONIC nanoseconds, read on slow paths only
 * (contended locks, blocking calls); CPU clocks are never read per call.
 *
 * Why the TSC: a blocking wrapper reads the clock twice, and through the vDSO
 * that costs ~27 ns a read here against ~11 ns for rdtsc. When the CPU says
 * its TSC is invariant (constant rate, runs in deep C-states), the agent
 * calibrates it against CLOCK_MONOTONIC once, over its first ≥10 ms, and
 * publishes a mapping (base_tsc, base_ns, mult) that never changes again, so
 * every reader sees one consistent clock: until then ps_now_ns() is the vDSO
 * clock, afterwards base_ns + (tsc - base_tsc) * mult, continuous at the switch
 * to within the calibration error (tens of ns). The clock never goes below
 * base_ns; callers still guard differences against a TSC a few cycles behind
 * on another CPU. Any thread reads it; only the agent (ps_clock_calibrate)
 * writes it, once. */
#ifndef PS_CLOCK_H
#define PS_CLOCK_H
#include <stdint.h>
#include <time.h>

struct ps_tsc_map {
    uint64_t base_tsc, base_ns;
    uint64_t mult;                 /* ns per tick, 32.32 fixed point */
};
extern struct ps_tsc_map ps_tsc_map;
extern int ps_tsc_ready;           /* 1 once ps_tsc_map is published */
extern uint64_t ps_start_ns;       /* when the shim started (the constructor, or the last fork) */

static inline uint64_t ps_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline uint64_t ps_now_ns(void)
{
#if defined(__x86_64__)
    if (__builtin_expect(__atomic_load_n(&ps_tsc_ready, __ATOMIC_ACQUIRE), 1)) {
        uint32_t lo, hi;
        __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
        uint64_t d = (((uint64_t)hi << 32) | lo) - ps_tsc_map.base_tsc;
        if ((int64_t)d < 0)
            d = 0;
        return ps_tsc_map.base_ns + (uint64_t)(((unsigned __int128)d * ps_tsc_map.mult) >> 32);
    }
#endif
    return ps_mono_ns();
}

/* b - a, or 0 if b is (slightly) before a. */
static inline uint64_t ps_ns_since(uint64_t a, uint64_t b)
{
    return b > a ? b - a : 0;
}

/* The CPU time so far of any thread of this process, by tid (the kernel's
 * per-thread CPU clock: the figure schedstat's first field holds), or -1
 * once it has exited. A system call (~1.3 us): never per wrapped call. */
int64_t ps_clock_thread_cpu_ns(int tid);

/* Constructor (and fork child): take the first calibration point. */
void ps_clock_init(void);
/* Agent, every pass until it returns 1: publish the TSC mapping once enough
 * time has passed since ps_clock_init. Returns 1 when done (or never possible). */
int ps_clock_calibrate(void);
#endif
