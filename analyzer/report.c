/* report.c: builds the answer of `poolshim report` from a checked document
 * (see report.h). Every number in the answer is either copied from the file
 * or derived here from numbers in the file (rates, shares, series), so the
 * renderers never compute anything the --json output does not show. */
#include "report.h"
#include "jget.h"
#include "timeline.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *const an_causes[6] = { "io", "sleep", "lock", "cond", "idle", "runqueue" };

static void set(json_t *o, const char *k, json_t *v) { json_object_set_new(o, k, v); }

static json_t *wait_by_cause(const json_t *p)
{
    json_t *w = json_object(), *src = an_obj(p, "wait_by_cause");
    for (int i = 0; i < 6; i++) set(w, an_causes[i], an_jnum(an_num(src, an_causes[i])));
    return w;
}

/* Up to max entries of a sites[] array, most wait first as the file orders them. */
static json_t *top_sites(const json_t *lock, const char *key, int max)
{
    json_t *out = json_array(), *a = an_arr(lock, key), *e;
    size_t i;
    json_array_foreach(a, i, e) {
        if ((int)i >= max) break;
        if (!json_is_object(e)) continue;
        json_t *s = json_object();
        an_copy_scalar(s, e, "site");
        set(s, "count", an_jnum(an_num(e, "count")));
        set(s, "wait_s", an_jnum(an_num(e, "wait_s")));
        json_array_append_new(out, s);
    }
    return out;
}

static json_t *lock_answer(const json_t *l)
{
    json_t *o = json_object();
    static const char *const scalars[] = { "addr", "name", "kind", "site", "owner_site", "waiter_pool" };
    for (size_t i = 0; i < sizeof scalars / sizeof *scalars; i++) an_copy_scalar(o, l, scalars[i]);
    static const char *const nums[] = { "wait_s", "contended", "acquisitions", "max_wait_ms", "hold_s",
                                        "waiting_now" };
    for (size_t i = 0; i < sizeof nums / sizeof *nums; i++) set(o, nums[i], an_jnum(an_num(l, nums[i])));
    set(o, "sites", top_sites(l, "sites", 3));
    set(o, "owner_sites", top_sites(l, "owner_sites", 16));    /* every one the file has */
    return o;
}

static int by_wait_desc(const void *a, const void *b)
{
    double x = an_num(*(json_t *const *)a, "wait_s"), y = an_num(*(json_t *const *)b, "wait_s");
    if (isnan(x)) x = -1;
    if (isnan(y)) y = -1;
    return (x < y) - (x > y);
}

/* Locks sorted by wait (the file says "most wait first", but we do not rely on it);
 * pool >= 0 keeps only locks whose waiters are in that pool. */
static json_t *locks_answer(const json_t *root, long long pool, int max)
{
    json_t *a = an_arr(root, "locks"), *e, *out = json_array();
    size_t n = a ? json_array_size(a) : 0, k = 0, i;
    json_t **v = calloc(n ? n : 1, sizeof *v);
    if (!v) return out;
    json_array_foreach(a, i, e)
        if (json_is_object(e) && (pool < 0 || an_int(e, "waiter_pool", -2) == pool)) v[k++] = e;
    qsort(v, k, sizeof *v, by_wait_desc);
    for (i = 0; i < k && (int)i < max; i++) json_array_append_new(out, lock_answer(v[i]));
    free(v);
    return out;
}

/* Rates between history ticks: tasks/s and W/C of each interval. */
static json_t *series(const json_t *p)
{
    json_t *h = an_arr(p, "history"), *s = json_object();
    json_t *t = json_array(), *thr = json_array(), *busy = json_array(), *lim = json_array(),
           *tps = json_array(), *wc = json_array(), *queue = json_array();
    const json_t *prev = NULL, *e;
    size_t i;
    json_array_foreach(h, i, e) {
        if (!json_is_object(e)) continue;
        json_array_append_new(t, an_jnum(an_num(e, "t_s")));
        json_array_append_new(thr, an_jnum(an_num(e, "threads")));
        json_array_append_new(busy, an_jnum(an_num(e, "busy")));
        json_array_append_new(lim, an_jnum(an_num(e, "limit")));
        json_array_append_new(queue, an_jnum(an_num(e, "queue")));
        double r = NAN, w = NAN;
        if (prev) {
            double dt = an_num(e, "t_s") - an_num(prev, "t_s");
            double dtask = an_num(e, "tasks") - an_num(prev, "tasks");
            double dcpu = an_num(e, "cpu_s") - an_num(prev, "cpu_s");
            /* W as the shim's W/C counts it: taskless threads' waits left out
             * (task_wait_s; older reports have io and sleep only) */
            double dw = isfinite(an_num(e, "task_wait_s")) && isfinite(an_num(prev, "task_wait_s"))
                            ? an_num(e, "task_wait_s") - an_num(prev, "task_wait_s")
                            : an_num(e, "io_s") + an_num(e, "sleep_s") - an_num(prev, "io_s") - an_num(prev, "sleep_s");
            if (dt > 0 && dtask >= 0) r = dtask / dt;
            if (dcpu > 1e-4 && dw >= 0) w = dw / dcpu;
        }
        json_array_append_new(tps, an_jnum(r));
        json_array_append_new(wc, an_jnum(w));
        prev = e;
    }
    set(s, "t_s", t);
    set(s, "threads", thr);
    set(s, "busy", busy);
    set(s, "limit", lim);
    set(s, "queue", queue);
    set(s, "tasks_per_s", tps);
    set(s, "w_c", wc);
    return s;
}

static int close_to(double got, double want)
{
    return isfinite(got) && isfinite(want) && fabs(got - want) <= 0.02 * fabs(want) + 0.01;
}

/* The inputs of each bound, only when they reproduce the file's number: the
 * text then shows the formula, and never a formula that does not hold. */
static void evidence(json_t *rec, const json_t *p, const json_t *root)
{
    double cores = isfinite(an_num(p, "model_cores")) ? an_num(p, "model_cores") : an_num(root, "cores"),
           wc = an_num(p, "w_c");
    if (close_to(cores * (1 + wc), an_num(p, "goetz_threads")))
        set(rec, "goetz_inputs", json_pack("{s:o, s:o}", "cores", an_jnum(cores), "w_c", an_jnum(wc)));
    const json_t *w = an_obj(p, "wait_by_cause"), *tc = an_obj(p, "top_contention");
    double work = an_num(p, "cpu_s") + an_num(w, "io") + an_num(w, "sleep"), hold = an_num(tc, "hold_s");
    if (an_num(p, "taskless_wait_s") > 0)
        work -= an_num(p, "taskless_wait_s");    /* as the shim's bottleneck counts it */
    if (hold > 0 && close_to(work / hold, an_num(p, "bottleneck_threads")))
        set(rec, "bottleneck_inputs", json_pack("{s:o, s:o, s:s?}", "work_s", an_jnum(work), "hold_s", an_jnum(hold),
                                                "object", an_str(tc, "addr")));
}

json_t *an_pool_answer(const json_t *p, const json_t *root)
{
    json_t *o = json_object();
    static const char *const scalars[] = { "id", "name", "start_routine", "entry", "name_prefix", "classification",
                                           "tasks_unknown_why" };
    for (size_t i = 0; i < sizeof scalars / sizeof *scalars; i++) an_copy_scalar(o, p, scalars[i]);
    static const char *const nums[] = { "threads", "threads_live", "cpu_s", "wait_s", "spin_s", "w_c",
        "tasks", "task_latency_ms", "cpu_per_task_ms", "submissions", "queue_estimate", "wall_s",
        "effective_parallelism", "limit", "nvcsw", "nivcsw", "taskless_threads", "taskless_wait_s" };
    for (size_t i = 0; i < sizeof nums / sizeof *nums; i++) set(o, nums[i], an_jnum(an_num(p, nums[i])));
    set(o, "wait_by_cause", wait_by_cause(p));
    double tasks = an_num(p, "tasks"), wall = an_num(p, "wall_s");
    set(o, "tasks_per_s", an_jnum(wall > 0 ? tasks / wall : NAN));
    json_t *iw = an_obj(p, "idle_wait");
    if (iw) {
        json_t *w = json_object();
        an_copy_scalar(w, iw, "kind");
        an_copy_scalar(w, iw, "object");
        an_copy_scalar(w, iw, "queue_mutex");
        an_copy_scalar(w, iw, "twins");        /* absent in reports older than it */
        an_copy_scalar(w, iw, "one_waiter");
        an_copy_scalar(w, iw, "twin_site");
        set(o, "idle_wait", w);
    } else {
        set(o, "idle_wait", json_null());
    }
    json_t *rec = json_object();
    set(rec, "threads", an_jnum(an_num(p, "recommended_threads")));
    set(rec, "processes", an_jnum(an_num(p, "recommended_processes")));
    set(rec, "current_threads", an_jnum(an_num(p, "threads")));
    an_copy_scalar(rec, p, "reason");
    set(rec, "goetz_threads", an_jnum(an_num(p, "goetz_threads")));
    set(rec, "bottleneck_threads", an_jnum(an_num(p, "bottleneck_threads")));
    set(rec, "cores", an_jnum(an_num(root, "cores")));
    json_t *tc = an_obj(p, "top_contention");
    if (tc) {
        json_t *c = json_object();
        an_copy_scalar(c, tc, "addr");
        an_copy_scalar(c, tc, "kind");
        an_copy_scalar(c, tc, "site");
        set(c, "wait_s", an_jnum(an_num(tc, "wait_s")));
        set(c, "hold_s", an_jnum(an_num(tc, "hold_s")));
        set(rec, "top_contention", c);
    }
    evidence(rec, p, root);
    set(o, "recommendation", rec);
    long long id = an_int(p, "id", -1);
    set(o, "locks", locks_answer(root, id < 0 ? -3 : id, 3));
    set(o, "series", series(p));
    return o;
}

/* Per thread: who it is and where its time went (the page's flame graph). */
static json_t *threads_answer(const json_t *r)
{
    json_t *out = json_array(), *t;
    size_t i;
    json_array_foreach(an_arr(r, "threads"), i, t) {
        if (!json_is_object(t)) continue;
        json_t *o = json_object();
        set(o, "tid", an_jnum(an_num(t, "tid")));
        an_copy_scalar(o, t, "name");
        an_copy_scalar(o, t, "pool");
        set(o, "cpu_s", an_jnum(an_num(t, "cpu_s")));
        set(o, "wall_s", an_jnum(an_num(t, "wall_s")));
        set(o, "wait_by_cause", wait_by_cause(t));
        json_array_append_new(out, o);
    }
    return out;
}

json_t *an_report_answer(const struct an_doc *doc)
{
    const json_t *r = doc->root;
    json_t *o = json_object();
    set(o, "file", json_string(doc->path ? doc->path : "-"));
    set(o, "kind", json_string(doc->kind == AN_DUMP ? "dump" : "report"));
    set(o, "version", json_integer(doc->version));
    static const char *const scalars[] = { "pid", "exe", "program", "why", "control" };
    for (size_t i = 0; i < sizeof scalars / sizeof *scalars; i++) an_copy_scalar(o, r, scalars[i]);
    set(o, "cores", an_jnum(an_num(r, "cores")));
    set(o, "duration_s", an_jnum(an_num(r, doc->kind == AN_DUMP ? "time_s" : "duration_s")));
    json_t *pools = json_array(), *e;
    size_t i;
    json_array_foreach(an_arr(r, "pools"), i, e)
        if (json_is_object(e)) json_array_append_new(pools, an_pool_answer(e, r));
    set(o, "pools", pools);
    set(o, "locks", locks_answer(r, -1, 10));
    set(o, "threads", threads_answer(r));
    /* the trace file (POOLSHIM_TRACE=on) beside the report, for the page's timeline */
    char *tp = an_trace_path(doc->path, r);
    if (tp) set(o, "trace_file", json_string(tp));
    free(tp);
    json_t *ctl = json_object_get(r, "controller");
    if (ctl && !json_is_null(ctl)) set(o, "controller", json_deep_copy(ctl));
    json_t *dl = json_object_get(r, "deadlock"), *dumps = json_object_get(r, "dumps");
    if (json_is_object(dl)) set(o, "deadlock", json_deep_copy(dl));
    if (json_is_array(dumps) && json_array_size(dumps)) set(o, "dumps", json_deep_copy(dumps));
    return o;
}
