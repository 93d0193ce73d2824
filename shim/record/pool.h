/* pool.h: pools (threads sharing a start routine and a name prefix), what the
 * shim learns about each (its idle wait object, its queue mutex, task counts),
 * and the totals of threads that left it.
 * The pool table is fixed; entries are created by CAS on first sight and never
 * removed. Task events are written by workers (atomics); the learned fields
 * (idle_obj, queue_mutex) and derived metrics by the agent thread. */
#ifndef PS_POOL_H
#define PS_POOL_H
#include <stdint.h>
#include "thread.h"
#include "hist.h"

#define PS_MAX_POOLS 256
#define PS_HIST 64               /* samples of recent history per pool */

struct ps_pool_sample {          /* one agent tick, for dumps and the controller */
    uint64_t t_ns;
    uint32_t threads, busy, idle, limit, parked;
    uint64_t tasks, queue;
    uint64_t cpu_ns, io_ns, sleep_ns, lock_ns, cond_ns, idle_ns, runq_ns;
    uint64_t task_wait_ns;       /* io + sleep of the threads that ran tasks: W of W/C
                                    (ps_pool_totals: taskless) */
};

struct ps_pool {
    int used;                    /* 0 free, 1 claiming, 2 ready */
    void *routine;
    void *entry;                 /* the function a trampoline routine runs (entry.h), or NULL */
    void *inst;                  /* the start argument its workers share, when it is one instance
                                    of a pool code that runs several (instance.c), else NULL */
    int by_arg;                  /* its code runs instances told apart by their argument */
    struct ps_thread *recent[4]; /* its latest members: a new thread looks for its siblings here */
    unsigned nrecent;
    char prefix[PS_NAME_LEN];
    char alias[PS_NAME_LEN];         /* the prefix its threads renamed themselves to (set once) */
    int alias_claimed;           /* the alias is being or was written */
    int selected;                /* POOLSHIM_POOL names it: 1 yes, -1 no, 0 not decided (agent.c) */
    /* learned by the agent */
    int limit;                   /* controller's concurrency limit, 0 = none (read by every
                                    lock of a hot mutex: kept with what is read, not written) */
    uintptr_t idle_obj;          /* where workers wait for work (cond/sem/futex/fd key) */
    int idle_kind;
    uintptr_t queue_mutex;       /* condvar pools: the mutex passed with the idle cond */
    void *idle_site;             /* event-loop pools: where workers poll for work, each its
                                    own fd (memcached, nginx): any poll there is idle */
    void *twin_site;             /* pools whose workers each wait on an object of their own
                                    (twin_objs): where they wait there is idle */
    uint64_t cpu_before_count_ns;    /* the pool's CPU when task counting began (idle wait or
                                        queue mutex learned): work done before it went uncounted */
    int count_started;
    int api_tasks;               /* tasks are counted around the runtime's task function
                                    (interpose_glib.c): the idle-wait guesses stand down */
    void *wait_unlock_site;      /* condvar pools: where a worker that waited for work
                                    releases the queue mutex with it (pool.c: bookkeeping) */
    void *bk_site;               /* another release site, judged as bookkeeping or not */
    int twin_objs;               /* agent: objects its workers wait on at its idle wait's site,
                                    each its own (xz: a condvar per worker): its idle wait is one
                                    worker's, so neither its tasks nor its queue are the pool's */
    uintptr_t task_obj;          /* a sem or condvar its workers post once per task (tally.c), 0 none */
    struct ps_tally ret_tally;   /* posts by its retired threads (tally.c) */
    /* task events, from workers. On a cache line of their own: workers and
     * producers write them per task, while every wrapper reads the learned
     * fields above (false sharing would make each of those reads a miss). */
    uint64_t tasks __attribute__((aligned(64)));     /* task starts */
    uint64_t bk_short, bk_long;  /* tasks begun at bk_site shorter / longer than a dispatch */
    uint64_t exit_wakes;         /* wakes from the wait for work to exit (ps_pool_on_thread_exit):
                                    the posts that stopped workers, no tasks */
    uint64_t queue_offset;       /* submissions - tasks when the pool was last all idle */
    uint64_t queue_est;          /* agent: estimated queued tasks */
    struct ps_hist handoff;      /* post -> the woken worker running (ps_pool_handoff) */
    /* producers' events, apart from the workers': node's main thread posts
     * libuv's condvar for every request while 4 workers count their tasks
     * (each of its posts missed the line the workers had just written) */
    uint64_t submissions __attribute__((aligned(64)));   /* posts to the idle object by non-members */
    uint64_t last_post_ns;       /* when a producer last posted the idle object */
    uint32_t demand_peak __attribute__((aligned(64)));   /* agent: most tasks ever in flight (busy + queued), counted
                                    once the queue estimate is trustworthy; 0 = unknown */
    int queue_calibrated;        /* agent: seen all idle after the idle wait was known, so
                                    submissions and starts are counted from a known zero */
    uint32_t busy_peak;          /* agent: most workers busy at a tick, its queue read or not */
    int demand_unseen;           /* agent: a tick found every worker busy while its queue could
                                    not be read: more may have been in flight than any peak */
    int threads_live, threads_busy, threads_idle;
    int joined;                  /* threads that ever joined the pool (a renamed thread may count twice) */
    double cpu_rate_peak;        /* agent: the most cores its threads used over PS_PEAK_TICKS ticks:
                                    above one, no lock held them to one thread at a time */
    int cpu_rate_known;          /* agent: cpu_rate_peak was measured over a full span at least once */
    int parked;                  /* workers parked by the throttle right now */
    /* totals of exited threads whose records were recycled */
    uint64_t ret_wait_ns[PS_NCAUSE], ret_cpu_ns, ret_runq_ns, ret_spin_ns, ret_unattributed_ns;
    uint64_t ret_tasks, ret_task_ns, ret_threads, ret_nvcsw, ret_nivcsw;
    uint64_t ret_working;            /* retired threads that ran a task */
    uint64_t ret_pollers;            /* retired threads that polled at idle_site */
    uint64_t ret_came_back;          /* retired threads that came back for work (thread.h) */
    uint64_t ret_loop_replies;       /* retired threads' loop_replies (thread.h) */
    uint64_t ret_cond_blocked;       /* retired threads' cond_blocked (thread.h) */
    /* history ring, written by the agent only */
    struct ps_pool_sample hist[PS_HIST];
    uint32_t hist_n;             /* samples written ever; latest at (hist_n-1) % PS_HIST */
};

extern struct ps_pool *ps_pools;
int ps_pool_table_init(void);
void ps_pool_table_reset(void);

/* Pool pi has had one thread only: its own posts to what it waits on hand
 * nothing to another member, so nothing it waits on is GIL-like. (Those posts
 * still keep the object from being its idle wait: pigz's writer waits on a
 * lock its compressors broadcast at every change, not once per block, and
 * counted as submissions they would fake a queue.) */
int ps_pool_lone(int pi);
/* Pool pi has had several threads, but only one was seen to end a wait on
 * its idle wait (a poll aside, where each worker has an fd of its own): that
 * object may be the worker's own (xz: a condvar per encoder), so neither its
 * tasks nor a queue can be read from it. */
int ps_pool_idle_one_waiter(int pi);
/* Find or create the pool for (routine, entry, prefix), not an instance
 * (instance.h); -1 when the table is full. */
int ps_pool_get(void *routine, void *entry, const char *prefix);
/* Does p have the key (routine, entry, and prefix or the alias its threads took)? */
int ps_pool_has_key(const struct ps_pool *p, void *routine, void *entry, const char *prefix);
/* The pool of key (routine, entry, prefix or the alias its threads took)
 * and instance inst (its workers' shared start argument, NULL for none);
 * created when create is set and there is none; -1 if none or full. */
int ps_pool_find(void *routine, void *entry, const char *prefix, void *inst, int create);
/* Pool pi's threads left for their instances: what was learned from their
 * waits is learned again, each object for the instance that waits on it. */
void ps_pool_forget_waits(int pi);
/* The pool thread t joins as it starts (its routine, entry, name prefix and,
 * for instances of one pool code, its start argument), applying
 * POOLSHIM_POOL; -1 for no pool. */
int ps_pool_join(const struct ps_thread *t, const char *prefix);
/* At exit or exec: one warning when POOLSHIM_POOL names a routine no thread
 * ran (POOLSHIM_EXPAND's twin is ps_expand_check_names). */
void ps_pool_check_name(void);
/* The name prefix that groups threads: the name without trailing digits or
 * separators ("worker-12" -> "worker"). */
void ps_pool_prefix(const char *name, char out[PS_NAME_LEN]);
/* A thread of pool pi was renamed: it stays in pi (a rename merges, never
 * splits), and threads that start with the new prefix join pi too. The
 * first rename wins; any thread. */
void ps_pool_renamed(int pi, const char *prefix);

static inline struct ps_pool *ps_pool_of(const struct ps_thread *t)
{
    int p = t->pool;
    return p >= 0 ? &ps_pools[p] : 0;
}
/* Is obj the pool's idle wait (so the wait is idle time, not contention)? */
/* A worker of t's pool ran again after waiting for work since t0: if a
 * producer posted during that wait, the time from the post to now is a
 * handoff (the article's cost of handing a task to a worker), counted once
 * the worker starts a task (ps_task_begin): a wake-up that finds no work
 * (another worker took it, the pool shuts down) hands nothing over. */
static inline void ps_pool_handoff(struct ps_thread *t, uint64_t t0, uint64_t now)
{
    struct ps_pool *p = ps_pool_of(t);
    t->handoff_ns = 0;
    if (!p)
        return;
    uint64_t post = __atomic_load_n(&p->last_post_ns, __ATOMIC_RELAXED);
    if (post > t0 && post < now)
        t->handoff_ns = now - post;
}
static inline int ps_pool_is_idle_obj(const struct ps_thread *t, uintptr_t obj)
{
    struct ps_pool *p = ps_pool_of(t);
    return p && obj && __atomic_load_n(&p->idle_obj, __ATOMIC_RELAXED) == obj;
}
/* A poll from the call site where the pool's workers wait for work, on
 * whatever fd: per-worker epoll fds are one idle wait. */
static inline int ps_pool_is_idle_site(const struct ps_thread *t, const void *site)
{
    struct ps_pool *p = ps_pool_of(t);
    return p && site && __atomic_load_n(&p->idle_site, __ATOMIC_RELAXED) == site;
}
/* A wait at the site where the pool's workers wait on objects of their own
 * (ffmpeg's frame threads, xz's encoders, GNAT's tasks: one condvar each,
 * posted from outside): their wait for work, whichever worker's it is. */
static inline int ps_pool_is_twin_site(const struct ps_thread *t, const void *site)
{
    struct ps_pool *p = ps_pool_of(t);
    return p && site && __atomic_load_n(&p->twin_site, __ATOMIC_RELAXED) == site;
}
/* Is a wait of this kind on obj from site the pool's wait for work: its idle
 * object, or a poll at its idle site, or a condvar wait at its twin site? */
static inline int ps_pool_is_idle_wait(const struct ps_thread *t, int kind, uintptr_t obj, const void *site)
{
    return ps_pool_is_idle_obj(t, obj) || (kind == PS_K_POLL && ps_pool_is_idle_site(t, site)) ||
           (kind == PS_K_COND && ps_pool_is_twin_site(t, site));
}
/* The cause t's wait now open will be recorded with when it ends
 * (ps_objwait_end): a cond or io wait on its pool's wait for work is idle,
 * though it began before that was learned. For the agent's readers of an
 * open wait: the sampler, and the dump trigger (varnish's 200 workers, each
 * on a condvar of its own, were still in the waits they began at start
 * when the twin site was learned from two of them: "all 200 workers of
 * pool 9 blocked for >= 1000 ms" at its first second). */
static inline int ps_pool_open_wait_cause(const struct ps_thread *t)
{
    int cause = __atomic_load_n(&t->cur_cause, __ATOMIC_RELAXED);
    if ((cause == PS_IO || cause == PS_COND) &&
        ps_pool_is_idle_wait(t, __atomic_load_n(&t->cur_kind, __ATOMIC_RELAXED),
                             __atomic_load_n(&t->cur_obj, __ATOMIC_RELAXED),
                             __atomic_load_n(&t->cur_site, __ATOMIC_RELAXED)))
        return PS_IDLE;
    return cause;
}
/* Has t polled there: as its wait for work, or at its first poll site before
 * the site was learned (thread.h)? */
static inline int ps_pool_polled_at_idle_site(const struct ps_thread *t)
{
    return __atomic_load_n(&t->polled_idle, __ATOMIC_RELAXED) ||
           ps_pool_is_idle_site(t, __atomic_load_n(&t->poll_site, __ATOMIC_ACQUIRE));
}
/* Workers of p can be parked between tasks: its idle wait or its queue
 * mutex is known (throttle.h). */
static inline int ps_pool_has_safe_point(const struct ps_pool *p)
{
    return __atomic_load_n(&p->idle_obj, __ATOMIC_RELAXED) || __atomic_load_n(&p->queue_mutex, __ATOMIC_RELAXED);
}
static inline int ps_pool_is_queue_mutex(const struct ps_thread *t, const void *m)
{
    struct ps_pool *p = ps_pool_of(t);
    return p && __atomic_load_n(&p->queue_mutex, __ATOMIC_RELAXED) == (uintptr_t)m;
}

/* Task boundaries: a worker took work (begin) or went back for more (end). */
void ps_task_begin(struct ps_thread *t);
void ps_task_end(struct ps_thread *t);
/* Condvar pools: the queue mutex released at site (a task begins) and
 * taken again (it ends, or was the pool's bookkeeping: pool.c). */
void ps_task_begin_at_unlock(struct ps_thread *t, void *site);
void ps_task_end_queue(struct ps_thread *t);
/* The task ended at ns (a wait for work that began at ns). */
void ps_task_end_at(struct ps_thread *t, uint64_t ns);
/* Around a task function a pool runtime calls (its API named it): exact
 * boundaries, which replace the wait-for-work ones for the whole pool. */
void ps_task_api_begin(struct ps_thread *t);
void ps_task_api_end(struct ps_thread *t);
/* The task just begun came with n more (a poll that returned n + 1 ready
 * fds): counted, with no boundaries of their own. */
void ps_task_more(struct ps_thread *t, unsigned n);
/* A wake-up from an idle poll found nothing to do (another worker took the
 * token, the thundering herd of level-triggered epoll or accept): no task. */
void ps_task_cancel(struct ps_thread *t);
/* The first I/O call after a poll wake-up: found_nothing when it failed with
 * EAGAIN. Owner thread only; cheap when no task is tentative. */
static inline void ps_task_settle(struct ps_thread *t, int found_nothing)
{
    if (__builtin_expect(t->task_tentative, 0)) {
        t->task_tentative = 0;
        if (found_nothing)
            ps_task_cancel(t);
    }
}
/* A datagram received (recvfrom or recvmsg with an address: one message)
 * after an idle poll (or one at the site not yet known as idle, credited
 * later as the sampler credits those polls): a datagram is a request, and
 * each beyond one per ready fd is a task of its own (unbound reads up to 100 queries per
 * wake-up; counted by wake-ups, its tasks were 8.7 times too few). Owner
 * thread only; two loads when the thread is in no such task. */
static inline void ps_task_datagram(struct ps_thread *t)
{
    if (__builtin_expect(t->task_polled == 0, 1) || ++t->task_dgrams <= t->task_polled)
        return;
    if (t->task_begin_ns)
        ps_task_more(t, 1);
    else if (t->poll_credit)             /* before the site was learned: credited with its polls */
        __atomic_store_n(&t->poll_site_work, t->poll_site_work + 1, __ATOMIC_RELEASE);
}
/* A write that sent data (write, send, sendmsg ...) after a poll wake-up
 * that counted tasks (one per ready fd), before the next poll: an event
 * loop answers each request so. Owner thread only; one load when the
 * thread is in no such wake-up (ps_pool_tasks_unseen compares the two). */
static inline void ps_task_reply(struct ps_thread *t)
{
    if (__builtin_expect(t->task_polled == 0, 1))
        return;
    __atomic_store_n(&t->loop_replies, t->loop_replies + 1, __ATOMIC_RELAXED);
}
/* A worker's blocking wait on o just ended: if its pool has no idle object
 * yet and o is a condvar/semaphore/futex posted so far only by non-members,
 * take it now rather than at the agent's next tick (which on a loaded machine
 * comes tens of ms late, and every task before it goes uncounted). The agent
 * still corrects the choice (learn_idle). */
struct ps_obj;
void ps_pool_learn_early(struct ps_thread *t, struct ps_obj *o);
/* A non-member posted to obj: if it is a pool's idle object, one submission. */
void ps_pool_on_post(uintptr_t obj, struct ps_thread *poster);

void ps_pool_on_thread_exit(struct ps_thread *t);
/* Folds an exited thread's totals into its pool before its record is reused. */
void ps_pool_retire(struct ps_thread *t);
/* Totals over a pool's threads (live, exited and retired), summed by the
 * agent's one pass over the threads (view.c). */
struct ps_pool_totals {
    int threads, live;
    uint64_t cpu_ns, runq_ns, spin_ns, wait_ns[PS_NCAUSE];
    uint64_t unattributed_ns;        /* blocked, cause unknown (thread.h) */
    uint64_t tasks, task_ns, nvcsw, nivcsw;
    int working;                     /* threads that ran at least one task */
    int came_back;                   /* threads that came back for work after a task (thread.h) */
    uint64_t most_tasks;             /* the most one thread (a record) ran */
    int serving;                     /* threads that ran a tenth of that or more, and the
                                      * retired that ran any (view.c: serving_threads) */
    uint64_t idler_cpu_ns;           /* CPU of the threads that counted none */
    int pollers;                     /* threads that polled at the pool's idle site */
    uint64_t loop_replies;           /* writes after its poll wake-ups (ps_task_reply) */
    uint64_t cond_blocked;           /* its condvar, semaphore, futex waits that blocked */
    uint64_t tally_tasks;            /* tasks counted from the pool's task object (tally.h) */
    int tally_working;               /* threads that posted it */
    uint64_t max_thread_contention_ns;   /* lock + cond + spin of the most contended thread */
    /* Threads of the pool that took no task where its count is whole (where
     * it is not, that ran next to none of its CPU), and their io and sleep:
     * no task waited there, so W/C leaves them out (view.c: taskless).
     * CPython starts every thread at one routine:
     * a program's heartbeat thread, asleep for the whole run beside a
     * CPU-bound executor, read W/C 0.98 for a pool whose tasks wait for nothing. */
    int taskless;
    uint64_t taskless_io_ns, taskless_sleep_ns;
};
/* W of W/C: the pool's io and sleep less its taskless threads'. */
static inline uint64_t ps_totals_task_wait_ns(const struct ps_pool_totals *t)
{
    return t->wait_ns[PS_IO] + t->wait_ns[PS_SLEEP] - t->taskless_io_ns - t->taskless_sleep_ns;
}
/* What that pass found for one pool this tick. */
struct ps_pool_census {
    int live, idle, parked;
    int tasks_by_tally;              /* tot->tasks was counted from the task object */
    const struct ps_pool_totals *tot;
};
/* Agent, at the start of its tick: learn each pool's idle object from the
 * objects its workers waited on. */
void ps_pool_learn(void);
/* Agent, after its pass over the threads: live counts, queue estimates and
 * a history sample for each of the first npools pools. */
void ps_pool_tick(uint64_t now_ns, int npools, const struct ps_pool_census *census);
/* Whether the pool's task count holds all its tasks (tot: its totals now): counted
 * around its task function, from a poll site two of its threads poll at
 * (whose polls before it was learned are credited), or from a wait for work learned before the pool
 * had done more than 2 % of its work. Else the count is a part and is
 * written as unknown: the reason why (a phrase for the report), NULL when
 * the count is whole. */
const char *ps_pool_tasks_unseen(int pi, const struct ps_pool_totals *tot);
struct ps_obj;
/* Pool pi's idle object when it is a semaphore only threads outside the pool
 * post: one post per task queued (or per worker told to stop). NULL for any
 * other wait for work, and for a semaphore the workers post too: a lock
 * around the queue (CPython's SimpleQueue.get takes it only when the queue
 * is empty and releases it after its pop), whose waits count only a part. */
const struct ps_obj *ps_pool_fed_sem(int pi);
/* The candidates list the agent scans to learn idle objects. */
void ps_pool_note_candidate(uintptr_t key);
/* o is waited on by two pools: if one is a thread alone that waits for work
 * with the other's workers, doing alike work under their name, it joins them
 * (pool.c: join_lone_waiters) and o is theirs. The pool it joined, or -1.
 * Called by the thread whose wait first showed the second pool (as soon as
 * can be: until then the workers' tasks are uncounted) and by the agent. */
int ps_pool_join_lone_waiter(struct ps_obj *o);
/* The objects any pool's worker ever waited on (every entry with a waiter_pool),
 * or NULL when the list overflowed and callers must scan the whole table. */
const uintptr_t *ps_pool_candidates(int *n);
#endif
