/* interpose_mutex.c: pthread_mutex_{lock,trylock,timedlock,clocklock,unlock}.
 * Fast path: one trylock, one probe of the object table; no clock, no store to
 * shared memory. Only when trylock says EBUSY do we time the real lock. Locks
 * that were ever contended are "hot": for them we also note the owner and its
 * call site and the hold time, which is what names a convoy's culprit.
 * The pool's queue mutex marks task boundaries for condvar pools, and locking
 * it while holding no other lock is the throttle's safe point (throttle.h):
 * `held` counts the locks a thread holds (its own record, no atomics). */
#include "export.h"
#include "lockwait.h"
#include "real.h"
#include "throttle.h"

enum how { PLAIN, TIMED, CLOCKED };

static inline int real_lock(enum how how, pthread_mutex_t *m, clockid_t clk, const struct timespec *abs)
{
    switch (how) {
    case PLAIN: return PS_REAL(pthread_mutex_lock)(m);
    case TIMED: return PS_REAL(pthread_mutex_timedlock)(m, abs);
    default:
        if (!PS_REAL(pthread_mutex_clocklock))
            return ENOSYS;
        return ps_real_pthread_mutex_clocklock(m, clk, abs);
    }
}

static inline __attribute__((always_inline))
int lock_common(enum how how, pthread_mutex_t *m, clockid_t clk, const struct timespec *abs, void *site)
{
    struct ps_thread *t = ps_thread_self();
    if (!t)
        return real_lock(how, m, clk, abs);
    if (ps_pool_is_queue_mutex(t, m)) {
        ps_task_end(t);                  /* a worker comes back for more work */
        ps_throttle_point(t);            /* between tasks: park here if over the limit */
    }
    int r = ps_real_pthread_mutex_trylock(m);
    if (r == EBUSY) {
        struct ps_lockwait w;
        ps_lockwait_begin(&w, m, PS_K_MUTEX, site);
        r = real_lock(how, m, clk, abs);
        ps_lockwait_end(&w, t, site);
    }
    if (r == 0 || r == EOWNERDEAD) {
        t->held++;
        ps_lock_on_acquire(t, m, site);
    }
    return r;
}

PS_EXPORT int pthread_mutex_lock(pthread_mutex_t *m)
{
    return lock_common(PLAIN, m, 0, NULL, PS_CALLER());
}

PS_EXPORT int pthread_mutex_timedlock(pthread_mutex_t *m, const struct timespec *abs)
{
    return lock_common(TIMED, m, 0, abs, PS_CALLER());
}

PS_EXPORT int pthread_mutex_clocklock(pthread_mutex_t *m, clockid_t clk, const struct timespec *abs)
{
    return lock_common(CLOCKED, m, clk, abs, PS_CALLER());
}

PS_EXPORT int pthread_mutex_trylock(pthread_mutex_t *m)
{
    int r = PS_REAL(pthread_mutex_trylock)(m);
    struct ps_thread *t;
    if ((r == 0 || r == EOWNERDEAD) && (t = ps_thread_self())) {
        t->held++;
        ps_lock_on_acquire(t, m, PS_CALLER());
    }
    return r;
}

PS_EXPORT int pthread_mutex_unlock(pthread_mutex_t *m)
{
    struct ps_thread *t = ps_self;
    if (t && !t->ignore) {
        t->held -= t->held > 0;
        ps_lock_on_release(t, m);
        if (ps_pool_is_queue_mutex(t, m))
            ps_task_begin(t);            /* a worker leaves the queue with a task */
    }
    return PS_REAL(pthread_mutex_unlock)(m);
}
