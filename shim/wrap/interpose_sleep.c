/* interpose_sleep.c: nanosleep, clock_nanosleep, usleep, sleep: `sleep` wait.
 * (usleep and sleep reach nanosleep inside libc, unseen, so they are wrapped
 * by name as well.) A sleep that ran its course blocked for its length plus
 * at most the thread's timer slack; the rest of its wall time was the wait
 * for a core after the timer fired, so its span is cut there
 * (ps_span_end_at_most): exact, where other waits are estimated.
 * A sleep cut short by our dump signal alone sleeps on for the time left
 * (restart.h); errno is as the program left it. */
#include "confine.h"
#include "export.h"
#include "account.h"
#include "peek.h"
#include "real.h"
#include "restart.h"
#include <sys/prctl.h>
#include <time.h>

#define NS_PER_S 1000000000ull

/* The caller's timer slack in ns, read once per thread (a prctl call). */
static uint64_t slack_ns(struct ps_thread *t)
{
    if (!t->timer_slack_ns) {
        int saved = errno;
        long v = ps_is_confined() ? 0 : prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
        errno = saved;
        t->timer_slack_ns = (v > 0 ? (uint64_t)v : 50000) + 1;
    }
    return t->timer_slack_ns - 1;
}

/* the length in a timespec the program passed, read safely (peek.h); 0 if unreadable */
static uint64_t req_ns(const struct timespec *req)
{
    struct timespec ts;
    if (ps_peek(&ts, req, sizeof ts))
        return 0;
    return ts.tv_sec < 0 || ts.tv_nsec < 0 ? 0 : (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static uint64_t ts_ns(const struct timespec *ts)
{
    return ts->tv_sec < 0 || ts->tv_nsec < 0 ? 0 : (uint64_t)ts->tv_sec * NS_PER_S + (uint64_t)ts->tv_nsec;
}

/* The most a sleep of len ns can block: the sampler counts an open sleep
 * span no further (after it, the thread waits for a core). 0: unknown. */
static void sleep_cap(struct ps_span *sp, uint64_t len)
{
    sp->t->cur_cap_ns = len ? len + slack_ns(sp->t) : 0;
}

/* ends the span of a sleep of `len` ns that returned `ok` */
static void sleep_end(struct ps_span *sp, int ok, uint64_t len)
{
    if (ok)
        ps_span_end_at_most(sp, len + slack_ns(sp->t));
    else
        ps_span_end(sp);
}

PS_EXPORT int nanosleep(const struct timespec *req, struct timespec *rem)
{
    PS_SPAN(sp);
    if (!ps_span_begin(&sp, PS_SLEEP, PS_K_SLEEP, 0, PS_CALLER()))
        return PS_REAL(nanosleep)(req, rem);
    uint64_t len = req_ns(req);
    sleep_cap(&sp, len);
    struct ps_restart rs;
    ps_restart_begin(&rs, sp.t);
    int *err = &errno, saved = *err;
    struct timespec mine, left, *rp = rem ? rem : &mine;
    int r = ps_real_nanosleep(req, rp);
    while (ps_restart_errno(&rs, r != 0, err, saved)) {
        left = *rp;                   /* the kernel wrote what was left */
        r = ps_real_nanosleep(&left, rp);
    }
    sleep_end(&sp, r == 0 && len, len);
    return r;
}

PS_EXPORT int clock_nanosleep(clockid_t c, int f, const struct timespec *req, struct timespec *rem)
{
    PS_SPAN(sp);
    if (!ps_span_begin(&sp, PS_SLEEP, PS_K_SLEEP, 0, PS_CALLER()))
        return PS_REAL(clock_nanosleep)(c, f, req, rem);
    /* an absolute deadline: its length is from now on the sleep's own clock */
    struct timespec now;
    int saved = errno;
    int abs_ok = (f & TIMER_ABSTIME) && clock_gettime(c, &now) == 0;
    errno = saved;                       /* clock_nanosleep itself never sets it */
    uint64_t v = req_ns(req), len = 0;
    if (!(f & TIMER_ABSTIME))
        len = v;
    else if (abs_ok && v > ts_ns(&now))
        len = v - ts_ns(&now);
    sleep_cap(&sp, len);
    struct ps_restart rs;
    ps_restart_begin(&rs, sp.t);
    struct timespec mine, left, *rp = rem ? rem : &mine;
    int r = ps_real_clock_nanosleep(c, f, req, rp);   /* returns the error, errno untouched */
    while (ps_restart_again(&rs, r != 0, r)) {
        left = *rp;
        /* An absolute deadline stays what it was. */
        r = ps_real_clock_nanosleep(c, f, (f & TIMER_ABSTIME) ? req : &left, rp);
    }
    sleep_end(&sp, r == 0 && len, len);
    return r;
}

PS_EXPORT int usleep(useconds_t us)
{
    PS_SPAN(sp);
    if (!ps_span_begin(&sp, PS_SLEEP, PS_K_SLEEP, 0, PS_CALLER()))
        return PS_REAL(usleep)(us);
    sleep_cap(&sp, (uint64_t)us * 1000);
    struct ps_restart rs;
    ps_restart_begin(&rs, sp.t);
    int *err = &errno, saved = *err;
    int r = ps_real_usleep(us);
    while (ps_restart_errno(&rs, r != 0, err, saved)) {
        uint64_t spent = ps_ns_since(sp.t0, ps_now_ns()), total = (uint64_t)us * 1000ull;
        r = spent >= total ? 0 : ps_real_usleep((useconds_t)((total - spent + 999) / 1000));
    }
    sleep_end(&sp, r == 0, (uint64_t)us * 1000);
    return r;
}

PS_EXPORT unsigned sleep(unsigned secs)
{
    PS_SPAN(sp);
    if (!ps_span_begin(&sp, PS_SLEEP, PS_K_SLEEP, 0, PS_CALLER()))
        return PS_REAL(sleep)(secs);
    sleep_cap(&sp, (uint64_t)secs * NS_PER_S);
    struct ps_restart rs;
    ps_restart_begin(&rs, sp.t);
    int *err = &errno, saved = *err;
    /* sleep() answers in whole seconds, rounded down: cut short with less
     * than a second left it returns 0, so only errno tells (glibc keeps errno
     * on success). The time left is measured here. */
    *err = 0;
    unsigned r = ps_real_sleep(secs);
    int cut = *err == EINTR;
    if (!*err)
        *err = saved;
    while (ps_restart_again(&rs, cut, EINTR)) {
        uint64_t spent = ps_ns_since(sp.t0, ps_now_ns()), total = (uint64_t)secs * NS_PER_S;
        *err = saved;
        if (spent >= total) {
            r = 0;
            break;
        }
        struct timespec ts = { (time_t)((total - spent) / NS_PER_S), (long)((total - spent) % NS_PER_S) };
        int nr = ps_real_nanosleep(&ts, &ts);
        cut = nr != 0 && *err == EINTR;
        r = nr ? (unsigned)ts.tv_sec : 0;       /* as sleep() would say it */
        if (!nr)
            *err = saved;
    }
    sleep_end(&sp, !cut, (uint64_t)secs * NS_PER_S);
    return r;
}
