/* clock.c: calibration of the TSC against CLOCK_MONOTONIC (see clock.h).
 * ps_clock_init runs in the constructor; ps_clock_calibrate runs on the agent
 * thread only, and publishes the mapping exactly once (release store of
 * ps_tsc_ready after the fields), so readers never see a torn or changing map. */
#include "clock.h"
#if defined(__x86_64__)
#include <cpuid.h>

uint64_t ps_start_ns;
#endif

struct ps_tsc_map ps_tsc_map;
int ps_tsc_ready;

static uint64_t cal_tsc, cal_ns;   /* first calibration point, 0: TSC not usable */

#define PS_CAL_MIN_NS 10000000ull  /* 10 ms: reading jitter (~50 ns) is then < 1e-5 */

#if defined(__x86_64__)
static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

/* A (tsc, ns) pair read as close together as we can: the tightest of a few. */
static void pair(uint64_t *tsc, uint64_t *ns)
{
    uint64_t best = ~0ull;
    for (int i = 0; i < 5; i++) {
        uint64_t a = rdtsc(), n = ps_mono_ns(), b = rdtsc();
        if (b > a && b - a < best) {
            best = b - a;
            *tsc = a + (b - a) / 2;
            *ns = n;
        }
    }
}

static int tsc_invariant(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(0x80000000, &a, &b, &c, &d) || a < 0x80000007)
        return 0;
    __get_cpuid(0x80000007, &a, &b, &c, &d);
    return (d >> 8) & 1;           /* invariant TSC */
}
#endif

void ps_clock_init(void)
{
#if defined(__x86_64__)
    if (__atomic_load_n(&ps_tsc_ready, __ATOMIC_ACQUIRE) || !tsc_invariant())
        return;
    pair(&cal_tsc, &cal_ns);
#endif
}

int ps_clock_calibrate(void)
{
#if defined(__x86_64__)
    if (__atomic_load_n(&ps_tsc_ready, __ATOMIC_ACQUIRE) || !cal_tsc)
        return 1;
    uint64_t tsc, ns;
    pair(&tsc, &ns);
    if (ns < cal_ns + PS_CAL_MIN_NS)
        return 0;
    if (tsc <= cal_tsc)
        return cal_tsc = 0, 1;     /* not counting: stay on the vDSO clock */
    unsigned __int128 mult = ((unsigned __int128)(ns - cal_ns) << 32) / (tsc - cal_tsc);
    if (!mult || mult >> 40)
        return cal_tsc = 0, 1;     /* absurd rate (< 4 MHz, or ns per tick < 2^-32): keep the vDSO */
    ps_tsc_map.base_tsc = tsc;
    ps_tsc_map.base_ns = ns;
    ps_tsc_map.mult = (uint64_t)mult;
    __atomic_store_n(&ps_tsc_ready, 1, __ATOMIC_RELEASE);
#endif
    return 1;
}

int64_t ps_clock_thread_cpu_ns(int tid)
{
    /* glibc's pthread_getcpuclockid, from the tid alone: no pthread_t of a
     * thread that may exit meanwhile (the kernel answers EINVAL then) */
    clockid_t id = (clockid_t)((~(unsigned)tid << 3) | 4 /* per thread */ | 2 /* sched */);
    struct timespec ts;
    if (tid <= 0 || clock_gettime(id, &ts) != 0)
        return -1;
    return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}
