/* waitobj.h: the shared shape of waits on condvars, semaphores, futex words and
 * polled fds: a span (idle if the object is the pool's idle wait, else `cond`
 * or `io`), the object's entry (so the pool can learn its idle wait), and task
 * boundaries around an idle wait. Before a futex / semaphore / poll wait on
 * the pool's idle object is a throttle safe point. */
#ifndef PS_WAITOBJ_H
#define PS_WAITOBJ_H
#include "account.h"
#include "atomics.h"
#include "syncobj.h"
#include "throttle.h"

/* A herd's loser spins and yields a few times before it waits again: tens
 * of microseconds, hundreds under load. A task of pure CPU that short with
 * no wait in it, woken for all, is taken for such a return (undercounted). */
#define PS_REWAIT_NS 200000

struct ps_objwait {
    struct ps_span span;
    struct ps_obj *o;
    void *site;
    uintptr_t key;
    int kind;
    int ran_out_from;            /* the cause a timed wait had before it ran out as a sleep */
    uintptr_t lock;              /* condvars: the mutex the wait releases */
};

/* 0: not measured, forward only. lock: a condvar's mutex, else 0. */
static inline int ps_objwait_begin_locked(struct ps_objwait *w, int cause, int kind, uintptr_t key,
                                          uintptr_t lock, void *site)
{
    if (kind != PS_K_COND)               /* a condvar waiter holds the queue mutex: never park there */
        ps_throttle_before_wait(key);
    if (!ps_span_begin(&w->span, cause, kind, key, site))
        return 0;
    w->o = ps_obj_get(key, kind);
    w->site = site;
    w->key = key;
    w->kind = kind;
    w->lock = lock;
    struct ps_thread *t = w->span.t;
    if (w->o && t->pool >= 0 && __atomic_load_n(&w->o->begun_pool, __ATOMIC_RELAXED) < 0)
        __atomic_store_n(&w->o->begun_pool, t->pool, __ATOMIC_RELAXED);   /* pool.c: ps_pool_on_post */
    /* Again with the same mutex: Ruby (3.1, glibc) keeps a thread's sleep
     * condvar and its GVL condvar in one union, and a sleep that runs out is
     * followed at once by a wait for the GVL (or its timer's) on the same
     * condvar, at the same site, under the GVL's mutex: its sleeps read as
     * condvar and idle waits (a pool of 1 ms CPU + 4 ms sleep tasks: W/C
     * 0.45-2.92 for 4). x265's timedWait loops re-wait under one mutex. */
    if (__builtin_expect(t->ran_out_key != 0, 0) && t->ran_out_key == key) {
        t->ran_out_key = 0;                      /* its last wait ran out on this object */
        if (site == t->ran_out_site && lock == t->ran_out_lock && w->span.t0 - t->ran_out_end_ns < PS_REWAIT_NS)
            ps_wait_rewaited(t, w->o);
    }
    if (w->span.cause == PS_IDLE) {
        /* A futex word's wake-up may wake every waiter (libstdc++'s
         * counting_semaphore: FUTEX_WAKE INT_MAX per release), and all but
         * the one that took the count go back to wait (after a few
         * sched_yield spins): those were no tasks (803 read for 400). A task
         * begun by such a wake that ends in a wait on the same word, with
         * no other wait between and within PS_REWAIT_NS, did nothing. */
        if (kind == PS_K_FUTEX && t->task_wake_key == key && t->task_begin_ns &&
            t->span_gen == t->task_span_gen + 1 && w->span.t0 - t->task_begin_ns < PS_REWAIT_NS)
            ps_task_cancel(t);
        else
            ps_task_end(t);
        if (t->tasks)
            t->came_back = 1;            /* read by the agent (ps_pool_tasks_unseen) */
        t->task_wake_key = 0;
    }
    return 1;
}

static inline int ps_objwait_begin(struct ps_objwait *w, int cause, int kind, uintptr_t key, void *site)
{
    return ps_objwait_begin_locked(w, cause, kind, key, 0, site);
}

/* The object became known only after the call (poll: the kernel has just
 * proven the pollfd array readable; reading it before could fault where the
 * real call returns EFAULT). ps_objwait_end re-checks it against the idle wait. */
static inline void ps_objwait_rekey(struct ps_objwait *w, uintptr_t key)
{
    w->key = key;
    w->o = ps_obj_get(key, w->kind);
}

/* A cancellation unwinding through the wait closes the span (see PS_SPAN). */
static inline void ps_objwait_unwind(struct ps_objwait *w)
{
    if (__builtin_expect(w->span.open, 0))
        ps_span_end(&w->span);
}
#define PS_OBJWAIT(var) struct ps_objwait var __attribute__((cleanup(ps_objwait_unwind))) = { 0 }

/* A timed wait that ran out on an object nobody has ever posted is a sleep:
 * HotSpot's Thread.sleep is a timed wait on the thread's own condvar, which
 * nothing signals (a Java executor's sleeping tasks read W/C 0, all cond).
 * So is one that ran out on an object only this thread waits on, however
 * often it is posted otherwise: GNAT's `delay` waits on the task's own
 * condvar, which also wakes it when an entry call it made completes (its
 * wait for work): 2 s of delays read as cond or idle, W/C 0 where it is 3.9.
 * A lock handed over with a timeout (CPython's GIL waits 5 ms, then asks)
 * has several waiters, and stays contention. Nor is it a sleep where the
 * thread waits again at once (o->rewaited, ps_wait_rewaited): a wait for a
 * post that wakes now and then to look (x265's frame encoders wait for
 * their rows in timedWait(250) loops; beside two CPU hogs they ran out
 * for 5.5-6 s of 11 and the pool read W/C 0.15-0.3 for 0). */
static inline void ps_objwait_timed_out(struct ps_objwait *w)
{
    struct ps_obj *o = w->o;
    if (!o)
        return;
    ps_atomic_add(&o->timeouts, 1);
    int first = __atomic_load_n(&o->first_waiter, __ATOMIC_RELAXED);
    int own = w->span.t && !__atomic_load_n(&o->waiters_many, __ATOMIC_RELAXED) &&
              (!first || first == w->span.t->tid);
    int never_posted = !__atomic_load_n(&o->posts_same, __ATOMIC_RELAXED) &&
                       !__atomic_load_n(&o->posts_other, __ATOMIC_RELAXED);
    /* learned as the wait for work before its timeouts showed (a lone
     * worker's wait for work with a timeout, which runs out now and then,
     * stays idle) */
    if (__atomic_load_n(&o->rewaited, __ATOMIC_RELAXED))
        return;
    if ((w->span.cause == PS_COND && (never_posted || own)) ||
        (w->span.cause == PS_IDLE && own && ps_obj_timer_like(o))) {
        w->ran_out_from = w->span.cause;
        w->span.cause = PS_SLEEP;
    }
}

/* got_work: the call returned with work (a semaphore taken, fds ready);
 * for a poll, how many fds were ready: one task each.
 * The agent may have learned the pool's idle object while we waited: a long
 * wait for work that began before it knew (EPOLLEXCLUSIVE wakes one worker and
 * leaves the others asleep for long) is idle all the same, and is ended as such. */
static inline void ps_objwait_end(struct ps_objwait *w, int got_work)
{
    struct ps_thread *t = w->span.t;
    if (w->o && w->span.cause != PS_IDLE && w->span.cause != PS_LOCK)
        ps_pool_learn_early(t, w->o);
    if ((w->span.cause == PS_COND || w->span.cause == PS_IO) && ps_pool_is_idle_wait(t, w->kind, w->key, w->site)) {
        w->span.cause = PS_IDLE;
        ps_task_end_at(t, w->span.t0);
    }
    int idle = w->span.cause == PS_IDLE;
    if (idle && w->kind == PS_K_POLL && t && !t->polled_idle)
        __atomic_store_n(&t->polled_idle, 1, __ATOMIC_RELAXED);   /* once: its own line */
    if (idle && w->kind == PS_K_COND)
        t->idle_in_hold = 1;             /* its release of the queue mutex next is with work */
    int credit = !idle && got_work && w->kind == PS_K_POLL && w->span.cause == PS_IO && ps_thread_poll_site(t, w->site);
    if (credit)
        __atomic_store_n(&t->poll_site_work, t->poll_site_work + (unsigned)got_work, __ATOMIC_RELEASE);
    if (w->kind == PS_K_POLL && t) {
        /* the datagrams this poll's fds bring: requests (ps_task_datagram) */
        t->task_polled = (idle || credit) && got_work > 0 ? (unsigned)got_work : 0;
        t->task_dgrams = 0;
        t->poll_credit = credit;
    }
    int slept = w->span.cause == PS_SLEEP, cond = w->span.cause == PS_COND;
    uint64_t dt = ps_span_end(&w->span);
    if (slept && t)                      /* it ran out (ps_objwait_timed_out): open, it was not a sleep */
        __atomic_store_n(&t->ran_out_ns, t->ran_out_ns + dt, __ATOMIC_RELAXED);
    if (t && __builtin_expect(t->pend_key != 0, 0) && t->pend_key == w->key && !slept)
        ps_wait_posted(t, w->o);
    if (t && slept && w->ran_out_from) {  /* for the next wait to tell whether it was (ps_wait_rewaited) */
        t->ran_out_key = w->key;
        t->ran_out_lock = w->lock;
        t->ran_out_site = w->site;
        t->ran_out_end_ns = w->span.t0 + dt;
        t->ran_out_dt = dt;
        t->ran_out_cause = w->ran_out_from;
    } else if (t && __builtin_expect(t->ran_out_key != 0, 0)) {
        t->ran_out_key = 0;
    }
    if (!slept)
        ps_obj_on_wait(w->o, t, w->site, dt);   /* a sleep contends for nothing */
    if (cond && dt >= PS_WAIT_SWITCHED_NS)        /* blocked (ps_pool_tasks_unseen) */
        __atomic_store_n(&t->cond_blocked, t->cond_blocked + 1, __ATOMIC_RELAXED);
    if (idle && got_work) {
        ps_task_begin(t);
        t->task_wake_key = w->kind == PS_K_FUTEX && w->o && __atomic_load_n(&w->o->woken_all, __ATOMIC_RELAXED)
                               ? w->key : 0;
        t->task_span_gen = t->span_gen;
        if (w->kind != PS_K_POLL)
            t->task_polled = 0;
        if (w->kind == PS_K_POLL && got_work > 1)
            ps_task_more(t, (unsigned)got_work - 1);
        /* A poll wake-up for one fd may find the work gone (level-triggered
         * herds): the first I/O call settles it (ps_task_settle). */
        t->task_tentative = w->kind == PS_K_POLL && got_work == 1;
    }
}
/* A post (sem_post, or a condvar signal or broadcast: kind PS_K_COND) by
 * the calling thread: tallied on its record (tally.h: a pool whose waits miss
 * tasks counts them by the object its workers post once per task) and noted
 * on the object. */
static inline void ps_objwait_post(uintptr_t obj, int kind)
{
    struct ps_thread *t = ps_self;      /* unregistered threads' posts go uncounted */
    if (t && !t->ignore)
        ps_tally_post(&t->tally, kind == PS_K_COND ? obj | PS_TALLY_COND : obj);
    ps_obj_note_post(obj);
}

#endif
