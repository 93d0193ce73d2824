/* report.c: writes the agent's last view of the pools (view.h), the thread
 * records and the object table out as the JSON report and the stderr summary. Runs at exit (destructor), before exec, or from a dump;
 * the agent is stopped or is the caller, so the tables are quiescent enough:
 * live threads keep counting, and what they add after the snapshot is lost. */
#include "report.h"
#include "cores.h"
#include "clock.h"
#include "config.h"
#include "controller.h"
#include "dump.h"
#include "expand.h"
#include "file.h"
#include "history.h"
#include "log.h"
#include "instance.h"
#include "pool.h"
#include "poolname.h"
#include "profile.h"
#include "symbol.h"
#include "syncobj.h"
#include "trace.h"
#include "view.h"
#include <math.h>
#include <string.h>
#include <unistd.h>

#define NS 1e-9

static void causes_json(struct ps_jw *w, const uint64_t *ns)
{
    ps_jw_obj(w, "wait_by_cause");
    for (int c = 0; c < PS_NCAUSE; c++)
        ps_jw_dbl(w, ps_cause_name[c], ns[c] * NS);
    ps_jw_end(w);
}

static double sum_causes(const uint64_t *ns)
{
    double s = 0;
    for (int c = 0; c < PS_NCAUSE; c++)
        s += ns[c] * NS;
    return s;
}

static int top_site(struct ps_site_count *s)
{
    int best = 0;
    for (int i = 1; i < PS_OBJ_SITES && s[i].site; i++)
        if (s[i].wait_ns > s[best].wait_ns)
            best = i;
    return best;
}

/* Where pool pi's threads waited on o most: of the sites its first pool's
 * threads waited at (member_sites), or for its other pool of the rest (a
 * site of threads in no pool may be among those); the top site if none is
 * marked so. */
static int pool_site(const struct ps_obj *o, int pi)
{
    unsigned mine = o->member_sites;
    if (pi != o->waiter_pool)
        mine = ~mine;
    int best = -1;
    for (int i = 0; i < PS_OBJ_SITES && o->sites[i].site; i++)
        if ((mine & (1u << i)) && (best < 0 || o->sites[i].wait_ns > o->sites[best].wait_ns))
            best = i;
    return best >= 0 ? best : top_site((struct ps_site_count *)o->sites);
}

/* The object pool pi contends on most, with the pool's own wait there
 * (wait_s: both halves of a GIL-like pair; view.c) and where it waited. */
static void top_contention_json(struct ps_jw *w, const struct ps_obj *o, int pi, double wait_s)
{
    char sym[384];
    ps_jw_obj(w, "top_contention");
    ps_jw_hex(w, "addr", o->key);
    ps_jw_str(w, "kind", ps_kind_name[o->kind]);
    if (ps_symbol_data((void *)o->key, sym, sizeof sym) && !(o->key >> 63))
        ps_jw_str(w, "name", sym);
    else
        ps_jw_null(w, "name");
    ps_jw_dbl(w, "wait_s", wait_s);
    if (o->kind == PS_K_FUTEX_LOCK)
        ps_jw_null(w, "hold_s");
    else
        ps_jw_dbl(w, "hold_s", o->hold_ns * NS);
    void *site = o->sites[pool_site(o, pi)].site;
    ps_symbol_string(site, sym, sizeof sym);
    ps_jw_str(w, "site", site ? sym : NULL);
    ps_jw_end(w);
}

void ps_report_pools_json(struct ps_jw *w, int with_history)
{
    char name[160];
    ps_jw_arr(w, "pools");
    for (int pi = 0; pi < ps_view_last()->npools; pi++) {
        struct ps_pool *p = &ps_pools[pi];
        const struct ps_view_pool *v = ps_view_answer(pi);
        if (!v)
            continue;
        const struct ps_pool_totals *t = &v->tot;
        const struct ps_rec_out *ro = &v->rec;
        ps_jw_obj(w, NULL);
        ps_jw_i64(w, "id", pi);
        ps_poolname_label(pi, name, sizeof name);
        ps_jw_str(w, "name", name);
        ps_jw_str(w, "start_routine", ps_poolname_routine(pi));
        if (p->entry)
            ps_jw_str(w, "entry", ps_poolname_entry(pi));
        else
            ps_jw_null(w, "entry");
        ps_jw_str(w, "name_prefix", p->prefix);
        if (p->alias[0])
            ps_jw_str(w, "renamed_prefix", p->alias);
        else
            ps_jw_null(w, "renamed_prefix");
        ps_jw_i64(w, "threads", t->threads);
        ps_jw_i64(w, "threads_live", t->live);
        ps_jw_dbl(w, "cpu_s", t->cpu_ns * NS);
        ps_jw_dbl(w, "wait_s", sum_causes(t->wait_ns));
        causes_json(w, t->wait_ns);
        ps_jw_dbl(w, "unattributed_s", t->unattributed_ns * NS);
        ps_jw_dbl(w, "spin_s", t->spin_ns * NS);
        ps_jw_dbl(w, "w_c", ro->w_c_shown);
        /* what w_c leaves out: the io and sleep of threads that took no task */
        ps_jw_i64(w, "taskless_threads", t->taskless);
        ps_jw_dbl(w, "taskless_wait_s", (t->taskless_io_ns + t->taskless_sleep_ns) * NS);
        if (v->tasks_whole) {
            ps_jw_u64(w, "tasks", t->tasks);
            if (t->tasks) {
                if (v->tasks_by_tally)          /* tasks end at a post; where they begin is unseen */
                    ps_jw_null(w, "task_latency_ms");
                else
                    ps_jw_dbl(w, "task_latency_ms", t->task_ns * 1e-6 / (double)t->tasks);
                ps_jw_dbl(w, "cpu_per_task_ms", t->cpu_ns * 1e-6 / (double)t->tasks);
            } else {
                ps_jw_null(w, "task_latency_ms");
                ps_jw_null(w, "cpu_per_task_ms");
            }
        } else {                     /* no task boundary known: unknown, not 0 */
            ps_jw_null(w, "tasks");
            ps_jw_null(w, "task_latency_ms");
            ps_jw_null(w, "cpu_per_task_ms");
        }
        ps_jw_str(w, "tasks_unknown_why", v->tasks_unseen);     /* NULL: known */
        ps_jw_u64(w, "submissions", p->submissions);
        uint64_t handoffs;
        double p50 = ps_hist_quantile(&p->handoff, 0.5, &handoffs);
        if (handoffs) {
            ps_jw_obj(w, "handoff_ms");
            ps_jw_dbl(w, "p50", p50 * 1e-6);
            ps_jw_dbl(w, "p99", ps_hist_quantile(&p->handoff, 0.99, NULL) * 1e-6);
            ps_jw_u64(w, "n", handoffs);
            ps_jw_end(w);
        } else {
            ps_jw_null(w, "handoff_ms");
        }
        ps_jw_u64(w, "queue_estimate", p->queue_est);
        ps_jw_u64(w, "nvcsw", t->nvcsw);
        ps_jw_u64(w, "nivcsw", t->nivcsw);
        ps_jw_dbl(w, "wall_s", v->wall_s);
        ps_jw_dbl(w, "effective_parallelism", ro->effective_parallelism);
        void *twin_site = __atomic_load_n(&p->twin_site, __ATOMIC_ACQUIRE);
        if (ps_pool_has_safe_point(p) || twin_site) {
            ps_jw_obj(w, "idle_wait");
            if (p->idle_obj) {
                ps_jw_str(w, "kind", ps_kind_name[p->idle_kind]);
                ps_jw_hex(w, "object", p->idle_obj);
            } else {                     /* never idle: only its queue mutex is known */
                ps_jw_null(w, "kind");
                ps_jw_null(w, "object");
            }
            if (p->queue_mutex)
                ps_jw_hex(w, "queue_mutex", p->queue_mutex);
            else
                ps_jw_null(w, "queue_mutex");
            ps_jw_i64(w, "twins", p->twin_objs);   /* other workers' objects of their own (pool.c) */
            ps_jw_bool(w, "one_waiter", p->idle_obj && ps_pool_idle_one_waiter(pi));
            if (twin_site) {             /* where each worker waits on its own object */
                char sym[384];
                ps_symbol_string(twin_site, sym, sizeof sym);
                ps_jw_str(w, "twin_site", sym);
            }
            ps_jw_end(w);
        } else {
            ps_jw_null(w, "idle_wait");
        }
        if (v->top)
            top_contention_json(w, v->top, pi, v->top_wait_s);
        else
            ps_jw_null(w, "top_contention");
        ps_jw_str(w, "classification", ps_class_name[ro->cls]);
        ps_jw_dbl(w, "model_cores", v->model_cores);
        ps_jw_dbl(w, "goetz_threads", isnan(ro->w_c_shown) ? NAN : ro->goetz);   /* from a W/C shown unknown */
        ps_jw_i64(w, "queueing_threads", ro->queueing);
        if (ro->bottleneck > 0)
            ps_jw_dbl(w, "bottleneck_threads", ro->bottleneck);
        else
            ps_jw_null(w, "bottleneck_threads");
        ps_jw_i64(w, "recommended_threads", ro->recommended_threads);
        ps_jw_i64(w, "recommended_processes", ro->recommended_processes);
        ps_jw_str(w, "reason", ro->reason);
        ps_jw_i64(w, "limit", p->limit);
        if (with_history) {
            ps_jw_arr(w, "history");
            uint32_t n = p->hist_n, from = n > PS_HIST ? n - PS_HIST : 0;
            for (uint32_t k = from; k < n; k++) {
                struct ps_pool_sample *s = &p->hist[k % PS_HIST];
                ps_jw_obj(w, NULL);
                ps_jw_dbl(w, "t_s", s->t_ns > ps_start_ns ? (s->t_ns - ps_start_ns) * NS : 0);
                ps_jw_u64(w, "threads", s->threads);
                ps_jw_u64(w, "busy", s->busy);
                ps_jw_u64(w, "idle", s->idle);
                ps_jw_u64(w, "limit", s->limit);
                ps_jw_u64(w, "parked", s->parked);
                ps_jw_u64(w, "tasks", s->tasks);
                ps_jw_u64(w, "queue", s->queue);
                ps_jw_dbl(w, "cpu_s", s->cpu_ns * NS);
                ps_jw_dbl(w, "io_s", s->io_ns * NS);
                ps_jw_dbl(w, "sleep_s", s->sleep_ns * NS);
                ps_jw_dbl(w, "task_wait_s", s->task_wait_ns * NS);
                ps_jw_dbl(w, "lock_s", s->lock_ns * NS);
                ps_jw_dbl(w, "cond_s", s->cond_ns * NS);
                ps_jw_dbl(w, "idle_s", s->idle_ns * NS);
                ps_jw_end(w);
            }
            ps_jw_end(w);
        }
        ps_jw_end(w);
    }
    ps_jw_end(w);
}

void ps_report_threads_json(struct ps_jw *w)
{
    uint64_t now = ps_now_ns();
    char name[160];
    ps_jw_arr(w, "threads");
    int hwm = ps_thread_hwm();
    for (int i = 0; i < hwm; i++) {
        struct ps_thread *t = &ps_threads[i];
        if ((t->state != PS_T_LIVE && t->state != PS_T_EXITED) || t->ignore || t->tid <= 0)
            continue;
        uint64_t ns[PS_NCAUSE];
        ps_thread_waits(t, ns);
        ns[PS_RUNQ] += t->runq_ns;
        ps_jw_obj(w, NULL);
        ps_jw_i64(w, "tid", t->tid);
        ps_jw_str(w, "name", t->name);
        if (t->pool >= 0)
            ps_jw_i64(w, "pool", t->pool);
        else
            ps_jw_null(w, "pool");
        if (t->routine) {
            /* its pool's routine was named while its object was loaded */
            if (t->pool >= 0 && t->routine == ps_pools[t->pool].routine)
                ps_fmt(name, sizeof name, "%s", ps_poolname_routine(t->pool));
            else
                ps_symbol_func(t->routine, name, sizeof name);
            ps_jw_str(w, "start_routine", name);
        } else {
            ps_jw_null(w, "start_routine");
        }
        ps_jw_str(w, "state", t->state == PS_T_LIVE ? "live" : "exited");
        ps_jw_dbl(w, "cpu_s", t->cpu_ns * NS);
        ps_jw_dbl(w, "wait_s", sum_causes(ns));
        causes_json(w, ns);
        double W = (ns[PS_IO] + ns[PS_SLEEP]) * NS;
        ps_jw_dbl(w, "w_c", ps_recommend_w_c_shown(W, t->cpu_ns * NS));
        ps_jw_dbl(w, "spin_s", t->spin_ns * NS);
        int64_t tasks = ps_view_thread_tasks(t);
        if (tasks < 0)
            ps_jw_null(w, "tasks");
        else
            ps_jw_i64(w, "tasks", tasks);
        ps_jw_u64(w, "nvcsw", t->nvcsw);
        ps_jw_u64(w, "nivcsw", t->nivcsw);
        uint64_t end = t->state == PS_T_EXITED && t->died_ns ? t->died_ns : now;
        ps_jw_dbl(w, "lifetime_s", end > t->born_ns ? (end - t->born_ns) * NS : 0);
        ps_jw_obj(w, "wrapped");     /* the wrappers' raw spans: wall clock, before the partition */
        for (int c = 0; c < PS_RUNQ; c++) {
            ps_jw_obj(w, ps_cause_name[c]);
            ps_jw_u64(w, "n", t->waits[c]);
            ps_jw_dbl(w, "s", t->wait_ns[c] * NS);
            ps_jw_end(w);
        }
        ps_jw_end(w);
        uint64_t wend = ps_thread_wall_end(t);
        if (wend > t->born_ns) {     /* cpu_s + wait_by_cause + unattributed_s */
            ps_jw_dbl(w, "wall_s", (wend - t->born_ns) * NS);
            ps_jw_dbl(w, "unattributed_s", t->unattributed_ns * NS);
        } else {                     /* never sampled: nothing is known */
            ps_jw_null(w, "wall_s");
            ps_jw_null(w, "unattributed_s");
        }
        ps_jw_end(w);
    }
    ps_jw_end(w);
}

static void sites_json(struct ps_jw *w, const char *key, struct ps_site_count *s)
{
    char sym[384];
    ps_jw_arr(w, key);
    for (int i = 0; i < PS_OBJ_SITES && s[i].site; i++) {
        ps_symbol_string(s[i].site, sym, sizeof sym);
        ps_jw_obj(w, NULL);
        ps_jw_str(w, "site", sym);
        ps_jw_u64(w, "count", s[i].n);
        ps_jw_dbl(w, "wait_s", s[i].wait_ns * NS);
        ps_jw_end(w);
    }
    ps_jw_end(w);
}

static int is_lock(int kind)
{
    return kind == PS_K_MUTEX || kind == PS_K_RWLOCK || kind == PS_K_SPIN || kind == PS_K_FUTEX_LOCK;
}

/* Locks sorted by wait (selection over the table: reports have few entries). */
/* Waits that never ended (a deadlock, a lock held until exit) are the
 * longest of all: each object gets the waits going on now, so that it is
 * listed and ranked with them. */
static void note_open_waits(uint64_t now)
{
    for (int i = ps_obj_next(0); i < PS_MAX_OBJS; i = ps_obj_next(i + 1)) {
        ps_objs[i].open_wait_ns = 0;
        ps_objs[i].open_waiters = 0;
    }
    int hwm = ps_thread_hwm();
    for (int i = 0; i < hwm; i++) {
        struct ps_thread *t = &ps_threads[i];
        uint64_t since = __atomic_load_n(&t->cur_since_ns, __ATOMIC_ACQUIRE);
        if (__atomic_load_n(&t->state, __ATOMIC_ACQUIRE) != PS_T_LIVE || !since || now <= since || !t->cur_obj)
            continue;
        struct ps_obj *o = ps_obj_find(t->cur_obj);
        if (o && o->key == t->cur_obj) {
            o->open_wait_ns += now - since;
            o->open_waiters++;
        }
    }
}

static uint64_t obj_wait(const struct ps_obj *o)
{
    return o->wait_ns + o->open_wait_ns;
}

void ps_report_locks_json(struct ps_jw *w)
{
    char sym[384];
    note_open_waits(ps_now_ns());
    for (int pass = 0; pass < 2; pass++) {
        ps_jw_arr(w, pass ? "waits" : "locks");
        uint64_t prev = UINT64_MAX;
        uintptr_t prev_key = 0;
        for (int emitted = 0; emitted < 200; emitted++) {
            struct ps_obj *best = NULL;
            for (int i = ps_obj_next(0); i < PS_MAX_OBJS; i = ps_obj_next(i + 1)) {
                struct ps_obj *o = &ps_objs[i];
                if (!o->key || o->key == (uintptr_t)-1 || !(o->contended || o->open_waiters) ||
                    is_lock(o->kind) == pass)
                    continue;
                if (obj_wait(o) > prev || (obj_wait(o) == prev && o->key <= prev_key))
                    continue;
                if (!best || obj_wait(o) > obj_wait(best) || (obj_wait(o) == obj_wait(best) && o->key > best->key))
                    best = o;
            }
            if (!best)
                break;
            prev = obj_wait(best);
            prev_key = best->key;
            ps_jw_obj(w, NULL);
            if (best->key >> 63)
                ps_jw_i64(w, "fd", (int)(best->key & 0xffffffff));
            else
                ps_jw_hex(w, "addr", best->key);
            ps_jw_str(w, "kind", ps_kind_name[best->kind]);
            int ts = top_site(best->sites);
            ps_symbol_string(best->sites[ts].site, sym, sizeof sym);
            ps_jw_str(w, "site", best->sites[ts].site ? sym : NULL);
            if (ps_symbol_data((void *)best->key, sym, sizeof sym) && !(best->key >> 63))
                ps_jw_str(w, "name", sym);
            else
                ps_jw_null(w, "name");
            ps_jw_u64(w, "contended", best->contended);
            ps_jw_dbl(w, "wait_s", obj_wait(best) * NS);
            ps_jw_i64(w, "waiting_now", best->open_waiters);
            ps_jw_dbl(w, "max_wait_ms", best->max_wait_ns * 1e-6);
            int pool = ps_obj_pool(best);     /* the pool that waited most, not the first */
            if (pool >= 0)
                ps_jw_i64(w, "waiter_pool", pool);
            else
                ps_jw_null(w, "waiter_pool");
            if (!pass && best->kind == PS_K_FUTEX_LOCK) {
                /* its uncontended takes and releases never enter the kernel */
                ps_jw_null(w, "acquisitions");
                ps_jw_null(w, "hold_s");
                ps_jw_null(w, "owner_site");
                sites_json(w, "owner_sites", best->owner_sites);
            } else if (!pass) {
                ps_jw_u64(w, "acquisitions", best->acquisitions);
                ps_jw_dbl(w, "hold_s", best->hold_ns * NS);
                int os = top_site(best->owner_sites);
                ps_symbol_string(best->owner_sites[os].site, sym, sizeof sym);
                ps_jw_str(w, "owner_site", best->owner_sites[os].site ? sym : NULL);
                sites_json(w, "owner_sites", best->owner_sites);
            } else {
                ps_jw_u64(w, "posts_same_pool", best->posts_same);
                ps_jw_u64(w, "posts_other", best->posts_other);
                /* A pool's wait for work: its idle object, or a polled fd at its
                 * idle site (each worker's epoll fd of its own). Another poll
                 * (a loop in no pool) waits for io, as its threads' causes say. */
                const struct ps_pool *wp = pool >= 0 ? &ps_pools[pool] : NULL;
                void *idle_site = wp ? __atomic_load_n(&wp->idle_site, __ATOMIC_RELAXED) : NULL;
                int role_idle = wp && (wp->idle_obj == best->key ||
                                       (best->kind == PS_K_POLL && idle_site && idle_site == best->sites[ts].site));
                ps_jw_str(w, "role", role_idle ? "idle" : best->kind == PS_K_POLL ? "io" : "contention");
            }
            sites_json(w, "sites", best->sites);
            ps_jw_end(w);
        }
        ps_jw_end(w);
    }
}

static void summary(const char *path)
{
    char line[600], num[6][32];
    ps_log("%s (%s)", path, "run `poolshim report` on it for the full answer");
    if (ps_dump_summary(line, sizeof line))
        ps_log("  %s", line);
    int lone = 0;
    for (int pi = 0; pi < ps_view_last()->npools; pi++) {
        const struct ps_view_pool *v = ps_view_answer(pi);
        if (!v)
            continue;
        const struct ps_pool_totals *t = &v->tot;
        const struct ps_rec_out *ro = &v->rec;
        /* One thread told to stay one has nothing to size: a JVM's
         * service threads, each a pool of its own name, were 18 lines. */
        if (t->threads == 1 && ro->recommended_threads == 1) {
            lone++;
            continue;
        }
        char name[160];
        ps_poolname_label(pi, name, sizeof name);
        ps_fmt_double(num[0], 32, t->cpu_ns * NS, 2);
        uint64_t aside = t->taskless_io_ns + t->taskless_sleep_ns;
        ps_fmt_double(num[1], 32, ps_totals_task_wait_ns(t) * NS, 2);
        char more[80] = "";
        if (aside) {
            ps_fmt_double(num[5], 32, aside * NS, 2);
            ps_fmt(more, sizeof more, " (and %ss in %d thread%s with no task)", num[5], t->taskless,
                   t->taskless > 1 ? "s" : "");
        }
        ps_fmt_double(num[2], 32, (t->wait_ns[PS_LOCK] + t->wait_ns[PS_COND]) * NS, 2);
        if (isnan(ro->w_c_shown))
            ps_fmt(num[3], 32, "-");
        else
            ps_fmt_double(num[3], 32, ro->w_c_shown, 2);
        if (v->tasks_whole)
            ps_fmt(num[4], 32, "%lu", (unsigned long)t->tasks);
        else
            ps_fmt(num[4], 32, "-");
        ps_fmt(line, sizeof line, "  pool %s: %d threads, cpu %ss, io+sleep %ss%s, lock+cond %ss, W/C %s, %s tasks -> %d threads (%s)",
               name, t->threads, num[0], num[1], more, num[2], num[3], num[4],
               ro->recommended_threads, ps_class_name[ro->cls]);
        ps_log("%s", line);
    }
    if (lone)
        ps_log("  and %d single thread%s with nothing to size (in the report)", lone, lone > 1 ? "s" : "");
}

/* interim_stop: NULL at exit, exec or _exit; for a report written while
 * the program runs, the agent's stop word (set once exit has begun). */
static void write_report(const char *why, const int *interim_stop)
{
    static int failed_logged;
    struct ps_jw w;
    ps_jw_init(&w);
    ps_jw_obj(&w, NULL);
    ps_jw_i64(&w, "version", 1);
    ps_jw_str(&w, "kind", "report");
    ps_jw_str(&w, "why", why);
    ps_jw_i64(&w, "pid", getpid());
    ps_jw_i64(&w, "ppid", getppid());
    char exe[256];
    ps_file_self_exe(exe, sizeof exe);
    ps_jw_str(&w, "exe", exe);
    ps_jw_str(&w, "program", ps_file_program());
    ps_jw_i64(&w, "cores", ps_ncores);
    ps_jw_dbl(&w, "cores_usable", ps_cores);
    uint64_t now = ps_now_ns();
    ps_jw_dbl(&w, "duration_s", (now - ps_start_ns) * NS);
    ps_jw_i64(&w, "interval_ms", ps_cfg.interval_ms);
    static const char *const control[] = { "off", "advise", "on" };
    ps_jw_str(&w, "control", control[ps_cfg.control]);
    ps_report_pools_json(&w, 1);
    ps_report_threads_json(&w);
    /* threads that started when every record was taken: unmeasured from their start */
    ps_jw_i64(&w, "threads_unmeasured", __atomic_load_n(&ps_threads_unmeasured, __ATOMIC_RELAXED));
    /* Said in the report, so that `poolshim run` names the report when the
     * summary did not: it is off, or the program closed its stderr before it
     * exited (coreutils' sort and xz do) or put another file there (log.c). */
    int summarize = !interim_stop && (ps_cfg.summary == 1 || (ps_cfg.summary == 2 && ps_thread_any_besides_main())) &&
                    ps_log_reaches_stderr();
    ps_jw_bool(&w, "summary_printed", summarize);
    ps_report_locks_json(&w);
    char profile[640];
    int profiled = ps_cfg.control != PS_CONTROL_OFF && ps_controller_active() && ps_profile_write(profile, sizeof profile);
    ps_report_controller_json(&w, profiled ? profile : NULL);
    ps_dump_report_json(&w);
    if (interim_stop)
        ps_jw_null(&w, "trace");          /* written at exit: none yet */
    else
        ps_trace_report_json(&w);
    ps_jw_end(&w);
    char name[64];
    ps_fmt(name, sizeof name, "poolshim.%d.json", (int)getpid());
    /* An interim report never replaces the final one: exit stops the agent
     * (and waits for this write) before it writes its own. */
    if (interim_stop && __atomic_load_n(interim_stop, __ATOMIC_ACQUIRE)) {
        ps_jw_free(&w);
        return;
    }
    int r = w.err ? -12 : ps_file_write_atomic(ps_cfg.dir, name, w.buf, w.len);
    if (r)
        ps_log_once(&failed_logged, "cannot write %s/%s (errno %d): no report", ps_cfg.dir, name, -r);
    else if (summarize) {
        char path[640];
        ps_fmt(path, sizeof path, "%s/%s", ps_cfg.dir, name);
        summary(path);
    }
    ps_jw_free(&w);
    if (!interim_stop)
        ps_history_append();             /* this run's sizes, for the command's next run */
}

void ps_report_write(const char *why)
{
    write_report(why, NULL);
}

/* The first a quarter of a second after the start, then at gaps that
 * double up to 30 s (a server killed after an hour loses at most its last
 * 30 s), and never more than 1 % of the time (its wall time, as a dump's:
 * on a loaded machine that overstates it, which only spaces them out): a
 * process of thousands of threads writes a report of megabytes. A process
 * that ran only its main thread gets none: nothing in it to size, and a
 * shell's children would litter. */
#define PS_INTERIM_FIRST_NS 250000000ull
#define PS_INTERIM_MAX_GAP_NS 30000000000ull
uint64_t ps_report_interim_tick(uint64_t now, const int *stopping)
{
    static uint64_t due, gap, start;
    if (!ps_cfg.report)
        return 0;
    if (start != ps_start_ns) {           /* the first tick, or a forked child's */
        start = ps_start_ns;
        gap = PS_INTERIM_FIRST_NS;
        due = start + gap;
    }
    if (now < due || !ps_thread_any_besides_main())
        return 0;
    uint64_t t0 = ps_now_ns();
    write_report("running", stopping);
    uint64_t cost = ps_ns_since(t0, ps_now_ns());
    gap = gap * 2 < PS_INTERIM_MAX_GAP_NS ? gap * 2 : PS_INTERIM_MAX_GAP_NS;
    if (gap < cost * 100)
        gap = cost * 100;
    due = now + gap;
    return cost;
}
