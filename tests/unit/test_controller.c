/* Unit tests for shim/control/controller.c: the control law in simulated time.
 * A test owns a clock and one pool whose throughput (and CPU, waits, run-queue
 * delay) is a known function of the number of workers running, the size the
 * controller sets: live threads (grown by the real ps_expand_start, which
 * starts threads that return at once) minus those parked (the limit it set;
 * simulated workers park at their next safe point, i.e. by the next tick).
 * Each tick appends one history sample (100 ms), calls ps_controller_tick and
 * applies its decision. Decisions are read back from the controller's own
 * report JSON (ps_report_controller_json), as the analyzer reads them.
 * Criterion runs each test in its own process, so every test starts with a
 * fresh controller (it resets on its first tick). No sleeping: the suite runs
 * in a few tens of ms. CTL_TRACE=1 prints each test's sizes over time and its
 * decisions (to see what the law did when a bound fails). */
#include <criterion/criterion.h>
#include <jansson.h>
#include <string.h>
#include "capture.h"
#include "clock.h"
#include "config.h"
#include "cores.h"
#include "controller.h"
#include "expand.h"
#include "jsonw.h"
#include "pool.h"
#include "real.h"
#include "report.h"
#include "syncobj.h"
#include "thread.h"
#include "throttle.h"
#include "view.h"
#include "machine.h"

/* What the controller is given each tick: the simulated pool as the agent's
 * view would show it (sample()). The controller reads nothing else of it. */
static struct ps_view View;

/* The machine the watchdog sees: these tests link this in place of
 * shim/machine.o (Makefile, UNIT_OBJ), so the library holds no test seam. */
static double idle_cores;
static int idle_left_by_pool;   /* the machine's idle cores are those its running workers leave */
static int sim_running(void);
double ps_machine_idle_cores(uint64_t now_ns)
{
    (void)now_ns;
    if (idle_left_by_pool)
        return sim_running() < 2 ? 2 - sim_running() : 0;
    return idle_cores;
}
static void set_idle_cores(double cores)
{
    idle_cores = cores;
}

/* The throttle: pools simulated without threads have nobody to park, so the
 * simulation sets how many of its workers would be parked at their next safe
 * point (at_mutex of them at the queue mutex), and a limit is the pool's
 * field the real throttle sets. */
static int fake_parked[PS_MAX_POOLS], fake_parked_mutex[PS_MAX_POOLS];
static void set_parked(int pi, int n, int at_mutex)
{
    fake_parked[pi] = n;
    fake_parked_mutex[pi] = at_mutex;
}
static int fake_limit[PS_MAX_POOLS];
void ps_throttle_set_limit(int pi, int limit) { fake_limit[pi] = limit; }
int ps_throttle_parked(int pi) { return fake_parked[pi]; }
int ps_throttle_parked_at_mutex(int pi) { return fake_parked_mutex[pi]; }
int ps_throttle_live(int pi) { return View.pool[pi].live; }
void ps_throttle_release_all(int pi) { (void)pi; }
void ps_throttle_release_at_mutex(int pi) { (void)pi; }
void ps_throttle_park(struct ps_thread *t, struct ps_pool *p, int at_mutex) { (void)t, (void)p, (void)at_mutex; }
void ps_throttle_on_broadcast(uintptr_t cond) { (void)cond; }
void ps_throttle_on_thread_exit(struct ps_thread *t) { (void)t; }
void ps_throttle_on_join(pthread_t th) { (void)th; }
void ps_throttle_shutdown(void) {}
void ps_throttle_reset(void) { memset(fake_parked, 0, sizeof fake_parked); memset(fake_parked_mutex, 0, sizeof fake_parked_mutex); }
void ps_throttle_tick(void) {}
static int fake_contended[PS_MAX_POOLS];
void ps_throttle_allow_contended(int pi, int on) { fake_contended[pi] = on; }
int ps_throttle_contended_allowed(int pi) { return fake_contended[pi]; }
void ps_throttle_park_contended(struct ps_thread *t, struct ps_pool *p) { (void)t, (void)p; }
static int fake_idle_only[PS_MAX_POOLS];
void ps_throttle_idle_only(int pi, int on) { fake_idle_only[pi] = on; }

#define TICK_NS 100000000ull
#define T0 (10 * 1000000000ull)
#define MAX_TICKS 1200

/* Per second, for n workers running: what the pool does. */
struct rates {
    double tasks, cpu, io, lock, runq, cond;
    double top_wait, top_hold;          /* the one contended mutex (serialized case) */
};
typedef void (*law_fn)(int n, struct rates *r);

static struct sim {
    int pi;
    uint64_t now;
    int live, running, added_seen, ticks;
    law_fn law;
    double noise;                       /* relative amplitude of seeded uniform noise */
    double work;                        /* work per task, x (a load shift), 1 by default */
    uint64_t rng;
    double tasks, cpu, io, lock, runq, cond, top_wait, top_hold;
    uintptr_t top_key;                  /* the one contended mutex, 0 none */
    /* what the watchdog reads (0 unless a test sets them): running workers
     * waiting for work, the queue estimate, submissions and completed
     * wrapped calls so far and their rates per second */
    int idle_running, at_mutex;         /* at_mutex: of the parked, how many at the queue mutex */
    double queue, subs, subs_rate, calls, calls_rate;
    double other_cpu, other_cpu_s;      /* a thread outside the pool: cores, and its CPU so far */
    /* threads the program starts itself, one a tick while grow_ticks lasts,
     * each running fresh_ticks before it reaches a safe point and parks
     * (CPython's executor starting threads after a throttle) */
    int grow_ticks, fresh_ticks, fresh_left[MAX_TICKS], nfresh;
    int trace[MAX_TICKS];               /* workers running after each tick */
    int max_live;
    char dir[64];
} S;

static int sim_running(void)
{
    return S.running;
}

static double rnd(void)
{
    S.rng ^= S.rng << 13;               /* xorshift64: same sequence every run */
    S.rng ^= S.rng >> 7;
    S.rng ^= S.rng << 17;
    return (double)(S.rng >> 11) / (double)(1ull << 53);
}

/* The process's CPU, which only the view reads (the controller reads the
 * view's other_cores, which sample() sets): the simulated pool's and a
 * thread outside every pool, plus what a test of the view says the rest of
 * the process used (tables.h). */
double ut_process_cpu_s;
uint64_t ps_machine_process_cpu_ns(void)
{
    return (uint64_t)((S.cpu + S.other_cpu_s + ut_process_cpu_s) * 1e9);
}

/* This tick's view of the simulated pool, as the agent's would be. */
static void sample(void)
{
    struct ps_view_pool *p = &View.pool[S.pi];
    View.npools = S.pi + 1;
    View.t_ns = S.now;
    View.other_cores = S.now > T0 ? S.other_cpu : -1;   /* the view's: none before its second tick */
    p->ok = p->has_routine = 1;
    p->prev = p->last;
    struct ps_pool_sample *h = &p->last;
    memset(h, 0, sizeof *h);
    h->t_ns = S.now;
    h->threads = (uint32_t)S.live;
    h->busy = (uint32_t)S.running;
    h->limit = (uint32_t)fake_limit[S.pi];
    h->tasks = (uint64_t)S.tasks;
    h->cpu_ns = (uint64_t)(S.cpu * 1e9);
    h->io_ns = (uint64_t)(S.io * 1e9);
    h->task_wait_ns = h->io_ns;          /* io + sleep of the threads that took tasks: all of them here */
    h->lock_ns = (uint64_t)(S.lock * 1e9);
    h->runq_ns = (uint64_t)(S.runq * 1e9);
    h->cond_ns = (uint64_t)(S.cond * 1e9);
    p->live = S.live;
    p->idle = S.idle_running < S.running ? S.idle_running : S.running;
    p->busy = S.running - p->idle;
    p->parked = S.live - S.running;
    p->limit = fake_limit[S.pi];
    p->queue = (uint64_t)S.queue;
    p->submissions = (uint64_t)S.subs;
    p->calls = (uint64_t)S.calls;
    p->top_key = S.top_key;
    p->top_wait_ns = S.top_key ? (uint64_t)(S.top_wait * 1e9) : 0;
    p->top_hold_ns = S.top_key ? (uint64_t)(S.top_hold * 1e9) : 0;
    p->hist_n++;
}

void *ctl_test_worker(void *arg);
void *ctl_test_worker(void *arg)
{
    return arg;                         /* a started worker leaves at once: the sim counts it */
}

/* A pool of `threads` workers of ctl_test_worker, idle wait known (so it can
 * be parked), expandable if asked. */
static void setup(law_fn law, int threads, int expandable, double noise)
{
    memset(&S, 0, sizeof S);
    ps_config_defaults(&ps_cfg);
    ps_cfg.control = PS_CONTROL_ON;
    ps_mkscratch(S.dir);                /* the report may write a profile there */
    strcpy(ps_cfg.dir, S.dir);
    if (expandable)
        strcpy(ps_cfg.expand, "ctl_test_worker");
    ps_real_init();                     /* the throttle wakes parked workers through ps_real_syscall */
    set_idle_cores(0);   /* a busy machine unless a test says otherwise */
    ps_ncores = 2;
    ps_cores = 2;
    ps_start_ns = T0;
    cr_assert_eq(ps_pool_table_init(), 0);
    cr_assert_eq(ps_thread_table_init(), 0);
    cr_assert_eq(ps_obj_table_init(), 0);
    S.pi = ps_pool_get((void *)ctl_test_worker, NULL, "worker");
    cr_assert_eq(S.pi, 0);
    memset(&View, 0, sizeof View);
    View.pool[S.pi].idle_obj = 0x5000;  /* its wait for work is known */
    /* The template ps_expand_start copies: a live worker of the pool (this
     * thread's tid, for its signal mask). */
    struct ps_thread *t = &ps_threads[0];
    t->state = PS_T_LIVE;
    t->tid = ps_gettid();
    t->pool = S.pi;
    t->via_create = 1;
    t->routine = (void *)ctl_test_worker;
    ps_threads_hwm = 1;
    S.law = law;
    S.noise = noise;
    S.work = 1;
    S.rng = 0x9E3779B97F4A7C15ull;
    S.live = S.running = S.max_live = threads;
    S.now = T0;
    sample();                           /* the history's first sample: zeros at T0 */
}

static json_t *report(void);
static json_t *decisions(json_t *rep);
static int size_changes(void);
static const char *trace_str(void);
static int dint(json_t *d, const char *k);
static void teardown(void)
{
    if (getenv("CTL_TRACE")) {
        fprintf(stderr, "TRACE %s\n", trace_str());
        json_t *r = report();
        size_t i; json_t *d;
        json_array_foreach(decisions(r), i, d)
            fprintf(stderr, "  %.1f %s %d->%d %s\n", json_number_value(json_object_get(d, "t_s")),
                    json_string_value(json_object_get(d, "action")), dint(d, "from"), dint(d, "to"),
                    json_string_value(json_object_get(d, "reason")));
    }
    ps_rmscratch(S.dir);
    idle_left_by_pool = 0;
}

static void tick(void)
{
    struct rates r = { 0 };
    S.law(S.running, &r);
    r.tasks /= S.work;                  /* same busy time, longer tasks */
    double f = S.noise ? 1 + S.noise * (2 * rnd() - 1) : 1, dt = TICK_NS * 1e-9;
    S.now += TICK_NS;
    S.tasks += r.tasks * dt * f;        /* noise changes how much got done, not the work per task */
    S.cpu += r.cpu * dt * f;
    S.io += r.io * dt * f;
    S.lock += r.lock * dt * f;
    S.runq += r.runq * dt * f;
    S.cond += r.cond * dt * f;
    S.top_wait += r.top_wait * dt * f;
    S.top_hold += r.top_hold * dt * f;
    S.subs += S.subs_rate * dt;
    S.calls += S.calls_rate * dt;
    S.other_cpu_s += S.other_cpu * dt;
    sample();
    ps_controller_tick(&View, S.now);
    /* The workers' side: started ones join, the excess parks. */
    int added = ps_expand_added(S.pi);
    S.live += added - S.added_seen;
    S.added_seen = added;
    if (S.grow_ticks > 0) {
        S.grow_ticks--;
        S.live++;
        S.fresh_left[S.nfresh++] = S.fresh_ticks;
    }
    int fresh = 0;
    for (int i = 0; i < S.nfresh; i++)
        fresh += S.fresh_left[i]-- > 0;
    int lim = fake_limit[S.pi], parked = lim > 0 && S.live > lim + fresh ? S.live - lim - fresh : 0;
    set_parked(S.pi, parked, parked < S.at_mutex ? parked : S.at_mutex);
    S.running = S.live - parked;
    if (S.live > S.max_live)
        S.max_live = S.live;
    cr_assert_lt(S.ticks, MAX_TICKS);
    S.trace[S.ticks++] = S.running;
}

static void run_s(double s)
{
    for (int n = (int)(s * 10 + 0.5); n > 0; n--)
        tick();
}

/* Size changes (of the workers running) in ticks [from, to). */
static int changes(int from, int to)
{
    int n = 0;
    for (int k = from > 0 ? from : 1; k < to && k < S.ticks; k++)
        n += S.trace[k] != S.trace[k - 1];
    return n;
}

/* Ticks in [from, to) spent at a size other than `size`. */
static int ticks_off(int from, int to, int size)
{
    int n = 0;
    for (int k = from; k < to && k < S.ticks; k++)
        n += S.trace[k] != size;
    return n;
}

static char trace_text[4096];
static const char *trace_str(void)
{
    size_t at = 0;
    trace_text[0] = 0;
    for (int k = 0; k < S.ticks && at + 16 < sizeof trace_text; k++)
        if (!k || S.trace[k] != S.trace[k - 1])
            at += (size_t)snprintf(trace_text + at, sizeof trace_text - at, "%.1fs:%d ", (k + 1) * 0.1,
                                   S.trace[k]);
    return trace_text;
}

/* The controller's "decisions" array, as the report writes it. */
static json_t *report(void)
{
    struct ps_jw w;
    json_error_t e;
    ps_jw_init(&w);
    ps_jw_obj(&w, NULL);
    ps_report_controller_json(&w, NULL);
    ps_jw_end(&w);
    cr_assert_eq(w.err, 0);
    json_t *j = json_loadb(w.buf, w.len, 0, &e);
    cr_assert_not_null(j, "report not JSON (%s): %s", e.text, w.buf);
    ps_jw_free(&w);
    return j;
}

static json_t *decisions(json_t *rep)
{
    json_t *d = json_object_get(json_object_get(rep, "controller"), "decisions");
    cr_assert(json_is_array(d));
    return d;
}

/* The first decision with this action whose reason contains `what` (NULL: any). */
static json_t *find(json_t *rep, const char *action, const char *what)
{
    size_t i;
    json_t *d;
    json_array_foreach(decisions(rep), i, d) {
        const char *a = json_string_value(json_object_get(d, "action"));
        const char *why = json_string_value(json_object_get(d, "reason"));
        if (a && !strcmp(a, action) && (!what || (why && strstr(why, what))))
            return d;
    }
    return NULL;
}

static __attribute__((unused)) int count_actions(json_t *rep, const char *action)
{
    size_t i;
    json_t *d;
    int n = 0;
    json_array_foreach(decisions(rep), i, d)
        n += !strcmp(json_string_value(json_object_get(d, "action")), action);
    return n;
}

static int dint(json_t *d, const char *k)
{
    return (int)json_integer_value(json_object_get(d, k));
}

/* Decisions that changed the size (the first one takes effect before the
 * first tick's trace, so changes() does not see it). */
static int size_changes(void)
{
    json_t *rep = report();
    size_t i;
    json_t *d;
    int n = 0;
    json_array_foreach(decisions(rep), i, d)
        n += dint(d, "from") != dint(d, "to");
    json_decref(rep);
    return n;
}

/* ---- workloads ---- */

/* CPU-bound, best at 2 workers on 2 cores; above that workers fight for the
 * cores (cache, lock convoys): each extra worker costs 15 % (64 -> 9 %). */
static void cpu_oversubscribed(int n, struct rates *r, double cost)
{
    r->tasks = n <= 2 ? 1000.0 * n : 2000.0 / (1 + cost * (n - 2));
    r->cpu = n < 2 ? n : 2;
    r->runq = n > 2 ? n - 2 : 0;
}

static void cpu_collapse(int n, struct rates *r)
{
    cpu_oversubscribed(n, r, 0.15);
}

/* I/O-bound: 1 ms CPU and 20 ms I/O per task (W/C 20): 2 cores serve
 * 2000 tasks/s, reached at 42 workers; beyond, workers queue for the cores. */
static void io_wc20(int n, struct rates *r)
{
    double t = n / 0.021;
    r->tasks = t < 2000 ? t : 2000;
    r->cpu = r->tasks * 0.001;
    r->io = r->tasks * 0.020;
    r->runq = n - r->tasks * 0.021 > 0 ? n - r->tasks * 0.021 : 0;
}

Test(controller, oversized_cpu_pool_shrinks_to_its_best_and_stays, .fini = teardown)
{
    setup(cpu_collapse, 64, 0, 0);
    run_s(1.0);
    cr_expect_leq(S.running, 4, "not <= 4 workers after 1 s: %s", trace_str());
    run_s(29.0);
    cr_expect_eq(S.running, 2, "ends at %d, best is 2: %s", S.running, trace_str());
    /* After the first second: probes (one step, then back) only, with a
     * backoff: few changes and little time away from the best size. */
    int chg = changes(10, S.ticks), off = ticks_off(10, S.ticks, 2);
    cr_expect_leq(chg, 12, "%d changes in 29 s: %s", chg, trace_str());
    cr_expect_leq(off, 29, "%d of 290 ticks away from 2 workers: %s", off, trace_str());
    /* Steady: the last 10 s see at most one probe and its undo. */
    cr_expect_leq(changes(S.ticks - 100, S.ticks), 2, "%s", trace_str());
    json_t *rep = report();
    json_t *d = find(rep, "throttle", "model");
    cr_assert_not_null(d, "no throttle by the model");
    cr_expect_eq(dint(d, "from"), 64);
    cr_expect_eq(dint(d, "to"), 2);
    json_decref(rep);
}

/* A program still starting its workers at the controller's first look:
 * 1 worker then, 64 a tick later. The pool is sized by what runs, not by
 * that first look (a loaded CI run: 32 spin_oversub workers sized 1 at
 * 0.59 s, the model's 2 read as growth, never throttled). */
Test(controller, a_pool_still_starting_at_the_first_look_is_sized_by_what_runs, .fini = teardown)
{
    setup(cpu_collapse, 1, 0, 0);
    run_s(0.2);
    S.live = S.running = S.max_live = 64;
    run_s(1.0);
    cr_expect_leq(S.running, 4, "not <= 4 workers 1 s after the 64 started: %s", trace_str());
    json_t *rep = report();
    json_t *d = find(rep, "throttle", "model");
    cr_assert_not_null(d, "no throttle by the model: %s", trace_str());
    cr_expect_eq(dint(d, "from"), 64);
    json_decref(rep);
}

Test(controller, undersized_io_pool_grows_to_goetz_size, .fini = teardown)
{
    setup(io_wc20, 2, 1, 0);
    run_s(1.0);
    /* cores x (1 + W/C) = 42 */
    cr_expect_geq(S.running, 38, "not near 42 workers after 1 s: %s", trace_str());
    cr_expect_leq(S.running, 63, "%s", trace_str());
    run_s(19.0);
    cr_expect_geq(S.running, 38, "%s", trace_str());
    cr_expect_leq(S.running, 52, "%s", trace_str());
    json_t *rep = report();
    json_t *d = find(rep, "expand", "model");
    cr_assert_not_null(d, "no expansion by the model");
    cr_expect_eq(dint(d, "from"), 2);
    cr_expect_geq(dint(d, "to"), 38);
    cr_expect_leq(dint(d, "to"), 46);
    json_decref(rep);
}

/* Grown to the model's size, the pool uses the cores as the model said
 * (95 %): one more thread could add under 10 %, and the model predicts a
 * probe down loses a fifth. Neither is made: one size change in a minute. */
Test(controller, an_io_pool_at_the_models_size_is_not_probed, .fini = teardown)
{
    setup(io_wc20, 2, 1, 0.05);
    run_s(60.0);
    cr_expect_eq(size_changes(), 1, "%s", trace_str());
    cr_expect_geq(S.running, 38, "%s", trace_str());
}

Test(controller, expansion_never_exceeds_the_configured_max, .fini = teardown)
{
    setup(io_wc20, 2, 1, 0);
    ps_cfg.max_threads = 24;
    run_s(20.0);
    cr_expect_leq(S.max_live, 24, "grew to %d, max 24: %s", S.max_live, trace_str());
    cr_expect_eq(S.running, 24, "%s", trace_str());
    json_t *rep = report();
    json_t *d = find(rep, "expand", "model");
    cr_assert_not_null(d);
    cr_expect_eq(dint(d, "to"), 24);
    cr_expect_eq(json_integer_value(json_object_get(json_object_get(rep, "controller"), "max")), 24);
    json_decref(rep);
}

/* Throughput grows with every worker up to 8, but the workers' waits are not
 * seen (W/C reads 0): the model says 2 threads, and is wrong. */
static void hidden_waits(int n, struct rates *r)
{
    r->tasks = 125.0 * (n < 8 ? n : 8);
    r->cpu = r->tasks * 0.001;
}

Test(controller, a_change_that_loses_throughput_is_rolled_back, .fini = teardown)
{
    setup(hidden_waits, 8, 0, 0);
    run_s(20.0);
    json_t *rep = report();
    json_t *m = find(rep, "throttle", "model");
    cr_assert_not_null(m, "the model never moved the pool: nothing to roll back");
    cr_expect_eq(dint(m, "from"), 8);
    cr_expect_eq(dint(m, "to"), 2);
    json_t *rb = find(rep, "rollback", NULL);
    cr_assert_not_null(rb, "no rollback: %s", trace_str());
    cr_expect_eq(dint(rb, "from"), 2);
    cr_expect_eq(dint(rb, "to"), 8, "rolled back to %d, last good size 8", dint(rb, "to"));
    cr_expect_gt(json_number_value(json_object_get(rb, "t_s")), json_number_value(json_object_get(m, "t_s")));
    /* Back at 8 within a window and a half of the move (500 ms + settle). */
    cr_expect_leq(json_number_value(json_object_get(rb, "t_s")) - json_number_value(json_object_get(m, "t_s")), 0.8);
    /* The rejected model target is not tried again; probes (down only: up is
     * beyond the model's range) may come and go, each undone. */
    int model_moves = 0;
    size_t i;
    json_t *d;
    json_array_foreach(decisions(rep), i, d)
        model_moves += !strncmp(json_string_value(json_object_get(d, "reason")), "model", 5) &&
                       dint(d, "from") != dint(d, "to");
    cr_expect_eq(model_moves, 1, "the model's rejected size was tried %d times: %s", model_moves, trace_str());
    cr_expect_eq(S.running, 8, "%s", trace_str());
    cr_expect_leq(ticks_off(20, S.ticks, 8), 18, "%s", trace_str());
    json_decref(rep);
}

/* Flat optimum: 4 to 16 workers all serve 2000 tasks/s (0.5 ms CPU and
 * 1 ms I/O per task, W/C 2: the queueing model says 8). */
static void flat(int n, struct rates *r)
{
    r->tasks = n < 4 ? 500.0 * n : n <= 16 ? 2000 : 2000.0 * 16 / n;
    r->cpu = r->tasks * 0.0005;
    r->io = r->tasks * 0.001;
}

Test(controller, noisy_flat_optimum_does_not_oscillate, .fini = teardown)
{
    setup(flat, 8, 1, 0.10);
    run_s(60.0);
    /* What the law allows: a few kept steps down (same throughput, fewer
     * threads) to the floor of its probe range, then probes backing off to
     * one every 16 s, each undone: 3 + 2 x 4 = 11. An oscillation (a change
     * per window) would make 100. */
    int chg = changes(0, S.ticks);
    cr_expect_leq(chg, 12, "%d size changes in 60 s: %s", chg, trace_str());
    /* Steady over the last 30 s: one size nearly all the time. */
    int best = 0, best_n = 0;
    for (int size = 1; size <= 20; size++) {
        int n = 300 - ticks_off(S.ticks - 300, S.ticks, size);
        if (n > best_n)
            best = size, best_n = n;
    }
    cr_expect_geq(best_n, 270, "at %d workers only %d of the last 300 ticks: %s", best, best_n, trace_str());
    cr_expect_geq(best, 4, "%s", trace_str());
    cr_expect_leq(best, 16, "%s", trace_str());
    /* Never outside the flat region for long: a probe's window at most. */
    int off = 0;
    for (int k = 0; k < S.ticks; k++)
        off += S.trace[k] < 4 || S.trace[k] > 16;
    cr_expect_leq(off, 20, "%d ticks outside 4..16: %s", off, trace_str());
}

/* The pool keeps 95 % of the 2 cores busy and waits for them, while its I/O
 * reads W/C 2 (the queueing model says 8 of its 4 threads). */
static void saturated(int n, struct rates *r)
{
    r->tasks = 250.0 * n;
    r->cpu = 1.9;
    r->runq = 0.5;
    r->io = 3.8;
}

/* Runs 20 s and checks the pool never grew and a "hold" decision whose
 * reason contains `why` says so; returns that reason (static). */
static const char *expect_never_grown(int threads, const char *why)
{
    static char reason[320];
    run_s(20.0);
    cr_expect_eq(S.max_live, threads, "grew to %d: %s", S.max_live, trace_str());
    cr_expect_eq(ps_expand_added(S.pi), 0);
    json_t *rep = report();
    json_t *d = find(rep, "hold", why);
    cr_assert_not_null(d, "no decision says \"%s\": %s", why, trace_str());
    cr_expect_eq(dint(d, "to"), threads);
    cr_expect_null(find(rep, "expand", NULL));
    snprintf(reason, sizeof reason, "%s", json_string_value(json_object_get(d, "reason")));
    json_decref(rep);
    return reason;
}

Test(controller, cpu_guard_never_grows_a_saturated_pool, .fini = teardown)
{
    setup(saturated, 4, 1, 0);
    const char *why = expect_never_grown(4, "not growing");
    cr_expect_not_null(strstr(why, "model wants 8 threads"), "%s", why);
    cr_expect_not_null(strstr(why, "95% of the cores"), "%s", why);
}

/* 10 workers: 0.5 core of CPU, 4 s/s of I/O (W/C 8: the model alone says
 * 18), and 5 s/s waiting on one mutex, held 0.5 s/s: serialized (at most
 * (0.5 + 4) / 0.5 = 9 threads progress; held 0.2 s/s, it would leave room
 * for 22: recommend.c). */
static void serialized(int n, struct rates *r)
{
    double k = n / 10.0;
    r->tasks = 500 * k;
    r->cpu = 0.5 * k;
    r->io = 4.0 * k;
    r->lock = 5.0 * k;
    r->top_wait = 5.0 * k;
    r->top_hold = 0.5 * k;
}

Test(controller, serialized_pool_is_never_grown, .fini = teardown)
{
    setup(serialized, 10, 1, 0);
    S.top_key = 0x7000;
    expect_never_grown(10, "never adding threads to this pool: serialized on one lock");
}

/* The same oversized pool with +-10 % noise on every sample, three seeds
 * (one process each: the controller resets on a new process's first tick). */
static void oversized_noisy(uint64_t seed)
{
    setup(cpu_collapse, 64, 0, 0.10);
    S.rng = seed;
    run_s(1.0);
    cr_expect_leq(S.running, 4, "%s", trace_str());
    run_s(29.0);
    int off = ticks_off(10, S.ticks, 2);
    cr_expect_leq(off, 29, "%d of 290 ticks away from 2 workers: %s", off, trace_str());
    cr_expect_leq(changes(10, S.ticks), 12, "%s", trace_str());
}
Test(controller, oversized_cpu_pool_under_noise_seed_1, .fini = teardown) { oversized_noisy(1); }
Test(controller, oversized_cpu_pool_under_noise_seed_2, .fini = teardown) { oversized_noisy(0x5eed); }
Test(controller, oversized_cpu_pool_under_noise_seed_3, .fini = teardown) { oversized_noisy(0xC0FFEE); }

/* Once its size is confirmed (probes on both sides found nothing better), a
 * steady pool changes size at most twice a minute, probes included: a probe
 * a minute, then every 2 and 4 minutes, and their undos. */
static void settled_changes(law_fn law, int threads, uint64_t seed)
{
    setup(law, threads, 0, 0.10);
    S.rng = seed;
    run_s(10.0);
    int from = S.ticks;
    run_s(60.0);
    int chg = changes(from, S.ticks);
    cr_expect_leq(chg, 2, "%d size changes in the steady minute: %s", chg, trace_str());
    run_s(45.0);
    chg = changes(from, S.ticks);
    cr_expect_leq(chg, 4, "%d size changes in the steady 105 s: %s", chg, trace_str());
}
Test(controller, a_confirmed_size_changes_at_most_twice_a_minute, .fini = teardown)
{
    settled_changes(cpu_collapse, 64, 1);
}
Test(controller, a_confirmed_size_changes_at_most_twice_a_minute_seed_2, .fini = teardown)
{
    settled_changes(cpu_collapse, 64, 0x5eed);
}
Test(controller, a_flat_optimum_changes_at_most_twice_a_minute, .fini = teardown)
{
    settled_changes(flat, 8, 0xC0FFEE);
}

/* CPU-bound workers fed by a thread outside the pool that keeps one of the
 * 2 cores busy (node's main thread and its fs pool): one worker gets the
 * other core; each one more fights the feeder and its fellows for the cores
 * (best static size: 1). */
static void fed_by_one_core(int n, struct rates *r)
{
    r->tasks = n <= 1 ? 1000.0 * n : 1000.0 / (1 + 0.3 * (n - 1));
    r->cpu = n < 1 ? n : 1;
    r->runq = n > 1 ? n - 1 : 0;
}

/* The model counts the cores the rest of the process leaves: 64 -> 1 at the
 * first look, not 2 and a probe later. */
Test(controller, a_pool_gets_the_cores_its_process_leaves, .fini = teardown)
{
    setup(fed_by_one_core, 64, 0, 0);
    S.other_cpu = 1.0;
    run_s(1.0);
    cr_expect_eq(S.running, 1, "not at 1 worker after 1 s: %s", trace_str());
    run_s(19.0);
    cr_expect_leq(ticks_off(10, S.ticks, 1), 20, "%s", trace_str());
    json_t *rep = report();
    json_t *d = find(rep, "throttle", "model");
    cr_assert_not_null(d, "no throttle by the model: %s", trace_str());
    cr_expect_eq(dint(d, "to"), 1);
    const char *why = json_string_value(json_object_get(d, "reason"));
    cr_expect_not_null(strstr(why, "other threads use 1, 1 left to the pool"), "%s", why);
    json_decref(rep);
}

/* Node's fs pool at the first look: its feeder, starved by 64 workers, uses
 * half a core, and the model leaves the pool 2; with the pool at 2 the
 * feeder takes its whole core and the model says 1. The gain of 64 -> 2 is
 * clear long before its window ends: the step on to 1 comes within 0.35 s
 * (the window is 500 ms), not a window later. */
Test(controller, a_clear_gain_is_followed_before_its_window_ends, .fini = teardown)
{
    setup(fed_by_one_core, 64, 0, 0);
    S.other_cpu = 0.5;
    while (S.running == 64 && S.ticks < 20)
        tick();
    cr_assert_eq(S.running, 2, "the model did not move 64 -> 2: %s", trace_str());
    int moved = S.ticks;
    S.other_cpu = 1.0;
    while (S.running == 2 && S.ticks < moved + 20)
        tick();
    cr_expect_eq(S.running, 1, "%s", trace_str());
    cr_expect_leq(S.ticks - moved, 3, "2 -> 1 after %d ticks: %s", S.ticks - moved, trace_str());
}

/* Each of the 2 workers holds a core and waits for nothing: no probe either
 * way (1 would idle a core, 3 would find none), so after the model's move
 * the size never changes. */
Test(controller, a_pool_holding_every_core_is_not_probed, .fini = teardown)
{
    setup(cpu_collapse, 64, 0, 0);
    run_s(60.0);
    cr_expect_eq(S.running, 2, "%s", trace_str());
    cr_expect_eq(size_changes(), 1, "%s", trace_str());
}

/* cpu_collapse, but two or more workers wait on a lock they share for 15 %
 * of their time: at 2 they do not each hold a core, so probes both ways are
 * worth making (and both lose: 1 does half, 3 does 13 % less). */
static void cpu_collapse_shared_lock(int n, struct rates *r)
{
    cpu_collapse(n, r);
    if (n > 1) {
        r->lock = 0.15 * r->cpu;
        r->cpu *= 0.85;
    }
}

/* A probe that costs 30 % or more is undone after a quarter of its window
 * (500 ms: 125 ms, i.e. the second tick after the one it takes to settle);
 * one that costs less than 15 % (13 %) at the end of its window. */
Test(controller, a_costly_probe_is_undone_early, .fini = teardown)
{
    setup(cpu_collapse_shared_lock, 64, 0, 0);
    run_s(20.0);
    json_t *rep = report();
    size_t i;
    json_t *d, *probe = NULL;
    int fast = 0, slow = 0;
    json_array_foreach(decisions(rep), i, d) {
        const char *a = json_string_value(json_object_get(d, "action"));
        if (!strncmp(json_string_value(json_object_get(d, "reason")), "probe", 5)) {
            probe = d;
        } else if (!strcmp(a, "rollback") && probe) {
            double dt = json_number_value(json_object_get(d, "t_s")) - json_number_value(json_object_get(probe, "t_s"));
            cr_expect_eq(dint(d, "to"), 2);
            if (dint(probe, "to") == 1) {           /* 2 -> 1: half the throughput */
                cr_expect_leq(dt, 0.35, "2 -> 1 undone after %.2f s", dt);
                fast++;
            } else {                                /* 2 -> 3: 13 % less */
                cr_expect_geq(dt, 0.5, "2 -> 3 undone after %.2f s, before its window ended", dt);
                slow++;
            }
            probe = NULL;
        }
    }
    cr_expect_geq(fast, 1, "%s", trace_str());
    cr_expect_geq(slow, 1, "%s", trace_str());
    json_decref(rep);
}

/* Throughput grows up to 12 workers; the model (W/C 2) says 8. A probe up
 * that pays is followed at once by another step up, not by a probe down. */
static void more_is_better(int n, struct rates *r)
{
    r->tasks = 200.0 * (n < 12 ? n : 12);
    r->cpu = r->tasks * 0.0005;
    r->io = r->tasks * 0.001;
}

Test(controller, a_probe_that_paid_is_followed_onward, .fini = teardown)
{
    setup(more_is_better, 8, 1, 0);
    run_s(20.0);
    json_t *rep = report();
    size_t i;
    json_t *d;
    json_t *up = NULL, *next = NULL;
    json_array_foreach(decisions(rep), i, d) {
        if (dint(d, "from") == dint(d, "to"))
            continue;
        if (up) {
            next = d;
            break;
        }
        if (!strncmp(json_string_value(json_object_get(d, "reason")), "probe up: 8 -> 10", 17))
            up = d;
    }
    cr_assert_not_null(up, "no probe up from 8: %s", trace_str());
    cr_assert_not_null(next, "%s", trace_str());
    cr_expect_eq(dint(next, "from"), 10, "%s", trace_str());
    cr_expect_eq(dint(next, "to"), 12, "after a gain, onward: %s", trace_str());
    /* at the end of the gain's window (500 ms, plus the tick the new size takes to settle) */
    cr_expect_leq(json_number_value(json_object_get(next, "t_s")) - json_number_value(json_object_get(up, "t_s")), 0.65);
    cr_expect_eq(S.running, 12, "%s", trace_str());
    cr_expect_eq(S.max_live, 12, "probes stay within model x 1.5: %s", trace_str());
    json_decref(rep);
}

/* The same pool with a quarter of its running workers found in their wait
 * for work at every look: one more worker would find none to do, so no probe
 * up (a_probe_that_paid_is_followed_onward probes it 8 -> 10). */
static void more_is_better_waiting(int n, struct rates *r)
{
    more_is_better(n, r);
    S.idle_running = n / 4;
}

Test(controller, a_pool_waiting_for_work_is_not_probed_upward, .fini = teardown)
{
    setup(more_is_better_waiting, 8, 1, 0);
    run_s(20.0);
    json_t *rep = report();
    json_t *up = find(rep, "expand", "probe up");
    cr_expect_null(up, "%s (%s)", up ? json_string_value(json_object_get(up, "reason")) : "", trace_str());
    json_decref(rep);
    cr_expect_eq(S.max_live, 8, "%s", trace_str());
}

/* The work per task grows 4x just as a probe starts (8 -> 6 workers of a
 * flat pool, which costs nothing): throughput drops 4x, but not because of
 * the probe. The law must see the shift (work per task), not roll the probe
 * back as if it had lost throughput. */
Test(controller, a_load_shift_during_a_probe_is_not_blamed_on_it, .fini = teardown)
{
    setup(flat, 8, 1, 0);
    while (S.running == 8 && S.ticks < 100)
        tick();
    cr_assert_eq(S.running, 6, "no probe 8 -> 6: %s", trace_str());
    S.work = 4;
    run_s(3.0);
    json_t *rep = report();
    json_t *rb = find(rep, "rollback", NULL);
    cr_expect_null(rb, "rolled back on a load shift: %s (%s)", rb ? json_string_value(json_object_get(rb, "reason")) : "",
                   trace_str());
    cr_expect_not_null(find(rep, "hold", "the work per task changed"), "%s", trace_str());
    json_decref(rep);
}

/* Collapsed: 64 spinning workers finish ~21 tasks/s, too few task
 * boundaries to measure a change in the first windows. The model (CPU-starved,
 * 2 threads) is followed down all the same. */
static void cpu_collapsed(int n, struct rates *r)
{
    cpu_oversubscribed(n, r, 1.5);
}

Test(controller, collapsed_cpu_pool_shrinks_before_throughput_is_measurable, .fini = teardown)
{
    setup(cpu_collapsed, 64, 0, 0);
    run_s(1.0);
    cr_expect_leq(S.running, 4, "not <= 4 workers after 1 s: %s", trace_str());
    run_s(9.0);
    cr_expect_eq(S.running, 2, "%s", trace_str());
    json_t *rep = report();
    json_t *d = find(rep, "throttle", "throughput not measurable yet");
    cr_expect_not_null(d, "not the blind path: %s", trace_str());
    json_decref(rep);
}

/* Advice: 15 CPU-bound workers (qemu-img convert -c's thread pool) whose
 * W/C wavers about where the model's size turns from 2 to 3. The advice
 * flipped 2 -> 3 -> 2 ... every 0.5 s (8 in 7 s); it changes once the model's
 * new size has held for a while. A shift that stays is advised. */
static double advise_wc;
static void wavering(int n, struct rates *r)
{
    r->cpu = n < 2 ? n : 2;
    r->tasks = 1000 * r->cpu;
    r->runq = n > 2 ? n - 2 : 0;
    r->io = r->cpu * advise_wc;
}
Test(controller, advice_does_not_flap_with_a_wavering_model, .fini = teardown)
{
    setup(wavering, 15, 0, 0);
    ps_cfg.control = PS_CONTROL_ADVISE;
    for (int k = 0; k < 30; k++) {
        advise_wc = k % 2 ? 0.4 : 0;      /* the model's 2, then its 3 or more, 0.5 s each */
        run_s(0.5);
    }
    json_t *rep = report();
    int n = count_actions(rep, "advise");
    cr_expect_leq(n, 2, "advice flapped: %s", json_dumps(decisions(rep), 0));
    json_decref(rep);
    advise_wc = 3;                        /* now the pool waits: 8 threads */
    run_s(3);
    rep = report();
    json_t *d = decisions(rep), *last = json_array_get(d, json_array_size(d) - 1);
    cr_expect_eq(count_actions(rep, "advise"), n + 1, "a shift not advised in 3 s: %s", json_dumps(d, 0));
    cr_expect_geq(dint(last, "to"), 7, "%s", json_dumps(d, 0));
    json_decref(rep);
}

/* The same pool whose idle waits time out (spin_oversub --stop-join 1: they
 * poll a stop flag) reads GIL-like at its first looks, before its CPU rate
 * over 0.3 s shows it running two threads at a time: the controller waits
 * for that rate, then throttles it. Marked at the first look as a pool
 * handing a GIL round, it was never parked (1 CI run in 3). */
static void unsure_then_parallel(int n, struct rates *r)
{
    cpu_collapsed(n, r);
    int early = S.now < T0 + 300000000ull;
    S.top_key = 0x7000;
    View.pool[S.pi].top_handoff = early;
    View.pool[S.pi].handoff_unsure = early;
}
Test(controller, a_pool_that_looks_gil_like_before_its_cpu_rate_is_known_is_throttled, .fini = teardown)
{
    setup(unsure_then_parallel, 64, 0, 0);
    run_s(0.25);
    cr_expect_eq(S.running, 64, "acted before its CPU rate was known: %s", trace_str());
    run_s(1.75);
    cr_expect_leq(S.running, 4, "not <= 4 workers after 2 s: %s", trace_str());
    json_t *rep = report();
    cr_expect_null(find(rep, "hold", "GIL-like lock"), "held as GIL-like: %s", trace_str());
    json_decref(rep);
}

/* 32 workers of a fixed pool: I/O-bound (W/C 20, 1523 tasks/s) for 4 s, then
 * CPU-bound and collapsing (the load_shift fixture's spinlock phase). */
static void shifting(int n, struct rates *r)
{
    if (S.now < T0 + 4000000000ull)
        io_wc20(n, r);
    else
        cpu_oversubscribed(n, r, 0.5);
}

/* The model follows the shift down; the size it moves to is judged against
 * the throughput of the new load, not of the window before, which was mostly
 * the old load (a rollback then compares different workloads). */
Test(controller, a_move_after_a_load_shift_is_judged_on_the_new_load, .fini = teardown)
{
    setup(shifting, 32, 0, 0);
    run_s(10.0);
    json_t *rep = report();
    size_t i;
    json_t *d;
    json_array_foreach(decisions(rep), i, d) {
        double t = json_number_value(json_object_get(d, "t_s"));
        cr_expect(!(t > 4.0 && !strcmp(json_string_value(json_object_get(d, "action")), "rollback") &&
                    strncmp(json_string_value(json_object_get(d, "reason")), "rollback: 1 threads", 19)),
                  "at %.2f s: %s (%s)", t, json_string_value(json_object_get(d, "reason")), trace_str());
    }
    /* at 2 but for a probe's window at most */
    cr_expect_leq(ticks_off(S.ticks - 20, S.ticks, 2), 6, "%s", trace_str());
    json_decref(rep);
}

/* ---- the watchdog ---- */

/* No work at all: no task, no CPU, no wait. */
static void stopped(int n, struct rates *r)
{
    (void)n;
    memset(r, 0, sizeof *r);
}

/* A pool throttled 64 -> 2 by the model, then `law` from 2 s on. */
static void throttled_then(law_fn law)
{
    setup(cpu_collapse, 64, 0, 0);
    run_s(2.0);
    cr_assert_eq(S.running, 2, "not throttled to 2: %s", trace_str());
    cr_assert_gt(ps_throttle_parked(S.pi), 0);
    S.law = law;
}

/* Runs s seconds and checks the pool stayed throttled at 2, nobody released. */
static void expect_stays_throttled(double s)
{
    int from = S.ticks;
    run_s(s);
    cr_expect_eq(ticks_off(from, S.ticks, 2), 0, "%s", trace_str());
    json_t *rep = report();
    json_t *d = find(rep, "release", NULL);
    cr_expect_null(d, "released: %s (%s)", d ? json_string_value(json_object_get(d, "reason")) : "", trace_str());
    json_decref(rep);
}

/* Runs 2.5 s of a throttled pool that makes no progress: still throttled
 * at 1.5 s, released by 2.5 s (the stall limit is 2 s) by a decision whose
 * reason contains `why`. */
static void expect_released_after_stall(const char *why)
{
    run_s(1.5);
    cr_expect_eq(S.running, 2, "released before 2 s without progress: %s", trace_str());
    run_s(1.0);
    cr_expect_eq(S.running, 64, "not released after 2.5 s without progress: %s", trace_str());
    json_t *rep = report();
    cr_expect_not_null(find(rep, "release", why), "no release saying \"%s\": %s", why, trace_str());
    json_decref(rep);
}

/* Every running worker idle, nothing queued, nothing submitted: the goal of a
 * throttle, even on an idle machine; the parked stay parked. */
Test(controller, a_throttled_pool_at_rest_keeps_its_workers_parked, .fini = teardown)
{
    throttled_then(stopped);
    S.idle_running = 2;
    set_idle_cores(2);
    expect_stays_throttled(6.0);
}

/* The same pool at rest with some workers parked at its queue mutex, where
 * they may hold a task's bookkeeping: nobody waits for them, so they are let
 * go only after 2 s of rest; the limit stays. */
Test(controller, workers_parked_at_the_queue_mutex_go_after_2_s_of_rest, .fini = teardown)
{
    throttled_then(stopped);
    S.idle_running = 2;
    S.at_mutex = 3;
    expect_stays_throttled(1.5);
    run_s(0.7);
    json_t *rep = report();
    cr_expect_not_null(find(rep, "release", "rested for 2 s"), "%s", trace_str());
    json_decref(rep);
    cr_expect_eq(fake_limit[S.pi], 2);
}

/* Node's DrainTasks: the main thread waits on a condvar with the pool's queue
 * mutex for the count of finished tasks, which a worker parked at that mutex
 * would bring down: the workers parked there go at the next tick. */
Test(controller, a_thread_waiting_with_the_queue_mutex_frees_the_workers_parked_at_it, .fini = teardown)
{
    throttled_then(stopped);
    View.pool[S.pi].queue_mutex = 0x6000;
    View.pool[S.pi].queue_mutex_waited = 1;   /* what the view says of such a thread (test_view.c) */
    S.idle_running = 2;
    S.at_mutex = 3;
    run_s(0.2);
    json_t *rep = report();
    cr_expect_not_null(find(rep, "release", "a thread waits on a condvar with that mutex"), "%s", trace_str());
    json_decref(rep);
    cr_expect_eq(fake_limit[S.pi], 2);
}

/* The same waiter, and every running worker found in its wait for work, but
 * tasks keep starting (the census finds a worker there until it runs again:
 * node's fs pool at 1, fed at 500k tasks/s): the pool works, it is not at
 * rest, and its parked workers stay parked. */
Test(controller, a_pool_starting_tasks_is_not_at_rest, .fini = teardown)
{
    throttled_then(cpu_collapse);
    View.pool[S.pi].queue_mutex = 0x6000;
    View.pool[S.pi].queue_mutex_waited = 1;
    S.idle_running = 2;
    S.at_mutex = 3;
    expect_stays_throttled(3.0);
}

/* Work queued, the running workers busy and nothing completing (they wait on
 * something a parked worker holds): released within max(2 s, 8 task times)
 * and never throttled again. */
Test(controller, a_stalled_pool_is_released_and_no_longer_throttled, .fini = teardown)
{
    throttled_then(stopped);
    S.queue = 10;
    int from = S.ticks;
    expect_released_after_stall("work waits and no worker finished a task or a call");
    S.law = cpu_collapse;
    run_s(5.0);
    cr_expect_eq(ticks_off(from + 26, S.ticks, 64), 0, "throttled again: %s", trace_str());
}

/* The same pool whose tasks are not seen but whose workers complete wrapped
 * calls: progressing, so left throttled. */
Test(controller, progress_seen_in_calls_is_not_a_stall, .fini = teardown)
{
    throttled_then(stopped);
    S.queue = 10;
    S.calls_rate = 500;
    expect_stays_throttled(10.0);
}

/* Work submitted and never started while the running workers wait for work
 * (it went to the parked workers' own queues): released at once. */
Test(controller, work_submitted_and_never_started_releases_the_parked, .fini = teardown)
{
    throttled_then(stopped);
    S.idle_running = 2;
    S.subs_rate = 100;
    run_s(0.4);
    cr_expect_eq(S.running, 64, "not released after 4 ticks: %s", trace_str());
    json_t *rep = report();
    cr_expect_not_null(find(rep, "release", "none started"), "%s", trace_str());
    json_decref(rep);
}

/* Nothing queued, but a running worker waits on something other than work
 * and nothing completes: a worker parked at the queue mutex in the middle of
 * a task holds what it waits for (pigz's writer waited minutes for the job
 * of a compress worker parked at a buffer pool's lock). Released after the
 * stall limit (2 s), and not throttled again. */
Test(controller, a_stall_with_nothing_queued_is_released, .fini = teardown)
{
    throttled_then(stopped);
    S.idle_running = 1;                 /* one of the two running waits for work, one is stuck */
    expect_released_after_stall("a running worker is not waiting for work and no worker finished");
}

/* The same with its wait for work forgotten (parked at the queue mutex only)
 * and every running worker counted as waiting: pigz's case, where the writer
 * is a worker of the pool and waited for a job a parked worker held. */
Test(controller, a_stall_with_every_running_worker_waiting_is_released, .fini = teardown)
{
    throttled_then(stopped);
    View.pool[S.pi].idle_obj = 0;
    View.pool[S.pi].queue_mutex = 0x6000;
    S.idle_running = 2;
    expect_released_after_stall("work waits and no worker finished a task or a call");
}

/* Throttled, then seen handing a GIL-like lock round: released at once and
 * never throttled again (a thread may hold such a lock where we park). */
Test(controller, a_pool_found_gil_like_after_its_throttle_is_released, .fini = teardown)
{
    throttled_then(cpu_collapse);
    S.top_key = 0x7000;
    View.pool[S.pi].top_handoff = 1;
    int from = S.ticks;
    run_s(0.3);
    cr_expect_eq(S.running, 64, "not released: %s", trace_str());
    run_s(10.0);
    cr_expect_eq(ticks_off(from + 3, S.ticks, 64), 0, "throttled again: %s", trace_str());
    json_t *rep = report();
    cr_expect_not_null(find(rep, "release", "GIL-like lock"), "%s", trace_str());
    json_decref(rep);
}

/* CPython's executor: its threads hand the GIL round from the start (not
 * parked, said once), then another object tops its contention for a while
 * (a lock of the caller's, handed round by no one): the GIL is still there,
 * held across the waits we would park at. The pool is never parked nor
 * probed: no size change in a minute (it made 3 a minute, each a probe or
 * the release of one). */
static void gil_then_other_top(int n, struct rates *r)
{
    cpu_collapse(n, r);
    if (S.now >= T0 + 1000000000ull && S.now < T0 + 30000000000ull) {
        S.top_key = 0x7100;
        View.pool[S.pi].top_handoff = 0;
    } else {
        S.top_key = 0x7000;
        View.pool[S.pi].top_handoff = 1;
    }
    r->top_wait = r->runq;
    r->top_hold = 0.5;
}
Test(controller, a_pool_once_seen_handing_a_gil_like_lock_is_never_parked, .fini = teardown)
{
    setup(gil_then_other_top, 64, 0, 0);
    S.top_key = 0x7000;
    View.pool[S.pi].top_handoff = 1;
    run_s(60.0);
    cr_expect_eq(size_changes(), 0, "%s", trace_str());
    cr_expect_eq(ticks_off(0, S.ticks, 64), 0, "%s", trace_str());
    json_t *rep = report();
    cr_expect_not_null(find(rep, "hold", "GIL-like lock"), "the reason not said: %s", trace_str());
    json_decref(rep);
}

/* The same pool, but its wait for work is a semaphore (CPython's executor
 * waits on its work queue's lock, which it blocks on only after releasing
 * the GIL): parked there and only there (ps_throttle_idle_only), it follows
 * its model (1: serialized) at once and stays: the GIL-bound pool throttled.
 * Its condvar twin above is never parked. */
Test(controller, a_gil_like_pool_waiting_for_work_on_a_semaphore_is_parked_there, .fini = teardown)
{
    setup(gil_then_other_top, 64, 0, 0);
    S.top_key = 0x7000;
    View.pool[S.pi].top_handoff = 1;
    View.pool[S.pi].idle_kind = PS_K_SEM;
    run_s(60.0);
    cr_expect(fake_idle_only[S.pi], "parked beyond its idle semaphore");
    cr_expect(S.trace[5] <= 2, "not throttled in 0.5 s: %s", trace_str());
    int above = 0;
    for (int k = 10; k < S.ticks; k++)
        above += S.trace[k] > 2;
    cr_expect(above <= 30, "%d ticks of 590 above the model's 2: %s", above, trace_str());
    cr_expect(size_changes() <= 3, "%d changes: %s", size_changes(), trace_str());
    fake_idle_only[S.pi] = 0;
}

/* The view switches the pool's count of tasks from its idle waits to its task
 * object (tally.h): the totals jump down (CPython: 4,400 counted by waits, 70
 * by its task object). No throughput is read across the switch (it read
 * 4.5e18 tasks/s), and a probe the switch leaves unmeasured is undone: the
 * pool whose model is wrong (hidden_waits: 2) ends at its best size, 8. */
Test(controller, a_switch_of_the_task_count_is_no_throughput, .fini = teardown)
{
    setup(hidden_waits, 8, 0, 0);
    run_s(2.9);                         /* in the window of the first probe (8 -> 6 at 2.8 s) */
    cr_assert_eq(S.running, 6, "%s", trace_str());
    S.tasks /= 50;
    View.pool[S.pi].tasks_by_tally = 1;
    run_s(27.1);
    cr_expect_leq(ticks_off(S.ticks - 200, S.ticks, 8), 10, "%s", trace_str());
    json_t *rep = report();
    size_t i;
    json_t *d;
    json_array_foreach(decisions(rep), i, d) {
        json_t *in = json_object_get(d, "inputs");
        double t = json_number_value(json_object_get(in, "tasks_per_s")),
               g = json_number_value(json_object_get(in, "good_tasks_per_s"));
        cr_expect(t < 1e5 && g < 1e5, "read %g tasks/s against %g: %s", t, g,
                  json_string_value(json_object_get(d, "reason")));
    }
    json_decref(rep);
}

/* Work submitted and none started while every running worker is busy (long
 * tasks): it queues for them, which is no starvation. */
Test(controller, work_queued_behind_busy_workers_keeps_the_throttle, .fini = teardown)
{
    throttled_then(stopped);
    S.subs_rate = 100;
    S.queue = 10;
    S.calls_rate = 50;
    expect_stays_throttled(5.0);
}

/* Work waiting and no running worker idle: on a busy machine the throttle
 * holds; with 1.5 cores idle it is undone by 2 workers within 3 ticks. */
Test(controller, idle_cores_while_work_waits_undo_the_throttle, .fini = teardown)
{
    throttled_then(cpu_collapse);
    S.queue = 10;
    set_idle_cores(0.3);
    run_s(3.0);
    json_t *rep = report();
    cr_expect_null(find(rep, "unpark", "cores idle"), "undone with 0.3 cores idle: %s", trace_str());
    json_decref(rep);
    set_idle_cores(1.5);
    run_s(0.3);
    cr_expect_eq(S.running, 4, "%s", trace_str());
    rep = report();
    json_t *d = find(rep, "unpark", "cores idle while work waits");
    cr_assert_not_null(d, "%s", trace_str());
    cr_expect_eq(dint(d, "from"), 2);
    cr_expect_eq(dint(d, "to"), 4);
    json_decref(rep);
}

/* ---- tasks not seen ---- */

/* 64 workers collapse on 2 cores (the spin case) and their tasks are seen;
 * at 4 workers or fewer none is (sysbench cpu: its events make no call we
 * wrap): the CPU is busy, the task count says 0. */
static void tasks_unseen_when_small(int n, struct rates *r)
{
    cpu_oversubscribed(n, r, 0.15);
    if (n <= 4)
        r->tasks = 0;
}

/* Throttled by the model to 2, where no task is seen: no rollback against
 * "2 threads gave 0 tasks/s"; the size is kept and not probed. */
Test(controller, a_change_whose_tasks_are_not_seen_is_not_rolled_back, .fini = teardown)
{
    setup(tasks_unseen_when_small, 64, 0, 0);
    run_s(10.0);
    cr_expect_eq(S.running, 2, "%s", trace_str());
    json_t *rep = report();
    cr_expect_null(find(rep, "rollback", NULL), "%s", trace_str());
    cr_expect_not_null(find(rep, "hold", "throughput not measurable at this size"), "%s", trace_str());
    json_decref(rep);
}

/* sysbench threads: workers that never wait for work (no idle wait, no queue
 * mutex), lock-and-yield on a few mutexes, tasks unseen; each worker over 2
 * waits for a core and for a lock. */
static void never_idle(int n, struct rates *r)
{
    r->cpu = n < 2 ? n : 2;
    r->runq = n > 2 ? n - 2 : 0;
    r->lock = n > 2 ? 0.5 * (n - 2) : 0;
}

/* The same with the workers also waiting on a condvar, as CPython's do for
 * the GIL (a flag whose holder holds no lock we see). */
static void never_idle_with_cond(int n, struct rates *r)
{
    never_idle(n, r);
    r->cond = 0.3 * n;
}

/* Its one safe point is a hot mutex: the controller allows it and throttles
 * the pool to the model's size once, without setting that limit again every
 * tick (which filled the decision ring). */
Test(controller, a_never_idle_pool_is_parked_at_its_hot_mutexes, .fini = teardown)
{
    setup(never_idle, 16, 0, 0);
    View.pool[S.pi].idle_obj = 0;
    S.calls_rate = 50;      /* the running workers' lock waits, and the parked ones' bounded parks */
    run_s(1.0);
    cr_expect(ps_throttle_contended_allowed(S.pi), "hot mutexes not allowed as a safe point");
    cr_expect_eq(S.running, 2, "%s", trace_str());
    run_s(9.0);
    cr_expect_eq(S.running, 2, "%s", trace_str());
    json_t *rep = report();
    cr_expect_eq(count_actions(rep, "throttle"), 1, "%s", trace_str());
    cr_expect_eq(count_actions(rep, "unpark"), 0, "the limit was set again and again");
    json_decref(rep);
}

/* Workers that wait on a condvar may hold what we cannot see: not parked at
 * their mutexes, and the controller says why. */
Test(controller, a_pool_waiting_on_condvars_is_not_parked_at_its_mutexes, .fini = teardown)
{
    setup(never_idle_with_cond, 16, 0, 0);
    View.pool[S.pi].idle_obj = 0;
    run_s(5.0);
    cr_expect(!ps_throttle_contended_allowed(S.pi));
    cr_expect_eq(S.running, 16, "%s", trace_str());
}

/* Allowed, then a condvar wait shows up: forbidden again (the throttle
 * releases the workers parked there). */
static int cond_after_3s;
static void never_idle_then_cond(int n, struct rates *r)
{
    never_idle(n, r);
    if (S.now >= T0 + 3000000000ull)
        r->cond = cond_after_3s ? 0.3 : 0;
}
Test(controller, a_condvar_wait_withdraws_the_hot_mutex_safe_point, .fini = teardown)
{
    setup(never_idle_then_cond, 16, 0, 0);
    cond_after_3s = 1;
    View.pool[S.pi].idle_obj = 0;
    run_s(2.0);
    cr_expect(ps_throttle_contended_allowed(S.pi));
    run_s(2.0);
    cr_expect(!ps_throttle_contended_allowed(S.pi), "still allowed with condvar waits");
}

/* A throttled pool whose program starts more threads (one every tick for
 * 2 s, each running 0.5 s before it parks: CPython's executor after a
 * throttle) runs above its size meanwhile: no window is judged until they
 * are parked, so no probe and no rollback before; the size holds. */
Test(controller, threads_started_after_a_throttle_are_not_measured_as_its_size, .fini = teardown)
{
    setup(cpu_collapse_shared_lock, 16, 0, 0);
    run_s(1.0);
    cr_assert_eq(S.running, 2, "not throttled to 2 first: %s", trace_str());
    double t_grow = (double)(S.now - T0) * 1e-9;
    S.grow_ticks = 20;
    S.fresh_ticks = 5;
    run_s(2.5);
    double t_settled = (double)(S.now - T0) * 1e-9;
    json_t *rep = report();
    size_t i;
    json_t *d;
    json_array_foreach(decisions(rep), i, d) {
        double ts = json_number_value(json_object_get(d, "t_s"));
        const char *a = json_string_value(json_object_get(d, "action"));
        cr_expect(ts <= t_grow || ts >= t_settled || !strcmp(a, "hold"),
                  "%s at %.1f s while new threads ran (%.1f-%.1f s): %s", a, ts, t_grow, t_settled,
                  json_string_value(json_object_get(d, "reason")));
    }
    json_decref(rep);
}

/* A pool that never waits for work (work always queued) whose workers block
 * on each other: 1 worker does 2000 tasks/s, 2 do 1100, more fewer still.
 * Throttled to 2 by the model, it is probed down to 1, which leaves one core
 * idle: the probe's window judges it (kept, 1.8x), not the watchdog, and at
 * the measured size the idle core it leaves undoes nothing. Idle cores beyond
 * those still do (idle_cores_while_work_waits_undo_the_throttle). */
static void lock_bound(int n, struct rates *r)
{
    r->tasks = n <= 1 ? 2000.0 * n : 2200.0 / n;
    r->cpu = n < 2 ? n : 1.2;           /* the rest of each worker's time: waiting on the others */
    r->lock = n > 1 ? n - 1.2 : 0;
}

Test(controller, the_core_a_measured_smaller_size_leaves_idle_undoes_nothing, .fini = teardown)
{
    setup(lock_bound, 16, 0, 0);
    S.queue = 10;
    idle_left_by_pool = 1;
    run_s(20.0);
    json_t *rep = report();
    json_t *d = find(rep, "unpark", "cores idle");
    cr_expect_null(d, "undone at %.1f s: %s", d ? json_number_value(json_object_get(d, "t_s")) : 0, trace_str());
    cr_expect_eq(S.running, 1, "%s", trace_str());
    json_decref(rep);
}

/* Workers that wait for work each on a condvar of their own (HotSpot's
 * Parker): the "queue mutex" paired with the one learned is one worker's
 * own, which other threads take to wake it holding locks we do not see. A
 * Java executor of 64 throttled to 15 there stalled for 4.2 s. No safe
 * point: the same oversized pool is left at 64, where a shared idle
 * condvar with its queue mutex is throttled. */
Test(controller, workers_waiting_on_condvars_of_their_own_are_not_parked, .fini = teardown)
{
    setup(cpu_collapse, 64, 0, 0);
    View.pool[S.pi].idle_kind = PS_K_COND;
    View.pool[S.pi].queue_mutex = 0x6000;
    View.pool[S.pi].twins = 1;
    run_s(3.0);
    cr_expect_eq(S.running, 64, "parked to %d: %s", S.running, trace_str());
    cr_expect_eq(fake_limit[S.pi], 0);
    json_t *rep = report();
    cr_expect_null(find(rep, "throttle", NULL), "a throttle: %s", trace_str());
    json_decref(rep);
    teardown();
    setup(cpu_collapse, 64, 0, 0);
    View.pool[S.pi].idle_kind = PS_K_COND;
    View.pool[S.pi].queue_mutex = 0x6000;
    run_s(3.0);
    cr_expect_leq(S.running, 4, "a shared idle condvar's pool not throttled: %s", trace_str());
}

/* The same shift: the model's new size, far from the one it last acted on,
 * is believed once it has stayed so for a window, however often the hill
 * climber changes the size meanwhile (counted only at the checks a window
 * after each change, it took three windows of probes). */
Test(controller, a_load_shift_is_followed_a_window_after_the_model_sees_it, .fini = teardown)
{
    setup(shifting, 32, 0, 0);
    run_s(4.0);
    int shift = S.ticks, k;
    run_s(3.0);
    for (k = shift; k < S.ticks && S.trace[k] > 4; k++)
        ;
    /* 1.5 s here: a window to believe the first move (32 -> 7), the model's
     * lag (its rates are averages) for the rest; 2.4 s before */
    cr_expect_leq(k - shift, 18, "not <= 4 workers within 1.8 s of the shift: %s", trace_str());
}
