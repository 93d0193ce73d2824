/* lockwait.h: the slow path shared by every lock wrapper (mutex, rwlock, spin):
 * mark the lock hot, time the blocking acquisition, charge it to the lock's
 * table entry (waiter site, owner site) and, for sleeping locks, to the thread's
 * `lock` wait. Spinning is on-CPU: it goes to spin_ns, not to wait. */
#ifndef PS_LOCKWAIT_H
#define PS_LOCKWAIT_H
#include "account.h"
#include "syncobj.h"

struct ps_lockwait {
    struct ps_obj *o;
    void *owner_site;
    struct ps_span span;
    int timed;
    uint64_t t0;
};

static inline void ps_lockwait_begin(struct ps_lockwait *w, const void *lock, int kind, void *site)
{
    w->o = ps_lock_before_wait(lock, kind, &w->owner_site);
    w->timed = ps_span_begin(&w->span, PS_LOCK, kind, (uintptr_t)lock, site);
}

static inline void ps_lockwait_end(struct ps_lockwait *w, struct ps_thread *t, void *site)
{
    uint64_t dt = w->timed ? ps_span_end(&w->span) : 0;
    ps_lock_after_wait(w->o, t, site, w->owner_site, dt);
}
#endif
