/* thread.c: the table of thread records and how a thread gets one.
 * The table is one anonymous mapping made at start (pages are touched only as
 * records are used), so registering a thread never allocates and works inside
 * malloc, inside signal-free wrappers and after fork. Slots are claimed with
 * compare-and-swap; an exited thread's slot is recycled only when the table is
 * full, after its totals were folded into its pool (ps_pool_retire). */
#include "confine.h"
#include "thread.h"
#include "clock.h"
#include "log.h"
#include "atomics.h"
#include "pool.h"
#include "table.h"
#include "trace.h"
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <stdlib.h>
#include <unistd.h>

const char *const ps_cause_name[PS_NCAUSE] = { "io", "sleep", "lock", "cond", "idle", "runqueue" };
const char *const ps_kind_name[PS_K_NKINDS] = { "none", "mutex", "rwlock", "spin", "cond", "sem",
                                                "futex", "io", "poll", "sleep", "join",
                                                "futex_lock" };

struct ps_thread *ps_threads;
int ps_threads_hwm;
__thread struct ps_thread *ps_self __attribute__((tls_model("initial-exec")));
int ps_ready;
int ps_track_held;

int ps_gettid(void)
{
    return (int)syscall(SYS_gettid);
}

int ps_thread_table_init(void)
{
    void *p = ps_table_map(sizeof(struct ps_thread) * PS_MAX_THREADS);
    if (!p)
        return -errno;
    ps_threads = p;
    return 0;
}

static void reset(struct ps_thread *t, int tid, void *routine)
{
    uint32_t gen = t->gen + 1;
    struct ps_trace_ring *ring = t->trace;
    memset(t, 0, sizeof *t);
    t->gen = gen;
    t->trace = ps_trace_ring_for(ring);
    t->tid = tid;
    t->pool = -1;
    t->routine = routine;
    t->born_ns = ps_now_ns();
}

static int try_take(struct ps_thread *t, int from)
{
    int expect = from;
    return __atomic_compare_exchange_n(&t->state, &expect, PS_T_CLAIMING, 0,
                                       __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
}

struct ps_thread *ps_thread_claim(int tid, void *routine)
{
    static int full_logged;
    struct ps_thread *t = NULL;
    if (!ps_threads)
        return NULL;
    int i = __atomic_fetch_add(&ps_threads_hwm, 1, __ATOMIC_ACQ_REL);
    if (i < PS_MAX_THREADS) {
        t = &ps_threads[i];
        t->state = PS_T_CLAIMING;
    } else {
        __atomic_store_n(&ps_threads_hwm, PS_MAX_THREADS, __ATOMIC_RELAXED);
        for (int k = 0; k < PS_MAX_THREADS && !t; k++)
            if (try_take(&ps_threads[k], PS_T_FREE))
                t = &ps_threads[k];
        for (int k = 0; k < PS_MAX_THREADS && !t; k++)
            if (try_take(&ps_threads[k], PS_T_EXITED)) {
                t = &ps_threads[k];
                ps_pool_retire(t);
            }
        if (!t) {
            ps_log_once(&full_logged, "more than %d threads alive: new threads are not measured",
                        PS_MAX_THREADS);
            return NULL;
        }
    }
    reset(t, tid, routine);
    __atomic_store_n(&t->state, PS_T_LIVE, __ATOMIC_RELEASE);
    ps_thread_note_tid(t);
    return t;
}

/* What a thread with no record (the table was full when it started) sees as
 * its own: marked ignore, so the wrappers pass its calls through at once
 * instead of looking for a free record at each one (two scans of 8,192). */
static struct ps_thread unmeasured_rec = { .ignore = 1, .pool = -1 };
int ps_threads_unmeasured;

struct ps_thread *ps_thread_self_slow(void)
{
    if (!__atomic_load_n(&ps_ready, __ATOMIC_ACQUIRE))
        return NULL;
    int tid = ps_gettid();
    /* The agent may have discovered us in /proc/self/task already. */
    struct ps_thread *t = ps_thread_by_tid(tid);
    if (!t)
        t = ps_thread_claim(tid, NULL);
    if (t) {
        t->self = pthread_self();
        ps_self = t;
        return t;
    }
    __atomic_fetch_add(&ps_threads_unmeasured, 1, __ATOMIC_RELAXED);
    ps_self = &unmeasured_rec;
    return NULL;
}

/* Where to look first for a tid's record: the agent looks up every entry of
 * /proc/self/task each tick, and a scan per entry made that quadratic in the
 * number of threads. A hint only (a slot written by claims, starts and
 * successful scans, never trusted without checking the record), so it needs
 * no removal and no lock; a collision costs one scan. */
#define TID_HINTS 16384
static int tid_hint[TID_HINTS];        /* record index + 1, 0 none */

void ps_thread_note_tid(const struct ps_thread *t)
{
    if (ps_threads && t >= ps_threads && t < ps_threads + PS_MAX_THREADS && t->tid > 0)
        __atomic_store_n(&tid_hint[t->tid & (TID_HINTS - 1)], (int)(t - ps_threads) + 1, __ATOMIC_RELAXED);
}

/* The live record whose tid (by_tid) or pthread_t (otherwise) is the key:
 * the tid's hint, else one linear scan (slow paths only). */
static struct ps_thread *find_live(int by_tid, int tid, pthread_t th)
{
    if (by_tid && tid > 0) {
        int h = __atomic_load_n(&tid_hint[tid & (TID_HINTS - 1)], __ATOMIC_RELAXED) - 1;
        if (h >= 0 && h < ps_thread_hwm()) {
            struct ps_thread *t = &ps_threads[h];
            if (t->tid == tid && __atomic_load_n(&t->state, __ATOMIC_ACQUIRE) == PS_T_LIVE)
                return t;
        }
    }
    int hwm = ps_thread_hwm();
    for (int i = 0; i < hwm; i++) {
        struct ps_thread *t = &ps_threads[i];
        if ((by_tid ? t->tid == tid : t->self == th) && __atomic_load_n(&t->state, __ATOMIC_ACQUIRE) == PS_T_LIVE) {
            if (by_tid)
                ps_thread_note_tid(t);
            return t;
        }
    }
    return NULL;
}

struct ps_thread *ps_thread_by_pthread(pthread_t th)
{
    return find_live(0, 0, th);
}

int ps_thread_any_besides_main(void)
{
    int hwm = ps_thread_hwm(), pid = getpid();
    for (int i = 0; i < hwm; i++) {
        struct ps_thread *t = &ps_threads[i];
        int st = __atomic_load_n(&t->state, __ATOMIC_ACQUIRE);
        if ((st == PS_T_LIVE || st == PS_T_EXITED) && !t->ignore && t->tid > 0 && t->tid != pid)
            return 1;
    }
    return 0;
}

struct ps_thread *ps_thread_by_tid(int tid)
{
    return find_live(1, tid, 0);
}

static uint64_t since_base(uint64_t v, uint64_t base)
{
    return v > base ? v - base : 0;
}

/* The caller's schedstat: on-CPU and run-queue ns since the task began. */
static int own_schedstat(uint64_t *cpu, uint64_t *runq)
{
    char buf[128];
    if (ps_is_confined())
        return -1;
    int fd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = syscall(SYS_read, fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = 0;
    char *p;
    *cpu = strtoull(buf, &p, 10);
    *runq = strtoull(p, NULL, 10);
    return 0;
}

void ps_thread_set_baseline(struct ps_thread *t)
{
    int saved = errno;
    uint64_t cpu, runq;
    if (own_schedstat(&cpu, &runq) == 0) {
        t->base_cpu_ns = cpu;
        t->base_runq_ns = runq;
    }
    errno = saved;
}

/* Last reading of the thread's own CPU, run-queue delay and switches: threads
 * that live shorter than a sampling interval would otherwise show no CPU. */
void ps_thread_on_exit(struct ps_thread *t)
{
    int saved = errno;
    ps_pool_on_thread_exit(t);           /* first: its timing is the task's, not ours */
    struct timespec ts;
    if (ps_is_confined()) {
        t->died_ns = ps_now_ns();        /* its counters read by no call of ours (confine.h) */
        __atomic_store_n(&t->state, PS_T_EXITED, __ATOMIC_RELEASE);
        errno = saved;
        return;
    }
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == 0)
        ps_atomic_max(&t->cpu_ns, since_base((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec,
                                             t->base_cpu_ns));
    uint64_t cpu, runq;
    if (own_schedstat(&cpu, &runq) == 0)
        ps_atomic_max(&t->runq_ns, since_base(runq, t->base_runq_ns));
    struct rusage ru;
    if (getrusage(RUSAGE_THREAD, &ru) == 0) {
        t->nvcsw = (uint64_t)ru.ru_nvcsw;
        t->nivcsw = (uint64_t)ru.ru_nivcsw;
    }
    /* The name it ends with: one its creator gave it while it started
     * (pthread_setname_np on it) can land after its start read its name and
     * before anything else did, and the agent may never read a thread that
     * lived 30 ms (a gamma-N worker of renamed_pools was reported under its
     * creator's name, in gamma's pool). */
    char name[PS_NAME_LEN];
    if (prctl(PR_GET_NAME, name, 0, 0, 0) == 0) {
        name[PS_NAME_LEN - 1] = 0;
        memcpy(t->name, name, PS_NAME_LEN);
    }
    t->died_ns = ps_now_ns();
    __atomic_store_n(&t->state, PS_T_EXITED, __ATOMIC_RELEASE);
    errno = saved;
}

void ps_thread_after_fork_child(void)
{
    struct ps_thread *me = ps_self;
    if (me == &unmeasured_rec)
        ps_self = me = NULL;              /* alone in the child: there is room now */
    ps_threads_unmeasured = 0;
    int hwm = ps_thread_hwm();
    for (int i = 0; i < hwm; i++) {
        struct ps_thread *t = &ps_threads[i];
        if (t == me)
            continue;
        t->state = PS_T_FREE;
        t->tid = 0;
    }
    if (me && !me->ignore) {
        void *routine = me->routine, *entry = me->entry;
        int via = me->via_create;
        reset(me, ps_gettid(), routine);
        me->entry = entry;
        /* A forked child inherits its parent thread's run-queue delay
         * (schedstat's second field is not zeroed by fork): count from here. */
        ps_thread_set_baseline(me);
        me->via_create = via;
        me->self = pthread_self();
        /* the child may have waited in the run queue since the fork: count from now, as born_ns */
        ps_thread_set_baseline(me);
        me->state = PS_T_LIVE;
    }
}
