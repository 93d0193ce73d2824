/* tally.h: how often each thread posted each semaphore or condvar it posts
 * often (sem_post, a condvar signal or broadcast), and the pool tasks learned
 * from those counts.
 *
 * Why: some pools wait for work in a way that is not one wait per task.
 * CPython's ThreadPoolExecutor takes work from a SimpleQueue whose get pops
 * a queued item without touching the queue's lock, so waits count only the
 * tasks that found the queue empty. But each finished task still releases
 * the executor's idle semaphore, whose lock the submitter also takes once or
 * twice per submit: a semaphore posted by the workers once per task. Such an
 * object is learned from counts (tally.c): posted by the pool's workers at
 * most as often as threads outside the pool posted it (a task finishes once
 * per submit at most). Likewise pigz's compressors, backlogged, never wait
 * for work, but each pop broadcasts the queue's count, as each push does.
 * The counts must hold from each thread's start, before anything is learned,
 * so every thread keeps them on its own record: a small table written only
 * by the thread (the post wrappers), read by the agent. */
#ifndef PS_TALLY_H
#define PS_TALLY_H
#include <stdint.h>

#define PS_TALLY 64              /* entries per thread (a power of two) */
#define PS_TALLY_WAYS 8          /* an object lives in one of 8 entries from its hash */

struct ps_tally {
    uintptr_t key[PS_TALLY];
    uint32_t n[PS_TALLY];
    uint32_t last[PS_TALLY];     /* the owner's clock at the entry's last post */
    uint32_t clock;              /* posts by the owner (wraps: only order nearby matters) */
};

/* A condvar's key is its address with this bit set (both kinds are at least
 * 8-byte aligned): the rule tells them apart (tally.c). */
#define PS_TALLY_COND 1u

/* The bits above a malloc'd object's alignment, folded. */
static inline unsigned ps_tally_hash(uintptr_t obj)
{
    return (unsigned)((obj >> 4) ^ (obj >> 9) ^ (obj >> 14)) & (PS_TALLY - 1);
}

/* The rest of the window and a take-over (tally.c): out of line, so that
 * sem_post's wrapper keeps the hit in the first entry frameless. */
void ps_tally_post_slow(struct ps_tally *tl, uintptr_t obj);

/* One post of obj by the table's owner. */
static inline void ps_tally_post(struct ps_tally *tl, uintptr_t obj)
{
    unsigned i = ps_tally_hash(obj);
    if (__builtin_expect(tl->key[i] == obj, 1)) {
        __atomic_store_n(&tl->n[i], tl->n[i] + 1, __ATOMIC_RELAXED);
        tl->last[i] = ++tl->clock;
        return;
    }
    ps_tally_post_slow(tl, obj);
}

/* Posts of obj in the table (0 if it is not there). */
static inline uint64_t ps_tally_count(const struct ps_tally *tl, uintptr_t obj)
{
    unsigned h = ps_tally_hash(obj);
    for (unsigned k = 0; k < PS_TALLY_WAYS; k++) {
        unsigned i = (h + k) & (PS_TALLY - 1);
        uintptr_t key = __atomic_load_n(&tl->key[i], __ATOMIC_ACQUIRE);
        if (key == obj)
            return __atomic_load_n(&tl->n[i], __ATOMIC_RELAXED);
        if (!key)
            return 0;
    }
    return 0;
}

struct ps_thread;
/* Agent, once per tick: learn, for each of the first npools pools with
 * want[pool] set (a pool with threads), the object its workers post once
 * per task (pool.h's task_obj), from the threads' tallies; clear it for the
 * others. */
void ps_tally_learn(const int *want, int npools);
/* Tasks thread t ran, counted from its posts of its pool's task object, or
 * -1 when its pool has none. */
int64_t ps_tally_thread_tasks(const struct ps_thread *t);
/* Tasks pool pi took from its idle semaphore since the start, from the
 * posts of the threads outside it less what is still queued and less the
 * posts that stopped its workers (tally.c); -1 when that count does not apply. */
int64_t ps_tally_sem_takes(int pi);
/* Posts of pool pi's task object by its retired threads. */
uint64_t ps_tally_retired_tasks(int pi);
/* Agent: has one thread of pool pi posted obj (a tally key) more than once,
 * or did a retired one? Once per worker is a start-up or exit notice (each
 * of GNAT's tasks signals its activator as it begins), not a post per task. */
int ps_tally_reposted(int pi, uintptr_t obj);
/* Agent, once per tick: mark the semaphores threads of no pool post often
 * and no pool's thread posts (a queue's count), so that their takers name
 * the pool they feed (syncobj.h: ps_obj_on_take). */
void ps_tally_mark_fed(void);
/* Before t's record is reused: keep its posts of its pool's task object. */
void ps_tally_retire(const struct ps_thread *t);
#endif
