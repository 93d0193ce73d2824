/* waitobj.h: the shared shape of waits on condvars, semaphores, futex words and
 * polled fds: a span (idle if the object is the pool's idle wait, else `cond`
 * or `io`), the object's entry (so the pool can learn its idle wait), and task
 * boundaries around an idle wait. */
#ifndef PS_WAITOBJ_H
#define PS_WAITOBJ_H
#include "account.h"
#include "syncobj.h"

struct ps_objwait {
    struct ps_span span;
    struct ps_obj *o;
    void *site;
};

/* 0: not measured, forward only. */
static inline int ps_objwait_begin(struct ps_objwait *w, int cause, int kind, uintptr_t key, void *site)
{
    if (!ps_span_begin(&w->span, cause, kind, key, site))
        return 0;
    w->o = ps_obj_get(key, kind);
    w->site = site;
    if (w->span.cause == PS_IDLE)
        ps_task_end(w->span.t);
    return 1;
}

/* A cancellation unwinding through the wait closes the span (see PS_SPAN). */
static inline void ps_objwait_unwind(struct ps_objwait *w)
{
    if (__builtin_expect(w->span.open, 0))
        ps_span_end(&w->span);
}
#define PS_OBJWAIT(var) struct ps_objwait var __attribute__((cleanup(ps_objwait_unwind))) = { 0 }

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
