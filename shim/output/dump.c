/* dump.c: when to dump (triggers and rate limits). Runs on the agent, once per
 * tick, after the sampler and the pools were updated; the writer is
 * dump_write.c. Triggers read only the thread and pool tables (no /proc, no
 * signals), so a healthy program pays one pass over its thread records.
 *
 * Triggers, most specific first: deadlock (a cycle of lock or join waits seen
 * on two consecutive ticks), convoy (>= 3 threads waiting >= 100 ms on one
 * lock), blocked (every live worker of a pool blocked, not idle, not parked,
 * for POOLSHIM_DUMP_BLOCKED_MS; condvar-like waits count only once the pool's
 * idle wait is known), queue (estimated queue > 2 x workers and
 * larger than ~3 ticks ago), cpu_plateau (the pool burned >= 85 % of
 * min(cores, workers) over the last second with work queued all along).
 * A request is the dump signal sent to the process (stacks.c counts them).
 * A picture request (the same signal sent to the agent alone by `poolshim
 * dump`, which stops the threads itself by ptrace) writes a dump without
 * stacks: no thread of the program is signalled.
 *
 * Limits: saturation dumps stop after POOLSHIM_DUMP_MAX and are at least
 * POOLSHIM_DUMP_INTERVAL_S apart; requests and deadlocks bypass both (a given
 * deadlock is dumped once) but are at most one per second and 1000 per
 * process. POOLSHIM_DUMP=off turns saturation and deadlock dumps off, not
 * requests. Picture requests signal no thread and cost the program nothing it
 * can see: they are only kept 100 ms apart (and within the 1000). */
#include "dump.h"
#include "cores.h"
#include "alloc.h"
#include "clock.h"
#include "config.h"
#include "jsonw.h"
#include "log.h"
#include "pool.h"
#include "stacks.h"
#include "supervise.h"
#include "symbol.h"
#include "syncobj.h"
#include "wfg.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define CONVOY_MIN_WAITERS 3
#define CONVOY_MIN_NS 100000000ull
#define DEADLOCK_MIN_NS 100000000ull
#define HARD_MAX 1000
#define LOG_CAP 16
#define DEADLOCK_CAP 16
/* A picture signals no thread and costs the program nothing it sees; the gap
 * only keeps a looping `poolshim dump` from turning the agent into a writer. */
#define PICTURE_MIN_GAP_NS 100000000ull

static struct {
    int written;                  /* dumps written by this process */
    int saturation;               /* of which saturation dumps */
    uint64_t last_ns;             /* when the last one was written */
    uint64_t requests_done;       /* requests answered (stacks.c counts arrivals) */
    uint64_t pictures_done;       /* picture requests answered */
    int accepting;                /* the agent lets picture requests reach it */
    uint64_t cycle_seen;          /* deadlock signature on the previous tick */
    uint64_t cycle_dumped;        /* signature already dumped */
    /* what the report says of the run's dumps: the first LOG_CAP written and
     * the first deadlock found (its threads and the locks they wait on) */
    struct { int n, reason; uint64_t t_ns; char detail[128]; const char *capture; } log[LOG_CAP];
    int deadlock_len;             /* threads in the cycle, 0: none found */
    int deadlock_tid[DEADLOCK_CAP];
    uintptr_t deadlock_obj[DEADLOCK_CAP];
    int deadlock_kind[DEADLOCK_CAP];
    int deadlock_dump;            /* the dump that holds it, -1 none */
} st;

static void atfork_child(void)
{
    memset(&st, 0, sizeof st);
    st.requests_done = ps_stacks_requests();
    st.pictures_done = ps_stacks_pictures();
}

/* After init.c's constructor (101): the configuration is parsed; and after
 * interpose_signal.c's (102), which must know the dump signal before our own
 * sigaction on it goes through its wrapper. The program
 * must not see errno changed by anything we do here. */
__attribute__((constructor(103))) static void dump_init(void)
{
    if (!__atomic_load_n(&ps_ready, __ATOMIC_ACQUIRE))
        return;
    int saved = errno;                 /* jemalloc's prof.reset leaves ERANGE behind */
    ps_alloc_init(ps_cfg.alloc_sample_lg);
    ps_stacks_init(ps_cfg.dump_signal);
    pthread_atfork(NULL, NULL, atfork_child);
    errno = saved;
}

/* --- triggers ----------------------------------------------------------- */

struct lockcount { uintptr_t obj; int n; int owner; };

#define LC_CAP 1024
static struct lockcount lc[LC_CAP];

static struct lockcount *lc_get(uintptr_t obj)
{
    uint32_t h = (uint32_t)((obj * 0x9E3779B97F4A7C15ull) >> 54) & (LC_CAP - 1);
    for (int i = 0; i < LC_CAP; i++) {
        struct lockcount *e = &lc[(h + (uint32_t)i) & (LC_CAP - 1)];
        if (e->obj == obj)
            return e;
        if (!e->obj) {
            e->obj = obj;
            e->owner = -1;
            return e;
        }
    }
    return NULL;
}

static int join_target(uintptr_t th)
{
    int hwm = ps_thread_hwm();
    for (int i = 0; i < hwm; i++) {
        struct ps_thread *t = &ps_threads[i];
        if (__atomic_load_n(&t->state, __ATOMIC_ACQUIRE) == PS_T_LIVE && (uintptr_t)t->self == th)
            return t->tid;
    }
    return 0;
}

struct verdict {
    int reason;                   /* enum ps_dump_reason */
    int pool;
    char detail[256];
};

/* The next live host thread (from *i on) that has been waiting at least
 * min_ns; its wait's kind in *kind. NULL when none is left. */
static struct ps_thread *next_long_wait(int *i, uint64_t now, uint64_t min_ns, int *kind)
{
    int hwm = ps_thread_hwm();
    for (; *i < hwm; (*i)++) {
        struct ps_thread *t = &ps_threads[*i];
        if (__atomic_load_n(&t->state, __ATOMIC_ACQUIRE) != PS_T_LIVE || t->ignore)
            continue;
        uint64_t since = __atomic_load_n(&t->cur_since_ns, __ATOMIC_ACQUIRE);
        *kind = t->cur_kind;
        if (since && now >= since + min_ns) {
            (*i)++;
            return t;
        }
    }
    return NULL;
}

/* The first cycle of cyc (tids, 0-terminated) with what each waits on. */
static void remember_deadlock(const int *cyc, int len, uint64_t now)
{
    int k = 0;
    for (; k < len && cyc[k] && k < DEADLOCK_CAP; k++) {
        struct ps_thread *t = ps_thread_by_tid(cyc[k]);
        st.deadlock_tid[k] = cyc[k];
        st.deadlock_obj[k] = t ? t->cur_obj : 0;
        st.deadlock_kind[k] = t ? t->cur_kind : PS_K_NONE;
    }
    st.deadlock_len = k;
    st.deadlock_dump = st.written;       /* the dump about to be written */
}

static int check_deadlock(uint64_t now, struct verdict *v)
{
    static struct ps_wfg_edge edges[PS_MAX_THREADS];
    static int cyc[256];
    int ne = 0;
    memset(lc, 0, sizeof lc);
    struct ps_thread *t;
    int kind, i = 0;
    while ((t = next_long_wait(&i, now, DEADLOCK_MIN_NS, &kind))) {
        int owner = 0;
        if (kind == PS_K_MUTEX || kind == PS_K_RWLOCK) {
            struct lockcount *e = lc_get(t->cur_obj);
            if (e && e->owner < 0)
                e->owner = ps_wfg_lock_owner(kind, t->cur_obj);
            owner = e ? e->owner : ps_wfg_lock_owner(kind, t->cur_obj);
        } else if (kind == PS_K_JOIN) {
            owner = join_target(t->cur_obj);
        }
        if (owner > 0 && owner != t->tid)
            edges[ne++] = (struct ps_wfg_edge){ t->tid, owner };
    }
    int n = ne ? ps_wfg_cycles(edges, ne, cyc, (int)(sizeof cyc / sizeof cyc[0])) : 0;
    if (!n) {
        st.cycle_seen = 0;
        return 0;
    }
    int len = 0;
    for (int k = 0; k < n; len++)
        if (!cyc[len])
            k++;
    uint64_t sig = ps_wfg_signature(cyc, len);
    int persistent = sig == st.cycle_seen;
    st.cycle_seen = sig;
    if (!persistent || sig == st.cycle_dumped)
        return 0;
    v->reason = PS_DUMP_DEADLOCK;
    v->pool = -1;
    size_t at = ps_fmt(v->detail, sizeof v->detail, "%d deadlock cycle%s:", n, n > 1 ? "s" : "");
    for (int i = 0, first = 0; i < len && at < sizeof v->detail - 32; i++) {
        if (cyc[i])
            at += ps_fmt(v->detail + at, sizeof v->detail - at, " %d ->", cyc[i]);
        else
            at += ps_fmt(v->detail + at, sizeof v->detail - at, " %d%s", cyc[first], i + 1 < len ? ";" : "");
        if (!cyc[i])
            first = i + 1;
    }
    st.cycle_dumped = sig;
    if (!st.deadlock_len)
        remember_deadlock(cyc, len, now);
    return 1;
}

static int check_convoy(uint64_t now, struct verdict *v)
{
    memset(lc, 0, sizeof lc);
    struct lockcount *best = NULL;
    int kind_of_best = 0;
    struct ps_thread *t;
    int kind, i = 0;
    while ((t = next_long_wait(&i, now, CONVOY_MIN_NS, &kind))) {
        if (kind != PS_K_MUTEX && kind != PS_K_RWLOCK && kind != PS_K_SPIN)
            continue;
        struct lockcount *e = lc_get(t->cur_obj);
        if (e && ++e->n >= CONVOY_MIN_WAITERS && (!best || e->n > best->n)) {
            best = e;
            kind_of_best = kind;
        }
    }
    if (!best)
        return 0;
    struct ps_obj *o = ps_obj_find(best->obj);
    int owner = ps_wfg_lock_owner(kind_of_best, best->obj);
    v->reason = PS_DUMP_CONVOY;
    v->pool = o ? ps_obj_pool(o) : -1;
    ps_fmt(v->detail, sizeof v->detail, "%d threads wait >= 100 ms on %s %p%s%d", best->n,
           ps_kind_name[kind_of_best], (void *)best->obj, owner ? " held by thread " : "", owner);
    if (!owner)
        v->detail[strlen(v->detail) - 1] = 0;
    return 1;
}

/* The sample about `back` ticks ago (clamped to what exists), or NULL. */
static const struct ps_pool_sample *sample_back(const struct ps_pool *p, uint32_t back)
{
    uint32_t n = __atomic_load_n(&p->hist_n, __ATOMIC_ACQUIRE);
    if (!n)
        return NULL;
    if (back >= n)
        back = n - 1;
    if (back >= PS_HIST)
        back = PS_HIST - 1;
    return &p->hist[(n - 1 - back) % PS_HIST];
}

/* Until a pool's idle wait is learned (it needs a producer's posts), its
 * workers waiting on a condvar, semaphore, futex or fd may just have no work:
 * such waits do not count as blocked. */
static int idle_capable(int kind)
{
    return kind == PS_K_COND || kind == PS_K_SEM || kind == PS_K_FUTEX || kind == PS_K_POLL;
}

/* Is t blocked on a lock no other thread ever waited on, alone? It waits for
 * the holder as for work: redis gives each I/O thread a mutex of its own,
 * which the main thread holds while threaded I/O is off; an idle redis read
 * "all 3 workers of pool 1 blocked for >= 1000 ms". Workers stuck on one
 * lock wait on it together; two threads stuck on each other are the
 * deadlock trigger's. */
static int alone_on_own_lock(const struct ps_thread *t)
{
    if (t->cur_kind != PS_K_MUTEX && t->cur_kind != PS_K_RWLOCK)
        return 0;
    const struct ps_obj *o = ps_obj_find(__atomic_load_n(&t->cur_obj, __ATOMIC_ACQUIRE));
    int first = o ? __atomic_load_n(&o->first_waiter, __ATOMIC_RELAXED) : -1;
    return o && __atomic_load_n(&o->waiting, __ATOMIC_RELAXED) <= 1 &&
           !__atomic_load_n(&o->waiters_many, __ATOMIC_RELAXED) && (first == 0 || first == t->tid);
}

static int check_pools(uint64_t now, struct verdict *v)
{
    int live[PS_MAX_POOLS] = { 0 }, blocked[PS_MAX_POOLS] = { 0 };
    uint64_t blocked_ns = (uint64_t)ps_cfg.dump_blocked_ms * 1000000ull;
    int hwm = ps_thread_hwm();
    for (int i = 0; i < hwm; i++) {
        struct ps_thread *t = &ps_threads[i];
        if (__atomic_load_n(&t->state, __ATOMIC_ACQUIRE) != PS_T_LIVE || t->ignore || t->pool < 0 ||
            t->pool >= PS_MAX_POOLS)
            continue;
        live[t->pool]++;
        uint64_t since = __atomic_load_n(&t->cur_since_ns, __ATOMIC_ACQUIRE);
        if (since && !t->throttled && ps_pool_open_wait_cause(t) != PS_IDLE && now >= since + blocked_ns &&
            (!idle_capable(t->cur_kind) || ps_pools[t->pool].idle_obj) && !alone_on_own_lock(t))
            blocked[t->pool]++;
    }
    for (int pi = 0; pi < PS_MAX_POOLS; pi++) {
        struct ps_pool *p = &ps_pools[pi];
        if (__atomic_load_n(&p->used, __ATOMIC_ACQUIRE) != 2)
            break;
        /* A pool of one blocked is one thread waiting, as service threads
         * do for seconds (HotSpot's, each a pool of its own by name: "all 1
         * workers of pool 5 blocked" and a dump signalling 22 threads); a
         * lone thread stuck on another is the deadlock trigger's. */
        if (live[pi] >= 2 && blocked[pi] == live[pi]) {
            v->reason = PS_DUMP_BLOCKED;
            v->pool = pi;
            ps_fmt(v->detail, sizeof v->detail, "all %d workers of pool %d blocked for >= %d ms", live[pi], pi,
                   ps_cfg.dump_blocked_ms);
            return 1;
        }
        const struct ps_pool_sample *s0 = sample_back(p, 0), *s3 = sample_back(p, 3);
        if (s0 && s3 && s0 != s3 && live[pi] && s0->queue > 2ull * (uint64_t)live[pi] && s0->queue > s3->queue) {
            v->reason = PS_DUMP_QUEUE;
            v->pool = pi;
            ps_fmt(v->detail, sizeof v->detail, "pool %d: about %lu tasks queued for %d workers, growing", pi,
                   (unsigned long)s0->queue, live[pi]);
            return 1;
        }
        /* CPU plateau over the last second, with work queued at every sample. */
        if (!s0 || !live[pi])
            continue;
        const struct ps_pool_sample *old = NULL;
        int queued = s0->queue > 0;
        for (uint32_t b = 1; queued && b < PS_HIST; b++) {
            const struct ps_pool_sample *s = sample_back(p, b);
            if (!s || s == old || s->t_ns >= s0->t_ns)
                break;
            queued = s->queue > 0;
            old = s;
            if (s0->t_ns - s->t_ns >= 1000000000ull)
                break;
        }
        if (queued && old && s0->t_ns - old->t_ns >= 1000000000ull && s0->cpu_ns >= old->cpu_ns) {
            double rate = (double)(s0->cpu_ns - old->cpu_ns) / (double)(s0->t_ns - old->t_ns);
            int cap = live[pi] < ps_ncores ? live[pi] : ps_ncores;
            if (rate >= 0.85 * cap) {
                v->reason = PS_DUMP_CPU_PLATEAU;
                v->pool = pi;
                char r[32];
                ps_fmt_double(r, sizeof r, rate, 2);
                ps_fmt(v->detail, sizeof v->detail, "pool %d uses %s cores of %d with work queued", pi, r,
                       ps_ncores);
                return 1;
            }
        }
    }
    return 0;
}

/* Dump n, for the report's list of this run's dumps; capture: how its
 * stacks were taken ("ptrace", "signal", "none"), NULL if it was not written. */
static void log_dump(int n, int reason, uint64_t t_ns, const char *detail, const char *capture)
{
    if (n >= LOG_CAP)
        return;
    st.log[n].n = n;
    st.log[n].reason = reason;
    st.log[n].t_ns = t_ns;
    st.log[n].capture = capture;
    ps_fmt(st.log[n].detail, sizeof st.log[n].detail, "%s", detail);
}

/* --- capture: who takes the stacks (POOLSHIM_DUMP_CAPTURE) ----------------
 * ptrace by the supervising `poolshim run` when there is one (the program
 * sees nothing), else the dump signal in-process; `ptrace` never signals the
 * program's threads (a dump without stacks if the supervisor cannot take
 * them), `signal` never asks the supervisor. */

static const char signal_why[] = "the dump signal, answered by the shim's handler in each thread";

/* The shim's picture at a side name, then the supervisor's merged dump at the
 * dump's own name. "ptrace", "none" (the merge failed: the picture is the
 * dump), or NULL if nothing was written (the supervisor did not capture, or
 * the picture could not be written or moved; why says so). */
static const char *write_supervised(int n, int reason, int pool, const char *detail, char *why, size_t whylen)
{
    struct ps_super sup;
    if (ps_super_capture(&sup, n, why, whylen))
        return NULL;
    char pic[96], final[96], path[640];
    int pid = getpid();
    ps_fmt(pic, sizeof pic, "poolshim.%d.picture.%d.json", pid, n);
    ps_fmt(final, sizeof final, "poolshim.%d.dump.%d.json", pid, n);
    struct ps_dump_how how = { 0, "none",
        "the shim's picture; its stacks were taken by the supervising poolshim run with ptrace, which "
        "writes the merged dump (if this file is the dump, the merge failed: no stacks)", pic };
    int e = ps_dump_write(n, reason, pool, detail, &how);
    if (e) {
        ps_super_end(&sup, "the shim could not write its picture");
        ps_fmt(why, whylen, "the shim could not write its picture (errno %d)", -e);
        return NULL;
    }
    ps_fmt(path, sizeof path, "%s/%s", ps_cfg.dir, pic);
    if (!ps_super_finish(&sup, path, why, whylen)) {
        ps_log("dump %s/%s (%s: %s; stacks by ptrace from poolshim run)", ps_cfg.dir, final,
               ps_dump_reason_name[reason], detail);
        return "ptrace";
    }
    /* The picture is the best there is: in place, atomically (rename). */
    char dst[640];
    ps_fmt(dst, sizeof dst, "%s/%s", ps_cfg.dir, final);
    if (rename(path, dst) != 0) {
        unlink(path);
        return NULL;
    }
    ps_log("dump %s (%s: %s; no stacks: %s)", dst, ps_dump_reason_name[reason], detail, why);
    return "none";
}

static const char *write_dump(int n, int reason, int pool, const char *detail)
{
    static int ptrace_logged;
    char why[300], text[400];
    int mode = ps_cfg.dump_capture;
    if (mode != PS_CAPTURE_SIGNAL) {
        const char *m = write_supervised(n, reason, pool, detail, why, sizeof why);
        if (m)
            return m;
    }
    if (mode == PS_CAPTURE_PTRACE) {
        ps_log_once(&ptrace_logged, "POOLSHIM_DUMP_CAPTURE=ptrace, and %s: dumps carry no stacks", why);
        ps_fmt(text, sizeof text, "POOLSHIM_DUMP_CAPTURE=ptrace signals no thread of the program, and %s: "
               "no stacks", why);
        struct ps_dump_how how = { 0, "none", text, NULL };
        return ps_dump_write(n, reason, pool, detail, &how) ? NULL : "none";
    }
    if (mode == PS_CAPTURE_SIGNAL)
        ps_fmt(text, sizeof text, "POOLSHIM_DUMP_CAPTURE=signal: %s", signal_why);
    else
        ps_fmt(text, sizeof text, "%s: %s", why, signal_why);
    struct ps_dump_how how = { 1, "signal", text, NULL };
    return ps_dump_write(n, reason, pool, detail, &how) ? NULL : "signal";
}

/* A picture for `poolshim dump` (which took the stacks by ptrace). */
static uint64_t picture_tick(uint64_t now)
{
    uint64_t pic = ps_stacks_pictures();
    if (pic == st.pictures_done || st.written >= HARD_MAX || (st.written && now < st.last_ns + PICTURE_MIN_GAP_NS))
        return 0;
    st.pictures_done = pic;
    uint64_t t0 = ps_now_ns();
    int n = st.written++;
    st.last_ns = t0;
    static const char what[] = "poolshim dump PID: the shim's picture, stacks taken by ptrace";
    struct ps_dump_how how = { 0, "none", "a picture for poolshim dump, which takes the stacks by ptrace", NULL };
    log_dump(n, PS_DUMP_REQUEST, t0, what, ps_dump_write(n, PS_DUMP_REQUEST, -1, what, &how) ? NULL : "ptrace");
    return ps_now_ns() - t0;
}

uint64_t ps_dump_tick(uint64_t now)
{
    if (!st.accepting) {
        st.accepting = 1;
        ps_stacks_accept_requests();
    }
    uint64_t spent = picture_tick(now);
    if (spent)
        return spent;
    struct verdict v = { PS_DUMP_NONE, -1, "" };
    uint64_t req = ps_stacks_requests();
    int since_ok = !st.written || now >= st.last_ns + 1000000000ull;
    if (st.written >= HARD_MAX)
        return 0;
    /* Deadlock detection needs two consecutive ticks: run it every tick. */
    int dead = ps_cfg.dump && check_deadlock(now, &v);
    if (!dead && req != st.requests_done) {
        v.reason = PS_DUMP_REQUEST;
        v.pool = -1;
        ps_fmt(v.detail, sizeof v.detail, "signal %d received", ps_cfg.dump_signal);
    }
    if (v.reason == PS_DUMP_NONE && ps_cfg.dump && st.saturation < ps_cfg.dump_max &&
        (!st.written || now >= st.last_ns + (uint64_t)ps_cfg.dump_min_interval_s * 1000000000ull)) {
        if (check_convoy(now, &v) || check_pools(now, &v))
            st.saturation++;
    }
    if (v.reason == PS_DUMP_NONE)
        return 0;
    if (!since_ok) {
        if (dead)
            st.cycle_dumped = 0;          /* try again next tick */
        if (v.reason != PS_DUMP_REQUEST && v.reason != PS_DUMP_DEADLOCK)
            st.saturation--;
        return 0;
    }
    if (v.reason == PS_DUMP_REQUEST)
        st.requests_done = req;
    uint64_t t0 = ps_now_ns();
    int n = st.written++;
    st.last_ns = t0;
    log_dump(n, v.reason, t0, v.detail, write_dump(n, v.reason, v.pool, v.detail));
    return ps_now_ns() - t0;
}

void ps_dump_report_json(struct ps_jw *w)
{
    char name[64], sym[384];
    ps_jw_arr(w, "dumps");
    for (int i = 0; i < st.written && i < LOG_CAP; i++) {
        ps_jw_obj(w, NULL);
        ps_fmt(name, sizeof name, "poolshim.%d.dump.%d.json", (int)getpid(), st.log[i].n);
        ps_jw_str(w, "file", name);
        ps_jw_str(w, "trigger", ps_dump_reason_name[st.log[i].reason]);
        ps_jw_str(w, "detail", st.log[i].detail);
        ps_jw_str(w, "capture", st.log[i].capture);
        ps_jw_dbl(w, "t_s", st.log[i].t_ns > ps_start_ns ? (st.log[i].t_ns - ps_start_ns) * 1e-9 : 0);
        ps_jw_end(w);
    }
    ps_jw_end(w);
    if (st.written > LOG_CAP)
        ps_jw_i64(w, "dumps_not_listed", st.written - LOG_CAP);
    if (!st.deadlock_len) {
        ps_jw_null(w, "deadlock");
        return;
    }
    ps_jw_obj(w, "deadlock");
    ps_jw_arr(w, "cycle");
    for (int k = 0; k < st.deadlock_len; k++) {
        ps_jw_obj(w, NULL);
        ps_jw_i64(w, "tid", st.deadlock_tid[k]);
        ps_jw_str(w, "kind", ps_kind_name[st.deadlock_kind[k]]);
        ps_jw_hex(w, "object", st.deadlock_obj[k]);
        if (ps_symbol_data((void *)st.deadlock_obj[k], sym, sizeof sym))
            ps_jw_str(w, "name", sym);
        else
            ps_jw_null(w, "name");
        ps_jw_i64(w, "waits_for", st.deadlock_tid[(k + 1) % st.deadlock_len]);
        ps_jw_end(w);
    }
    ps_jw_end(w);
    ps_fmt(name, sizeof name, "poolshim.%d.dump.%d.json", (int)getpid(), st.deadlock_dump);
    ps_jw_str(w, "dump", st.deadlock_dump < st.written ? name : NULL);
    ps_jw_end(w);
}

int ps_dump_summary(char *out, size_t cap)
{
    if (!st.deadlock_len)
        return 0;
    size_t at = ps_fmt(out, cap, "deadlock:");
    char sym[128];
    for (int k = 0; k < st.deadlock_len && at < cap; k++) {
        if (!ps_symbol_data((void *)st.deadlock_obj[k], sym, sizeof sym))
            ps_fmt(sym, sizeof sym, "0x%lx", (unsigned long)st.deadlock_obj[k]);
        at += ps_fmt(out + at, cap - at, " %d waits on %s %s held by %d%s", st.deadlock_tid[k],
                     ps_kind_name[st.deadlock_kind[k]], sym, st.deadlock_tid[(k + 1) % st.deadlock_len],
                     k + 1 < st.deadlock_len ? ";" : "");
    }
    if (st.deadlock_dump < st.written && at < cap)
        ps_fmt(out + at, cap - at, " (poolshim.%d.dump.%d.json)", (int)getpid(), st.deadlock_dump);
    return 1;
}

int ps_dump_count(void)
{
    return st.written;
}
