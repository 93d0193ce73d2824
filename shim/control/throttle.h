/* throttle.h: parking pool workers at a safe point when a pool runs more
 * workers than the controller's limit (pool.h `limit`), and releasing them.
 * A safe point is a worker between tasks holding no application lock: about
 * to lock its pool's queue mutex, or about to wait on its pool's idle
 * semaphore / futex / polled fd. Workers park on the shim's own futex word
 * (one per pool), never on an application object, so nothing of the host's
 * can be left locked or signalled to nobody. */
#ifndef PS_THROTTLE_H
#define PS_THROTTLE_H
#include <pthread.h>
#include <stdint.h>
#include "pool.h"

/* Called by workers at a safe point; parks while the pool is over its limit.
 * at_mutex: the point is the queue mutex's lock (a condvar pool's only one:
 * its idle wait is entered holding that mutex), where a worker may also come
 * to do a task's bookkeeping (node's platform workers count a finished task
 * down under the queue mutex, and the main thread waits for that count): the
 * watchdog releases the workers parked there when someone waits for such
 * bookkeeping (ps_throttle_release_at_mutex). Fast path: one load of the
 * pool's limit (0 = no limit: return at once). */
void ps_throttle_park(struct ps_thread *t, struct ps_pool *p, int at_mutex);
static inline void ps_throttle_point_at(struct ps_thread *t, int at_mutex)
{
    struct ps_pool *p = ps_pool_of(t);
    if (__builtin_expect(p != 0, 1) && __builtin_expect(__atomic_load_n(&p->limit, __ATOMIC_RELAXED) > 0, 0) &&
        !t->held)
        ps_throttle_park(t, p, at_mutex);
}
/* At the pool's idle wait (semaphore, futex, fd): between tasks. */
static inline void ps_throttle_point(struct ps_thread *t)
{
    ps_throttle_point_at(t, 0);
}
/* About to lock the pool's queue mutex. */
static inline void ps_throttle_at_queue_mutex(struct ps_thread *t)
{
    ps_throttle_point_at(t, 1);
}
/* About to lock a hot mutex (one ever contended; pthread_mutex_lock only: a
 * timed lock has a deadline we must not stretch), before its trylock, holding
 * no wrapped lock and no futex lock:
 * the safe point of a pool that never waits for work (sysbench threads, a
 * lock-free queue), once the controller allowed it for the pool
 * (ps_throttle_allow_contended). It is less safe than the idle wait: the
 * thread may hold something we cannot see (a GIL-like flag behind a
 * condvar, a semaphore, a lock of its own), so the controller allows it only
 * for pools whose workers wait on nothing but mutexes, and a park here lasts
 * at most PS_CONTENDED_PARK_MS: a hidden dependency costs that, never a hang.
 * Fast path: the same load of the limit as the other points. */
#define PS_CONTENDED_PARK_MS 250
void ps_throttle_park_contended(struct ps_thread *t, struct ps_pool *p);
static inline void ps_throttle_at_hot_mutex(struct ps_thread *t)
{
    struct ps_pool *p = ps_pool_of(t);
    if (__builtin_expect(p != 0, 1) && __builtin_expect(__atomic_load_n(&p->limit, __ATOMIC_RELAXED) > 0, 0) &&
        !t->held && !t->flock_obj)
        ps_throttle_park_contended(t, p);
}
/* Agent: pool pi's workers park only at its idle semaphore or futex, never
 * at the queue mutex nor a hot mutex (1), or wherever allowed (0). A pool
 * whose threads hand a GIL-like lock round: a thread about to block on a
 * semaphore has let its GIL go (CPython releases it before any blocking
 * acquire), but one about to take a mutex may be in the GIL's own code. */
void ps_throttle_idle_only(int pi, int on);
/* Agent: allows (1) or forbids (0) parking pool pi's workers at a hot mutex. */
void ps_throttle_allow_contended(int pi, int on);
int ps_throttle_contended_allowed(int pi);
/* Before a blocking wait on key: a safe point if key is the pool's idle wait. */
static inline void ps_throttle_before_wait(uintptr_t key)
{
    struct ps_thread *t = ps_self;
    if (t && !t->ignore && !t->depth && ps_pool_is_idle_obj(t, key))
        ps_throttle_point(t);
}

/* Agent: sets pool pi's limit (0 = none); a raised limit wakes parked workers. */
void ps_throttle_set_limit(int pi, int limit);
/* Releases every worker parked in pool pi now (they leave without looking at
 * the limit; they may park again at their next safe point). */
void ps_throttle_release_all(int pi);
/* Releases the workers parked at pool pi's queue mutex (they may hold a
 * task's bookkeeping that someone waits for). */
void ps_throttle_release_at_mutex(int pi);
/* Workers parked in pool pi right now (exact, unlike the sampled p->parked),
 * and those of them parked at the queue mutex. */
int ps_throttle_parked(int pi);
int ps_throttle_parked_at_mutex(int pi);
/* The pool's live workers as the throttle counts them: the agent's last count
 * minus exits since. */
int ps_throttle_live(int pi);
/* Shutdown paths. */
void ps_throttle_on_broadcast(uintptr_t cond);          /* pthread_cond_broadcast */
void ps_throttle_on_thread_exit(struct ps_thread *t);   /* a worker exits */
void ps_throttle_on_join(pthread_t th);                 /* someone joins th */
void ps_throttle_shutdown(void);                        /* process exit: never park again */
/* Agent, in a forked child (only the forking thread survived: nobody is parked). */
void ps_throttle_reset(void);
/* Agent, after ps_pool_tick recounted live workers. */
void ps_throttle_tick(void);
#endif
