/* interpose_sem.c: sem_{wait,timedwait,clockwait,post}.
 * CPython's locks and queues are semaphores, so sem_wait is hot there: try
 * first (no clock when the semaphore is available), time only a real block.
 * A successful wait on the pool's idle semaphore starts a task; just before
 * it (the trywait too: a backlogged pool never blocks) is the throttle's
 * safe point. */
#include "export.h"
#include "real.h"
#include "throttle.h"
#include "waitobj.h"

#define PS_SEM_WAIT(call)                                                    \
    struct ps_thread *t = ps_thread_self();                                  \
    if (!t)                                                                  \
        return call;                                                         \
    int idle = ps_pool_is_idle_obj(t, (uintptr_t)s);                         \
    if (idle)                                                                \
        ps_throttle_point(t);                                                \
    int saved = errno;                                                       \
    if (PS_REAL(sem_trywait)(s) == 0) {                                      \
        if (idle) {                                                          \
            ps_task_end(t);                                                  \
            ps_task_begin(t);                                                \
        }                                                                    \
        return 0;                                                            \
    }                                                                        \
    errno = saved;                                                           \
    struct ps_objwait w;                                                     \
    if (!ps_objwait_begin(&w, PS_COND, PS_K_SEM, (uintptr_t)s, PS_CALLER())) \
        return call;                                                         \
    int r = call;                                                            \
    ps_objwait_end(&w, r == 0);                                              \
    return r;

PS_EXPORT int sem_wait(sem_t *s)
{
    PS_SEM_WAIT(PS_REAL(sem_wait)(s))
}

PS_EXPORT int sem_timedwait(sem_t *s, const struct timespec *abs)
{
    PS_SEM_WAIT(PS_REAL(sem_timedwait)(s, abs))
}

PS_EXPORT int sem_clockwait(sem_t *s, clockid_t clk, const struct timespec *abs)
{
    if (!PS_REAL(sem_clockwait)) {
        errno = ENOSYS;
        return -1;
    }
    PS_SEM_WAIT(ps_real_sem_clockwait(s, clk, abs))
}

PS_EXPORT int sem_post(sem_t *s)
{
    ps_pool_on_post((uintptr_t)s, ps_thread_self());
    return PS_REAL(sem_post)(s);
}
