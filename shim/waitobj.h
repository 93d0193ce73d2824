/* waitobj.h: the shared shape of waits on condvars, semaphores, futex words and
 * polled fds: a span (idle if the object is the pool's idle wait, else `cond`
 * or `io`), the object's entry (so the pool can learn its idle wait), and task
 * boundaries around an idle wait. Before a futex / semaphore / poll wait on
 * the pool's idle object is a throttle safe point. */
#ifndef PS_WAITOBJ_H
#define PS_WAITOBJ_H
#include "account.h"
#include "syncobj.h"
#include "throttle.h"

struct ps_objwait {
    struct ps_span span;
    struct ps_obj *o;
    void *site;
};

/* 0: not measured, forward only. */
static inline int ps_objwait_begin(struct ps_objwait *w, int cause, int kind, uintptr_t key, void *site)
{
    if (kind != PS_K_COND)               /* a condvar waiter holds the queue mutex: never park there */
        ps_throttle_before_wait(key);
    if (!ps_span_begin(&w->span, cause, kind, key, site))
        return 0;
    w->o = ps_obj_get(key, kind);
    w->site = site;
    if (w->span.cause == PS_IDLE)
        ps_task_end(w->span.t);
    return 1;
}

/* got_work: the call returned with work (a semaphore taken, fds ready). */
static inline void ps_objwait_end(struct ps_objwait *w, int got_work)
{
    int idle = w->span.cause == PS_IDLE;
    uint64_t dt = ps_span_end(&w->span);
    ps_obj_on_wait(w->o, w->span.t, w->site, dt);
    if (idle && got_work)
        ps_task_begin(w->span.t);
}
#endif
