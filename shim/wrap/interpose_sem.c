/* interpose_sem.c: sem_{wait,timedwait,clockwait,post}.
 * CPython's locks and queues are semaphores, so sem_wait is hot there: try
 * first (no clock, no thread record when the semaphore is available), time
 * only a real block, out of line so the fast path stays frameless.
 * A successful wait on the pool's idle semaphore starts a task; just before
 * it (before the trywait too: a backlogged pool never blocks) is the
 * throttle's safe point (throttle.h), reached only for marked semaphores.
 * Every post is tallied on the poster's record (tally.h): CPython's executor
 * finishes each task with one. A semaphore only threads of no pool post,
 * often, is marked so (tally.c), and its takers name the pool it feeds: a
 * backlogged pool takes its work without ever blocking.
 * A wait cut short by our dump signal alone is waited again (restart.h): the
 * deadlines are absolute, so the same call is the time left. */
#include "export.h"
#include "real.h"
#include "throttle.h"
#include "waitobj.h"
#include "timeout.h"
#include "restart.h"

enum how { PLAIN, TIMED, CLOCKED };

static inline int real_wait(enum how how, sem_t *s, clockid_t clk, const struct timespec *abs)
{
    switch (how) {
    case PLAIN: return PS_REAL(sem_wait)(s);
    case TIMED: return PS_REAL(sem_timedwait)(s, abs);
    default: return ps_real_sem_clockwait(s, clk, abs);
    }
}

/* Taken without blocking: a task boundary if s is the pool's idle semaphore
 * (an idle object is in the object table, so only marked ones get here). */
static __attribute__((noinline)) void took_marked(sem_t *s)
{
    struct ps_thread *t = ps_thread_self();
    if (t && ps_pool_is_idle_obj(t, (uintptr_t)s)) {
        ps_task_end(t);
        ps_task_begin(t);
    } else if (t) {
        ps_obj_on_take(t, (uintptr_t)s);  /* a fed semaphore's takers (syncobj.h) */
    }
}

/* Before taking a marked semaphore: park here if it is the pool's idle
 * semaphore and the pool is over its limit. */
static __attribute__((noinline)) void before_marked(sem_t *s)
{
    struct ps_thread *t = ps_thread_self();
    if (t && ps_pool_is_idle_obj(t, (uintptr_t)s))
        ps_throttle_point(t);
}

static __attribute__((noinline))
int wait_slow(enum how how, sem_t *s, clockid_t clk, const struct timespec *abs, void *site)
{
    PS_OBJWAIT(w);
    if (!ps_objwait_begin(&w, PS_COND, PS_K_SEM, (uintptr_t)s, site))
        return real_wait(how, s, clk, abs);
    struct ps_restart rs;
    ps_restart_begin(&rs, w.span.t);
    int *err = &errno, saved = *err;
    int r = real_wait(how, s, clk, abs);
    while (ps_restart_errno(&rs, r != 0, err, saved))
        r = real_wait(how, s, clk, abs);
    ps_objwait_end(&w, r == 0);
    return r;
}

static inline __attribute__((always_inline))
int wait_common(enum how how, sem_t *s, clockid_t clk, const struct timespec *abs, void *site)
{
    if (how != PLAIN && ps_timeout_is_bad(abs, how == CLOCKED, clk))
        return real_wait(how, s, clk, abs);      /* glibc's own answer (EINVAL) */
    int *err = &errno, saved = *err;
    if (__builtin_expect(ps_obj_maybe((uintptr_t)s), 0))
        before_marked(s);
    if (PS_REAL(sem_trywait)(s) == 0) {
        if (__builtin_expect(ps_obj_maybe((uintptr_t)s), 0))
            took_marked(s);
        return 0;
    }
    *err = saved;                        /* trywait's EAGAIN is ours, not the caller's */
    return wait_slow(how, s, clk, abs, site);
}

PS_EXPORT int sem_wait(sem_t *s)
{
    return wait_common(PLAIN, s, 0, NULL, PS_CALLER());
}

PS_EXPORT int sem_timedwait(sem_t *s, const struct timespec *abs)
{
    return wait_common(TIMED, s, 0, abs, PS_CALLER());
}

PS_EXPORT int sem_clockwait(sem_t *s, clockid_t clk, const struct timespec *abs)
{
    if (!PS_REAL(sem_clockwait)) {
        errno = ENOSYS;
        return -1;
    }
    return wait_common(CLOCKED, s, clk, abs, PS_CALLER());
}

PS_EXPORT int sem_post(sem_t *s)
{
    ps_objwait_post((uintptr_t)s, PS_K_SEM);
    return PS_REAL(sem_post)(s);
}
