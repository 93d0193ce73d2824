/* interpose_spin.c: pthread_spin_{lock,trylock,unlock}.
 * A spinning thread is on a CPU: its contention is charged to the lock's entry
 * (wall time, like any lock wait) and to the thread's spin_ns, which must be
 * CPU time: on 2 cores with 4 spinners a spinner is often preempted, and wall
 * time spinning then doubles the truth. The thread's CPU clock is read before
 * spinning and again after the unlock, never inside the critical section (a
 * 1.3 us syscall there would lengthen every contended hold). That CPU covers
 * the spin and the hold; it is split between them in proportion to their wall
 * times (a thread preempted while spinning is as likely preempted while
 * holding). Measured against the fixture's own CPU clock around the spin
 * (tests/integration/test_spin_pool.c): within 10 % on a loaded 2-core
 * machine, where subtracting the hold's wall time instead was 28 % low and
 * wall time alone twice the truth. Uncontended acquisitions read no clock. */
#include "confine.h"
#include "export.h"
#include "syncobj.h"
#include "account.h"
#include "real.h"

static uint64_t thread_cpu_ns(void)
{
    struct timespec ts;
    if (ps_is_confined() || clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts))
        return 0;
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Closes the pending spin of t (at its unlock, or when another one starts). */
static void spin_settle(struct ps_thread *t, uint64_t cpu_now, uint64_t now)
{
    uint64_t spin = t->spin_wall_ns;
    if (cpu_now && t->spin_cpu0_ns && cpu_now > t->spin_cpu0_ns) {
        uint64_t cpu = cpu_now - t->spin_cpu0_ns;
        uint64_t hold = ps_ns_since(t->spin_acq_ns, now);
        uint64_t est = (uint64_t)((double)cpu * (double)spin / (double)(spin + hold + 1));
        if (est < spin)
            spin = est;
    }
    __atomic_store_n(&t->spin_ns, t->spin_ns + spin, __ATOMIC_RELAXED);
    t->spin_lock = NULL;
}

PS_EXPORT int pthread_spin_lock(pthread_spinlock_t *l)
{
    struct ps_thread *t = ps_thread_self();
    if (!t)
        return PS_REAL(pthread_spin_lock)(l);
    void *site = PS_CALLER();
    int r = PS_REAL(pthread_spin_trylock)(l), waited = r == EBUSY;
    if (waited) {
        int saved = errno;
        void *owner_site;
        struct ps_obj *o = ps_lock_before_wait((void *)l, PS_K_SPIN, &owner_site);
        if (t->spin_lock)                /* nested contended spinlocks: settle the outer at wall */
            spin_settle(t, 0, 0);
        uint64_t cpu0 = thread_cpu_ns();
        uint64_t t0 = ps_now_ns();
        r = ps_real_pthread_spin_lock(l);
        uint64_t t1 = ps_now_ns();
        t->spin_lock = l;
        t->spin_cpu0_ns = cpu0;
        t->spin_wall_ns = ps_ns_since(t0, t1);
        t->spin_acq_ns = t1;
        ps_lock_after_wait(o, t, site, owner_site, t->spin_wall_ns);
        errno = saved;
    }
    if (r == 0) {
        t->held++;
        ps_lock_on_acquire(t, (void *)l, site, waited);
    }
    return r;
}

PS_EXPORT int pthread_spin_trylock(pthread_spinlock_t *l)
{
    int r = PS_REAL(pthread_spin_trylock)(l);
    struct ps_thread *t;
    if (r == 0 && (t = ps_thread_self())) {
        t->held++;
        ps_lock_on_acquire(t, (void *)l, PS_CALLER(), 0);
    }
    return r;
}

PS_EXPORT int pthread_spin_unlock(pthread_spinlock_t *l)
{
    struct ps_thread *t = ps_self;
    if (!t || t->ignore)
        return PS_REAL(pthread_spin_unlock)(l);
    t->held -= t->held > 0;
    ps_lock_on_release(t, (void *)l);
    int r = PS_REAL(pthread_spin_unlock)(l);
    if (__builtin_expect(t->spin_lock == l, 0)) {
        int saved = errno;
        uint64_t now = ps_now_ns();
        spin_settle(t, thread_cpu_ns(), now);
        errno = saved;
    }
    return r;
}
