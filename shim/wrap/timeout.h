/* timeout.h: argument checks for the timed and clocked lock / semaphore calls.
 * glibc validates a deadline (and clock) before it tries to take the object;
 * our wrappers try first (trylock / trywait). With a bad deadline the host
 * must get glibc's EINVAL, not the object: such calls are forwarded untouched. */
#ifndef PS_TIMEOUT_H
#define PS_TIMEOUT_H
#include <time.h>

static inline int ps_timeout_is_bad(const struct timespec *abs, int check_clock, clockid_t clk)
{
    if (!abs || abs->tv_nsec < 0 || abs->tv_nsec >= 1000000000L)
        return 1;
    return check_clock && clk != CLOCK_REALTIME && clk != CLOCK_MONOTONIC;
}
#endif
