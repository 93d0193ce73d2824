/* interpose_sleep.c: nanosleep, clock_nanosleep, usleep, sleep: `sleep` wait.
 * (usleep and sleep reach nanosleep inside libc, unseen, so they are wrapped
 * by name as well.) A sleep cut short by our dump signal alone sleeps on for
 * the time left (restart.h); errno is as the program left it. */
#include "export.h"
#include "account.h"
#include "real.h"
#include "restart.h"

PS_EXPORT int nanosleep(const struct timespec *req, struct timespec *rem)
{
    PS_SPAN(sp_);
    if (!ps_span_begin(&sp_, PS_SLEEP, PS_K_SLEEP, 0, PS_CALLER()))
        return PS_REAL(nanosleep)(req, rem);
    struct ps_restart rs;
    ps_restart_begin(&rs, sp_.t);
    int *err = &errno, saved = *err;
    struct timespec mine, left, *r = rem ? rem : &mine;
    int rv = ps_real_nanosleep(req, r);
    while (ps_restart_again(&rs, rv != 0, *err)) {
        left = *r;                    /* the kernel wrote what was left */
        *err = saved;
        rv = ps_real_nanosleep(&left, r);
    }
    ps_span_end(&sp_);
    return rv;
}

PS_EXPORT int clock_nanosleep(clockid_t c, int flags, const struct timespec *req, struct timespec *rem)
{
    PS_SPAN(sp_);
    if (!ps_span_begin(&sp_, PS_SLEEP, PS_K_SLEEP, 0, PS_CALLER()))
        return PS_REAL(clock_nanosleep)(c, flags, req, rem);
    struct ps_restart rs;
    ps_restart_begin(&rs, sp_.t);
    struct timespec mine, left, *r = rem ? rem : &mine;
    int rv = ps_real_clock_nanosleep(c, flags, req, r);   /* returns the error, errno untouched */
    while (ps_restart_again(&rs, rv != 0, rv)) {
        left = *r;
        /* An absolute deadline stays what it was. */
        rv = ps_real_clock_nanosleep(c, flags, (flags & TIMER_ABSTIME) ? req : &left, r);
    }
    ps_span_end(&sp_);
    return rv;
}

PS_EXPORT int usleep(useconds_t us)
{
    PS_SPAN(sp_);
    if (!ps_span_begin(&sp_, PS_SLEEP, PS_K_SLEEP, 0, PS_CALLER()))
        return PS_REAL(usleep)(us);
    struct ps_restart rs;
    ps_restart_begin(&rs, sp_.t);
    int *err = &errno, saved = *err;
    int rv = ps_real_usleep(us);
    while (ps_restart_again(&rs, rv != 0, *err)) {
        uint64_t spent = ps_ns_since(sp_.t0, ps_now_ns()), total = (uint64_t)us * 1000ull;
        *err = saved;
        rv = spent >= total ? 0 : ps_real_usleep((useconds_t)((total - spent + 999) / 1000));
    }
    ps_span_end(&sp_);
    return rv;
}

PS_EXPORT unsigned sleep(unsigned secs)
{
    PS_SPAN(sp_);
    if (!ps_span_begin(&sp_, PS_SLEEP, PS_K_SLEEP, 0, PS_CALLER()))
        return PS_REAL(sleep)(secs);
    struct ps_restart rs;
    ps_restart_begin(&rs, sp_.t);
    int *err = &errno, saved = *err;
    /* sleep() answers in whole seconds: the time left is measured here. */
    unsigned left = ps_real_sleep(secs);
    while (ps_restart_again(&rs, left != 0, *err)) {
        uint64_t spent = ps_ns_since(sp_.t0, ps_now_ns()), total = (uint64_t)secs * 1000000000ull;
        *err = saved;
        if (spent >= total) {
            left = 0;
            break;
        }
        struct timespec ts = { (time_t)((total - spent) / 1000000000ull), (long)((total - spent) % 1000000000ull) };
        left = ps_real_nanosleep(&ts, &ts) == 0 ? 0 : (unsigned)ts.tv_sec + (ts.tv_nsec > 0);
    }
    ps_span_end(&sp_);
    return left;
}
