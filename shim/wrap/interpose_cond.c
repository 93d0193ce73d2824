/* interpose_cond.c: pthread_cond_{wait,timedwait,clockwait,signal,broadcast}.
 * Exported unversioned and forwarded to the GLIBC_2.3.2 implementation (see
 * real.h). A wait is `cond` contention or `idle` (the pool's idle condvar); the
 * mutex passed with the idle condvar becomes the pool's queue mutex. The mutex
 * is released for the wait and re-acquired inside libc, unseen: its hold time
 * is closed before the wait and reopened after. A broadcast on a pool's idle
 * condvar (how pools stop) releases its parked workers. */
#include "export.h"
#include "real.h"
#include "throttle.h"
#include "waitobj.h"
#include <errno.h>

#define PS_COND_WAIT(call)                                                   \
    PS_OBJWAIT(w);                                                     \
    void *site = PS_CALLER();                                                \
    if (!ps_objwait_begin_locked(&w, PS_COND, PS_K_COND, (uintptr_t)c, (uintptr_t)m, site)) \
        return call;                                                         \
    if (w.o)                                                                 \
        __atomic_store_n(&w.o->mutex, (uintptr_t)m, __ATOMIC_RELAXED);       \
    ps_lock_on_release(w.span.t, m);                                         \
    int r = call;                                                            \
    if (r == ETIMEDOUT)                                                      \
        ps_objwait_timed_out(&w);                                            \
    ps_objwait_end(&w, 0);                                                   \
    ps_lock_on_acquire(w.span.t, m, site, 0);                                   \
    return r;

PS_EXPORT int pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
    PS_COND_WAIT(PS_REAL(pthread_cond_wait)(c, m))
}

PS_EXPORT int pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m, const struct timespec *abs)
{
    PS_COND_WAIT(PS_REAL(pthread_cond_timedwait)(c, m, abs))
}

PS_EXPORT int pthread_cond_clockwait(pthread_cond_t *c, pthread_mutex_t *m, clockid_t clk,
                                     const struct timespec *abs)
{
    if (!PS_REAL(pthread_cond_clockwait))
        return ENOSYS;
    PS_COND_WAIT(ps_real_pthread_cond_clockwait(c, m, clk, abs))
}

PS_EXPORT int pthread_cond_signal(pthread_cond_t *c)
{
    ps_objwait_post((uintptr_t)c, PS_K_COND);
    return PS_REAL(pthread_cond_signal)(c);
}

PS_EXPORT int pthread_cond_broadcast(pthread_cond_t *c)
{
    ps_objwait_post((uintptr_t)c, PS_K_COND);
    ps_throttle_on_broadcast((uintptr_t)c);    /* a pool told to stop must not stay parked */
    return PS_REAL(pthread_cond_broadcast)(c);
}
