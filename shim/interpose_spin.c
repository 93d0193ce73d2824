/* interpose_spin.c: pthread_spin_{lock,trylock,unlock}.
 * A spinning thread is on a CPU: its contention is charged to the lock's entry
 * and to the thread's spin_ns (part of its CPU time), never to wait time. */
#include "export.h"
#include "syncobj.h"
#include "account.h"
#include "real.h"

PS_EXPORT int pthread_spin_lock(pthread_spinlock_t *l)
{
    struct ps_thread *t = ps_thread_self();
    if (!t)
        return PS_REAL(pthread_spin_lock)(l);
    void *site = PS_CALLER();
    int r = PS_REAL(pthread_spin_trylock)(l);
    if (r == EBUSY) {
        void *owner_site;
        struct ps_obj *o = ps_lock_before_wait((void *)l, PS_K_SPIN, &owner_site);
        uint64_t t0 = ps_now_ns();
        r = ps_real_pthread_spin_lock(l);
        uint64_t dt = ps_now_ns() - t0;
        t->spin_ns += dt;
        ps_lock_after_wait(o, t, site, owner_site, dt);
    }
    if (r == 0) {
        t->held++;
        ps_lock_on_acquire(t, (void *)l, site);
    }
    return r;
}

PS_EXPORT int pthread_spin_trylock(pthread_spinlock_t *l)
{
    int r = PS_REAL(pthread_spin_trylock)(l);
    struct ps_thread *t;
    if (r == 0 && (t = ps_thread_self())) {
        t->held++;
        ps_lock_on_acquire(t, (void *)l, PS_CALLER());
    }
    return r;
}

PS_EXPORT int pthread_spin_unlock(pthread_spinlock_t *l)
{
    struct ps_thread *t = ps_self;
    if (t && !t->ignore) {
        t->held -= t->held > 0;
        ps_lock_on_release(t, (void *)l);
    }
    return PS_REAL(pthread_spin_unlock)(l);
}
