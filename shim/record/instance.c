/* instance.c: instances of one pool code, told apart by their shared start
 * argument (instance.h), and the pool a starting thread joins. Its lock is
 * taken as a thread starts, renames itself or joins another pool (pool.c:
 * a lone thread that waits for work with a pool's workers), each short. */
#include "instance.h"
#include "backoff.h"
#include "atomics.h"
#include "config.h"
#include "pool.h"
#include <string.h>

static int instance_lock;        /* joins and moves between pools */

void ps_instance_reset(void)
{
    instance_lock = 0;
}

static void lock_instances(void)
{
    for (unsigned r = 0; __atomic_exchange_n(&instance_lock, 1, __ATOMIC_ACQUIRE);)
        ps_backoff(&r);
}

static void unlock_instances(void)
{
    __atomic_store_n(&instance_lock, 0, __ATOMIC_RELEASE);
}

/* Instances. Threads sharing a start routine and a name are one pool, unless
 * they show that they belong to separate instances of one pool code: zstd
 * starts its reader, its writer and its four compressors with one routine
 * (POOL_thread), each pool's workers given that pool's context, and taken as
 * one pool the six looked serialized, hand-offs between stages read as a
 * GIL. Two live threads given the same argument, whose first bytes were the
 * same when each was created, are workers of one instance. The address
 * alone is not enough: CPython frees a thread's start argument as it starts
 * and malloc gives the same address to the next thread (whose bytes differ),
 * and a thread-per-client server's argument is reused after its thread ends
 * (hence live). Nothing else splits a pool: arguments that differ per worker
 * (memcached's, sysbench's, libgomp's) or bytes that changed in between
 * (libuv's semaphore) leave it whole, as before. A thread with an entry
 * (entry.h) is keyed by it and never taken for an instance: lbzip2's
 * workers share their argument because it is their function, and its first
 * bytes are machine code, the same for every thread that runs it. */
static int siblings(const struct ps_thread *a, const struct ps_thread *b)
{
    return a != b && a->arg_read && b->arg_read && a->start_arg == b->start_arg && !a->entry && !b->entry &&
           !memcmp(a->arg_bytes, b->arg_bytes, sizeof a->arg_bytes);
}

static int live_in(const struct ps_thread *t, int pi)
{
    return __atomic_load_n(&t->state, __ATOMIC_ACQUIRE) == PS_T_LIVE && __atomic_load_n(&t->pool, __ATOMIC_RELAXED) == pi;
}

static void note_member(int pi, struct ps_thread *t)
{
    struct ps_pool *p = &ps_pools[pi];
    p->recent[p->nrecent++ % (sizeof p->recent / sizeof *p->recent)] = t;
}

static void move_member(struct ps_thread *s, int from, int to)
{
    uint64_t tasks = __atomic_load_n(&s->tasks, __ATOMIC_RELAXED);
    __atomic_store_n(&s->pool, to, __ATOMIC_RELEASE);
    __atomic_fetch_sub(&ps_pools[from].joined, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&ps_pools[to].joined, 1, __ATOMIC_RELAXED);
    __atomic_fetch_sub(&ps_pools[from].tasks, tasks, __ATOMIC_RELAXED);
    __atomic_fetch_add(&ps_pools[to].tasks, tasks, __ATOMIC_RELAXED);
    note_member(to, s);
}

/* The pool of instance arg of pool pi's code, created (and known to be one
 * of several) if need be; -1 when the table is full. */
static int instance_pool(int pi, void *arg)
{
    struct ps_pool *p = &ps_pools[pi];
    int qi = ps_pool_find(p->routine, p->entry, p->prefix, arg, 1);
    if (qi >= 0 && qi != pi) {
        __atomic_store_n(&ps_pools[qi].by_arg, 1, __ATOMIC_RELEASE);
        if (__atomic_load_n(&p->alias[0], __ATOMIC_ACQUIRE))
            ps_pool_renamed(qi, p->alias);
    }
    return qi;
}

/* Has a pool of this code been found to run instances told apart by their
 * argument? Then a thread given another argument starts another instance. */
static int code_by_arg(void *routine, void *entry, const char *prefix)
{
    for (int i = 0; i < PS_MAX_POOLS && __atomic_load_n(&ps_pools[i].used, __ATOMIC_ACQUIRE) == 2; i++)
        if (__atomic_load_n(&ps_pools[i].by_arg, __ATOMIC_ACQUIRE) && ps_pool_has_key(&ps_pools[i], routine, entry, prefix))
            return 1;
    return 0;
}

/* t, about to join the un-instanced pool pi: the pool it belongs in. With a
 * live sibling among pi's latest members, pi's code runs instances: pi
 * becomes t's instance when all its live threads are t's siblings, else each
 * of its live threads moves to the instance of its own argument and t joins
 * its siblings'. That happens at the second worker of an instance, before
 * any has done much; the tasks they counted move with them. */
static int instance_of(int pi, const struct ps_thread *t)
{
    struct ps_pool *p = &ps_pools[pi];
    int found = 0, n = (int)(sizeof p->recent / sizeof *p->recent);
    for (int k = 0; k < n && !found; k++)
        found = p->recent[k] && siblings(t, p->recent[k]) && live_in(p->recent[k], pi);
    if (!found)
        return pi;
    int hwm = ps_thread_hwm(), others = 0;
    for (int i = 0; i < hwm && !others; i++)
        others = &ps_threads[i] != t && live_in(&ps_threads[i], pi) && !siblings(t, &ps_threads[i]);
    __atomic_store_n(&p->by_arg, 1, __ATOMIC_RELEASE);
    if (!others) {
        __atomic_store_n(&p->inst, t->start_arg, __ATOMIC_RELEASE);
        return pi;
    }
    ps_pool_forget_waits(pi);
    for (int i = 0; i < hwm; i++) {
        struct ps_thread *s = &ps_threads[i];
        int qi;
        if (s != t && live_in(s, pi) && s->arg_read && !s->entry && (qi = instance_pool(pi, s->start_arg)) >= 0)
            move_member(s, pi, qi);
    }
    int qi = instance_pool(pi, t->start_arg);
    return qi >= 0 ? qi : pi;
}

/* Renamed before it did any of its pool's work: no task, little CPU
 * (HotSpot's threads start as `java` and name themselves as they begin:
 * `GC Thread#0`, `C2 CompilerThre`, `pool-1-thread-1`; memcached's main
 * thread names each worker as it starts it). A wait for work is no work:
 * each HotSpot thread waits once to be started, and once the `java` pool
 * took that wait for its wait for work, no worker of a Java executor of 64
 * moved, and all 64 were reported as the pool of `Sweeper thread`, the
 * first thread that had stayed. */
#define PS_RENAME_YOUNG_CPU_NS 20000000ull

static int pool_has_live(int pi)
{
    int hwm = ps_thread_hwm();
    for (int i = 0; i < hwm; i++)
        if (live_in(&ps_threads[i], pi))
            return 1;
    return 0;
}

/* 1 if t is in the pool of prefix now, moved by this call or by a
 * concurrent one. It moves if it did none of its pool's work yet, or if a
 * pool of its new name exists already: a rename merges, never splits (a
 * worker that took a task before its name came joins the pool of its
 * siblings, tasks and all). A thread's own
 * pthread_setname_np and the agent's reading of its new name race: the one
 * that finds t moved already must not take it for a thread too old to move,
 * which would give its old pool the new name. */
static int move_renamed(struct ps_thread *t, int from, const char *prefix)
{
    struct ps_pool *p = &ps_pools[from];
    if (!strncmp(p->prefix, prefix, PS_NAME_LEN) || ps_cfg.pool[0] || __atomic_load_n(&p->by_arg, __ATOMIC_ACQUIRE))
        return 0;
    int young = !__atomic_load_n(&t->tasks, __ATOMIC_RELAXED) && !__atomic_load_n(&t->tasks_before, __ATOMIC_RELAXED) &&
                __atomic_load_n(&t->cpu_ns, __ATOMIC_RELAXED) < PS_RENAME_YOUNG_CPU_NS;
    if (!young && ps_pool_find(t->routine, t->entry, prefix, NULL, 0) < 0)
        return 0;
    int moved = 0;
    lock_instances();
    int to;
    if (__atomic_load_n(&t->pool, __ATOMIC_ACQUIRE) != from)
        moved = 1;                       /* by the concurrent rename */
    else if ((to = ps_pool_find(t->routine, t->entry, prefix, NULL, 1)) >= 0 && to != from) {
        move_member(t, from, to);
        moved = 1;
        /* what its threads taught the pool they all left is learned
         * again, by the pools they are in now (as for instances) */
        if (!pool_has_live(from))
            ps_pool_forget_waits(from);
    }
    unlock_instances();
    return moved;
}

void ps_instance_renamed(struct ps_thread *t, const char *prefix)
{
    int from = __atomic_load_n(&t->pool, __ATOMIC_ACQUIRE);
    if (from < 0 || from >= PS_MAX_POOLS || !prefix[0])
        return;
    if (!move_renamed(t, from, prefix))
        ps_pool_renamed(from, prefix);
}

int ps_instance_absorb(int from, int to)
{
    int moved = 0, hwm = ps_thread_hwm();
    lock_instances();
    for (int i = 0; i < hwm; i++)
        if (live_in(&ps_threads[i], from)) {
            move_member(&ps_threads[i], from, to);
            moved++;
        }
    if (moved && !pool_has_live(from))
        ps_pool_forget_waits(from);
    unlock_instances();
    return moved;
}

int ps_pool_instance_no(int pi)
{
    const struct ps_pool *p = &ps_pools[pi];
    int no = 1;
    for (int i = 0; i < pi; i++) {
        const struct ps_pool *o = &ps_pools[i];
        no += __atomic_load_n(&o->used, __ATOMIC_ACQUIRE) == 2 && o->routine == p->routine &&
              o->entry == p->entry && !strncmp(o->prefix, p->prefix, PS_NAME_LEN) &&
              __atomic_load_n(&o->joined, __ATOMIC_RELAXED) > 0;   /* not one its threads all left */
    }
    return no;
}

int ps_instance_join(const struct ps_thread *t, const char *prefix)
{
    if (t->join_pool > 0 && t->join_pool <= PS_MAX_POOLS)
        return t->join_pool - 1;
    int shared = t->arg_read && !t->entry, pi = -1;
    lock_instances();
    if (shared) {
        pi = ps_pool_find(t->routine, t->entry, prefix, t->start_arg, 0);
        if (pi < 0 && code_by_arg(t->routine, t->entry, prefix) &&
            (pi = ps_pool_find(t->routine, t->entry, prefix, t->start_arg, 1)) >= 0)
            __atomic_store_n(&ps_pools[pi].by_arg, 1, __ATOMIC_RELEASE);
    }
    if (pi < 0) {
        pi = ps_pool_find(t->routine, t->entry, prefix, NULL, 1);
        if (pi >= 0 && shared)
            pi = instance_of(pi, t);
    }
    if (pi >= 0) {
        /* in the pool before the next thread looks for its siblings (the
         * caller stores the same, or -1 if POOLSHIM_POOL leaves it out) */
        __atomic_store_n(&((struct ps_thread *)t)->pool, pi, __ATOMIC_RELEASE);
        note_member(pi, (struct ps_thread *)t);
    }
    unlock_instances();
    return pi;
}

