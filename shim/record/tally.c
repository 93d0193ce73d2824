/* tally.c: learning a pool's task object from the threads' post tallies
 * (tally.h says why), and counting tasks with it.
 *
 * The rule, for every pool (its count is taken where the waits' is not
 * whole, or is lower: view.c): among the objects its workers posted, the
 * task object is the one posted most by them, at least MIN_POSTS times,
 * such that
 *   - threads outside the pool posted it at least as often as the workers did
 *     (CPython's submitter takes the idle semaphore's lock at every submit,
 *     and a task finishes at most once per submit);
 *   - it is a semaphore, or the condvar that is their wait for work, waited
 *     on by no one else and posted outside at most twice as often (decide()
 *     says why);
 *   - for a pool of one thread, the outside posts come from threads in no
 *     pool: a submitter, not the stage before it in a pipeline.
 * A lock every task takes but the submitter never touches fails that test,
 * and so does a lock the workers hand each other. The choice is checked
 * again at every look and dropped when it fails: the tasks are then unknown. */
#include "tally.h"
#include "pool.h"
#include "syncobj.h"
#include "thread.h"
#include "peek.h"
#include <semaphore.h>
#include <string.h>

#define MAX_HUNT 4               /* pools looked at per tick */
#define MAP 1024                 /* distinct objects per pool looked at (a power of two) */
#define MIN_POSTS 20             /* fewer posts decide nothing */
/* A pool whose workers were seen posting no object this many looks in a
 * row (most pools) is looked at only every LATER-th tick: each look reads
 * every thread's table twice. One whose workers post any keeps being looked
 * at every tick (its object may pass the test later). */
#define PATIENCE 10
#define LATER 10

static uint32_t fruitless[PS_MAX_POOLS];

struct agg {
    int pool;
    int n;
    uintptr_t key[MAP];
    uint64_t in[MAP], out[MAP];  /* posts by the pool's threads / by others */
    uint64_t staged[MAP];        /* of out: by threads of other pools */
};

/* Open addressing, half full at most: a thread's PS_TALLY entries are
 * looked up in a few probes each, whatever the number of threads. */
static int find(struct agg *a, uintptr_t key, int add)
{
    unsigned i = (unsigned)(((uint64_t)key >> 3) * 0x9E3779B97F4A7C15ull >> 40) & (MAP - 1);
    for (;; i = (i + 1) & (MAP - 1)) {
        if (a->key[i] == key)
            return (int)i;
        if (!a->key[i])
            break;
    }
    if (!add || a->n >= MAP / 2)
        return -1;
    a->key[i] = key;
    a->in[i] = a->out[i] = a->staged[i] = 0;
    a->n++;
    return (int)i;
}

static int counts_thread(const struct ps_thread *t)
{
    int st = __atomic_load_n(&t->state, __ATOMIC_ACQUIRE);
    return (st == PS_T_LIVE || st == PS_T_EXITED) && !t->ignore;
}

static void add_table(struct agg *a, const struct ps_tally *tl, int inside, int pooled)
{
    for (int i = 0; i < PS_TALLY; i++) {
        uintptr_t key = __atomic_load_n(&tl->key[i], __ATOMIC_ACQUIRE);
        uint32_t n = __atomic_load_n(&tl->n[i], __ATOMIC_RELAXED);
        /* posted once or twice by a worker: a lock that came and went (a
         * future's, set running and then done); with 64 workers those fill
         * the map before every worker's idle-lock entry is in (a CPython
         * executor's 5,400 tasks read as its waits' 50) */
        if (!key || !n || (inside && n < 3))
            continue;
        int k = find(a, key, inside);
        if (k < 0)
            continue;
        *(inside ? &a->in[k] : &a->out[k]) += n;
        if (!inside && pooled)
            a->staged[k] += n;
    }
}

static void decide(const struct agg *a)
{
    struct ps_pool *p = &ps_pools[a->pool];
    /* A condvar counts only as the one the workers wait on for work:
     * pigz's queue count is broadcast by the producer at each push and by a
     * worker at each pop (yarn's twist), the only boundary of a backlogged
     * worker's task; other condvars are posted whenever a state changes
     * (CPython's GIL condvars: at every switch, by every thread). Any
     * semaphore may be: 64 workers contending for the executor's idle lock
     * (posted once per task) can make it look like their wait for work, and
     * the queue's lock they do wait on is posted only after a get that
     * waited, fewer times than the idle lock. */
    uintptr_t idle = __atomic_load_n(&p->idle_obj, __ATOMIC_RELAXED), best = 0;
    uintptr_t idle_cond = __atomic_load_n(&p->idle_kind, __ATOMIC_RELAXED) == PS_K_COND && idle
                              ? idle | PS_TALLY_COND : 0;
    /* ... and only one that no thread outside the pool waits on: a GIL's
     * condvar, taken for a Python pool's wait for work when its workers wait
     * for the GIL longer than for work, is waited on by every thread (py_tpe
     * sleep: 416 for 400 tasks). */
    const struct ps_obj *io = idle_cond ? ps_obj_find(idle) : NULL;
    if (!io || __atomic_load_n(&io->waited_outside, __ATOMIC_RELAXED))
        idle_cond = 0;
    uint64_t most = 0;
    int lone = ps_pool_lone(a->pool);
    for (int i = 0; i < MAP; i++) {
        uint64_t in = a->in[i];
        uintptr_t key = a->key[i];
        if (!key)
            continue;
        if ((key & PS_TALLY_COND) && key != idle_cond)
            continue;
        /* a queue's count is posted once per push and once per pop: about
         * as often outside the pool as inside (a GIL's condvar, never waited
         * on by the main thread in a run, is posted by it 5 times as often) */
        if ((key & PS_TALLY_COND) && a->out[i] > 2 * in)
            continue;
        if (in < MIN_POSTS || in > a->out[i] || in <= most)
            continue;
        /* One thread posting what another pool's workers post as often is a
         * stage of a pipeline, not a pool fed by a submitter: pigz's writer
         * and its compressors hand each block's turn to be written back and
         * forth. */
        if (lone && in > a->out[i] - a->staged[i])
            continue;
        most = in;
        best = key;
    }
    __atomic_store_n(&p->task_obj, best, __ATOMIC_RELEASE);
    fruitless[a->pool] = a->n ? 0 : fruitless[a->pool] + 1;
}

void ps_tally_learn(const int *want, int npools)
{
    static struct agg agg[MAX_HUNT];
    static uint32_t looks;
    int nh = 0;
    if (!ps_pools)
        return;
    looks++;
    for (int pi = 0; pi < npools && nh < MAX_HUNT; pi++) {
        if (!want[pi] || __atomic_load_n(&ps_pools[pi].api_tasks, __ATOMIC_RELAXED)) {
            __atomic_store_n(&ps_pools[pi].task_obj, 0, __ATOMIC_RELEASE);
            continue;
        }
        if (fruitless[pi] >= PATIENCE && looks % LATER)
            continue;
        agg[nh].pool = pi;
        agg[nh].n = 0;
        memset(agg[nh].key, 0, sizeof agg[nh].key);
        add_table(&agg[nh], &ps_pools[pi].ret_tally, 1, 0);
        nh++;
    }
    if (!nh)
        return;
    int hwm = ps_thread_hwm();
    /* the pools' own threads first: they name the objects ... */
    for (int i = 0; i < hwm; i++) {
        const struct ps_thread *t = &ps_threads[i];
        if (!counts_thread(t))
            continue;
        for (int h = 0; h < nh; h++)
            if (t->pool == agg[h].pool)
                add_table(&agg[h], &t->tally, 1, 0);
    }
    /* ... then everyone else's posts of those objects */
    for (int i = 0; i < hwm; i++) {
        const struct ps_thread *t = &ps_threads[i];
        if (!counts_thread(t))
            continue;
        for (int h = 0; h < nh; h++)
            if (t->pool != agg[h].pool && agg[h].n)
                add_table(&agg[h], &t->tally, 0, t->pool >= 0);
    }
    for (int h = 0; h < nh; h++)
        decide(&agg[h]);
}

/* A queue's count (a semaphore posted once per item queued) that its
 * consumers take without ever blocking, the queue never empty when they
 * come: no wait puts it in the object table, so nothing learns it, and a
 * backlogged semaphore pool read "no wait for work learned" (sem_pool with
 * 300 tasks queued as its 4 workers start: 3 runs of 20). The producers'
 * posts show it: posted PS_FED_POSTS times or more by a thread of no pool,
 * and by no thread of a pool (a lock is released by those who take it), it
 * is entered and marked, and its takers name the pool it feeds
 * (ps_obj_on_take). At most PS_FED_MAX, never unmarked. A key turned down
 * (a pool's thread posted it: a lock) is remembered in a ring of
 * PS_REFUSED, so that each tick does not walk the thread table again for
 * every lock an outside thread posts often (the agent's cost grew with
 * threads × such locks). A key once posted by a pool's thread is a lock
 * for good, even when that thread's tally has since let its entry go. */
#define PS_FED_POSTS 16
#define PS_FED_MAX 32
#define PS_REFUSED 64
static int in_keys(const uintptr_t *keys, int n, uintptr_t key)
{
    for (int k = 0; k < n; k++)
        if (keys[k] == key)
            return 1;
    return 0;
}

void ps_tally_mark_fed(void)
{
    static uintptr_t marked[PS_FED_MAX], refused[PS_REFUSED];
    static int nmarked, nrefused, next_refused;
    static uint32_t epoch;
    if (epoch != ps_obj_table_epoch()) {  /* a fork's child: its table starts empty */
        epoch = ps_obj_table_epoch();
        nmarked = nrefused = next_refused = 0;
    }
    if (nmarked >= PS_FED_MAX)
        return;
    int hwm = ps_thread_hwm();
    for (int i = 0; i < hwm && nmarked < PS_FED_MAX; i++) {
        const struct ps_thread *t = &ps_threads[i];
        if (!counts_thread(t) || t->pool >= 0)
            continue;
        for (int e = 0; e < PS_TALLY && nmarked < PS_FED_MAX; e++) {
            uintptr_t key = __atomic_load_n(&t->tally.key[e], __ATOMIC_ACQUIRE);
            if (!key || (key & PS_TALLY_COND) || __atomic_load_n(&t->tally.n[e], __ATOMIC_RELAXED) < PS_FED_POSTS)
                continue;
            if (in_keys(marked, nmarked, key) || in_keys(refused, nrefused, key))
                continue;
            int lock = 0;
            for (int j = 0; j < hwm && !lock; j++)
                lock = counts_thread(&ps_threads[j]) && ps_threads[j].pool >= 0 &&
                       ps_tally_count(&ps_threads[j].tally, key) > 0;
            struct ps_obj *o = lock ? NULL : ps_obj_get(key, PS_K_SEM);
            if (!o || o->kind != PS_K_SEM) {
                if (lock || o) {          /* a full object table may take it later */
                    refused[next_refused] = key;
                    next_refused = (next_refused + 1) % PS_REFUSED;
                    if (nrefused < PS_REFUSED)
                        nrefused++;
                }
                continue;
            }
            __atomic_store_n(&o->fed, 1, __ATOMIC_RELAXED);
            marked[nmarked++] = key;
        }
    }
}

/* Entries are never emptied, only taken over: a new object takes the first
 * free entry of its window, else the least recently posted of those posted
 * fewer than PROTECT times, else the one posted least. CPython allocates a
 * lock per future, posted twice and never again; taking over the least
 * posted, the executor's idle lock, posted once per task, lost to those
 * churning entries each time it fell to their count (py_tpe sleep: 22-40 of
 * a worker's 50 tasks in 3 runs of 10), where the least recent are the dead
 * ones. An object posted PROTECT times is kept over a burst of new ones. */
#define PROTECT 8
void ps_tally_post_slow(struct ps_tally *tl, uintptr_t obj)
{
    unsigned h = ps_tally_hash(obj), victim = h, light = PS_TALLY;
    uint32_t least = UINT32_MAX, now = ++tl->clock, oldest = 0;
    for (unsigned k = 0; k < PS_TALLY_WAYS; k++) {
        unsigned i = (h + k) & (PS_TALLY - 1);
        uintptr_t key = tl->key[i];
        if (key == obj) {
            __atomic_store_n(&tl->n[i], tl->n[i] + 1, __ATOMIC_RELAXED);
            tl->last[i] = now;
            return;
        }
        if (!key) {
            victim = light = i;
            break;
        }
        if (tl->n[i] < PROTECT && now - tl->last[i] >= oldest) {
            oldest = now - tl->last[i];
            light = i;
        }
        if (tl->n[i] < least) {
            least = tl->n[i];
            victim = i;
        }
    }
    if (light < PS_TALLY)
        victim = light;
    /* the agent reads key then count: a count of 0 in between is harmless */
    __atomic_store_n(&tl->n[victim], 0, __ATOMIC_RELAXED);
    __atomic_store_n(&tl->key[victim], obj, __ATOMIC_RELEASE);
    __atomic_store_n(&tl->n[victim], 1, __ATOMIC_RELAXED);
    tl->last[victim] = now;
}

int64_t ps_tally_thread_tasks(const struct ps_thread *t)
{
    const struct ps_pool *p = ps_pool_of(t);
    uintptr_t obj = p ? __atomic_load_n(&p->task_obj, __ATOMIC_ACQUIRE) : 0;
    return obj ? (int64_t)ps_tally_count(&t->tally, obj) : -1;
}

int ps_tally_reposted(int pi, uintptr_t obj)
{
    if (ps_tally_count(&ps_pools[pi].ret_tally, obj))
        return 1;
    int hwm = ps_thread_hwm();
    for (int i = 0; i < hwm; i++) {
        const struct ps_thread *t = &ps_threads[i];
        if (counts_thread(t) && t->pool == pi && ps_tally_count(&t->tally, obj) >= 2)
            return 1;
    }
    return 0;
}

uint64_t ps_tally_retired_tasks(int pi)
{
    const struct ps_pool *p = &ps_pools[pi];
    uintptr_t obj = __atomic_load_n(&p->task_obj, __ATOMIC_ACQUIRE);
    return obj ? ps_tally_count(&p->ret_tally, obj) : 0;
}

/* Retired records of one pool may be folded by several claimers at once:
 * entries are claimed by compare-and-swap and counts added atomically. */
void ps_tally_retire(const struct ps_thread *t)
{
    struct ps_pool *p = ps_pool_of(t);
    if (!p)
        return;
    struct ps_tally *to = &p->ret_tally;
    for (int i = 0; i < PS_TALLY; i++) {
        uintptr_t key = t->tally.key[i];
        uint32_t n = t->tally.n[i];
        if (!key || !n)
            continue;
        unsigned h = ps_tally_hash(key);
        for (unsigned k = 0; k < PS_TALLY_WAYS; k++) {
            unsigned j = (h + k) & (PS_TALLY - 1);
            uintptr_t cur = __atomic_load_n(&to->key[j], __ATOMIC_ACQUIRE);
            if (!cur && __atomic_compare_exchange_n(&to->key[j], &cur, key, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
                cur = key;
            if (cur == key) {
                __atomic_fetch_add(&to->n[j], n, __ATOMIC_RELAXED);
                break;
            }
        }
    }
}

/* A semaphore pool backlogged before its wait for work was learned (tasks
 * queued faster than taken, on a busy machine) took its first tasks without
 * waiting: its waits miss them, and its workers post nothing per task. But
 * every post of the semaphore by the threads outside the pool queued one
 * (or woke a worker to stop: its waits count those too), and the tallies
 * hold those posts from each thread's start: what is not still queued (the
 * semaphore's value, read through the kernel: the object may be gone) was
 * taken. Only for a semaphore the workers never post (ps_pool_fed_sem). Posts by a submitter that exited
 * are lost with its record: hence the caller's check against the waits. */
int64_t ps_tally_sem_takes(int pi)
{
    const struct ps_obj *o = ps_pool_fed_sem(pi);
    if (!o)
        return -1;
    uintptr_t idle = o->key;
    uint64_t posts = 0;
    int hwm = ps_thread_hwm();
    for (int i = 0; i < hwm; i++) {
        const struct ps_thread *t = &ps_threads[i];
        if (counts_thread(t) && t->pool != pi)
            posts += ps_tally_count(&t->tally, idle);
    }
    sem_t copy;
    int value;
    if (ps_peek(&copy, (const void *)idle, sizeof copy) || sem_getvalue(&copy, &value) || value < 0 ||
        (uint64_t)value > posts)
        return -1;
    /* less the posts that stopped workers: taken, then straight to exit
     * (sem_pool: 304 for 300 tasks and 4 workers) */
    uint64_t takes = posts - (uint64_t)value, stops = __atomic_load_n(&ps_pools[pi].exit_wakes, __ATOMIC_RELAXED);
    return (int64_t)(takes > stops ? takes - stops : 0);
}
