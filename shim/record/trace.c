/* trace.c: the timeline's rings and the trace file (see trace.h for what is
 * recorded and who writes what).
 * Memory: a thread's ring is one anonymous MAP_NORESERVE mapping made when
 * its record is claimed (a slow path that already runs once per thread), so
 * recording never allocates and its pages are touched only as slices come.
 * A ring is never unmapped: a reused record keeps it, emptied.
 * Reading: a ring's writer may run while ps_trace_write copies it (a dump, a
 * thread still alive at exit). Counts are published with release after the
 * entry is written; the reader takes the count before and after copying and
 * keeps only entries the writer cannot have reached meanwhile. */
#include "table.h"
#include "trace.h"
#include "clock.h"
#include "config.h"
#include "file.h"
#include "jsonw.h"
#include "log.h"
#include "pool.h"
#include "thread.h"
#include <errno.h>
#include <string.h>
#include <unistd.h>

#define POOL_SAMPLES 8192        /* per pool, as many as a thread's samples */

static int on;
static uint32_t ev_cap;          /* POOLSHIM_TRACE_EVENTS rounded down to a power of two */
static struct ps_pool_sample *pool_ring[PS_MAX_POOLS];   /* agent only */

int ps_trace_init(void)
{
    on = ps_cfg.trace;
    ev_cap = 1;
    while (ev_cap * 2 <= (uint32_t)ps_cfg.trace_events)
        ev_cap *= 2;
    return 0;
}

struct ps_trace_ring *ps_trace_ring_for(struct ps_trace_ring *old)
{
    static int logged;
    if (!on)
        return NULL;
    struct ps_trace_ring *r = old;
    if (!r) {
        int saved = errno;
        r = ps_table_map(sizeof *r + (size_t)ev_cap * sizeof r->ev[0]);
        if (!r)
            ps_log_once(&logged, "POOLSHIM_TRACE: cannot map a thread's ring (errno %d): "
                        "threads from here on are not traced", errno);
        errno = saved;
        if (!r)
            return NULL;
        r->cap = ev_cap;
    }
    __atomic_store_n(&r->ev_n, 0, __ATOMIC_RELEASE);
    __atomic_store_n(&r->smp_n, 0, __ATOMIC_RELEASE);
    return r;
}

uint64_t ps_trace_span(struct ps_thread *t, uint64_t t0_ns, uint64_t dt_ns, int cause)
{
    struct ps_trace_ring *r = t->trace;
    uint64_t n = r->ev_n;
    struct ps_trace_ev *e = &r->ev[n & (r->cap - 1)];
    e->t0_ns = t0_ns;
    e->t1_ns = t0_ns + dt_ns;
    e->obj = t->cur_obj;
    e->what = (uint32_t)cause | (uint32_t)t->cur_kind << 8 |
              (__atomic_load_n(&t->throttled, __ATOMIC_RELAXED) ? PS_TRACE_PARKED : 0);
    __atomic_store_n(&r->ev_n, n + 1, __ATOMIC_RELEASE);
    t->cur_kind = PS_K_NONE;
    return dt_ns;
}

void ps_trace_sample(struct ps_thread *t, uint64_t now_ns)
{
    struct ps_trace_ring *r = t->trace;
    if (!r)
        return;
    uint64_t n = r->smp_n;
    struct ps_trace_smp *s = &r->smp[n % PS_TRACE_SAMPLES];
    s->t_ns = now_ns;
    s->cpu_ns = __atomic_load_n(&t->cpu_ns, __ATOMIC_RELAXED);
    s->runq_ns = __atomic_load_n(&t->runq_ns, __ATOMIC_RELAXED);
    __atomic_store_n(&r->smp_n, n + 1, __ATOMIC_RELEASE);
}

void ps_trace_pool_sample(int pi, uint32_t n, const struct ps_pool_sample *s)
{
    static int logged;
    if (!on || pi < 0 || pi >= PS_MAX_POOLS)
        return;
    if (!pool_ring[pi] && !(pool_ring[pi] = ps_table_map(sizeof(struct ps_pool_sample) * POOL_SAMPLES))) {
        ps_log_once(&logged, "POOLSHIM_TRACE: cannot map a pool's history ring: its counters are not traced");
        return;
    }
    pool_ring[pi][n % POOL_SAMPLES] = *s;
}

static void trace_name(char *buf, size_t n)
{
    ps_fmt(buf, n, "poolshim.%d.trace.json", (int)getpid());
}

void ps_trace_report_json(struct ps_jw *w)
{
    char name[64];
    if (!on) {
        ps_jw_null(w, "trace");
        return;
    }
    trace_name(name, sizeof name);
    ps_jw_str(w, "trace", name);
}

/* Nanoseconds since the shim started: the report's t_s, in ns. */
static int64_t rel(uint64_t ns)
{
    return (int64_t)(ns - ps_start_ns);
}

static void events_json(struct ps_jw *w, struct ps_trace_ring *r)
{
    uint64_t n1 = __atomic_load_n(&r->ev_n, __ATOMIC_ACQUIRE), from = n1 > r->cap ? n1 - r->cap : 0;
    uint64_t first = from;
    ps_jw_arr(w, "ev");
    for (uint64_t i = from; i < n1; i++) {
        struct ps_trace_ev e = r->ev[i & (r->cap - 1)];
        /* The owner may have lapped the ring while we copied: an entry it can
         * have rewritten (index <= count now - cap) is dropped. */
        uint64_t n2 = __atomic_load_n(&r->ev_n, __ATOMIC_ACQUIRE);
        if (n2 >= r->cap && i <= n2 - r->cap) {
            first = i + 1;
            continue;
        }
        ps_jw_arr(w, NULL);
        ps_jw_i64(w, NULL, rel(e.t0_ns));
        ps_jw_i64(w, NULL, rel(e.t1_ns));
        ps_jw_u64(w, NULL, e.what);
        ps_jw_i64(w, NULL, (int64_t)e.obj);     /* an fd's key has bit 63 set: JSON readers take int64 */
        ps_jw_end(w);
    }
    ps_jw_end(w);
    ps_jw_u64(w, "events_lost", first);
}

static void samples_json(struct ps_jw *w, struct ps_trace_ring *r)
{
    uint64_t n = __atomic_load_n(&r->smp_n, __ATOMIC_ACQUIRE), from = n > PS_TRACE_SAMPLES ? n - PS_TRACE_SAMPLES : 0;
    ps_jw_arr(w, "smp");
    for (uint64_t i = from; i < n; i++) {
        const struct ps_trace_smp *s = &r->smp[i % PS_TRACE_SAMPLES];
        ps_jw_arr(w, NULL);
        ps_jw_i64(w, NULL, rel(s->t_ns));
        ps_jw_u64(w, NULL, s->cpu_ns);
        ps_jw_u64(w, NULL, s->runq_ns);
        ps_jw_end(w);
    }
    ps_jw_end(w);
    ps_jw_u64(w, "samples_lost", from);
}

static void thread_json(struct ps_jw *w, struct ps_thread *t)
{
    struct ps_trace_ring *r = t->trace;
    ps_jw_obj(w, NULL);
    ps_jw_i64(w, "tid", t->tid);
    ps_jw_str(w, "name", t->name);
    ps_jw_i64(w, "pool", t->pool);
    int exited = __atomic_load_n(&t->state, __ATOMIC_ACQUIRE) == PS_T_EXITED;
    ps_jw_bool(w, "exited", exited);
    ps_jw_i64(w, "born_ns", rel(t->born_ns));
    /* the end of its measured wall time, as the report's wall_s has it */
    ps_jw_i64(w, "end_ns", rel(ps_thread_wall_end(t)));
    ps_jw_u64(w, "cpu_ns", __atomic_load_n(&t->cpu_ns, __ATOMIC_RELAXED));
    ps_jw_u64(w, "runq_ns", __atomic_load_n(&t->runq_ns, __ATOMIC_RELAXED));
    events_json(w, r);
    uint64_t since = __atomic_load_n(&t->cur_since_ns, __ATOMIC_ACQUIRE);
    int kind = t->cur_kind;
    if (since && kind != PS_K_NONE && !exited) {     /* blocked in a wait right now */
        ps_jw_arr(w, "open");
        ps_jw_i64(w, NULL, rel(since));
        ps_jw_u64(w, NULL, (uint32_t)t->cur_cause | (uint32_t)kind << 8 |
                          (__atomic_load_n(&t->throttled, __ATOMIC_RELAXED) ? PS_TRACE_PARKED : 0));
        ps_jw_i64(w, NULL, (int64_t)t->cur_obj);
        ps_jw_end(w);
    } else {
        ps_jw_null(w, "open");
    }
    samples_json(w, r);
    ps_jw_end(w);
}

static void pools_json(struct ps_jw *w)
{
    ps_jw_arr(w, "pools");
    for (int pi = 0; pi < PS_MAX_POOLS && ps_pools; pi++) {
        struct ps_pool *p = &ps_pools[pi];
        if (__atomic_load_n(&p->used, __ATOMIC_ACQUIRE) != 2)
            break;
        if (!pool_ring[pi])
            continue;
        uint32_t n = __atomic_load_n(&p->hist_n, __ATOMIC_ACQUIRE), from = n > POOL_SAMPLES ? n - POOL_SAMPLES : 0;
        ps_jw_obj(w, NULL);
        ps_jw_i64(w, "id", pi);
        ps_jw_u64(w, "samples_lost", from);
        ps_jw_arr(w, "history");   /* [t_ns, threads, busy, idle, parked, limit, tasks, queue] */
        for (uint32_t k = from; k < n; k++) {
            const struct ps_pool_sample *s = &pool_ring[pi][k % POOL_SAMPLES];
            ps_jw_arr(w, NULL);
            ps_jw_i64(w, NULL, rel(s->t_ns));
            ps_jw_u64(w, NULL, s->threads);
            ps_jw_u64(w, NULL, s->busy);
            ps_jw_u64(w, NULL, s->idle);
            ps_jw_u64(w, NULL, s->parked);
            ps_jw_u64(w, NULL, s->limit);
            ps_jw_u64(w, NULL, s->tasks);
            ps_jw_u64(w, NULL, s->queue);
            ps_jw_end(w);
        }
        ps_jw_end(w);
        ps_jw_end(w);
    }
    ps_jw_end(w);
}

void ps_trace_write(void)
{
    static int failed_logged;
    if (!on || !ps_threads)
        return;
    struct ps_jw w;
    ps_jw_init(&w);
    ps_jw_obj(&w, NULL);
    ps_jw_i64(&w, "version", 1);
    ps_jw_str(&w, "kind", "trace");
    ps_jw_i64(&w, "pid", getpid());
    ps_jw_i64(&w, "written_ns", rel(ps_now_ns()));
    ps_jw_i64(&w, "interval_ms", ps_cfg.interval_ms);
    ps_jw_arr(&w, "causes");
    for (int c = 0; c < PS_NCAUSE; c++)
        ps_jw_str(&w, NULL, ps_cause_name[c]);
    ps_jw_end(&w);
    ps_jw_arr(&w, "kinds");
    for (int k = 0; k < PS_K_NKINDS; k++)
        ps_jw_str(&w, NULL, ps_kind_name[k]);
    ps_jw_end(&w);
    ps_jw_arr(&w, "threads");
    int hwm = ps_thread_hwm();
    for (int i = 0; i < hwm; i++) {
        struct ps_thread *t = &ps_threads[i];
        int st = __atomic_load_n(&t->state, __ATOMIC_ACQUIRE);
        if ((st != PS_T_LIVE && st != PS_T_EXITED) || t->ignore || t->tid <= 0 || !t->trace)
            continue;
        thread_json(&w, t);
    }
    ps_jw_end(&w);
    pools_json(&w);
    ps_jw_end(&w);
    char name[64];
    trace_name(name, sizeof name);
    int r = w.err ? -12 : ps_file_write_atomic(ps_cfg.dir, name, w.buf, w.len);
    if (r)
        ps_log_once(&failed_logged, "cannot write %s/%s (errno %d): no trace", ps_cfg.dir, name, -r);
    ps_jw_free(&w);
}
