/* restart.h: the dump signal must not be seen by the program. Even with
 * SA_RESTART it makes nanosleep, poll, ppoll, select, epoll_wait and
 * sem_timedwait fail with EINTR (signal(7)). A wrapper around such a call
 * snapshots two per-thread counters before the real call; if the call fails
 * with EINTR and only our handler ran on this thread meanwhile (dump_sigs
 * moved, prog_sigs did not: no handler of the program ran, see
 * interpose_signal.c), it calls again with the time that is left. If any
 * program handler ran, the EINTR is the program's and goes through: a
 * `while (!stop) epoll_wait(...)` loop must see its stop. Owner thread only;
 * the counters are written by handlers on the same thread.
 * No handler at all means a stop: epoll_wait and a few others fail after a
 * ptrace stop too (signal(7)). It is ours when `poolshim dump` stopped the
 * process (its picture request, stacks.h) or when the supervising `poolshim
 * run` did at the shim's request (supervise.h); a job-control stop's EINTR
 * goes through. */
#ifndef PS_RESTART_H
#define PS_RESTART_H
#include <errno.h>
#include <stdint.h>
#include <time.h>
#include "stacks.h"
#include "supervise.h"
#include "thread.h"

struct ps_restart { struct ps_thread *t; uint32_t dump, prog; uint64_t pictures, stops; };

static inline void ps_restart_begin(struct ps_restart *r, struct ps_thread *t)
{
    r->t = t;
    r->dump = t ? __atomic_load_n(&t->dump_sigs, __ATOMIC_RELAXED) : 0;
    r->prog = t ? __atomic_load_n(&t->prog_sigs, __ATOMIC_RELAXED) : 0;
    r->pictures = ps_stacks_pictures();
    r->stops = ps_super_stops();
}

/* The call just failed with err: is it ours to restart? */
static inline int ps_restart_again(struct ps_restart *r, int failed, int err)
{
    if (!failed || err != EINTR || !r->t)
        return 0;
    if (__atomic_load_n(&r->t->prog_sigs, __ATOMIC_RELAXED) != r->prog)
        return 0;                              /* the program's handler ran: its EINTR */
    uint32_t d = __atomic_load_n(&r->t->dump_sigs, __ATOMIC_RELAXED);
    if (d != r->dump) {
        r->dump = d;                           /* our dump signal alone */
        return 1;
    }
    if (ps_super_stop_since(r->stops)) {
        r->stops = ps_super_stops();          /* the supervisor's stop */
        return 1;
    }
    if (!ps_stacks_ptrace_stop_since(r->pictures))
        return 0;
    r->pictures = ps_stacks_pictures();
    return 1;
}

/* ps_restart_again for a call that reports its error in errno: errno is put
 * back as the program left it before the call is made again (a call that
 * then succeeds leaves errno alone). */
static inline int ps_restart_errno(struct ps_restart *r, int failed, int *err, int saved)
{
    if (!ps_restart_again(r, failed, *err))
        return 0;
    *err = saved;
    return 1;
}

/* Milliseconds left of a poll-style timeout begun at t0_ns (now_ns read after
 * the EINTR), rounded up so that a restarted wait never ends early; -1 stays. */
static inline int ps_restart_left_ms(int timeout_ms, uint64_t t0_ns, uint64_t now_ns)
{
    if (timeout_ms < 0)
        return timeout_ms;
    uint64_t spent = now_ns > t0_ns ? now_ns - t0_ns : 0, total = (uint64_t)timeout_ms * 1000000ull;
    return spent >= total ? 0 : (int)((total - spent + 999999ull) / 1000000ull);
}

/* The same for a relative timespec (ppoll); NULL (no timeout) stays NULL. */
static inline const struct timespec *ps_restart_left_ts(const struct timespec *to, struct timespec *left,
                                                        uint64_t t0_ns, uint64_t now_ns)
{
    if (!to)
        return NULL;
    uint64_t total = (uint64_t)to->tv_sec * 1000000000ull + (uint64_t)to->tv_nsec;
    uint64_t spent = now_ns > t0_ns ? now_ns - t0_ns : 0, l = spent >= total ? 0 : total - spent;
    left->tv_sec = (time_t)(l / 1000000000ull);
    left->tv_nsec = (long)(l % 1000000000ull);
    return left;
}
#endif
