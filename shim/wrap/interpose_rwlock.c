/* interpose_rwlock.c: pthread_rwlock_* (plain, try, timed and clock variants).
 * Same discipline as mutexes: try first, time only a blocking acquisition.
 * Readers share the lock, so their holds are timed only while a writer
 * waits (syncobj.h, "Hold time"); the owner site is the last acquirer's. */
#include "export.h"
#include "lockwait.h"
#include "real.h"
#include "timeout.h"

#define PS_RW(trycall, call, shared)                                \
    struct ps_thread *t = ps_thread_self();                         \
    if (!t)                                                         \
        return call;                                                \
    void *site = PS_CALLER();                                       \
    int r = trycall, waited = r == EBUSY;                           \
    if (waited) {                                                   \
        struct ps_lockwait w;                                       \
        ps_lockwait_begin(&w, l, PS_K_RWLOCK, site);                \
        r = call;                                                   \
        ps_lockwait_end(&w, t, site);                               \
    }                                                               \
    if (r == 0) {                                                   \
        t->held++;                                                  \
        ps_lock_on_acquire(t, l, site, waited | (shared));          \
    }                                                               \
    return r;

#define RD_TRY PS_REAL(pthread_rwlock_tryrdlock)(l)
#define WR_TRY PS_REAL(pthread_rwlock_trywrlock)(l)

PS_EXPORT int pthread_rwlock_rdlock(pthread_rwlock_t *l)
{ PS_RW(RD_TRY, PS_REAL(pthread_rwlock_rdlock)(l), PS_ACQ_SHARED) }
PS_EXPORT int pthread_rwlock_wrlock(pthread_rwlock_t *l)
{ PS_RW(WR_TRY, PS_REAL(pthread_rwlock_wrlock)(l), 0) }
PS_EXPORT int pthread_rwlock_timedrdlock(pthread_rwlock_t *l, const struct timespec *a)
{ if (ps_timeout_is_bad(a, 0, 0)) return PS_REAL(pthread_rwlock_timedrdlock)(l, a);
  PS_RW(RD_TRY, PS_REAL(pthread_rwlock_timedrdlock)(l, a), PS_ACQ_SHARED) }
PS_EXPORT int pthread_rwlock_timedwrlock(pthread_rwlock_t *l, const struct timespec *a)
{ if (ps_timeout_is_bad(a, 0, 0)) return PS_REAL(pthread_rwlock_timedwrlock)(l, a);
  PS_RW(WR_TRY, PS_REAL(pthread_rwlock_timedwrlock)(l, a), 0) }
PS_EXPORT int pthread_rwlock_clockrdlock(pthread_rwlock_t *l, clockid_t c, const struct timespec *a)
{ if (!PS_REAL(pthread_rwlock_clockrdlock)) return ENOSYS;
  if (ps_timeout_is_bad(a, 1, c)) return ps_real_pthread_rwlock_clockrdlock(l, c, a);
  PS_RW(RD_TRY, ps_real_pthread_rwlock_clockrdlock(l, c, a), PS_ACQ_SHARED) }
PS_EXPORT int pthread_rwlock_clockwrlock(pthread_rwlock_t *l, clockid_t c, const struct timespec *a)
{ if (!PS_REAL(pthread_rwlock_clockwrlock)) return ENOSYS;
  if (ps_timeout_is_bad(a, 1, c)) return ps_real_pthread_rwlock_clockwrlock(l, c, a);
  PS_RW(WR_TRY, ps_real_pthread_rwlock_clockwrlock(l, c, a), 0) }

PS_EXPORT int pthread_rwlock_tryrdlock(pthread_rwlock_t *l)
{
    int r = RD_TRY;
    struct ps_thread *t;
    if (r == 0 && (t = ps_thread_self())) {
        t->held++;
        ps_lock_on_acquire(t, l, PS_CALLER(), PS_ACQ_SHARED);
    }
    return r;
}
PS_EXPORT int pthread_rwlock_trywrlock(pthread_rwlock_t *l)
{
    int r = WR_TRY;
    struct ps_thread *t;
    if (r == 0 && (t = ps_thread_self())) {
        t->held++;
        ps_lock_on_acquire(t, l, PS_CALLER(), 0);
    }
    return r;
}

PS_EXPORT int pthread_rwlock_unlock(pthread_rwlock_t *l)
{
    struct ps_thread *t = ps_self;
    if (t && !t->ignore) {
        t->held -= t->held > 0;
        ps_lock_on_release(t, l);
    }
    return PS_REAL(pthread_rwlock_unlock)(l);
}
