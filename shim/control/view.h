/* view.h: the read-only picture of every pool that the agent takes once per
 * tick, in one pass over the thread table (view.c). Everything downstream of
 * the capture reads it instead of the tables: the controller, the metrics,
 * the dump triggers, and the report, summary and profile at exit, which all
 * print the same answer because there is only one. Agent thread (or, at exit,
 * after the agent stopped); not for the host's threads. */
#ifndef PS_VIEW_H
#define PS_VIEW_H
#include "pool.h"
#include "recommend.h"
#include <stdint.h>

struct ps_obj;

struct ps_view_pool {
    int ok;                       /* the pool has had a thread */
    struct ps_pool_totals tot;    /* its live, exited and retired threads */
    int live, idle, busy, parked; /* its live threads now */
    int peak;                     /* most threads live at once in its history */
    double wall_s;                /* its first thread's start to its last one's end */
    double ends_spread;           /* with every thread ended (two or more): the share of wall_s
                                     from the first one's end to the last one's, else 0 */
    int churns;                   /* its threads come and go (a thread per task): no one size ran */
    int tasks_whole;              /* tot.tasks holds every task (ps_pool_tasks_unseen, or below) */
    const char *tasks_unseen;     /* else why not, for the report */
    int tasks_by_takes;           /* ... (with tasks_by_tally) counted from the posts of its idle
                                     semaphore by the threads outside it: per thread unknown */
    int tasks_by_tally;           /* ... counted from a semaphore posted once per task (tally.h):
                                     no task boundaries, so no latencies and no queue */
    /* The pool's state this tick, as the controller reads it. */
    struct ps_pool_sample last, prev;  /* this tick's history sample and the one before */
    uint32_t hist_n;              /* samples taken so far (prev is valid from 2) */
    int has_routine;              /* started by a known routine (not a thread we only found) */
    uintptr_t idle_obj;           /* where its workers wait for work, 0 unknown */
    int idle_kind;                /* what idle_obj is (enum ps_kind) */
    uintptr_t queue_mutex;        /* the mutex its work queue is taken under, 0 unknown */
    int twins;                    /* its workers wait for work on condvars of their own (pool.h) */
    void *idle_site;              /* event loops: where each worker polls fds of its own, NULL none */
    uint64_t queue;               /* tasks queued (pool.h's estimate) */
    uint64_t submissions;         /* posts to its idle wait from outside */
    int limit;                    /* the throttle's limit now, 0 none */
    uint64_t calls;               /* wrapped blocking calls its live threads completed, ever */
    uint64_t lock_events;         /* its live threads' hot-lock acquisitions, ever */
    uint64_t other_ns, window_ns; /* the CPU the process's threads outside every pool used in the
                                     ticks it had live threads, and those ticks' time */
    double model_cores;           /* the cores its model counted on (ps_view_cores_left) */
    int queue_mutex_waited;       /* with control on (not advise): a thread outside the pool waits on a
                                     condvar with its queue mutex (waits for its workers) */
    /* The answer, computed when first asked for this view (ps_view_answer):
     * most ticks nobody asks (control off, no dump, no metrics). */
    int answered;
    struct ps_obj *top;           /* the object the pool waited on most besides its idle wait */
    double top_wait_s;            /* the pool's wait on it (both halves of a mutex + condvar lock) */
    int top_handoff;              /* top is handed from worker to worker (a GIL-like lock) */
    int handoff_unsure;           /* top_handoff read before the pool's CPU rate was measured: it
                                     may yet run more than one thread at a time (not GIL-like) */
    uintptr_t top_key;            /* top's address (0: none), its wait as top_wait_s says and */
    uint64_t top_wait_ns, top_hold_ns;   /* its hold, for the controller's rates */
    struct ps_rec_out rec;        /* the size, class and reason everything prints */
    struct ps_rec_point point;    /* this run's measure at its size, for the history (history.h) */
};

/* The cores a pool's model counts on: the usable cores less what the
 * process's other threads keep busy (other, in cores), in whole cores, at
 * least one. Node's main thread runs its JavaScript and hands out its fs
 * pool's work on a core of two: a pool sized for both cores has twice the
 * workers that core can feed (its best static size is 1). Other processes'
 * load does not count: an I/O-bound pool's threads still get more done. */
double ps_view_cores_left(double other);

struct ps_view {
    uint64_t t_ns;                /* when it was taken; 0 = never */
    int npools;
    /* The process's CPU outside every pool (its main thread, threads no pool
     * holds, the agent) over the last tick, in cores; -1 before two ticks
     * (the controller smooths it for ps_view_cores_left). */
    double other_cores;
    struct ps_view_pool pool[PS_MAX_POOLS];
};

/* The pool has a place where its workers can be parked safely: before
 * their wait for work on a semaphore, futex word or fd, or before the
 * queue mutex a shared idle condvar is waited with (a condvar's waiter
 * holds that mutex: never there). Not before the mutex of a condvar each
 * worker has of its own (twins): other threads take it to wake that worker,
 * holding locks we do not see (HotSpot's Parker: unpark under a Java lock;
 * a Java executor of 64 throttled to 15 stalled for 4.2 s, until the
 * watchdog let it go). */
static inline int ps_view_has_safe_point(const struct ps_view_pool *p)
{
    return (p->idle_obj && p->idle_kind != PS_K_COND) || (p->queue_mutex && !p->twins);
}

/* The agent's tick: learn idle waits, one pass over the threads, the pools'
 * history; returns the new view. With control on, every pool's answer is
 * taken in the tick (the controller reads its top contention each tick). */
const struct ps_view *ps_view_tick(uint64_t now_ns);
/* The last view taken (t_ns 0 before the first tick). */
const struct ps_view *ps_view_last(void);
/* Pool pi of the last view with its answer, or NULL when pi had no thread. */
const struct ps_view_pool *ps_view_answer(int pi);
/* The object pool pi waited on most, other than its idle wait, and the
 * pool's wait on it now (the answer's top, taken afresh). */
struct ps_obj *ps_view_top_contention(int pi, double *wait_s);
/* Is o handed from worker to worker in pool pi (a GIL-like lock, or half of
 * a mutex + condvar lock), rather than a lock held while working? */
int ps_view_is_handoff(int pi, const struct ps_obj *o);
/* Thread t's tasks as its pool's figure in the last view counts them
 * (from its waits, or its pool's task object), -1 where they are unknown:
 * the pool's are, or t is in no pool. */
int64_t ps_view_thread_tasks(const struct ps_thread *t);
#endif
