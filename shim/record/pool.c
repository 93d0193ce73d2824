/* pool.c: grouping threads into pools, learning each pool's idle wait, and
 * task boundaries.
 *
 * Why idle is learned from who posts: a pool's workers wait on many objects.
 * The one they wait on *for work* is posted by producers outside the pool (the
 * submitter signals the queue's condvar or semaphore), while an object that
 * serialises the work (CPython's GIL condvar, a contended lock) is handed from
 * worker to worker. So the idle object is the one with the most worker wait
 * among those posted mostly by non-members. Waits on it are `idle` (no work),
 * the rest `cond` (contention). Polled fds have no visible poster: a poll-family
 * wait shared by the pool's workers is the idle wait of an fd/epoll pool.
 *
 * Task boundaries follow from it: a task begins when a worker returns from the
 * idle wait with work (semaphore/futex/poll pools) or releases the queue mutex
 * (condvar pools: it has just dequeued), and ends when it comes back for more. */
#include "pool.h"
#include "trace.h"
#include "atomics.h"
#include "clock.h"
#include "config.h"
#include "log.h"
#include "symbol.h"
#include "symname.h"
#include "syncobj.h"
#include "table.h"
#include "instance.h"
#include "tally.h"
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

struct ps_pool *ps_pools;

#define PS_MAX_CAND 2048
static uintptr_t cand[PS_MAX_CAND];
static int ncand;

int ps_pool_table_init(void)
{
    void *p = ps_table_map(sizeof(struct ps_pool) * PS_MAX_POOLS);
    if (!p)
        return -errno;
    ps_pools = p;
    return 0;
}

void ps_pool_table_reset(void)
{
    ps_table_zero(ps_pools, sizeof(struct ps_pool) * PS_MAX_POOLS);
    ncand = 0;
    ps_instance_reset();                 /* a thread that held its lock is gone (fork) */
}

void ps_pool_renamed(int pi, const char *prefix)
{
    struct ps_pool *p = &ps_pools[pi];
    int zero = 0;
    if (!prefix[0] || __atomic_load_n(&p->alias[0], __ATOMIC_ACQUIRE) || !strncmp(p->prefix, prefix, PS_NAME_LEN) ||
        !__atomic_compare_exchange_n(&p->alias_claimed, &zero, 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
        return;                            /* set once, by whoever renames first */
    strncpy(p->alias + 1, prefix + 1, PS_NAME_LEN - 2);
    __atomic_store_n(&p->alias[0], prefix[0], __ATOMIC_RELEASE);
}

static int numbering(char c)
{
    return (c >= '0' && c <= '9') || (c && strchr("-_.,:# /", c));
}

void ps_pool_prefix(const char *name, char out[PS_NAME_LEN])
{
    size_t n = strnlen(name, PS_NAME_LEN - 1);
    /* down to "" for names that are only digits ("1".."15"): with n > 1 "1" and
     * "10" would share a pool and "2" would not */
    for (;;) {
        while (n > 0 && numbering(name[n - 1]))
            n--;
        /* a number in brackets: GNAT names each task of an array by its
         * index, w(1) .. w(4); worker[3] likewise */
        const char *close = n > 1 ? strchr(")]}>", name[n - 1]) : NULL;
        if (!close)
            break;
        size_t j = n - 1;
        while (j > 0 && numbering(name[j - 1]))
            j--;
        if (j == 0 || j == n - 1 || name[j - 1] != "([{<"[close - ")]}>"])
            break;                       /* "f(x)", or "()": not a number */
        n = j - 1;
    }
    /* an index before the name: Erlang's 1_scheduler, 2_scheduler ..,
     * 1_dirty_io_sche: the digits and their separator go too */
    size_t b = 0;
    while (b < n && name[b] >= '0' && name[b] <= '9')
        b++;
    if (b > 0 && b + 1 < n && numbering(name[b]) && !(name[b] >= '0' && name[b] <= '9'))
        b++;
    else
        b = 0;
    memcpy(out, name + b, n - b);
    out[n - b] = 0;
}

int ps_pool_has_key(const struct ps_pool *p, void *routine, void *entry, const char *prefix)
{
    return p->routine == routine && p->entry == entry &&
           (!strncmp(p->prefix, prefix, PS_NAME_LEN) ||
            (__atomic_load_n(&p->alias[0], __ATOMIC_ACQUIRE) && !strncmp(p->alias, prefix, PS_NAME_LEN)));
}

int ps_pool_find(void *routine, void *entry, const char *prefix, void *inst, int create)
{
    static int full_logged;
    if (!ps_pools)
        return -1;
    for (int i = 0; i < PS_MAX_POOLS; i++) {
        struct ps_pool *p = &ps_pools[i];
        int u = __atomic_load_n(&p->used, __ATOMIC_ACQUIRE);
        if (u == 0) {
            int zero = 0;
            if (!create)
                return -1;
            if (__atomic_compare_exchange_n(&p->used, &zero, 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
                p->routine = routine;
                p->entry = entry;
                p->inst = inst;
                strncpy(p->prefix, prefix, PS_NAME_LEN - 1);
                __atomic_store_n(&p->used, 2, __ATOMIC_RELEASE);
                return i;
            }
            u = zero;
        }
        while (u == 1)
            u = __atomic_load_n(&p->used, __ATOMIC_ACQUIRE);
        if (__atomic_load_n(&p->inst, __ATOMIC_ACQUIRE) == inst && ps_pool_has_key(p, routine, entry, prefix))
            return i;
    }
    ps_log_once(&full_logged, "more than %d pools: further threads are not grouped", PS_MAX_POOLS);
    return -1;
}

int ps_pool_get(void *routine, void *entry, const char *prefix)
{
    return ps_pool_find(routine, entry, prefix, NULL, 1);
}

/* Pool pi's threads are leaving for their instances: what was learned from
 * their waits is learned again, each object for the instance that waits on
 * it (the first to block there claims it, syncobj.c), and pi's idle wait and
 * queue mutex, which belong to one of them, are forgotten. */
void ps_pool_forget_waits(int pi)
{
    struct ps_pool *p = &ps_pools[pi];
    int n = __atomic_load_n(&ncand, __ATOMIC_ACQUIRE);
    for (int i = 0; i < n && i < PS_MAX_CAND; i++) {
        uintptr_t key = __atomic_load_n(&cand[i], __ATOMIC_ACQUIRE);
        struct ps_obj *o = key ? ps_obj_find(key) : NULL;
        int was = pi;
        if (o && __atomic_compare_exchange_n(&o->waiter_pool, &was, -1, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
            __atomic_store_n(&o->waited_outside, 0, __ATOMIC_RELAXED);
            __atomic_store_n(&o->pool_wait_ns[0], 0, __ATOMIC_RELAXED);
        }
        was = pi;
        if (o && __atomic_compare_exchange_n(&o->other_waiter_pool, &was, -1, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
            __atomic_store_n(&o->pool_wait_ns[1], 0, __ATOMIC_RELAXED);
    }
    __atomic_store_n(&p->idle_obj, 0, __ATOMIC_RELEASE);
    __atomic_store_n(&p->queue_mutex, 0, __ATOMIC_RELEASE);
    __atomic_store_n(&p->idle_site, NULL, __ATOMIC_RELEASE);
    __atomic_store_n(&p->twin_site, NULL, __ATOMIC_RELEASE);
    __atomic_store_n(&p->count_started, 0, __ATOMIC_RELEASE);
}

/* POOLSHIM_POOL: does pool pi's start routine (or the entry its trampoline
 * runs) have that name? Decided once per pool, when its first thread starts:
 * naming a routine reads symbols (dladdr, the module's .symtab). */
static int selected(int pi)
{
    struct ps_pool *p = &ps_pools[pi];
    int v = __atomic_load_n(&p->selected, __ATOMIC_ACQUIRE);
    if (v)
        return v > 0;
    char name[160], shown[160];
    v = -1;
    for (int k = 0; k < 2 && v < 0; k++) {
        void *fn = k ? p->entry : p->routine;
        if (!fn)
            continue;
        /* its symbol, or the name the report shows for it (poolname.c) when
         * read without libstdc++'s demangler: it may not be called here */
        ps_symbol_func(fn, name, sizeof name);
        if (!strcmp(name, ps_cfg.pool) || !strcmp(ps_symname_show(name, 0, shown, sizeof shown), ps_cfg.pool))
            v = 1;
    }
    __atomic_store_n(&p->selected, v, __ATOMIC_RELEASE);
    return v > 0;
}

void ps_pool_check_name(void)
{
    static int logged;
    if (!ps_cfg.pool[0] || !ps_pools)
        return;
    for (int pi = 0; pi < PS_MAX_POOLS && __atomic_load_n(&ps_pools[pi].used, __ATOMIC_ACQUIRE) == 2; pi++)
        if (__atomic_load_n(&ps_pools[pi].selected, __ATOMIC_ACQUIRE) > 0)
            return;
    /* worded as POOLSHIM_EXPAND's (expand.c), which warns at the same moment */
    ps_log_once(&logged, "POOLSHIM_POOL=%s: no thread ran a start routine of that name; no pool was measured",
                ps_cfg.pool);
}

int ps_pool_join(const struct ps_thread *t, const char *prefix)
{
    int pi = ps_instance_join(t, prefix);
    if (pi >= 0 && ps_cfg.pool[0] && !selected(pi))
        return -1;
    if (pi >= 0)
        __atomic_fetch_add(&ps_pools[pi].joined, 1, __ATOMIC_RELAXED);
    return pi;
}

const uintptr_t *ps_pool_candidates(int *n)
{
    int k = __atomic_load_n(&ncand, __ATOMIC_ACQUIRE);
    *n = k;
    return k > PS_MAX_CAND ? NULL : cand;
}

void ps_pool_note_candidate(uintptr_t key)
{
    int i = __atomic_fetch_add(&ncand, 1, __ATOMIC_ACQ_REL);
    if (i < PS_MAX_CAND)
        __atomic_store_n(&cand[i], key, __ATOMIC_RELEASE);
}

static void task_begin(struct ps_thread *t)
{
    struct ps_pool *p = ps_pool_of(t);
    uint64_t now = ps_now_ns();
    if (t->task_begin_ns)
        t->task_ns += ps_ns_since(t->task_begin_ns, now);
    t->task_begin_ns = now;
    t->task_tentative = 0;
    t->task_by_unlock = 0;
    if (t->tasks)
        t->came_back = 1;
    __atomic_store_n(&t->tasks, t->tasks + 1, __ATOMIC_RELAXED);
    if (p)
        ps_atomic_add(&p->tasks, 1);
    if (t->handoff_ns) {
        if (p)
            ps_hist_add(&p->handoff, t->handoff_ns);
        t->handoff_ns = 0;
    }
}

static void task_end_at(struct ps_thread *t, uint64_t ns);

/* The pool's tasks are counted around its task function: every other
 * boundary is a guess that would count them again. */
static int api_counted(const struct ps_thread *t)
{
    struct ps_pool *p = ps_pool_of(t);
    return p && __atomic_load_n(&p->api_tasks, __ATOMIC_RELAXED);
}

void ps_task_begin(struct ps_thread *t)
{
    if (!api_counted(t))
        task_begin(t);
}

void ps_task_api_begin(struct ps_thread *t)
{
    struct ps_pool *p = ps_pool_of(t);
    if (p && !__atomic_load_n(&p->api_tasks, __ATOMIC_RELAXED))
        __atomic_store_n(&p->api_tasks, 1, __ATOMIC_RELAXED);
    /* Open here, a task was a guess from the wait for work (made before the
     * pool's counting switched): this is the same task, counted once. The
     * last counted task ended when its function returned. */
    if (t->task_begin_ns && t->tasks) {
        __atomic_store_n(&t->tasks, t->tasks - 1, __ATOMIC_RELAXED);
        if (p)
            __atomic_fetch_sub(&p->tasks, 1, __ATOMIC_RELAXED);
    }
    t->task_begin_ns = 0;
    task_begin(t);
}

void ps_task_api_end(struct ps_thread *t)
{
    task_end_at(t, ps_now_ns());
}

static void task_end_at(struct ps_thread *t, uint64_t ns)
{
    t->task_tentative = 0;
    if (t->task_begin_ns) {
        t->task_ns += ps_ns_since(t->task_begin_ns, ns);
        t->task_begin_ns = 0;
    }
}

void ps_task_end_at(struct ps_thread *t, uint64_t ns)
{
    if (!api_counted(t))
        task_end_at(t, ns);
}

void ps_task_end(struct ps_thread *t)
{
    if (api_counted(t))
        return;
    if (t->task_begin_ns)
        task_end_at(t, ps_now_ns());
    else
        t->task_tentative = 0;           /* no task open: no clock to read */
}

/* Bookkeeping. A condvar pool's task begins when a worker releases the
 * queue mutex, but some pools take it again after each task only to count
 * themselves idle: zstd's POOL_thread locks, decrements its busy count,
 * signals and unlocks, then locks again to wait, so each job looked like two.
 * Such a release is at another site than the one a worker reaches after
 * waiting for work, and what follows it lasts as long as it takes to come
 * back to the lock (tens of nanoseconds). So a site whose "tasks" mostly end
 * within PS_BOOKKEEPING_NS is bookkeeping, and none of its "tasks" that
 * waited on nothing is counted, short or not: one is long only when its
 * thread was preempted in those nanoseconds (beside two CPU hogs, zstd -T4
 * read 42-49 tasks for 40 jobs, and 80-82 once the long ones passed an
 * eighth of the site's). A pool that also pops work at a second site without
 * waiting runs real tasks there, nearly all long: the site is not judged
 * bookkeeping. A pool whose workers never waited keeps counting every
 * release. */
#define PS_BOOKKEEPING_NS 1000

void ps_task_begin_at_unlock(struct ps_thread *t, void *site)
{
    struct ps_pool *p = ps_pool_of(t);
    if (t->idle_in_hold) {
        t->idle_in_hold = 0;
        void *none = NULL;
        if (p && !__atomic_load_n(&p->wait_unlock_site, __ATOMIC_RELAXED))
            __atomic_compare_exchange_n(&p->wait_unlock_site, &none, site, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
    }
    t->task_site = site;
    ps_task_begin(t);
    t->task_by_unlock = 1;
    t->unlock_span_gen = t->span_gen;
}

static int bookkeeping(struct ps_pool *p, void *site, uint64_t ns)
{
    void *bk = __atomic_load_n(&p->bk_site, __ATOMIC_RELAXED), *none = NULL;
    if (!bk && __atomic_compare_exchange_n(&p->bk_site, &none, site, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        bk = site;
    else if (!bk)
        bk = none;                       /* another worker claimed it first */
    if (bk != site)
        return 0;                        /* a third site: not judged */
    int is_short = ns < PS_BOOKKEEPING_NS;
    ps_atomic_add(is_short ? &p->bk_short : &p->bk_long, 1);
    return __atomic_load_n(&p->bk_long, __ATOMIC_RELAXED) < __atomic_load_n(&p->bk_short, __ATOMIC_RELAXED);
}

void ps_task_end_queue(struct ps_thread *t)
{
    if (api_counted(t))
        return;
    if (!t->task_begin_ns) {
        t->task_tentative = 0;
        return;
    }
    uint64_t now = ps_now_ns();
    struct ps_pool *p = ps_pool_of(t);
    void *ws = p ? __atomic_load_n(&p->wait_unlock_site, __ATOMIC_RELAXED) : NULL;
    if (ws && t->task_site && t->task_site != ws && t->task_by_unlock && t->span_gen == t->unlock_span_gen &&
        bookkeeping(p, t->task_site, now - t->task_begin_ns))
        ps_task_cancel(t);
    else
        task_end_at(t, now);
}

void ps_task_more(struct ps_thread *t, unsigned n)
{
    struct ps_pool *p = ps_pool_of(t);
    if (api_counted(t))
        return;
    __atomic_store_n(&t->tasks, t->tasks + n, __ATOMIC_RELAXED);
    t->came_back = 1;                    /* several in one go: a queue's */
    if (p)
        ps_atomic_add(&p->tasks, n);
}

void ps_task_cancel(struct ps_thread *t)
{
    struct ps_pool *p = ps_pool_of(t);
    if (api_counted(t))
        return;
    t->task_begin_ns = 0;
    if (t->tasks) {
        __atomic_store_n(&t->tasks, t->tasks - 1, __ATOMIC_RELAXED);
        if (p)
            __atomic_fetch_sub(&p->tasks, 1, __ATOMIC_RELAXED);
    }
}

void ps_pool_on_post(uintptr_t obj, struct ps_thread *poster)
{
    struct ps_obj *o;
    if (poster && poster->post_key == obj) {
        o = poster->post_obj;              /* entries keep their key (syncobj.h, ps_lock_slot) */
    } else {
        o = ps_obj_probe(obj);             /* callers tested the filter (ps_obj_note_post) */
        if (!o)
            return;                        /* nobody ever waited on it */
        if (poster) {
            poster->post_obj = o;
            poster->post_key = obj;
        }
    }
    int wp = __atomic_load_n(&o->waiter_pool, __ATOMIC_RELAXED);
    /* Before any wait on it has ended, the pool of the thread waiting now:
     * the first hand-over of a GIL-like condvar between two workers comes
     * then, and as an outsider's post it made each worker's own condvar
     * (gvl_union's, Ruby's GVL) a twin of the wait for work, and every GIL
     * wait at their site idle (0.6 s per run, and 25 % of the sleeps in 1
     * run of 12). */
    int member_pool = wp >= 0 ? wp : __atomic_load_n(&o->begun_pool, __ATOMIC_RELAXED);
    int member = poster && member_pool >= 0 && poster->pool == member_pool;
    ps_atomic_add(member ? &o->posts_same : &o->posts_other, 1);
    int none = -1;
    if (!member && poster && poster->pool >= 0 && o->kind == PS_K_COND &&
        __atomic_load_n(&o->poster_pool, __ATOMIC_RELAXED) < 0 &&
        __atomic_compare_exchange_n(&o->poster_pool, &none, poster->pool, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        ps_pool_note_candidate(obj);       /* ps_pool_learn looks at it (a producer's wait) */
    if (!member && wp >= 0 && __atomic_load_n(&ps_pools[wp].idle_obj, __ATOMIC_RELAXED) == obj) {
        ps_atomic_add(&ps_pools[wp].submissions, 1);
        __atomic_store_n(&ps_pools[wp].last_post_ns, ps_now_ns(), __ATOMIC_RELAXED);
    }
}

/* A worker woken to shut down looks like one woken with work: its wait for
 * work ended, it left the queue mutex, then it exited at once. A task that
 * ran for less than this before the thread ended was that, not a task.
 * Longer where the task began at a release of the queue mutex: a worker
 * whose last real task ended comes back to that mutex, so a task still
 * open at its exit began with the wake to stop, however long the woken
 * thread then waited for a core (pbzip2's four consumers, all woken at its
 * end on 2 cores: 11 tasks for 10 blocks in 1 run of 2). Longer still when
 * the thread made no wrapped call since that release: it ran straight to
 * its exit, preempted perhaps for a few time slices on a loaded machine (a
 * worker that spins 300 us on its way out took over 2 ms beside two CPU
 * hogs and a test suite, and was counted as a task), where a real task of
 * a pool ends in a wait for the next one. */
#define PS_EXIT_WAKE_NS 100000
#define PS_EXIT_WAKE_UNLOCK_NS 2000000
#define PS_EXIT_WAKE_STRAIGHT_NS 20000000

void ps_pool_on_thread_exit(struct ps_thread *t)
{
    uint64_t limit = !t->task_by_unlock ? PS_EXIT_WAKE_NS
                     : t->span_gen == t->unlock_span_gen ? PS_EXIT_WAKE_STRAIGHT_NS : PS_EXIT_WAKE_UNLOCK_NS;
    if (t->task_begin_ns && !api_counted(t) && ps_ns_since(t->task_begin_ns, ps_now_ns()) < limit) {
        ps_task_cancel(t);
        struct ps_pool *p = ps_pool_of(t);
        if (p)
            ps_atomic_add(&p->exit_wakes, 1);
        return;
    }
    ps_task_end(t);
}

void ps_pool_retire(struct ps_thread *t)
{
    struct ps_pool *p = ps_pool_of(t);
    if (!p)
        return;
    for (int c = 0; c < PS_NCAUSE; c++)
        ps_atomic_add(&p->ret_wait_ns[c], t->blocked_ns[c]);
    ps_atomic_add(&p->ret_cpu_ns, t->cpu_ns);
    ps_atomic_add(&p->ret_runq_ns, t->runq_ns);
    ps_atomic_add(&p->ret_unattributed_ns, t->unattributed_ns);
    ps_atomic_add(&p->ret_spin_ns, t->spin_ns);
    ps_atomic_add(&p->ret_tasks, t->tasks + t->tasks_before);
    ps_atomic_add(&p->ret_loop_replies, __atomic_load_n(&t->loop_replies, __ATOMIC_RELAXED));
    ps_atomic_add(&p->ret_cond_blocked, __atomic_load_n(&t->cond_blocked, __ATOMIC_RELAXED));
    ps_atomic_add(&p->ret_task_ns, t->task_ns);
    ps_atomic_add(&p->ret_nvcsw, t->nvcsw);
    ps_atomic_add(&p->ret_nivcsw, t->nivcsw);
    ps_atomic_add(&p->ret_threads, 1);
    if (t->tasks + t->tasks_before)
        ps_atomic_add(&p->ret_working, 1);
    if (ps_pool_polled_at_idle_site(t))
        ps_atomic_add(&p->ret_pollers, 1);
    if (t->came_back)
        ps_atomic_add(&p->ret_came_back, 1);
    ps_tally_retire(t);
}

static int idle_capable(const struct ps_obj *o)
{
    return o->kind == PS_K_COND || o->kind == PS_K_SEM || o->kind == PS_K_FUTEX || o->kind == PS_K_POLL;
}

/* The pool's CPU this instant: its live threads' read from the kernel, as
 * the last sample may be 100 ms old (pigz's compressors ran a fifth of
 * their blocks in it, which then went uncounted unseen). */
static uint64_t pool_cpu_now_ns(int pi)
{
    uint64_t sum = __atomic_load_n(&ps_pools[pi].ret_cpu_ns, __ATOMIC_RELAXED);
    int hwm = ps_thread_hwm();
    for (int i = 0; i < hwm; i++) {
        struct ps_thread *t = &ps_threads[i];
        int st = __atomic_load_n(&t->state, __ATOMIC_ACQUIRE);
        if ((st != PS_T_LIVE && st != PS_T_EXITED) || t->pool != pi)
            continue;
        int64_t now = st == PS_T_LIVE ? ps_clock_thread_cpu_ns(t->tid) : -1;
        if (now >= 0)
            sum += (uint64_t)now > t->base_cpu_ns ? (uint64_t)now - t->base_cpu_ns : 0;
        else
            sum += __atomic_load_n(&t->cpu_ns, __ATOMIC_RELAXED);
    }
    return sum;
}

/* Task counting begins now: what the pool's threads ran before is uncounted.
 * Once per pool (a later switch of idle object keeps the count going). */
static void count_starts(int pi)
{
    struct ps_pool *p = &ps_pools[pi];
    int zero = 0;
    if (__atomic_compare_exchange_n(&p->count_started, &zero, 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
        __atomic_store_n(&p->cpu_before_count_ns, pool_cpu_now_ns(pi), __ATOMIC_RELEASE);
}

/* An event loop's wake-up counts one task per ready fd (and per datagram
 * beyond: ps_task_datagram): right where each fd brings one request,
 * answered by one write (memcached; HAProxy: one send per request). Where
 * its writes after wake-ups outnumber those tasks by more than a tenth (a
 * partial write, a log line now and then), its fds brought several requests
 * each (pipelined, or a stream read in chunks) and how many it served is not
 * seen: unknown rather than a count of its wake-ups.
 * An event loop's work comes through its fds: it blocks on no condvar,
 * semaphore or futex word but its poll (a lock, maybe). One that does, a
 * tenth as often as it took tasks or more, gets work, or waits for it,
 * another way too (BEAM's schedulers sleep on futex events of their own while
 * one of them polls, and run jobs no fd brings): its wake-ups bound nothing. */
#define PS_LOOP_REPLIES_MIN 100
#define PS_LOOP_COND_MIN 20
static int loop_tasks_unseen(const struct ps_pool_totals *tot)
{
    if (tot->loop_replies >= PS_LOOP_REPLIES_MIN && tot->loop_replies * 10 > tot->tasks * 11)
        return 1;
    return tot->cond_blocked >= PS_LOOP_COND_MIN && tot->cond_blocked * 10 >= tot->tasks;
}

#define PS_IDLER_CPU_NS 20000000ull
const char *ps_pool_tasks_unseen(int pi, const struct ps_pool_totals *tot)
{
    uint64_t cpu_ns = tot->cpu_ns;
    struct ps_pool *p = &ps_pools[pi];
    if (__atomic_load_n(&p->api_tasks, __ATOMIC_RELAXED))
        return NULL;
    uintptr_t idle_key = __atomic_load_n(&p->idle_obj, __ATOMIC_RELAXED);
    if (!idle_key && !__atomic_load_n(&p->queue_mutex, __ATOMIC_RELAXED))
        return "no wait for work learned";
    struct ps_obj *idle = idle_key ? ps_obj_find(idle_key) : NULL;
    /* Polls there before it was learned are credited (sampler.c). A site
     * only one of several threads polls at is that thread's own loop, whose
     * ready fds say nothing of the others' work: CPython's process pool
     * executor has a manager thread polling its result pipe and a feeder
     * waiting on a condition, both in thread_run, and its manager's ready
     * fds (668 for 138 files) were read as the pool's tasks. Before the event
     * loop's reason: multiprocessing's ThreadPool, whose worker-handler thread
     * polls a pipe, read "an event loop's wake-ups bound no task". */
    int one_poller = __atomic_load_n(&p->idle_site, __ATOMIC_RELAXED) && !ps_pool_lone(pi) && tot->pollers < 2;
    if (one_poller)
        return "one thread of several polls its wait for work";
    int polled = __atomic_load_n(&p->idle_site, __ATOMIC_RELAXED) || (idle && idle->kind == PS_K_POLL);
    if (polled && loop_tasks_unseen(tot))
        return "an event loop's wake-ups bound no task";
    /* A condvar pool whose workers post their own wait for work (pigz: each
     * pop broadcasts the queue's count) takes tasks without waiting once
     * backlogged: its waits count a part, whatever the count's start saw
     * (pigz -p 2: 441-456 for 458 blocks; -p 8: 178-243 in 3 runs of 9), so
     * only its posts can count them (tally.h). */
    if (p->idle_kind == PS_K_COND && idle && __atomic_load_n(&idle->posts_same, __ATOMIC_RELAXED) >= 20)
        return "its workers post their own wait for work";
    if (__atomic_load_n(&p->idle_site, __ATOMIC_RELAXED))
        return NULL;                     /* two or more of its threads poll there */
    if (__atomic_load_n(&p->twin_objs, __ATOMIC_RELAXED))
        return "each worker waits for work on its own object";   /* count_twins */
    /* Only one worker of several was seen waiting on it: it may be that
     * worker's own object, whose posts while it works are no tasks. xz -T4
     * under load, 1 run in 45: the other encoders were always handed input
     * before they waited, so no twin was seen, and 325 "tasks" were read for
     * 7 blocks. A shared wait for work is ended by a second worker soon (at
     * the latest, at the pool's shutdown). */
    if (ps_pool_idle_one_waiter(pi))
        return "one worker of several was seen waiting for work";
    if (ps_pool_lone(pi)) {
        /* One thread waiting on a condvar another pool's workers post is a
         * stage behind them, not a pool fed from a queue: pigz's writer waits
         * for the next block in order only when it is not done yet (139
         * waits for 458 blocks), so its waits count a part of its work. */
        if (idle && idle->kind == PS_K_COND && __atomic_load_n(&idle->poster_pool, __ATOMIC_RELAXED) >= 0)
            return "a stage behind another pool";
    }
    if (p->idle_kind == PS_K_SEM && !ps_pool_fed_sem(pi))
        return "its workers take queued work past its semaphore";  /* a lock around the queue */
    /* A futex word's waits see no task taken without waiting (a semaphore's
     * count taken in user space): when posts outnumber them, a backlog was
     * taken unseen (a C++20 counting_semaphore pool beside two CPU hogs: 88
     * tasks for 400 releases). Posts made only to waiters (GLib's queue
     * signals its condvar only when a worker waits) never outnumber them. */
    if (p->idle_kind == PS_K_FUTEX) {
        uint64_t subs = __atomic_load_n(&p->submissions, __ATOMIC_RELAXED);
        uint64_t tasks = __atomic_load_n(&p->tasks, __ATOMIC_RELAXED);
        uint64_t workers = (uint64_t)__atomic_load_n(&p->joined, __ATOMIC_RELAXED);
        if (subs >= 50 && tasks + workers < subs)      /* beyond the posts that stop them */
            return "more posts than waits: a backlog taken unseen";
        /* Woken for all at each post, its waits end more often than tasks
         * come (each post releases one; each worker's wake-up to stop may
         * count one more: beyond that, too many):
         * a herd's losers that went back to wait slower than
         * PS_REWAIT_NS (waitobj.h; sched_yield spins on a loaded machine:
         * 474 read for 400) were counted. */
        if (idle && __atomic_load_n(&idle->woken_all, __ATOMIC_RELAXED) && subs >= 50 && tasks > subs + workers)
            return "woken all at each post";
    }
    /* Learned after its threads had run a fiftieth of their CPU: what ran
     * before is uncounted. Up to one task's worth (the first job taken
     * before any wait for work ended) misses that task at most: zstd -T4's
     * first 1 MiB job is a fortieth of its compressors' CPU, and beside two
     * CPU hogs about 1 run in 20 read "learned late", its 39 tasks unknown. */
    uint64_t before = __atomic_load_n(&p->cpu_before_count_ns, __ATOMIC_ACQUIRE);
    if (before > cpu_ns / 50) {
        uint64_t per_task = tot->tasks && cpu_ns > before ? (cpu_ns - before) / tot->tasks : 0;
        if (!per_task || before > per_task)
            return "its wait for work was learned late";
    }
    /* A thread of the pool that never ended a wait for work, yet did a tenth
     * of its work, took that work another way: sysbench threads' workers
     * wait once at a start barrier (the last one there never does) and then
     * run their loop to the end, and read "3 tasks of 1 s" for 4 workers. */
    if (tot->tasks && tot->idler_cpu_ns > cpu_ns / 10 && tot->idler_cpu_ns >= PS_IDLER_CPU_NS)
        return "a worker that never waited for work did a part of it";
    /* A gate, not a queue: each thread was let through once and never came
     * back for more (thread.h: came_back). sysbench's workers wait once at a
     * start barrier; where its main thread comes last and opens it, every
     * worker waited there (the rule above needs one that did not), and
     * sysbench fileio at 15 threads read "14 tasks of 2 s" for 150,000
     * writes, its one worker that came last left out of W/C as taskless. */
    if (tot->tasks && tot->tasks <= (uint64_t)tot->working && !tot->came_back)
        return "its threads waited there once each and never came back for more work (a gate)";
    return NULL;
}

const struct ps_obj *ps_pool_fed_sem(int pi)
{
    const struct ps_pool *p = &ps_pools[pi];
    uintptr_t key = __atomic_load_n(&p->idle_obj, __ATOMIC_ACQUIRE);
    if (!key || __atomic_load_n(&p->idle_kind, __ATOMIC_RELAXED) != PS_K_SEM)
        return NULL;
    const struct ps_obj *o = ps_obj_find(key);
    return o && !__atomic_load_n(&o->posts_same, __ATOMIC_RELAXED) ? o : NULL;
}

void ps_pool_learn_early(struct ps_thread *t, struct ps_obj *o)
{
    struct ps_pool *p = ps_pool_of(t);
    int wp = __atomic_load_n(&o->waiter_pool, __ATOMIC_RELAXED);
    if (!p || __atomic_load_n(&p->idle_obj, __ATOMIC_RELAXED) || (wp >= 0 && wp != t->pool) ||
        o->kind == PS_K_POLL || !idle_capable(o) || ps_obj_timer_like(o) ||
        __atomic_load_n(&o->posts_same, __ATOMIC_RELAXED) ||
        !__atomic_load_n(&o->posts_other, __ATOMIC_RELAXED))
        return;
    /* Claim first: of two workers racing with different objects, only the
     * winner sets the kind and queue mutex, so they belong to its object. */
    uintptr_t zero = 0;
    if (!__atomic_compare_exchange_n(&p->idle_obj, &zero, o->key, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
        return;
    p->idle_kind = o->kind;
    uintptr_t qm = o->kind == PS_K_COND ? __atomic_load_n(&o->mutex, __ATOMIC_RELAXED) : 0;
    if (qm)
        ps_obj_filter_add(qm);             /* the mutex wrappers look at it only then */
    __atomic_store_n(&p->queue_mutex, qm, __ATOMIC_RELEASE);
    count_starts(t->pool);
}

/* Posted by the pool's own workers at least as often as by anyone else: an
 * object the workers hand to each other. A tie is contention too: CPython's
 * GIL is posted as often by the main thread (submitting, collecting results)
 * as by the workers when they sleep. Never posted at all (a wake we cannot
 * see) stays eligible; polled fds have no visible poster. */
static int handed_over(const struct ps_obj *o)
{
    /* A semaphore is a lock too (CPython's threading.Lock): handed over when
     * the workers post it clearly more often than others. CPython's
     * SimpleQueue lock is posted by the submitter's put and by each get
     * after its pop, about as often: its waits are the wait for work. */
    if (o->kind == PS_K_SEM)
        return o->posts_same > 2 * o->posts_other;
    if (o->kind == PS_K_COND && !ps_obj_tie_is_handoff(o))
        return 0;
    return o->kind != PS_K_POLL && o->posts_same > 0 && o->posts_same >= o->posts_other;
}

/* A condvar the workers post for each other, but wait on with the mutex of
 * their producer's "not full" condvar (the pool's queue mutex, known from
 * the producer's side, not from this condvar), is their wait for work all
 * the same: work that their own work makes ready. dav1d's task threads wait
 * on one condvar under the task lock and signal it as each task done readies
 * others (15,420 posts by workers, 196 by the main thread), and the main
 * thread waits for pictures under the same lock: read as contention handed
 * round, the pool was "never idle" and "serialized on one lock, shorten the
 * critical section". A condvar the workers hand round under a lock of its
 * own (zstd's in-order serial state, a GIL) is still contention, and so is
 * one whose waits run out (CPython's GIL). */
static int made_ready_by_work(const struct ps_obj *o, const struct ps_obj *producer)
{
    return producer && producer != o && o->kind == PS_K_COND && producer->mutex &&
           __atomic_load_n(&o->mutex, __ATOMIC_RELAXED) == producer->mutex &&
           !__atomic_load_n(&o->timeouts, __ATOMIC_RELAXED);
}

/* Not a wait for work, whatever else it is: a condvar the workers hand each
 * other (not one their work readies), or a timer. ps_pool_learn asks it of
 * every candidate, of the wait it learned before, and before keeping that. */
static int no_wait_for_work(const struct ps_obj *o, const struct ps_obj *producer)
{
    return (handed_over(o) && !made_ready_by_work(o, producer)) || ps_obj_timer_like(o);
}

int ps_pool_lone(int pi)
{
    return pi >= 0 && pi < PS_MAX_POOLS && __atomic_load_n(&ps_pools[pi].joined, __ATOMIC_RELAXED) <= 1;
}

/* Where most waits on o were made from. */
static void *top_waiter_site(const struct ps_obj *o)
{
    int best = 0;
    for (int i = 1; i < PS_OBJ_SITES; i++)
        if (o->sites[i].n > o->sites[best].n)
            best = i;
    return o->sites[best].site;
}

/* Do o and w share a site where their waiters waited? */
static int same_site(const struct ps_obj *o, const struct ps_obj *w)
{
    for (int i = 0; i < PS_OBJ_SITES; i++)
        for (int j = 0; o->sites[i].site && j < PS_OBJ_SITES; j++)
            if (o->sites[i].site == w->sites[j].site)
                return 1;
    return 0;
}

#define PS_TWIN_MAX 16

/* The site where the pool's workers made most waits on these objects: their
 * wait for work. Not one object's top site: ffmpeg's slice threads each have
 * a condvar their creator also waits on once, until the worker has started,
 * so a worker that never got work has one wait there and none ended at its
 * own site, and its "top" was the creator's (the twin site was read there,
 * and the 150 waits for work of each busy worker as contention). */
static void *busiest_site(struct ps_obj *const *objs, int n)
{
    struct ps_site_count sum[(PS_TWIN_MAX + 1) * PS_OBJ_SITES];
    int objs_at[(PS_TWIN_MAX + 1) * PS_OBJ_SITES];
    int nsum = 0, best = -1;
    for (int i = 0; i < n; i++)
        for (int s = 0; s < PS_OBJ_SITES; s++) {
            void *site = __atomic_load_n(&objs[i]->sites[s].site, __ATOMIC_RELAXED);
            if (!site || !(__atomic_load_n(&objs[i]->member_sites, __ATOMIC_RELAXED) & (1u << s)))
                continue;
            int k = 0;
            while (k < nsum && sum[k].site != site)
                k++;
            if (k == nsum) {
                sum[nsum] = (struct ps_site_count){ .site = site };
                objs_at[nsum++] = 0;
            }
            sum[k].n += __atomic_load_n(&objs[i]->sites[s].n, __ATOMIC_RELAXED);
            objs_at[k]++;
        }
    /* a site of one object only is that object's (xz: the learned one's wait
     * for more input, not the blocks its twins wait for) */
    for (int k = 0; k < nsum; k++)
        if (objs_at[k] >= 2 && (best < 0 || sum[k].n > sum[best].n))
            best = k;
    return best < 0 ? NULL : sum[best].site;
}

/* Twins: objects of the kind of a pool's chosen idle wait, waited on by its
 * workers, posted from outside the pool (not handed between workers, as the
 * idle wait itself must not be), at a site where the idle wait or another
 * such object was waited on. xz's encoder gives each worker a condvar of its
 * own, which the main thread signals as it hands that worker input: one of
 * them is learned as the idle wait, and the rest read as contention. Such a
 * pool's waits on the one it learned are one worker's, and posts to it that
 * find that worker busy are not queued tasks (xz -T4: "about 175 tasks
 * queued, growing" for a pool with none). A site is kept for a few of an
 * object's waits only, so the learned one may show none in common with its
 * twins (xz: its wait for more input, theirs for a block), while they share
 * one among themselves: a lone object at a site of its own (a pool's
 * control condvar) is no twin. */
#define PS_PRODUCER_WAITS 3
static void count_twins(int n)
{
    static struct ps_obj *cands[PS_MAX_POOLS][PS_TWIN_MAX];
    int ncand[PS_MAX_POOLS] = { 0 }, twins[PS_MAX_POOLS] = { 0 };
    struct ps_obj *idle[PS_MAX_POOLS] = { 0 };
    for (int p = 0; p < PS_MAX_POOLS && __atomic_load_n(&ps_pools[p].used, __ATOMIC_ACQUIRE); p++) {
        uintptr_t k = __atomic_load_n(&ps_pools[p].idle_obj, __ATOMIC_ACQUIRE);
        idle[p] = k ? ps_obj_find(k) : NULL;
    }
    for (int i = 0; i < n; i++) {
        uintptr_t key = __atomic_load_n(&cand[i], __ATOMIC_ACQUIRE);
        struct ps_obj *o = key ? ps_obj_find(key) : NULL;
        int wp = o ? o->waiter_pool : -1;
        if (wp < 0 || wp >= PS_MAX_POOLS || !idle[wp] || o == idle[wp] || o->kind != idle[wp]->kind ||
            o->kind == PS_K_POLL || handed_over(o) || !__atomic_load_n(&o->posts_other, __ATOMIC_RELAXED) ||
            ncand[wp] == PS_TWIN_MAX)
            continue;
        int dup = 0;
        for (int j = 0; j < ncand[wp] && !dup; j++)
            dup = cands[wp][j] == o;     /* a key noted twice (forget_waits) */
        if (!dup)
            cands[wp][ncand[wp]++] = o;
    }
    for (int p = 0; p < PS_MAX_POOLS && __atomic_load_n(&ps_pools[p].used, __ATOMIC_ACQUIRE); p++) {
        struct ps_obj *own[PS_TWIN_MAX + 1];
        int nown = 0;
        for (int i = 0; i < ncand[p]; i++) {
            int paired = same_site(cands[p][i], idle[p]);
            for (int j = 0; j < ncand[p] && !paired; j++)
                paired = j != i && same_site(cands[p][i], cands[p][j]);
            twins[p] += paired;
            /* where the workers wait on objects only the outside posts (ffmpeg's
             * frame threads; not the progress condvars they also post for
             * each other, which are twins by the rule above) */
            if (paired && !__atomic_load_n(&cands[p][i]->posts_same, __ATOMIC_RELAXED))
                own[nown++] = cands[p][i];
        }
        if (nown) {
            own[nown++] = idle[p];
            __atomic_store_n(&ps_pools[p].twin_site, busiest_site(own, nown), __ATOMIC_RELEASE);
        }
    }
    /* Kept once seen: a worker's object of its own is how the code is written
     * (the idle wait learned may move to another worker's, whose twins are
     * then seen again only as they wait) */
    for (int p = 0; p < PS_MAX_POOLS && __atomic_load_n(&ps_pools[p].used, __ATOMIC_ACQUIRE); p++)
        if (twins[p] > ps_pools[p].twin_objs)
            __atomic_store_n(&ps_pools[p].twin_objs, twins[p], __ATOMIC_RELAXED);
}

/* Waited on from one call site only: every waiter there runs the same code. */
static int one_site(const struct ps_obj *o)
{
    int sites = 0;
    for (int i = 0; i < PS_OBJ_SITES; i++)
        sites += __atomic_load_n(&o->sites[i].site, __ATOMIC_RELAXED) != NULL;
    return sites == 1;
}

/* The CPU of pool pi's live threads, each as last sampled, per thread (0:
 * none live). */
static uint64_t live_cpu_per_thread(int pi)
{
    uint64_t sum = 0, n = 0;
    int hwm = ps_thread_hwm();
    for (int i = 0; i < hwm; i++) {
        const struct ps_thread *t = &ps_threads[i];
        if (__atomic_load_n(&t->state, __ATOMIC_ACQUIRE) == PS_T_LIVE && t->pool == pi) {
            sum += __atomic_load_n(&t->cpu_ns, __ATOMIC_RELAXED);
            n++;
        }
    }
    return n ? sum / n : 0;
}

/* Do the threads of pools a and b go by one name and do alike work? The
 * program's own names tell roles apart: HotSpot's service threads all wait
 * in PlatformMonitor::wait, at one call site, and G1's marker and its first
 * refinement thread, each alone, met on one monitor and were made one pool
 * of "G1 Refine" (the first version of this rule). Work: once either has
 * run PS_JOIN_CPU_NS (per thread), each within PS_JOIN_CPU_RATIO of the
 * other, so that a thread that did next to nothing beside busy workers is
 * not taken for one. Before, they join as soon as both waited there: until
 * then the workers' waits on their condvar are contention and their tasks
 * uncounted (joined at once, lbzip2 -n 8 read 0.03 s of lock and condvar
 * wait; after 1 ms of CPU each, 0.29-0.97 s, "serialized" once). */
#define PS_JOIN_CPU_NS 1000000ull
#define PS_JOIN_CPU_RATIO 10
static int alike(int a, int b)
{
    const struct ps_pool *pa = &ps_pools[a], *pb = &ps_pools[b];
    const char *na = __atomic_load_n(&pa->alias[0], __ATOMIC_ACQUIRE) ? pa->alias : pa->prefix;
    const char *nb = __atomic_load_n(&pb->alias[0], __ATOMIC_ACQUIRE) ? pb->alias : pb->prefix;
    if (strncmp(na, nb, PS_NAME_LEN))
        return 0;
    uint64_t ca = live_cpu_per_thread(a), cb = live_cpu_per_thread(b);
    return (ca < PS_JOIN_CPU_NS && cb < PS_JOIN_CPU_NS) ||
           (ca * PS_JOIN_CPU_RATIO >= cb && cb * PS_JOIN_CPU_RATIO >= ca);
}

/* A thread alone in its pool that waits for work where the workers of
 * another pool wait, at the same call site, under the same name, doing
 * alike work, is one of them: it runs their code from another start
 * routine. lbzip2's main_thread_proc starts the reader, the muxer and -n
 * minus 1 workers, then runs a worker itself; lld's (LLVM's) thread pool
 * starts all its workers but the first from that first one, which then
 * works beside them. Apart, that thread learned the workers' condvar as its
 * own wait for work (the first to block there), so the workers had none, no
 * tasks, no queue, and the lone one wrote a dump for "about 20 tasks queued
 * for 1 workers, growing" (lbzip2 -n 8). It joins them, tasks and all; two
 * such threads alone in their pools make one. Not where waiters wait at
 * several sites (a producer that waits for room on the condvar its
 * consumers wait on for work is no worker), nor a poll (each event loop has
 * its own). */
/* Is o a wait for work two pools share (idle-capable, not handed between
 * workers, no timer, waited on from one site), by threads of *wp and of
 * another pool *op? For the lone waiter above and instances (merge_instances). */
static int shared_wait(const struct ps_obj *o, int *wp, int *op)
{
    if (!o || !idle_capable(o) || handed_over(o) || ps_obj_timer_like(o) || !one_site(o))
        return 0;
    *wp = __atomic_load_n(&o->waiter_pool, __ATOMIC_RELAXED);
    *op = __atomic_load_n(&o->other_waiter_pool, __ATOMIC_RELAXED);
    return *wp >= 0 && *op >= 0 && *wp != *op && *wp < PS_MAX_POOLS && *op < PS_MAX_POOLS;
}

int ps_pool_join_lone_waiter(struct ps_obj *o)
{
    if (ps_cfg.pool[0] || !ps_pools)
        return -1;                       /* POOLSHIM_POOL chose its members by routine */
    int wp, op;
    if (!o || o->kind == PS_K_POLL || !shared_wait(o, &wp, &op))
        return -1;
    int wj = __atomic_load_n(&ps_pools[wp].joined, __ATOMIC_RELAXED);
    int oj = __atomic_load_n(&ps_pools[op].joined, __ATOMIC_RELAXED);
    /* two alone: the later pool's code is what both run (the first
     * started the second: lbzip2 -n 2's one worker and its spawner) */
    int lone = wj == 1 && oj >= 2 ? wp : oj == 1 && wj >= 2 ? op : wj == 1 && oj == 1 ? (wp < op ? wp : op) : -1;
    int to = lone == wp ? op : wp;
    if (lone < 0 || !alike(lone, to))
        return -1;
    int was = lone;
    __atomic_compare_exchange_n(&o->waiter_pool, &was, to, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
    /* both shares are `to`'s now, the lone thread's included */
    __atomic_fetch_add(&o->pool_wait_ns[0], __atomic_exchange_n(&o->pool_wait_ns[1], 0, __ATOMIC_RELAXED),
                       __ATOMIC_RELAXED);
    ps_instance_absorb(lone, to);
    return to;
}

/* Are pools a and b instances of one code (instance.c)? */
static int same_code(int a, int b)
{
    const struct ps_pool *pa = &ps_pools[a], *pb = &ps_pools[b];
    return a != b && __atomic_load_n(&pa->by_arg, __ATOMIC_ACQUIRE) && __atomic_load_n(&pb->by_arg, __ATOMIC_ACQUIRE) &&
           __atomic_load_n(&pa->joined, __ATOMIC_RELAXED) && __atomic_load_n(&pb->joined, __ATOMIC_RELAXED) &&
           ps_pool_has_key(pa, pb->routine, pb->entry, pb->prefix);
}

/* Instances of one code that wait for work together are one: their
 * arguments were alike only by reuse (instance.c). MariaDB starts every
 * thread through its performance schema's trampoline, with a struct it
 * frees as the thread starts and whose first bytes are the same for every
 * thread (the parent's id: 0 with the schema off): malloc handed a later
 * worker the same address, and one thread-pool group's workers read as
 * three instances (3, 2 and 2 workers; one dumped as "all 2 workers
 * blocked"). Together: on one object, at one site, or each on its own under
 * one queue mutex (MariaDB's workers wait on condvars of their own under
 * their group's mutex). zstd's instances each have a queue of their own. */
static void merge_instances(int n)
{
    for (int i = 0; i < n; i++) {
        uintptr_t key = __atomic_load_n(&cand[i], __ATOMIC_ACQUIRE);
        int wp, op;
        if (key && shared_wait(ps_obj_find(key), &wp, &op) && same_code(wp, op))
            ps_instance_absorb(wp < op ? op : wp, wp < op ? wp : op);
    }
    for (int q = 1; q < PS_MAX_POOLS && __atomic_load_n(&ps_pools[q].used, __ATOMIC_ACQUIRE) == 2; q++) {
        uintptr_t qm = __atomic_load_n(&ps_pools[q].queue_mutex, __ATOMIC_ACQUIRE);
        for (int p = 0; qm && p < q; p++)
            if (__atomic_load_n(&ps_pools[p].queue_mutex, __ATOMIC_ACQUIRE) == qm && same_code(p, q)) {
                ps_instance_absorb(q, p);
                break;
            }
    }
}

/* The agent's pass: what a thread's wait could not join yet (the work was
 * not alike then). */
static void join_lone_waiters(int n)
{
    for (int i = 0; i < n; i++) {
        uintptr_t key = __atomic_load_n(&cand[i], __ATOMIC_ACQUIRE);
        ps_pool_join_lone_waiter(key ? ps_obj_find(key) : NULL);
    }
}

void ps_pool_learn(void)
{
    if (!ps_pools)
        return;
    struct ps_obj *best[PS_MAX_POOLS] = { 0 }, *producer[PS_MAX_POOLS] = { 0 };
    int n = __atomic_load_n(&ncand, __ATOMIC_ACQUIRE);
    if (n > PS_MAX_CAND)
        n = PS_MAX_CAND;
    join_lone_waiters(n);
    for (int i = 0; i < n; i++) {
        uintptr_t key = __atomic_load_n(&cand[i], __ATOMIC_ACQUIRE);
        struct ps_obj *o = key ? ps_obj_find(key) : NULL;
        if (!o || !idle_capable(o))
            continue;
        /* A condvar a pool's workers post and others wait on, with a mutex:
         * the producer's "not full", whose mutex is the pool's queue mutex. */
        /* Posted again by a worker, once per task taken, and waited on again
         * and again by the producer (PS_PRODUCER_WAITS), whenever the queue is full. GNAT's tasks
         * signal their activator as they begin and their master as they end,
         * and the main thread waited there twice (read as the pool's
         * "not full", its mutex counted 4 of 2,000 tasks). */
        int pp = o->poster_pool;
        if (pp >= 0 && pp < PS_MAX_POOLS && o->kind == PS_K_COND && o->mutex && o->waiter_pool != pp &&
            o->posts_other >= 2 && o->contended >= PS_PRODUCER_WAITS &&
            (!producer[pp] || o->posts_other > producer[pp]->posts_other) &&
            ps_tally_reposted(pp, o->key | PS_TALLY_COND))
            producer[pp] = o;
    }
    for (int i = 0; i < n; i++) {
        uintptr_t key = __atomic_load_n(&cand[i], __ATOMIC_ACQUIRE);
        struct ps_obj *o = key ? ps_obj_find(key) : NULL;
        int wp = o ? o->waiter_pool : -1;
        if (!o || !idle_capable(o) || wp < 0 || wp >= PS_MAX_POOLS)
            continue;
        if (no_wait_for_work(o, producer[wp]))
            continue;                      /* handed between workers: contention; or a timer */
        if (!best[wp] || o->wait_ns > best[wp]->wait_ns)
            best[wp] = o;
    }
    /* Pools are claimed in order (ps_pool_get): past the first free one
     * there are none, and their pages stay untouched. */
    for (int p = 0; p < PS_MAX_POOLS && __atomic_load_n(&ps_pools[p].used, __ATOMIC_ACQUIRE); p++) {
        struct ps_pool *pool = &ps_pools[p];
        uintptr_t cur = pool->idle_obj;
        struct ps_obj *co = cur ? ps_obj_find(cur) : NULL;
        if (!best[p]) {
            /* Learned early, disqualified since (the GIL looked posted by the
             * main thread until the workers' hand-offs outnumbered it). Its
             * twins, objects like it, go with it: Ruby's GVL condvars (one
             * per thread), handed a worker by the main thread before the
             * workers handed them to each other, were twins, and every GVL
             * wait at their site idle (1.1 s of 1.8 in some runs). */
            if (co && no_wait_for_work(co, producer[p])) {
                __atomic_store_n(&pool->idle_obj, 0, __ATOMIC_RELEASE);
                __atomic_store_n(&pool->queue_mutex, 0, __ATOMIC_RELAXED);
                __atomic_store_n(&pool->twin_site, NULL, __ATOMIC_RELEASE);
                __atomic_store_n(&pool->twin_objs, 0, __ATOMIC_RELAXED);
                co = NULL;
            }
            /* Workers that never wait for work (the queue is never empty):
             * their queue mutex is the one the producer waits with when the
             * queue is full. Locking it between tasks is then the task
             * boundary and the throttle's safe point; idle stays unknown. */
            if (!co && producer[p] && pool->queue_mutex != producer[p]->mutex) {
                ps_obj_filter_add(producer[p]->mutex);
                __atomic_store_n(&pool->queue_mutex, producer[p]->mutex, __ATOMIC_RELEASE);
                count_starts(p);
            }
            continue;
        }
        /* Sticky: switch only to a clearly better object, or off a disqualified one. */
        if (co && co != best[p] && idle_capable(co) &&
            !no_wait_for_work(co, producer[p]) &&
            best[p]->wait_ns < 2 * co->wait_ns)
            continue;
        pool->idle_kind = best[p]->kind;
        if (best[p]->kind == PS_K_POLL && !ps_pool_lone(p))
            __atomic_store_n(&pool->idle_site, top_waiter_site(best[p]), __ATOMIC_RELEASE);
        uintptr_t qm = best[p]->kind == PS_K_COND ? best[p]->mutex : 0;
        if (qm)
            ps_obj_filter_add(qm);         /* the mutex wrappers look at it only then */
        __atomic_store_n(&pool->queue_mutex, qm, __ATOMIC_RELEASE);
        __atomic_store_n(&pool->idle_obj, best[p]->key, __ATOMIC_RELEASE);
        count_starts(p);
    }
    merge_instances(n);
    count_twins(n);
}

/* Has more than one worker waited on the pool's idle wait (a pool of one
 * aside)? A wait for work is the pool's; an object only one worker of
 * several waits on may be that worker's own, whose posts while it is busy
 * are no queue. Until a second worker's wait on it ends, twins (xz: a
 * condvar per worker) cannot be told yet: early in xz -T4, 1 run in 6 wrote
 * a dump for "about 131 tasks queued for 3 workers, growing". A pool of one
 * is one that only ever had one thread, not one down to its last, whose
 * own object is no more a queue than before the others ended. A worker
 * that is the pool's first and only one so far cannot be told from a lone
 * worker with a queue: its posts are trusted (xz -T4 wrote "about 2659
 * tasks queued for 1 workers, growing" once under load). An event loop's
 * idle wait is a site where each worker polls an fd of its own. */
static int idle_wait_shared(const struct ps_pool *p)
{
    uintptr_t k = __atomic_load_n(&p->idle_obj, __ATOMIC_ACQUIRE);
    const struct ps_obj *o = k ? ps_obj_find(k) : NULL;
    return __atomic_load_n(&p->joined, __ATOMIC_RELAXED) <= 1 || !o || o->kind == PS_K_POLL ||
           __atomic_load_n(&o->waiters_many, __ATOMIC_RELAXED);
}

int ps_pool_idle_one_waiter(int pi)
{
    if (pi < 0 || pi >= PS_MAX_POOLS || ps_pool_lone(pi))
        return 0;
    return !idle_wait_shared(&ps_pools[pi]);
}

/* The pool's CPU rate over its last few ticks (the sampler reads each
 * thread's CPU at a tick, so one tick's rate may hold a part of the one
 * before): its peak. A pool behind a GIL-like lock never runs more than one
 * thread at a time; sort's merge workers, which post their work queue's
 * condvar for each other as a GIL's threads do, ran 1.6-2 cores at times. */
#define PS_PEAK_TICKS 3
#define PS_PEAK_MIN_NS 250000000ull
static void note_cpu_rate(struct ps_pool *p, const struct ps_pool_sample *s)
{
    /* at least PS_PEAK_TICKS back, and at least PS_PEAK_MIN_NS: more ticks
     * at a short POOLSHIM_INTERVAL_MS (3 of 10 ms never spanned it, and the
     * controller waits for this rate where a pool looks GIL-like) */
    const struct ps_pool_sample *b = NULL;
    for (uint32_t k = PS_PEAK_TICKS; k <= p->hist_n && k < PS_HIST; k++) {
        const struct ps_pool_sample *c = &p->hist[(p->hist_n - k) % PS_HIST];
        if (s->t_ns >= c->t_ns + PS_PEAK_MIN_NS) {
            b = c;
            break;
        }
    }
    if (!b || s->cpu_ns < b->cpu_ns)
        return;
    double rate = (double)(s->cpu_ns - b->cpu_ns) / (double)(s->t_ns - b->t_ns);
    p->cpu_rate_known = 1;
    if (rate > p->cpu_rate_peak)
        p->cpu_rate_peak = rate;
}

void ps_pool_tick(uint64_t now, int npools, const struct ps_pool_census *census)
{
    for (int i = 0; i < npools; i++) {
        struct ps_pool *p = &ps_pools[i];
        int live = census[i].live, idle = census[i].idle, parked = census[i].parked;
        p->threads_live = live;
        p->threads_idle = idle;
        p->parked = parked;
        p->threads_busy = live - idle - parked;
        uint64_t subs = __atomic_load_n(&p->submissions, __ATOMIC_RELAXED);
        uint64_t tasks = __atomic_load_n(&p->tasks, __ATOMIC_RELAXED);
        if (live && idle + parked == live && !parked) {
            p->queue_offset = subs - tasks;  /* everyone waits for work: nothing queued */
            p->queue_calibrated = p->idle_obj != 0;
        }
        int64_t q = (int64_t)(subs - tasks - p->queue_offset);
        if (__atomic_load_n(&p->twin_objs, __ATOMIC_RELAXED) || !idle_wait_shared(p)) {
            q = 0;                           /* posts to one worker's object: no queue seen */
            p->queue_calibrated = 0;
        }
        p->queue_est = q > 0 ? (uint64_t)q : 0;
        /* The peak demand bounds the pool's size only if no tick could have
         * missed it: node's crypto pool, 400 tasks posted at once to 4
         * workers busy until the end, calibrated only when all went idle at
         * the end, read a peak of 1 and was told 1 thread on 2 cores. */
        if (p->threads_busy > 0 && (uint32_t)p->threads_busy > p->busy_peak)
            p->busy_peak = (uint32_t)p->threads_busy;
        if (p->queue_calibrated) {
            uint64_t demand = (uint64_t)p->threads_busy + p->queue_est;
            if (demand > p->demand_peak)
                p->demand_peak = demand > UINT32_MAX ? UINT32_MAX : (uint32_t)demand;
        } else if (p->threads_busy > 0 && !idle) {
            p->demand_unseen = 1;
        }

        struct ps_pool_totals tot = *census[i].tot;
        uint64_t task_wait = ps_totals_task_wait_ns(&tot);
        /* History is cumulative and readers take differences: it never goes
         * down (the partition may take back a label it gave too early). */
        if (p->hist_n) {
            const struct ps_pool_sample *prev = &p->hist[(p->hist_n - 1) % PS_HIST];
            uint64_t *now_of[] = { &tot.cpu_ns, &tot.wait_ns[PS_IO], &tot.wait_ns[PS_SLEEP], &tot.wait_ns[PS_LOCK],
                                   &tot.wait_ns[PS_COND], &tot.wait_ns[PS_IDLE], &tot.wait_ns[PS_RUNQ], &task_wait };
            const uint64_t before[] = { prev->cpu_ns, prev->io_ns, prev->sleep_ns, prev->lock_ns,
                                        prev->cond_ns, prev->idle_ns, prev->runq_ns, prev->task_wait_ns };
            for (size_t k = 0; k < sizeof before / sizeof *before; k++)
                if (*now_of[k] < before[k])
                    *now_of[k] = before[k];
        }
        struct ps_pool_sample *s = &p->hist[p->hist_n % PS_HIST];
        s->t_ns = now;
        s->threads = (uint32_t)live;
        s->busy = (uint32_t)p->threads_busy;
        s->idle = (uint32_t)idle;
        s->limit = (uint32_t)p->limit;
        s->parked = (uint32_t)parked;
        s->tasks = census[i].tasks_by_tally ? tot.tasks : tasks;
        s->queue = p->queue_est;
        s->cpu_ns = tot.cpu_ns;
        s->io_ns = tot.wait_ns[PS_IO];
        s->sleep_ns = tot.wait_ns[PS_SLEEP];
        s->lock_ns = tot.wait_ns[PS_LOCK];
        s->cond_ns = tot.wait_ns[PS_COND];
        s->idle_ns = tot.wait_ns[PS_IDLE];
        s->runq_ns = tot.wait_ns[PS_RUNQ];
        s->task_wait_ns = task_wait;
        note_cpu_rate(p, s);
        ps_trace_pool_sample(i, p->hist_n, s);
        __atomic_store_n(&p->hist_n, p->hist_n + 1, __ATOMIC_RELEASE);
    }
}
