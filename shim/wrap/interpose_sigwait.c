/* interpose_sigwait.c: sigsuspend, pause, sigwaitinfo, sigtimedwait: the
 * calls that wait for a signal, and return -1 EINTR once any handler has run,
 * whatever SA_RESTART says (signal(7)). Our dump signal's handler is one: a
 * dump set off while lbzip2's main thread sat in sigsuspend (all signals
 * blocked but in it, waiting for its own) made sigsuspend return, and lbzip2
 * exited 1 in 2 of 30 runs that dumped. Here, as for sleeps and polls
 * (restart.h), a return caused by our handler alone waits again, with the
 * same mask and, for sigtimedwait, the time left; a program handler that ran
 * meanwhile ends the wait as it would have. Not measured as waits: a thread
 * waiting for a signal is no pool's worker (the sampler labels it if it is
 * caught there). errno is as the program left it unless the call failed. */
#include "export.h"
#include "real.h"
#include "restart.h"
#include "clock.h"

PS_EXPORT int sigsuspend(const sigset_t *mask)
{
    struct ps_restart rs;
    ps_restart_begin(&rs, ps_thread_self());
    int *err = &errno, saved = *err, r;
    do
        r = PS_REAL(sigsuspend)(mask);
    while (ps_restart_errno(&rs, r < 0, err, saved));
    return r;
}

PS_EXPORT int pause(void)
{
    struct ps_restart rs;
    ps_restart_begin(&rs, ps_thread_self());
    int *err = &errno, saved = *err, r;
    do
        r = PS_REAL(pause)();
    while (ps_restart_errno(&rs, r < 0, err, saved));
    return r;
}

PS_EXPORT int sigwaitinfo(const sigset_t *set, siginfo_t *info)
{
    struct ps_restart rs;
    ps_restart_begin(&rs, ps_thread_self());
    int *err = &errno, saved = *err, r;
    do
        r = PS_REAL(sigwaitinfo)(set, info);
    while (ps_restart_errno(&rs, r < 0, err, saved));
    return r;
}

PS_EXPORT int sigtimedwait(const sigset_t *set, siginfo_t *info, const struct timespec *timeout)
{
    struct ps_restart rs;
    ps_restart_begin(&rs, ps_thread_self());
    int *err = &errno, saved = *err, r;
    uint64_t t0 = ps_now_ns();
    struct timespec left;
    const struct timespec *to = timeout;
    while ((r = PS_REAL(sigtimedwait)(set, info, to)) < 0 && ps_restart_errno(&rs, 1, err, saved))
        to = ps_restart_left_ts(timeout, &left, t0, ps_now_ns());
    return r;
}
