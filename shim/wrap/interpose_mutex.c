/* interpose_mutex.c: pthread_mutex_{lock,trylock,timedlock,clocklock,unlock}.
 * Fast path: one trylock, one filter test (syncobj.h); no clock, no thread
 * record, no store to shared memory. Only when trylock says EBUSY do we time
 * the real lock. Locks
 * that were ever contended are "hot": for them we also note the owner and its
 * call site and the hold time (timed whole when others wait, else sampled:
 * syncobj.h), which is what names a convoy's culprit.
 * The pool's queue mutex marks task boundaries for condvar pools, and locking
 * it while holding no other lock is the throttle's safe point (throttle.h):
 * the marked path checks it before the trylock (after it, the worker would
 * hold the queue mutex); so is any hot mutex for a pool that never waits for
 * work, when the controller allows it. `held` counts the locks a thread holds: one store to
 * its own record per lock and unlock. */
#include "export.h"
#include "hot.h"
#include "lockwait.h"
#include "real.h"
#include "throttle.h"
#include "timeout.h"

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

/* The blocking acquisition, timed; its state lives in this frame only. */
static __attribute__((noinline))
int lock_wait(enum how how, pthread_mutex_t *m, clockid_t clk, const struct timespec *abs, void *site,
              struct ps_thread *t)
{
    struct ps_lockwait w;
    ps_lockwait_begin(&w, m, PS_K_MUTEX, site);
    int r = real_lock(how, m, clk, abs);
    ps_lockwait_end(&w, t, site);
    return r;
}

static inline void held_add(int d)
{
    if (__builtin_expect(!ps_track_held, 1))
        return;
    struct ps_thread *t = ps_self;
    if (t)
        t->held += d > 0 || t->held > 0 ? d : 0;
}

/* A hot mutex taken by t (its filter bit is set: a lock waited for was
 * inserted, or it was marked already): its slot's counts, the hold sample,
 * and `held` (t is the caller's own record, as held_add's). */
static inline __attribute__((always_inline))
void marked_acquired(pthread_mutex_t *m, void *site, struct ps_thread *t, int waited)
{
    struct ps_obj *o;
    struct ps_lock_slot *s = ps_lock_slot(t, (uintptr_t)m, &o);
    if (o)
        ps_lock_acquired(o, s, t, site, waited);
    if (__builtin_expect(ps_track_held, 0))
        t->held++;
}

/* After the trylock (r), with the thread's record: the timed wait if the
 * mutex was busy, then the hot lock's acquisition. */
static inline __attribute__((always_inline))
int lock_finish(enum how how, pthread_mutex_t *m, clockid_t clk, const struct timespec *abs, void *site,
                struct ps_thread *t, int r)
{
    int waited = r == EBUSY;
    if (waited)
        r = lock_wait(how, m, clk, abs, site, t);
    if (r == 0 || r == EOWNERDEAD)
        marked_acquired(m, site, t, waited);
    return r;
}

/* A mutex the filter did not mark whose trylock did not simply succeed: it
 * is busy (r == EBUSY, the lock's first contention, or a hot one marked
 * since the filter test), or the trylock failed otherwise (EOWNERDEAD,
 * EINVAL...). Out of line so the fast path needs no stack frame. */
static __attribute__((noinline))
int lock_rest(enum how how, pthread_mutex_t *m, clockid_t clk, const struct timespec *abs, void *site,
              int r)
{
    struct ps_thread *t = ps_thread_self();
    if (!t) {
        if (r == EBUSY)
            r = real_lock(how, m, clk, abs);
        if (r == 0 || r == EOWNERDEAD)
            held_add(1);
        return r;
    }
    if (r == EBUSY && ps_pool_is_queue_mutex(t, m))
        ps_task_end_queue(t);            /* a worker comes back for more work */
    return lock_finish(how, m, clk, abs, site, t, r);
}

/* A marked mutex locked by a thread without a record (or one of ours). */
static __attribute__((noinline, cold))
int lock_untracked(enum how how, pthread_mutex_t *m, clockid_t clk, const struct timespec *abs)
{
    int r = real_lock(how, m, clk, abs);
    if (r == 0 || r == EOWNERDEAD)
        held_add(1);
    return r;
}

/* A marked mutex (hot, or a pool's queue mutex), before its trylock: a
 * worker about to take its pool's queue mutex between tasks ends its task
 * and parks here when the pool is over its limit (before the trylock: after
 * it, the worker would hold the queue mutex). */
static inline __attribute__((always_inline))
void marked_before(enum how how, pthread_mutex_t *m, struct ps_thread *t)
{
    if (ps_pool_is_queue_mutex(t, m)) {
        ps_task_end_queue(t);            /* a worker comes back for more work */
        ps_throttle_at_queue_mutex(t);
    } else if (how == PLAIN) {
        ps_throttle_at_hot_mutex(t);     /* a never-idle pool's safe point (throttle.h) */
    }
}

/* A marked pthread_mutex_lock whose trylock did not succeed: the timed wait
 * (EBUSY), or glibc's other answers. Out of line, so the marked path keeps
 * only m, site and t across the trylock: it saved six registers when this
 * was inline (~18 instructions of sysbench's lock / sched_yield / unlock
 * loop, whose mutexes are all hot). */
static __attribute__((noinline))
int lock_marked_busy(pthread_mutex_t *m, void *site, struct ps_thread *t, int r)
{
    return lock_finish(PLAIN, m, 0, NULL, site, t, r);
}

/* Out of line, one per kind of call, so pthread_mutex_lock's keeps only m,
 * site and the record. */
PS_HOT_TEXT static __attribute__((noinline)) int lock_marked_untimed(pthread_mutex_t *m, void *site)
{
    struct ps_thread *t = ps_thread_self();
    if (__builtin_expect(!t, 0))
        return lock_untracked(PLAIN, m, 0, NULL);
    marked_before(PLAIN, m, t);
    int r = PS_REAL(pthread_mutex_trylock)(m);
    if (__builtin_expect(r != 0, 0))
        return lock_marked_busy(m, site, t, r);
    marked_acquired(m, site, t, 0);
    return 0;
}
static __attribute__((noinline))
int lock_marked_timed(enum how how, pthread_mutex_t *m, clockid_t clk, const struct timespec *abs, void *site)
{
    struct ps_thread *t = ps_thread_self();
    if (!t)
        return lock_untracked(how, m, clk, abs);
    marked_before(how, m, t);
    return lock_finish(how, m, clk, abs, site, t, PS_REAL(pthread_mutex_trylock)(m));
}

/* The fast path: a trylock that succeeds on an unmarked mutex returns at once,
 * without touching the thread record: the real trylock and a test of its
 * result (m and site are all it keeps across the call). Out of line, and the
 * marked path too, so the exported functions are a filter test and a tail
 * call: a marked lock no longer pays the plain path's saved registers. A lock
 * that another thread marks between the filter test and the trylock (its
 * first contention, or its learning as a pool's queue mutex) is taken unseen
 * this once: not counted among its acquisitions, and its release is that of a
 * holder we did not see take it (syncobj.h, "Hold time"). Testing the filter
 * again after the trylock cost every uncontended lock of the program two more
 * saved registers. */
static inline __attribute__((always_inline))
int lock_plain(enum how how, pthread_mutex_t *m, clockid_t clk, const struct timespec *abs, void *site)
{
    int r = PS_REAL(pthread_mutex_trylock)(m);
    if (__builtin_expect(r == 0, 1)) {
        held_add(1);
        return 0;
    }
    return lock_rest(how, m, clk, abs, site, r);      /* keeps `held` itself */
}
/* The unmarked pair's two calls into glibc, through pointers that are never
 * NULL and that keep `held` themselves when it is tracked: glibc's trylock
 * and unlock with POOLSHIM_CONTROL off (the default), the counted ones below
 * with it on. The uncontended pair thus tests neither a NULL pointer nor
 * ps_track_held (10 instructions of its 53, callgrind). Until the shim is
 * ready they are the boot functions, which resolve, count and forward; the
 * first call after it is ready installs the pair for good (ps_track_held is
 * set before ps_ready, and never changes after). Read-mostly, its own line. */
static int trylock_boot(pthread_mutex_t *m);
static int unlock_boot(pthread_mutex_t *m);
static struct {
    __typeof__(pthread_mutex_trylock) *trylock;
    __typeof__(pthread_mutex_unlock) *unlock;
} fast __attribute__((aligned(64))) = { trylock_boot, unlock_boot };

static int trylock_counted(pthread_mutex_t *m)
{
    int r = ps_real_pthread_mutex_trylock(m);
    if (r == 0)
        held_add(1);
    return r;
}
static int unlock_counted(pthread_mutex_t *m)
{
    held_add(-1);
    return ps_real_pthread_mutex_unlock(m);
}
static __attribute__((noinline, cold)) void fast_install(void)
{
    if (!__atomic_load_n(&ps_ready, __ATOMIC_ACQUIRE) || !ps_real_pthread_mutex_trylock ||
        !ps_real_pthread_mutex_unlock)
        return;                          /* not yet (or a pass-through shim: boot stays) */
    int counted = ps_track_held;
    __atomic_store_n(&fast.trylock, counted ? trylock_counted : ps_real_pthread_mutex_trylock,
                     __ATOMIC_RELAXED);
    __atomic_store_n(&fast.unlock, counted ? unlock_counted : ps_real_pthread_mutex_unlock,
                     __ATOMIC_RELAXED);
}
static __attribute__((noinline, cold)) int trylock_boot(pthread_mutex_t *m)
{
    fast_install();
    int r = PS_REAL(pthread_mutex_trylock)(m);
    if (r == 0)
        held_add(1);
    return r;
}
static __attribute__((noinline, cold)) int unlock_boot(pthread_mutex_t *m)
{
    fast_install();
    held_add(-1);
    return PS_REAL(pthread_mutex_unlock)(m);
}

/* pthread_mutex_lock's: only m and site to keep. */
PS_HOT_TEXT static __attribute__((noinline)) int lock_plain_untimed(pthread_mutex_t *m, void *site)
{
    int r = __atomic_load_n(&fast.trylock, __ATOMIC_RELAXED)(m);   /* keeps `held` */
    if (__builtin_expect(r == 0, 1))
        return 0;
    return lock_rest(PLAIN, m, 0, NULL, site, r);                  /* keeps `held` itself */
}

/* Inlined into the exported functions, so PS_CALLER() here is their caller. */
static inline __attribute__((always_inline))
int lock_common(enum how how, pthread_mutex_t *m, clockid_t clk, const struct timespec *abs)
{
    if (how != PLAIN && ps_timeout_is_bad(abs, how == CLOCKED, clk))
        return real_lock(how, m, clk, abs);      /* glibc's own answer (EINVAL) */
    if (__builtin_expect(ps_obj_maybe((uintptr_t)m), 0))      /* these keep `held` themselves */
        return how == PLAIN ? lock_marked_untimed(m, PS_CALLER()) : lock_marked_timed(how, m, clk, abs, PS_CALLER());
    if (how == PLAIN)
        return lock_plain_untimed(m, PS_CALLER());
    return lock_plain(how, m, clk, abs, PS_CALLER());
}

PS_EXPORT PS_HOT_TEXT int pthread_mutex_lock(pthread_mutex_t *m)
{
    return lock_common(PLAIN, m, 0, NULL);
}

PS_EXPORT int pthread_mutex_timedlock(pthread_mutex_t *m, const struct timespec *abs)
{
    return lock_common(TIMED, m, 0, abs);
}

PS_EXPORT int pthread_mutex_clocklock(pthread_mutex_t *m, clockid_t clk, const struct timespec *abs)
{
    return lock_common(CLOCKED, m, clk, abs);
}

PS_EXPORT int pthread_mutex_trylock(pthread_mutex_t *m)
{
    int r = PS_REAL(pthread_mutex_trylock)(m);
    struct ps_thread *t;
    if ((r == 0 || r == EOWNERDEAD) && (t = ps_thread_self())) {
        t->held++;
        ps_lock_on_acquire(t, m, PS_CALLER(), 0);
    }
    return r;
}

/* A marked mutex: the hold time closes while we still hold it (the owner
 * check needs that); the task begins after the real unlock, so the clock read
 * and the pool's counter are not inside the host's critical section. */
PS_HOT_TEXT static __attribute__((noinline)) int unlock_task(struct ps_thread *t, pthread_mutex_t *m, void *site)
{
    int r = PS_REAL(pthread_mutex_unlock)(m);
    if (r == 0)
        ps_task_begin_at_unlock(t, site);    /* a worker leaves the queue with a task; sets no errno */
    return r;
}
/* The real unlock is a tail call unless the mutex is the thread's pool's
 * queue mutex (then unlock_task): no stack frame on a hot lock's release. */
PS_HOT_TEXT static __attribute__((noinline)) int unlock_marked(pthread_mutex_t *m, void *site)
{
    held_add(-1);
    struct ps_thread *t = ps_self;
    if (!t || t->ignore)
        return PS_REAL(pthread_mutex_unlock)(m);
    struct ps_obj *o;                    /* the filter bit is set: we are here for it */
    struct ps_lock_slot *s = ps_lock_slot(t, (uintptr_t)m, &o);
    if (o)
        ps_lock_released(o, s, t);
    if (__builtin_expect(ps_pool_is_queue_mutex(t, m), 0))
        return unlock_task(t, m, site);
    return PS_REAL(pthread_mutex_unlock)(m);
}

PS_EXPORT PS_HOT_TEXT int pthread_mutex_unlock(pthread_mutex_t *m)
{
    if (__builtin_expect(ps_obj_maybe((uintptr_t)m), 0))
        return unlock_marked(m, PS_CALLER());   /* these keep `held` themselves */
    return __atomic_load_n(&fast.unlock, __ATOMIC_RELAXED)(m);
}
