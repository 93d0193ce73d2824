/* view.c: the per-tick picture of every pool (view.h). It owns the one pass
 * over the thread table that sums each pool's threads (a pass per pool made
 * the tick cost pools x threads), and the one computation of each pool's
 * answer, its top contention and recommended size, that the controller, the
 * dumps, the metrics, the report, the summary and the profile all print.
 * Agent thread only (or after the agent stopped): the view is static, off
 * its stack, and read by the same thread that writes it. */
#include "view.h"
#include "clock.h"
#include "config.h"
#include "controller.h"
#include "cores.h"
#include "expand.h"
#include "history.h"
#include "jsonw.h"
#include "machine.h"
#include "log.h"
#include "syncobj.h"
#include <string.h>

#define NS 1e-9

static struct ps_view view;

/* t's state if it counts in its pool's totals (live or exited), else -1. */
static int counted_state(const struct ps_thread *t)
{
    int st = __atomic_load_n(&t->state, __ATOMIC_ACQUIRE);
    return (st == PS_T_LIVE || st == PS_T_EXITED) && t->pool >= 0 && t->pool < PS_MAX_POOLS && !t->ignore ? st : -1;
}

/* A pool's totals start from its retired threads' ... */
static void totals_begin(int pi, struct ps_pool_totals *o)
{
    const struct ps_pool *p = &ps_pools[pi];
    memset(o, 0, sizeof *o);
    o->threads = (int)p->ret_threads;
    o->cpu_ns = p->ret_cpu_ns;
    o->runq_ns = p->ret_runq_ns;
    o->unattributed_ns = p->ret_unattributed_ns;
    o->spin_ns = p->ret_spin_ns;
    o->tasks = p->ret_tasks;
    o->task_ns = p->ret_task_ns;
    o->nvcsw = p->ret_nvcsw;
    o->nivcsw = p->ret_nivcsw;
    o->working = (int)p->ret_working;
    o->pollers = (int)p->ret_pollers;
    o->came_back = (int)p->ret_came_back;
    o->loop_replies = p->ret_loop_replies;
    o->cond_blocked = p->ret_cond_blocked;
    o->tally_tasks = ps_tally_retired_tasks(pi);
    /* at least one retired poster if its posts were kept */
    o->tally_working = p->ret_working ? (int)p->ret_working : o->tally_tasks > 0;
    for (int c = 0; c < PS_NCAUSE; c++)
        o->wait_ns[c] = p->ret_wait_ns[c];
}

/* ... add each of its live and exited threads (st: t's state) ... */
/* Thread t's tasks counted from its waits (the count count_tasks uses
 * when the pool's waits count them whole). */
static uint64_t waits_tasks(const struct ps_thread *t)
{
    return t->tasks + __atomic_load_n(&t->tasks_before, __ATOMIC_ACQUIRE);
}

static void totals_add(struct ps_pool_totals *o, const struct ps_thread *t, int st)
{
    o->threads++;
    o->live += st == PS_T_LIVE;
    o->cpu_ns += t->cpu_ns;
    o->runq_ns += t->runq_ns;
    o->unattributed_ns += t->unattributed_ns;
    o->spin_ns += t->spin_ns;
    uint64_t tasks = waits_tasks(t);
    o->tasks += tasks;
    o->working += tasks > 0;
    o->came_back += t->came_back;
    if (tasks > o->most_tasks)
        o->most_tasks = tasks;
    if (!tasks)
        o->idler_cpu_ns += t->cpu_ns;
    o->pollers += ps_pool_polled_at_idle_site(t);
    o->loop_replies += __atomic_load_n(&t->loop_replies, __ATOMIC_RELAXED);
    o->cond_blocked += __atomic_load_n(&t->cond_blocked, __ATOMIC_RELAXED);
    int64_t tally = ps_tally_thread_tasks(t);
    if (tally > 0) {
        o->tally_tasks += (uint64_t)tally;
        o->tally_working++;
    }
    o->task_ns += t->task_ns;
    o->nvcsw += t->nvcsw;
    o->nivcsw += t->nivcsw;
    uint64_t ns[PS_NCAUSE];
    ps_thread_waits(t, ns);
    for (int c = 0; c < PS_NCAUSE; c++)
        o->wait_ns[c] += ns[c];
    uint64_t cont = ns[PS_LOCK] + ns[PS_COND] + t->spin_ns;
    if (cont > o->max_thread_contention_ns)
        o->max_thread_contention_ns = cont;
}

/* Which count of tasks the pool's totals hold: its waits' when they are
 * whole, else its task object's (tally.h), else its idle semaphore's takes
 * (ps_tally_sem_takes), else none (written as unknown);
 * its task object's also when it counts more than its waits (both count
 * each task once at most, and waits miss the tasks taken without one: a
 * CPython executor whose queue's lock was learned as its wait for work
 * counted 92 of 5,600 tasks), if more than one of its threads posted it.
 * Posts of a task object end tasks without a known start: no latencies. */
static void count_tasks(int pi, struct ps_view_pool *v)
{
    struct ps_pool_totals *o = &v->tot;
    v->tasks_unseen = ps_pool_tasks_unseen(pi, o);
    v->tasks_whole = !v->tasks_unseen;
    v->tasks_by_takes = 0;
    /* A task object only one of several threads posts is that thread's
     * (CPython's process pool executor: its manager thread resolves each
     * future, and its feeder, also in thread_run, posts nothing): no count
     * of the pool's tasks. */
    int tally_shared = o->tally_working >= 2 || ps_pool_lone(pi);
    v->tasks_by_tally = __atomic_load_n(&ps_pools[pi].task_obj, __ATOMIC_ACQUIRE) && tally_shared &&
                        (!v->tasks_whole || o->tally_tasks > o->tasks);
    if (!v->tasks_by_tally && !v->tasks_whole) {
        /* a semaphore pool backlogged before its wait for work was learned:
         * its takes, if they account for at least every wait's task */
        int64_t takes = ps_tally_sem_takes(pi);
        if (takes < 0 || (uint64_t)takes < o->tasks)
            return;
        v->tasks_whole = v->tasks_by_tally = v->tasks_by_takes = 1;
        v->tasks_unseen = NULL;
        o->tasks = (uint64_t)takes;
        o->task_ns = 0;
        return;
    }
    if (!v->tasks_by_tally)
        return;
    v->tasks_whole = 1;
    v->tasks_unseen = NULL;
    o->tasks = o->tally_tasks;
    o->working = o->tally_working;
    o->task_ns = 0;
}

/* Thread t's tasks, by the count its pool v holds; -1 where it has none per thread. */
static int64_t thread_tasks(const struct ps_view_pool *v, const struct ps_thread *t)
{
    if (!v->tasks_whole || v->tasks_by_takes)
        return -1;
    return v->tasks_by_tally ? ps_tally_thread_tasks(t) : (int64_t)waits_tasks(t);
}

int64_t ps_view_thread_tasks(const struct ps_thread *t)
{
    if (t->pool < 0 || t->pool >= view.npools)
        return -1;
    return thread_tasks(&view.pool[t->pool], t);
}

/* Is t one of its pool's taskless threads (pool.h)? Where the pool's tasks
 * are counted, one that took none (not before any thread took one: a pool
 * that did nothing yet). Where they are not, one of three or more that ran
 * under a hundredth of the pool's CPU per thread: multiprocessing's
 * ThreadPool, whose tasks its queue hides (SimpleQueue's get takes queued
 * items without a wait), has 8 workers at 0.13 s each and a handler thread
 * of no CPU asleep in poll on a pipe for the whole run, read as io: W/C 4.5
 * for tasks of 3.6. A worker whose tasks only sleep still runs them. */
static int taskless(const struct ps_view_pool *v, const struct ps_thread *t)
{
    int64_t n = thread_tasks(v, t);
    if (n >= 0)
        return n == 0 && v->tot.tasks && v->tot.threads >= 2;
    return v->tot.threads >= 3 && t->cpu_ns * 100 * (uint64_t)v->tot.threads < v->tot.cpu_ns;
}

/* ... and end with the scheduler's run-queue figure as the runqueue cause. */
static void totals_end(struct ps_pool_totals *o)
{
    o->wait_ns[PS_RUNQ] += o->runq_ns;
}

/* A second pass over the threads, once every pool's counts are in.
 * - The threads that did a real part of their pool's tasks: a tenth of the
 *   busiest one's or more. An event loop per worker owns the connections it
 *   accepted, and its size is bounded below by the workers that served them
 *   (recommend.c: owned); a connection that only checked the port is open,
 *   or read its stats, is one task on a worker of its own, and memcached -t
 *   16 under 4 clients and 2 such probes was told 6 workers, which ran
 *   0.79-0.86 as fast as 4. Retired threads count if they ran any: their
 *   records are folded into the pool.
 * - The pool's taskless threads, and their io and sleep. Not past half the
 *   pool: its tasks' waits are then not told apart from the rest. */
static void second_pass(int npools, int hwm)
{
    for (int pi = 0; pi < npools; pi++)
        view.pool[pi].tot.serving = (int)ps_pools[pi].ret_working;
    for (int i = 0; i < hwm; i++) {
        const struct ps_thread *t = &ps_threads[i];
        if (counted_state(t) < 0 || t->pool >= npools)
            continue;
        struct ps_view_pool *v = &view.pool[t->pool];
        struct ps_pool_totals *o = &v->tot;
        uint64_t tasks = waits_tasks(t);
        o->serving += tasks > 0 && tasks * 10 >= o->most_tasks;
        if (!taskless(v, t))
            continue;
        uint64_t ns[PS_NCAUSE];
        ps_thread_waits(t, ns);
        o->taskless++;
        o->taskless_io_ns += ns[PS_IO];
        o->taskless_sleep_ns += ns[PS_SLEEP];
    }
    for (int pi = 0; pi < npools; pi++) {
        struct ps_pool_totals *o = &view.pool[pi].tot;
        if (2 * o->taskless > o->threads)
            o->taskless = 0, o->taskless_io_ns = o->taskless_sleep_ns = 0;
    }
}

/* The size the pool ran at: the most threads live at once in its history.
 * Not the live count at the end: a GLib pool of 8 has 1 left by then, and a
 * lone survivor reads as a pool that cannot be serialized. */
static int peak_threads(int pi, const struct ps_pool_totals *tot)
{
    const struct ps_pool *p = &ps_pools[pi];
    uint32_t n = p->hist_n, from = n > PS_HIST ? n - PS_HIST : 0;
    int peak = tot->live;
    for (uint32_t k = from; k < n; k++)
        if ((int)p->hist[k % PS_HIST].threads > peak)
            peak = (int)p->hist[k % PS_HIST].threads;
    return peak ? peak : tot->threads;
}

/* Threads outside a pool that wait on a condvar with the pool's queue mutex
 * (not its idle wait) wait for something its workers do under that mutex
 * (node's DrainTasks waits for the platform workers' count of finished
 * tasks): the controller must not leave such workers parked. A second pass
 * over the live threads, taken only with control on (an object lookup per
 * thread in a condvar wait), where workers may be parked. */
static void note_queue_mutex_waiters(int npools)
{
    int any = 0;
    for (int pi = 0; pi < npools; pi++)
        any |= view.pool[pi].queue_mutex != 0;
    int hwm = any ? ps_thread_hwm() : 0;
    for (int i = 0; i < hwm; i++) {
        struct ps_thread *t = &ps_threads[i];
        if (__atomic_load_n(&t->state, __ATOMIC_ACQUIRE) != PS_T_LIVE || t->ignore ||
            __atomic_load_n(&t->cur_kind, __ATOMIC_ACQUIRE) != PS_K_COND)
            continue;
        uintptr_t cv = __atomic_load_n(&t->cur_obj, __ATOMIC_RELAXED);
        struct ps_obj *o = cv ? ps_obj_find(cv) : NULL;
        uintptr_t m = o ? __atomic_load_n(&o->mutex, __ATOMIC_RELAXED) : 0;
        for (int pi = 0; m && pi < npools; pi++) {
            struct ps_view_pool *v = &view.pool[pi];
            if (v->queue_mutex == m && cv != v->idle_obj && t->pool != pi)
                v->queue_mutex_waited = 1;
        }
    }
}

/* Task objects are looked for in every pool with threads, and in pools new
 * since the last tick (a run of a few ticks may end at a pool's first:
 * py_tpe's 0.3 s of sleeps printed no tasks once in 8 runs); pools whose
 * workers post nothing are looked at rarely (tally.c). */
static void learn_task_objects(void)
{
    static int want[PS_MAX_POOLS];
    int n = 0;
    while (n < PS_MAX_POOLS && __atomic_load_n(&ps_pools[n].used, __ATOMIC_ACQUIRE) == 2)
        n++;
    for (int pi = 0; pi < n; pi++)
        want[pi] = pi >= view.npools || view.pool[pi].ok;
    ps_tally_learn(want, n);
}

/* Other threads' CPU below this leaves a pool's model the usable cores. */
#define PS_OTHER_CORES_MIN 0.1

double ps_view_cores_left(double other)
{
    if (!(other >= PS_OTHER_CORES_MIN))
        return ps_cores;
    /* In whole cores: a core the rest of the process holds most of is
     * theirs (a worker there mostly waits for it: node's fs pool at 2 ran
     * 0.8 cores of CPU and 0.7 of run-queue wait with 1.3 "left"). */
    double left = (double)(long)(ps_cores - other + 0.5);
    return left < 1 ? 1 : left > ps_cores ? ps_cores : left;
}

/* The process's CPU outside every pool (its main thread, threads no pool
 * holds, the agent) this tick: the view's other_cores, and added to each
 * pool with live threads, what the rest of the process used while the pool
 * ran, not over the whole run (a loader busy before the pool starts takes no
 * core from it). Pools' CPU is sampled (a tick behind at worst), the
 * process's exact: the sum over a pool's life is right, a tick's share may
 * be off. The one place this is computed: the controller smooths the rate. */
static void note_other_cpu(int npools, uint64_t now, const struct ps_pool_census *census)
{
    static uint64_t prev_t, prev_proc, prev_pools;
    uint64_t proc = ps_machine_process_cpu_ns(), pools = 0;
    for (int pi = 0; pi < npools; pi++)
        pools += view.pool[pi].tot.cpu_ns;
    view.other_cores = -1;
    if (prev_t && now > prev_t && proc >= prev_proc && pools >= prev_pools) {
        uint64_t dp = proc - prev_proc, dq = pools - prev_pools, d = dp > dq ? dp - dq : 0;
        view.other_cores = (double)d / (double)(now - prev_t);
        for (int pi = 0; pi < npools; pi++)
            if (census[pi].live > 0) {
                view.pool[pi].other_ns += d;
                view.pool[pi].window_ns += now - prev_t;
            }
    }
    prev_t = now;
    prev_proc = proc;
    prev_pools = pools;
}

const struct ps_view *ps_view_tick(uint64_t now)
{
    if (!ps_pools)
        return &view;
    ps_tally_mark_fed();
    ps_pool_learn();
    learn_task_objects();
    static struct ps_pool_census census[PS_MAX_POOLS];
    static uint64_t first[PS_MAX_POOLS], last[PS_MAX_POOLS], first_end[PS_MAX_POOLS];
    static int ended[PS_MAX_POOLS];
    int npools = 0;
    for (; npools < PS_MAX_POOLS && __atomic_load_n(&ps_pools[npools].used, __ATOMIC_ACQUIRE) == 2; npools++) {
        totals_begin(npools, &view.pool[npools].tot);
        view.pool[npools].calls = view.pool[npools].lock_events = 0;
        memset(&census[npools], 0, sizeof census[npools]);
        first[npools] = last[npools] = first_end[npools] = 0;
        ended[npools] = 0;
    }
    int hwm = ps_thread_hwm();
    for (int i = 0; i < hwm; i++) {
        struct ps_thread *t = &ps_threads[i];
        int st = counted_state(t);
        if (st < 0 || t->pool >= npools)
            continue;
        int pi = t->pool;
        totals_add(&view.pool[pi].tot, t, st);
        uint64_t end = ps_thread_wall_end(t);
        if (!end)
            end = now;                   /* not sampled yet */
        if (!first[pi] || t->born_ns < first[pi])
            first[pi] = t->born_ns;
        if (end > last[pi])
            last[pi] = end;
        if (st != PS_T_LIVE) {
            if (!first_end[pi] || end < first_end[pi])
                first_end[pi] = end;
            ended[pi]++;
            continue;
        }
        census[pi].live++;
        struct ps_view_pool *v = &view.pool[pi];
        for (int k = 0; k < PS_NCAUSE; k++)
            v->calls += __atomic_load_n(&t->waits[k], __ATOMIC_RELAXED);
        v->lock_events += __atomic_load_n(&t->lock_events, __ATOMIC_RELAXED);
        if (t->throttled)
            census[pi].parked++;
        else if (__atomic_load_n(&t->cur_since_ns, __ATOMIC_ACQUIRE) && t->cur_cause == PS_IDLE)
            census[pi].idle++;
    }
    for (int pi = 0; pi < npools; pi++) {
        struct ps_view_pool *v = &view.pool[pi];
        totals_end(&v->tot);
        count_tasks(pi, v);
        census[pi].tasks_by_tally = v->tasks_by_tally;
        census[pi].tot = &v->tot;
    }
    second_pass(npools, hwm);
    ps_pool_tick(now, npools, census);
    note_other_cpu(npools, now, census);
    for (int pi = 0; pi < npools; pi++) {
        struct ps_view_pool *v = &view.pool[pi];
        v->ok = v->tot.threads > 0;
        v->live = census[pi].live;
        v->idle = census[pi].idle;
        v->parked = census[pi].parked;
        v->busy = v->live - v->idle - v->parked;
        v->peak = peak_threads(pi, &v->tot);
        v->wall_s = last[pi] > first[pi] ? (double)(last[pi] - first[pi]) * NS : 0;
        v->ends_spread = ended[pi] >= 2 && ended[pi] == v->tot.threads && v->wall_s > 0 && last[pi] > first_end[pi] ?
                         (double)(last[pi] - first_end[pi]) * NS / v->wall_s : 0;
        const struct ps_pool *p = &ps_pools[pi];
        v->hist_n = __atomic_load_n(&p->hist_n, __ATOMIC_ACQUIRE);
        v->last = p->hist[(v->hist_n - 1) % PS_HIST];
        v->prev = v->hist_n > 1 ? p->hist[(v->hist_n - 2) % PS_HIST] : v->last;
        v->has_routine = p->routine != NULL;
        v->idle_obj = __atomic_load_n(&p->idle_obj, __ATOMIC_ACQUIRE);
        v->idle_kind = __atomic_load_n(&p->idle_kind, __ATOMIC_RELAXED);
        v->queue_mutex = __atomic_load_n(&p->queue_mutex, __ATOMIC_ACQUIRE);
        v->twins = __atomic_load_n(&p->twin_objs, __ATOMIC_RELAXED) > 0;
        v->idle_site = __atomic_load_n(&p->idle_site, __ATOMIC_ACQUIRE);
        v->queue = p->queue_est;
        v->submissions = __atomic_load_n(&p->submissions, __ATOMIC_RELAXED);
        v->limit = __atomic_load_n(&p->limit, __ATOMIC_RELAXED);
        v->queue_mutex_waited = 0;
        v->answered = 0;
    }
    view.npools = npools;
    view.t_ns = now;
    if (ps_cfg.control == PS_CONTROL_ON)
        note_queue_mutex_waiters(npools);   /* the watchdog's: only parked workers can keep it waiting */
    for (int pi = 0; pi < npools && ps_cfg.control != PS_CONTROL_OFF; pi++)
        ps_view_answer(pi);
    return &view;
}

const struct ps_view *ps_view_last(void)
{
    return &view;
}

/* The condvar pool pi's workers wait on with mutex m, other than the pool's
 * idle wait: with it, m is part of a lock built from a mutex and a condvar. */
static struct ps_obj *paired_cond(int pi, uintptr_t m)
{
    int n;
    const uintptr_t *keys = ps_pool_candidates(&n);
    for (int i = 0; keys && i < n; i++) {
        struct ps_obj *o = ps_obj_find(__atomic_load_n(&keys[i], __ATOMIC_ACQUIRE));
        if (o && o->key && o->kind == PS_K_COND && o->mutex == m && o->waiter_pool == pi &&
            o->key != ps_pools[pi].idle_obj)
            return o;
    }
    return NULL;
}

/* The other half of a mutex + condvar lock (CPython's GIL: threads wait on
 * either, and which one waits more varies from run to run), or NULL. */
static struct ps_obj *pair_of(int pi, const struct ps_obj *o)
{
    if (o->kind == PS_K_COND && o->mutex) {
        struct ps_obj *m = ps_obj_find(o->mutex);
        return m && m->key && m->waiter_pool == pi && m->kind == PS_K_MUTEX ? m : NULL;
    }
    return o->kind == PS_K_MUTEX ? paired_cond(pi, o->key) : NULL;
}

int ps_view_is_handoff(int pi, const struct ps_obj *o)
{
    /* A GIL's waiter asks the holder to let go when its wait runs out
     * (CPython: every 5 ms), so its condvar's waits time out now and then. A
     * work queue (a mutex and a condvar too) whose workers post it for each
     * other as they make tasks is waited on without a timeout: coreutils
     * sort's merge tree read "serialized on a GIL-like lock, use 2 processes". */
    const struct ps_obj *pair = pair_of(pi, o), *cond = o->kind == PS_K_COND ? o : pair;
    if (!cond || !__atomic_load_n(&cond->timeouts, __ATOMIC_RELAXED))
        return 0;
    /* A GIL is waited on by every thread that wants it. A condvar only one
     * thread waits on is that thread's event, handed to no one: x265's
     * frame encoders wait for their rows in timed waits on one each, and
     * beside two CPU hogs (their pool never running 1.25 cores) read as a
     * GIL's, "use 2 processes". */
    if (!__atomic_load_n(&cond->waiters_many, __ATOMIC_RELAXED))
        return 0;
    if (o->kind == PS_K_COND && o->posts_same > o->posts_other && ps_obj_tie_is_handoff(o) && !ps_pool_lone(pi))
        return 1;                        /* handed from worker to worker */
    return pair != NULL;                 /* a lock made of a mutex and a condvar */
}

/* Is o a contention object of pool pi, and how much did the pool wait on it?
 * The two halves of a mutex + condvar lock count together. */
static int contention_of(int pi, const struct ps_obj *o, uint64_t *ns)
{
    if (!o || !o->key || o->key == (uintptr_t)-1 || o->key == ps_pools[pi].idle_obj ||
        (o->waiter_pool != pi && o->other_waiter_pool != pi))
        return 0;
    if (o->kind != PS_K_MUTEX && o->kind != PS_K_RWLOCK && o->kind != PS_K_SPIN && o->kind != PS_K_COND &&
        o->kind != PS_K_SEM && o->kind != PS_K_FUTEX && o->kind != PS_K_FUTEX_LOCK)
        return 0;
    /* this pool's waits only: Apache's listener read "top lock 2.49 s" for
     * its 0.08 s on its workers' queue mutex, whose 2.41 s were not theirs */
    *ns = ps_obj_pool_wait_ns(o, pi);
    struct ps_obj *other = pair_of(pi, o);
    if (other)
        *ns += ps_obj_pool_wait_ns(other, pi);
    return 1;
}

/* Every object a pool waited on is in the pool module's candidate list: no
 * scan of the whole table unless it overflowed. */
struct ps_obj *ps_view_top_contention(int pi, double *wait_s)
{
    struct ps_obj *best = NULL, *gil = NULL;
    uint64_t best_ns = 0, gil_ns = 0, ns;
    int n;
    const uintptr_t *keys = ps_pool_candidates(&n);
    for (int i = 0; i < (keys ? n : PS_MAX_OBJS); i++) {
        struct ps_obj *o = keys ? ps_obj_find(__atomic_load_n(&keys[i], __ATOMIC_ACQUIRE)) : &ps_objs[i];
        if (o && o->kind == PS_K_MUTEX && paired_cond(pi, o->key))
            continue;                    /* a mutex + condvar lock is named by its condvar */
        if (!contention_of(pi, o, &ns))
            continue;
        if (!best || ns > best_ns) {
            best = o;
            best_ns = ns;
        }
        if (o->kind == PS_K_COND && (!gil || ns > gil_ns) && ps_view_is_handoff(pi, o)) {
            gil = o;
            gil_ns = ns;
        }
    }
    /* Under a GIL-like lock every other lock of the pool is held by a thread
     * that must take the GIL again to release it: a Python-level lock then
     * waits longer than the GIL itself (CPython's ThreadPoolExecutor, whose
     * workers share a Semaphore) but only because of it. Name the GIL. */
    if (gil && gil_ns * 8 >= best_ns) {
        best = gil;
        best_ns = gil_ns;
    }
    *wait_s = best_ns * NS;
    return best;
}

/* The most cores a pool behind a GIL-like lock can be seen to use (pool.c's
 * peak, over 300 ms): one, and what runs outside the lock. */
#define PS_GIL_PARALLEL_MAX 1.25

/* Threads blocked under this share of their CPU time ran their work from
 * start to end (recommend.h, fixed_shares). */
#define PS_SHARE_BLOCKED 0.05
/* ... and ended one by one when the first ended this share of the pool's
 * life before the last (sysbench mutex at 8 threads: 1.1-13 % in 7 runs;
 * sysbench cpu's and threads', stopped by a timer, 0.01-0.6 %, beside two
 * CPU hogs included) ... */
#define PS_SHARE_SPREAD 0.01
/* ... switching involuntarily fewer times than this per second of CPU. */
#define PS_SHARE_SWITCHES 5000

/* A pool that started this many threads, and this many times the most
 * alive at a tick, has threads that come and go (below). */
#define PS_CHURN_THREADS 20
#define PS_CHURN_RATIO 4

/* The model's answer for v (pool pi), corrected by what the controller
 * measured at the sizes it ran. */
static void answer(int pi, struct ps_view_pool *v)
{
    const struct ps_pool_totals *tot = &v->tot;
    const struct ps_pool *p = &ps_pools[pi];
    struct ps_rec_in in = { 0 };
    double other = v->window_ns ? (double)v->other_ns / (double)v->window_ns : 0;
    /* libgomp's master, the thread that opened the parallel region, runs
     * its share of the loop in no pool: its CPU is the team's, not other
     * threads' (a team of 2 on 2 cores read 1 core left, and was told 1).
     * So does oneTBB's thread that waits on its tasks. */
    int team = ps_expand_is_team(pi);
    if (team)
        other = 0;
    v->model_cores = in.cores = ps_view_cores_left(other);
    in.cores_free = ps_cores - other > 0 ? ps_cores - other : 0;
    in.threads = v->peak;
    in.cpu_s = tot->cpu_ns * NS;
    in.io_s = (tot->wait_ns[PS_IO] - tot->taskless_io_ns) * NS;
    in.sleep_s = (tot->wait_ns[PS_SLEEP] - tot->taskless_sleep_ns) * NS;
    in.lock_s = tot->wait_ns[PS_LOCK] * NS;
    in.cond_s = tot->wait_ns[PS_COND] * NS;
    in.idle_s = tot->wait_ns[PS_IDLE] * NS;
    in.runq_s = tot->wait_ns[PS_RUNQ] * NS;
    in.spin_s = tot->spin_ns * NS;
    in.wall_s = v->wall_s;
    in.max_thread_contention_s = tot->max_thread_contention_ns * NS;
    /* queued = posts less tasks: a count of tasks that is a part (CPython's
     * SimpleQueue, taken without its lock while items are queued) would read
     * as a queue that never drains, or none. Known only if every tick read
     * it: one that found all workers busy before the queue could be read
     * leaves it unknown (pool.c); the busiest tick bounds it from below. */
    in.demand_peak = v->tasks_whole && !v->tasks_by_tally && !p->demand_unseen && p->demand_peak
                         ? (int)(p->demand_peak > p->busy_peak ? p->demand_peak : p->busy_peak) : 0;
    /* A pool whose threads have all ended ran every task it was given: no
     * more than that count was ever in flight, whatever no tick could read
     * (pixz -p4 on input of one block: 4.6 s of CPU in one task on one of
     * its two workers, told 4 threads by the even-shares rule). */
    if (v->tasks_whole && !v->tasks_by_tally && !v->live && tot->tasks > 0 &&
        tot->tasks < (uint64_t)tot->threads && (!in.demand_peak || (uint64_t)in.demand_peak > tot->tasks))
        in.demand_peak = (int)tot->tasks;
    uint64_t handoffs;
    double h50 = ps_hist_quantile(&p->handoff, 0.5, &handoffs);
    /* enough hand-offs for a median, and tasks whose count is whole and
     * whose starts are seen: a pool counted by its posts is backlogged, and
     * its few hand-offs are those of the moments its queue ran dry, each a
     * wait for a core among oversubscribed workers (pigz -p 8: 2.3 ms
     * against 2.2 ms of work per block, read as "1 thread") */
    if (handoffs >= 20 && tot->tasks >= 20 && v->tasks_whole && !v->tasks_by_tally) {
        in.handoff_s = h50 * NS;
        in.task_work_s = (in.cpu_s + in.io_s + in.sleep_s) / tot->tasks;
    }
    in.tasks_seen = v->tasks_whole && tot->tasks > 0;   /* a lone thread that took none is no pool */
    in.took_none = v->tasks_whole && tot->tasks == 0;
    in.took_one = v->tasks_whole && tot->tasks == 1;
    /* libgomp's master runs the loop too: one worker is half a team of two
     * (OMP_NUM_THREADS=2, the default on 2 cores), not a lone thread, and
     * tasks of W/C 4 there were told "nothing to size" where 13 ran best;
     * oneTBB's default on 2 cores is one worker too */
    in.lone = tot->threads == 1 && !team;
    in.waits_for_work = v->idle_obj || v->idle_site || v->queue_mutex;
    /* a condvar several workers waited on with the queue's mutex: their
     * time there is waiting for work, whether its waits count the tasks or
     * not (Perl's Thread::Queue: its workers post it too) */
    in.queue_wait = p->idle_kind == PS_K_COND && v->idle_obj && v->queue_mutex && !p->twin_objs &&
                    !ps_pool_idle_one_waiter(pi);
    /* its wait for work a condvar its workers post for each other (pool.c:
     * made_ready_by_work), clearly more than anyone else does */
    const struct ps_obj *iw = v->idle_obj ? ps_obj_find(v->idle_obj) : NULL;
    in.self_fed = iw && iw->kind == PS_K_COND &&
                  __atomic_load_n(&iw->posts_same, __ATOMIC_RELAXED) > 2 * __atomic_load_n(&iw->posts_other, __ATOMIC_RELAXED);
    in.one_poller = v->idle_site && tot->threads > 1 && tot->pollers < 2;
    in.owners = !v->idle_site || !v->tasks_whole ? 0 : v->tasks_by_tally ? tot->working : tot->serving;
    /* each thread one share: at most one task each (sysbench's workers
     * wait on a condvar for their start, which may count as one), blocked
     * on anything, its wait for work included, under PS_SHARE_BLOCKED of
     * its CPU time (not of its life: oversubscribed, its threads wait for a
     * core most of it, and sysbench threads' 5 % of lock wait at 8 threads
     * is 22 % of its CPU), the threads ending one by one (a pool's workers
     * told to stop end together, and so do threads that run for a given
     * time), and not yielding: sched_yield counts as an involuntary switch,
     * and sysbench threads, which yields under its locks (1.6 million a
     * second of CPU, against 260 for plain preemption), runs 0.39 as fast
     * at 4 threads as at 2 */
    uint64_t blocked_ns = 0;             /* every thread's, taskless ones included */
    for (int c = 0; c < PS_RUNQ; c++)
        blocked_ns += tot->wait_ns[c];
    double blocked = blocked_ns * NS;
    in.fixed_shares = tot->threads >= 2 && !(in.tasks_seen && tot->tasks > (uint64_t)tot->threads) &&
                      !in.took_none && in.cpu_s > 0 && blocked < PS_SHARE_BLOCKED * in.cpu_s &&
                      v->ends_spread >= PS_SHARE_SPREAD && tot->nivcsw < PS_SHARE_SWITCHES * in.cpu_s;
    v->top = ps_view_top_contention(pi, &v->top_wait_s);
    v->top_handoff = 0;
    v->handoff_unsure = 0;
    v->top_key = v->top ? v->top->key : 0;
    v->top_wait_ns = (uint64_t)(v->top_wait_s * 1e9 + 0.5);     /* a GIL-like pair counts both */
    v->top_hold_ns = v->top ? v->top->hold_ns : 0;
    in.top_wait_s = v->top_wait_s;
    if (v->top) {
        in.top_hold_s = v->top->hold_ns * NS;
        if (v->top->kind == PS_K_FUTEX_LOCK)     /* sampled at contended acquisitions only */
            in.top_hold_s = v->top->acquisitions ? in.top_hold_s / v->top->acquisitions * v->top->contended : 0;
        /* a condvar handed between workers is GIL-like only where they never
         * ran more than about one at a time */
        v->top_handoff = in.top_is_handoff =
            ps_view_is_handoff(pi, v->top) && !(p->cpu_rate_peak > PS_GIL_PARALLEL_MAX);
        v->handoff_unsure = v->top_handoff && !p->cpu_rate_known;
        if (v->top->kind == PS_K_SPIN)
            in.top_wait_s = in.spin_s > in.top_wait_s ? in.spin_s : in.top_wait_s;
        in.top_one_waiter = __atomic_load_n(&v->top->first_waiter, __ATOMIC_RELAXED) &&
                            !__atomic_load_n(&v->top->waiters_many, __ATOMIC_RELAXED);
    }
    ps_recommend(&in, &v->rec);
    if (ps_expand_is_go(pi))
        ps_recommend_go(ps_cores, &v->rec);   /* the main thread is one of its threads too */
    else if (in.cores < ps_cores && v->rec.cls != PS_CLASS_SINGLE) {
        char o[32], l[32];
        ps_fmt_double(o, sizeof o, other, 1);
        ps_fmt_double(l, sizeof l, in.cores, 0);
        ps_fmt_cat(v->rec.reason, sizeof v->rec.reason,
                   " (cores: the process's other threads used %s while it ran, %s left to it)", o, l);
    }
    /* Threads that come and go: python3 -m http.server under 4 clients
     * started 600, a thread per request, at most 1 alive at any tick, and
     * was told "3 threads (cpu-bound)" with nothing to say that no pool
     * keeps that size. The size is for a pool that would. */
    v->churns = tot->threads >= PS_CHURN_THREADS && tot->threads >= PS_CHURN_RATIO * v->peak;
    if (v->churns && v->rec.cls != PS_CLASS_SINGLE && v->rec.cls != PS_CLASS_RUNTIME) {
        ps_fmt_cat(v->rec.reason, sizeof v->rec.reason,
                   "; its threads come and go: %d started, at most %d alive at a tick (a thread per task, or a "
                   "pool that ends idle threads): the size is for a pool that keeps them",
                   tot->threads, v->peak);
    }
    /* Runs of this command at other sizes: W/C may grow with the threads. */
    v->point = (struct ps_rec_point){ .threads = v->peak, .w_c = v->rec.w_c, .by_tasks = v->tasks_whole,
                                      .tput = v->wall_s <= 0 ? 0 : v->tasks_whole ? (double)tot->tasks / v->wall_s
                                                                                  : in.cpu_s / v->wall_s };
    if (!v->churns && v->peak >= 1 && v->wall_s > 0) {
        struct ps_rec_point pts[8] = { v->point };
        int n = ps_history_points(pi, v->peak, pts + 1, 7);
        if (n > 0)
            ps_recommend_history(&in, pts, n + 1, &v->rec);
    }
    /* A size the controller ran and measured best outweighs the model's. */
    double tput;
    int measured = ps_controller_measured(pi, &tput);
    if (measured > 0 && measured != v->rec.recommended_threads) {
        ps_fmt_cat(v->rec.reason, sizeof v->rec.reason,
                   "; the controller measured %d threads best (%lu tasks/s), where the model said %d",
                   measured, (unsigned long)(tput + 0.5), v->rec.recommended_threads);
        v->rec.recommended_threads = measured;
    }
}

const struct ps_view_pool *ps_view_answer(int pi)
{
    if (pi < 0 || pi >= view.npools || !view.pool[pi].ok)
        return NULL;
    struct ps_view_pool *v = &view.pool[pi];
    if (!v->answered) {
        answer(pi, v);
        v->answered = 1;
    }
    return v;
}
