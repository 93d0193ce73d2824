/* controller.c: per pool, a target concurrency from a model and from measured
 * throughput, applied through the throttle (park / unpark) and expansion.
 * One step per agent tick, on that tick's view of the pools (view.h): the
 * view in, decisions out; it reads nothing of the pools' tables. Nothing
 * here runs on the host's threads except the exit hook. The decision log
 * (decision.h) is written by the agent only and read by the report at exit
 * (output/control_report.c, agent stopped).
 *
 * Control law, and why:
 *  - Model: the pool's recent rates (deltas of its history, EMA-smoothed, so a
 *    load shift shows within about a second) go through ps_recommend:
 *    cores x (1 + W/C) with W = io + sleep only, capped by the bottleneck law
 *    when one object serialises the pool (a GIL gives 1 + W/C). The model is
 *    what moves the size far and fast, in one step.
 *  - Feedback: hill climbing on tasks/s measured over a window of
 *    POOLSHIM_COOLDOWN_MS after each change (the first interval after a change
 *    is skipped: parked workers park at their next safe point). A change that
 *    loses more than EPS of throughput is rolled back to the last good size;
 *    one within noise is kept only if it uses fewer threads (threads cost
 *    memory and scheduling). Probes are 25 % steps within [model / 2,
 *    model x 1.5]: the first 2 windows after a new size (toward the model's
 *    new reading after a model move), then 4; once two probes in a row found
 *    nothing better the size is confirmed, and probed once a minute, then
 *    every 2 and 4 minutes, so a steady pool sees few changes. A probe whose
 *    loss is known before it is made is not made (underfed, cores_full,
 *    loss_predicted), and a gain, like a loss, may be clear early.
 *  - Cores: the model counts the cores the rest of the process leaves the
 *    pool (node's main thread feeds its fs pool with one of two).
 *  - CPU-saturation guard: the pool uses >= 90 % of the cores and its threads
 *    already wait for a core (run-queue delay >= 10 % of CPU time): never
 *    grow.
 *  - Serialized pools (one lock or a GIL-like condvar) are never grown; a
 *    GIL-like one is parked at its idle semaphore or futex only
 *    (handoff_unparkable).
 * Modes: off (nothing), advise (log what would be done), on (act). */
#include "controller.h"
#include "decision.h"
#include "cores.h"
#include "clock.h"
#include "config.h"
#include "expand.h"
#include "jsonw.h"
#include "log.h"
#include "machine.h"
#include "pool.h"
#include "qmodel.h"
#include "recommend.h"
#include "syncobj.h"
#include "view.h"
#include "throttle.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NS 1e-9
#define EMA_ALPHA 0.3
#define EPS 0.05              /* throughput change below this is noise */
#define PROBE_FIRST 2         /* windows to the first probe of a new size: a model move may land a step off */
#define SETTLED_FAILS 2       /* probes in a row that found nothing better: the size is confirmed */
#define SETTLED_PROBE_S 60    /* a confirmed size is looked around once a minute, */
#define MAX_FAILS 4           /* then every 2, then every 4 minutes */
#define MIN_WINDOW_TASKS 8    /* fewer task boundaries in a window: its throughput is not measured */
#define BLIND_WINDOWS 3       /* windows a change waits for tasks to be seen before it is kept */
#define STARVE_TICKS 2        /* watchdog evidence holds this many ticks in a row: one tick may be a burst's edge */
#define STALL_MIN_S 2.0       /* no progress for less than this is a slow task, not a stall */
#define STALL_CPU_CORES 0.05  /* a pool using less CPU than this is blocked, not computing */
#define STALL_MAX_S 60.0      /* a stall is called after 8 task times, but never later than this */
#define CONTEND_LOCK_CORES 0.05 /* mutex wait (cores) that makes a hot mutex a pool's safe point */
#define CONTEND_COND_CORES 0.02 /* condvar wait (cores) above which it is not one */
#define CONTEND_START_TICKS 2   /* intervals of start-up (a barrier's condvar wait) before it is judged */
#define IDLE_CORES_MIN 0.5    /* idle CPU (cores) below this is the noise of a busy machine */
#define UNDERFED_SHARE 0.25  /* running workers found waiting for work: above this share, one more finds none */
#define MODEL_AGREE 0.1       /* the model predicted a window: its CPU within this share of the model's */
#define START_LOOK_NS 50000000ull /* the first look's least span: the agent's early ticks (10, 30, 70 ms
                                     apart) give the model rates by ~0.1 s, and a tick at the wrong size
                                     costs 1/40 of a 4 s run (16 sysbench threads on 2 cores: 0.08 of best) */
#define REST_RELEASE_TICKS 20 /* a pool resting this long lets its workers parked at the queue mutex go
                                 once, whoever waits for them: a dependency we cannot see costs 2 s, not a hang */

const char *const ps_act_name[] = { "hold", "throttle", "unpark", "expand", "rollback", "release", "advise" };
enum kind { K_NONE, K_MODEL, K_PROBE, K_ROLLBACK };
enum phase { P_START, P_EVAL, P_STEADY };

struct ctl {
    int seen;
    uint32_t hist_seen;
    /* EMAs of rates: seconds per second (cores) and tasks per second */
    double cpu, ws, lock, cond, idle, runq, tasks, top_wait, top_hold;
    double cond_last, idle_last, lock_last;   /* the last interval's rates, not smoothed */
    double demand;             /* EMA of work per task: CPU + io + sleep, seconds */
    uintptr_t top_key;
    uint64_t top_wait_prev, top_hold_prev;
    int top_handoff;
    int handoff_seen;          /* top_handoff was ever seen: parked at its idle wait only (handoff_unparkable) */
    int count_tally;           /* the view counted the pool's tasks by its task object last tick */
    int count_moved;           /* ... and this tick it counts them the other way: tasks do not compare */
    struct ps_rec_out rec;
    int target;                /* model's size, clamped */
    /* actuation */
    int size;                  /* size we run the pool at (limit or live) */
    int phase, last_kind, probe_dir, fails;
    int ref_size;              /* last good size and its throughput */
    double ref_tput, ref_demand;
    int model_rejected;        /* a model target that lost throughput */
    int model_acted;           /* the model's target when we last followed (or kept) it */
    uint64_t shift_ns;         /* since when the model is far from where it acted (a load shift), 0 not */
    int no_throttle;           /* the watchdog found parking stalls this pool */
    int small_measured;        /* a size measured as fast as a larger one or faster, 0 none */
    uint64_t change_ns, win_ns, win_tasks, next_probe_ns;
    uint64_t grew_ns;          /* the latest tick its live count grew under a limit */
    int seen_live;             /* its live count at the last look */
    /* The window's pool totals at its start, and the share of running
     * workers found waiting for work summed over its looks: at its end, what
     * the pool did at the size it ran (last_win), for the probes' rules. */
    struct ps_pool_sample win_s0;
    double win_waiting_sum;
    int win_looks;
    struct {
        double cpu, ws;                 /* cores: CPU, io + sleep */
        double waiting;                 /* share of the running workers */
    } last_win;
    double change_demand;      /* work per task when the size last changed */
    int win_pending;           /* skip one tick after a change */
    /* watchdog: the last tick's totals, when the pool last progressed */
    uint64_t wd_tasks, wd_calls, wd_subs, wd_ns, progress_ns, stall_ns;
    double calls_rate;         /* EMA of completed wrapped calls per second */
    int submit_ticks, idle_core_ticks;
    uint64_t release_log_ns;
    int blind_windows;         /* windows in a row that saw too few tasks to judge a change */
    int rest_ticks;            /* ticks in a row with every running worker idle, nothing queued */
    int contend_ticks;         /* ticks in a row that saw only mutex waits (contended_point) */
    int contend_never;         /* a GIL-like handoff or a condvar wait was seen: never a hot-mutex safe point */
    int obs_ticks;             /* intervals observed */
    int by_acqs;               /* throughput counted in hot-lock acquisitions, not tasks (work_done) */
    /* reporting */
    int fixed_noted, no_grow_noted, advised, blind_noted, serial_noted, nopark_noted;
    int advise_next;           /* the model said sizes apart from `advised` since advise_since */
    uint64_t advise_since;
    int threads_at_start;
    int moved;                 /* mode on: the pool ran at more than one size */
};

static struct ctl ctls[PS_MAX_POOLS];
/* The view this step decides on (ps_controller_tick's argument): everything
 * the control law reads of the pools comes from it, nothing from the tables. */
static const struct ps_view *V;
/* Hot-lock acquisitions by each pool's workers: the last sum over its live
 * workers, and a total that only grows (an exit takes its worker's count out
 * of the sum: the total then counts from the new sum). */
static uint64_t acqs_sum[PS_MAX_POOLS], acqs_total[PS_MAX_POOLS];
static uint64_t acqs_prev[PS_MAX_POOLS];  /* acqs_total at the previous tick (the view's prev sample) */
static double idle_now;                    /* ps_machine_idle_cores(), this tick */
/* CPU of the process's threads outside every pool (node's main thread, a
 * writer thread), cores: the view's, smoothed (EMA). The cores a pool's
 * model may count on are those the rest of its process leaves. */
static double other_cores;
static int other_seen;
static struct ps_decision ring[PS_DECISIONS_KEPT];
static unsigned nring;
static int ctl_pid;

static int max_size(void)
{
    return ps_cfg.max_threads ? ps_cfg.max_threads : 64 * ps_ncores;
}

static int clamp_size(int v)
{
    int lo = ps_cfg.min_threads > 0 ? ps_cfg.min_threads : 1, hi = max_size();
    return v < lo ? lo : v > hi ? hi : v;
}

static void log_decision(int pi, uint64_t now, int from, int to, int act, const struct ps_decision_in *in,
                         const char *fmt, ...) __attribute__((format(printf, 7, 8)));
static void log_decision(int pi, uint64_t now, int from, int to, int act, const struct ps_decision_in *in,
                         const char *fmt, ...)
{
    struct ps_decision *d = &ring[nring % PS_DECISIONS_KEPT];
    d->t_ns = now;
    d->pool = pi;
    d->from = from;
    d->to = to;
    d->act = act;
    d->in = *in;
    __builtin_va_list ap;
    __builtin_va_start(ap, fmt);
    ps_vfmt(d->reason, sizeof d->reason, fmt, ap);
    __builtin_va_end(ap);
    nring++;
}

static double ema(double old, double v, int first)
{
    return first ? v : old + EMA_ALPHA * (v - old);
}

/* Folds the latest history interval of pool pi into its EMAs; 0 if nothing new. */
static int observe(int pi, struct ctl *c)
{
    const struct ps_view_pool *p = &V->pool[pi];
    uint32_t hn = p->hist_n;
    if (hn < 2 || hn == c->hist_seen)
        return 0;
    c->hist_seen = hn;
    const struct ps_pool_sample *s1 = &p->last, *s0 = &p->prev;
    if (s1->t_ns <= s0->t_ns)
        return 0;
    double dt = (double)(s1->t_ns - s0->t_ns) * NS;
#define RATE(f) ((s1->f >= s0->f ? (double)(s1->f - s0->f) : 0) * NS / dt)
    int first = !c->seen;
    /* The view counts a pool's tasks from its idle waits or, where those
     * count a part, from its task object (tally.h), and may switch between
     * the two (CPython's executor, once its semaphore is found posted by its
     * own workers): across a switch the two totals do not subtract (one such
     * interval read 4.5e18 tasks/s), so this interval has no task rate and
     * the controller's window starts again (control()). */
    c->count_moved = c->seen && (p->tasks_by_tally != c->count_tally || s1->tasks < s0->tasks);
    c->count_tally = p->tasks_by_tally;
    c->cpu = ema(c->cpu, RATE(cpu_ns), first);
    /* W as the report counts it. A sleep is timed until the thread runs
     * again, so on a busy machine W/C grows with the wait for a core (20 read
     * as 31 at 64 threads on 2 cores). Taking the run-queue time out is no
     * cure: it also holds preemptions during CPU bursts, and under other
     * processes' load that made W/C 8 of a true 20 and the model cut an I/O
     * pool from 42 to 17 threads. Too high errs towards more threads, which
     * the hill climber and the CPU guard bound. The waits of threads that
     * took no task are none of the tasks' (pool.h: taskless). */
    c->ws = ema(c->ws, RATE(task_wait_ns), first);
    c->lock = ema(c->lock, RATE(lock_ns), first);
    c->cond = ema(c->cond, RATE(cond_ns), first);
    c->idle = ema(c->idle, RATE(idle_ns), first);
    c->obs_ticks++;
    c->cond_last = RATE(cond_ns);
    c->idle_last = RATE(idle_ns);
    c->lock_last = RATE(lock_ns);
    c->runq = ema(c->runq, RATE(runq_ns), first);
    if (!c->count_moved)
        c->tasks = ema(c->tasks, (s1->tasks >= s0->tasks ? (double)(s1->tasks - s0->tasks) : 0) / dt, first);
#undef RATE
    int running = p->live - p->parked;
    c->win_waiting_sum += running > 0 ? (double)p->idle / running : 0;
    c->win_looks++;
    if (s1->tasks > s0->tasks && !first && !c->count_moved) {
        /* Sleeps and I/O waits on a busy machine include the wait for a core
         * after the wake-up (also counted as run-queue time): take it out. */
        double w = (double)(s1->task_wait_ns - s0->task_wait_ns) * NS;
        double rq = (double)(s1->runq_ns - s0->runq_ns) * NS;
        double work = (double)(s1->cpu_ns - s0->cpu_ns) * NS + (w > rq ? w - rq : 0);
        double d = work / (double)(s1->tasks - s0->tasks);
        c->demand = c->demand > 0 ? ema(c->demand, d, 0) : d;
    }
    /* The object the pool contends on most: its wait and hold, per second. */
    double dw = 0, dh = 0;
    uintptr_t key = p->top_key;
    uint64_t wait_ns = p->top_wait_ns, hold_ns = p->top_hold_ns;   /* a GIL-like pair's wait counts both */
    if (key && key == c->top_key) {
        /* totals only grow, but a GIL-like pair's sum can lose its other
         * half (no longer paired): never a negative, wrapped, rate */
        dw = wait_ns >= c->top_wait_prev ? (double)(wait_ns - c->top_wait_prev) * NS / dt : 0;
        dh = hold_ns >= c->top_hold_prev ? (double)(hold_ns - c->top_hold_prev) * NS / dt : 0;
    } else if (key && !c->top_key) {
        /* The first object we see: no previous total to take a rate from.
         * Read as 0, a serialized pool would look unserialized at the first
         * look, which acts at once, and be grown (test_controller.c's
         * serialized pool). Its wait in this
         * interval is at most its total so far and at most the pool's lock
         * and condvar wait in the interval; its hold keeps its ratio to the
         * wait since it was first contended. Later changes of the top object
         * keep the EMAs' history instead. */
        double pool_ns = (double)((s1->lock_ns >= s0->lock_ns ? s1->lock_ns - s0->lock_ns : 0) +
                                  (s1->cond_ns >= s0->cond_ns ? s1->cond_ns - s0->cond_ns : 0));
        double w = (double)wait_ns < pool_ns ? (double)wait_ns : pool_ns;
        dw = w * NS / dt;
        dh = wait_ns ? (double)hold_ns * (w / (double)wait_ns) * NS / dt : 0;
    }
    if (key) {
        c->top_key = key;
        c->top_wait_prev = wait_ns;
        c->top_hold_prev = hold_ns;
        /* not yet told from a queue both threads post (control() waits) */
        c->top_handoff = p->top_handoff && !p->handoff_unsure;
        /* A GIL-like lock stays one when another object tops the pool's
         * contention for a while (CPython's pool: a Python lock of the
         * caller's for a few ticks): the waits we park at stay unsafe. */
        c->handoff_seen |= c->top_handoff;
    }
    c->top_wait = ema(c->top_wait, dw > 0 ? dw : 0, first);
    c->top_hold = ema(c->top_hold, dh > 0 ? dh : 0, first);
    if (first)
        c->threads_at_start = p->live;
    c->seen = 1;
    return 1;
}

/* The cores a pool's model counts on (view.h), from what the rest of the
 * process used lately. */
static double pool_cores(void)
{
    return ps_view_cores_left(other_cores);
}

static void model(int pi, struct ctl *c)
{
    struct ps_rec_in in = { 0 };
    in.cores = pool_cores();
    in.threads = V->pool[pi].live;
    in.cpu_s = c->cpu;
    in.io_s = c->ws;
    in.lock_s = c->lock;
    in.cond_s = c->cond;
    in.idle_s = c->idle;
    in.runq_s = c->runq;
    in.wall_s = 1;
    in.rates = 1;
    in.top_wait_s = c->top_wait;
    in.top_hold_s = c->top_hold;
    in.top_is_handoff = c->top_handoff;
    ps_recommend(&in, &c->rec);
    c->target = clamp_size(c->rec.recommended_threads);
}

/* Do not grow: the pool keeps the cores busy and its threads already queue
 * for them. (A machine loaded by other processes is not a reason: more
 * threads of an I/O-bound pool still get more done there.) */
static int guard(const struct ctl *c)
{
    return c->cpu >= 0.9 * ps_ncores && c->runq >= 0.1 * c->cpu;
}

/* No probe up: the running workers are found in their wait for work a real
 * share of the time. The census counts a worker there until it runs again,
 * so either no work came or, woken, it waited for a core: one more worker
 * would find nothing to do or no core to do it on. (Node's fs pool at 1,
 * fed by its main thread: found there 0.8 of the ticks, and a probe of 2 ran
 * 0.5-0.65 as fast.) */
static int underfed(const struct ctl *c)
{
    return c->last_win.waiting >= UNDERFED_SHARE;
}

/* No probe up: the pool already uses so much of the cores left to it that
 * one more thread could add less than a growth must gain (2 EPS): what a
 * pool gets done follows the CPU it gets (sysbench threads at 2 on 2 cores,
 * 1.97 cores: 3 runs slower; an I/O pool at the model's 43, 1.9 cores). */
static int cores_full(const struct ctl *c)
{
    return c->last_win.cpu >= pool_cores() / (1 + 2 * EPS);
}

/* No probe down whose loss the queueing model (qmodel.h) predicts, when the
 * model predicted the last window itself (the CPU the pool used at its size
 * within MODEL_AGREE of the model's, for the W/C it measured): a worker that
 * holds a core of its own (sysbench threads at 2 on 2 cores: 1 ran 0.55 as
 * fast), an I/O pool at the size that keeps the cores 95 % busy (43 -> 33
 * loses a fifth). Where the model is off (waits it does not see, workers
 * that get in each other's way) the probe is made. */
static int loss_predicted(const struct ctl *c, int to)
{
    double cpu = c->last_win.cpu, cores = pool_cores();
    if (c->size <= 0 || cpu <= 0)
        return 0;
    double w_c = c->last_win.ws / cpu, now = ps_qmodel_utilization(c->size, cores, w_c);
    if (fabs(cpu - now * cores) > MODEL_AGREE * now * cores)
        return 0;
    return ps_qmodel_utilization(to, cores, w_c) < now * (1 - 2 * EPS);
}

/* A pool whose workers wait on mutexes and on nothing else (no condvar, no
 * wait for work) never comes back to an idle wait or a queue mutex: its one
 * safe point is a hot (once contended) mutex (throttle.h), allowed only while its workers
 * wait on no condvar (a GIL is a flag behind a condvar: its holder holds no
 * lock we see, and parking it stops every thread) and hand no lock round.
 * Decided before any parking (parked time reads as idle), kept while no
 * condvar wait shows up. Returns whether the pool can be parked at all. */
static int contended_point(int pi, struct ctl *c)
{
    int on = ps_throttle_contended_allowed(pi), want;
    /* Never, once its threads were seen handing a GIL-like lock round or
     * waiting on a condvar after their start (a start-up barrier is one):
     * a GIL's holder holds no lock we see, and a pool whose top object turns
     * from the GIL to a Python lock for a while could be parked at the GIL's
     * own mutex, which stops every thread. */
    if (c->top_handoff || (c->obs_ticks > CONTEND_START_TICKS && c->cond_last >= CONTEND_COND_CORES))
        c->contend_never = 1;
    if (c->contend_never) {
        c->contend_ticks = 0;
        if (on)
            ps_throttle_allow_contended(pi, 0);
        return 0;
    }
    if (on) {
        want = c->cond < CONTEND_COND_CORES && !c->top_handoff && !c->no_throttle;
    } else {
        /* the last interval's rates: the EMAs keep a start-up barrier's wait for a second */
        int only_mutex = c->lock_last >= CONTEND_LOCK_CORES && c->cond_last < CONTEND_COND_CORES &&
                         c->cond_last < 0.02 * c->lock_last && c->idle_last < 0.02 * c->lock_last;
        c->contend_ticks = only_mutex ? c->contend_ticks + 1 : 0;
        want = c->contend_ticks >= STARVE_TICKS && !c->top_handoff && !c->no_throttle && !ps_throttle_parked(pi);
    }
    if (want != on)
        ps_throttle_allow_contended(pi, want);
    return want;
}

/* A worker that polls fds of its own (an event loop per worker: memcached,
 * nginx) owns its connections: parked, its clients wait for it however few
 * workers the others are, so such a pool is never throttled. */
static int owns_its_work(const struct ps_view_pool *p)
{
    return p->idle_site != NULL;
}

/* A pool whose threads hand a GIL-like lock round is parked only where a
 * thread has surely let that lock go: about to block on the pool's idle
 * semaphore or futex (CPython's executor waits for work on its queue's lock,
 * a semaphore it blocks on only after releasing the GIL). Its queue mutex
 * and hot mutexes stay off limits (ps_throttle_idle_only): a thread about to
 * lock one may be inside the GIL's own code. Anywhere else, such a pool is
 * not parked: a thread may hold the lock across the waits we park at. A
 * runtime that blocked for work holding its GIL would stop every thread
 * parked there, as the real wait already did; the watchdog's stall rule
 * (no task or call finished while workers are parked) lets them go. */
static int handoff_unparkable(const struct ctl *c, const struct ps_view_pool *p)
{
    if (!c->handoff_seen)
        return 0;
    return !p->idle_obj || (p->idle_kind != PS_K_SEM && p->idle_kind != PS_K_FUTEX);
}

/* A pool seen handing a GIL-like lock round whose threads wait for nothing
 * else (W/C ~0): one more thread finds the lock taken. Not probed upwards
 * (CPython's executor at 1 probed to 2 and back in its first 2 s, 3 changes
 * in a minute); the model grows it when its tasks wait outside the lock. */
static int gil_bound(const struct ctl *c)
{
    return c->handoff_seen && c->rec.w_c < 0.1;
}

static int can_park(int pi, const struct ps_view_pool *p)
{
    return (ps_view_has_safe_point(p) || ps_throttle_contended_allowed(pi)) && !owns_its_work(p);
}

/* Why pool pi's workers cannot be parked now, or NULL. */
static const char *cannot_park(int pi, const struct ps_view_pool *p, const struct ctl *c)
{
    if (owns_its_work(p))
        return "each worker polls fds of its own (an event loop per worker): parked, its connections "
               "would wait for it";
    if (!can_park(pi, p) && p->twins && p->idle_kind == PS_K_COND)
        return "each worker waits for work on a condvar of its own, whose mutex other threads take to "
               "wake it, holding locks we cannot see (a JVM's unpark), so there is no safe point to park them";
    if (!can_park(pi, p))
        return "its workers were never seen waiting for work nor taking it from a queue a producer "
               "waits on, so there is no safe point to park them";
    if (c->no_throttle)
        return "parking stalled this pool once (watchdog)";
    if (handoff_unparkable(c, p))
        return "its threads hand a GIL-like lock to each other, which a thread may hold across the "
               "waits we would park it at";
    return NULL;
}

static void fill_inputs(int pi, const struct ctl *c, double tput, struct ps_decision_in *in)
{
    const struct ps_view_pool *p = &V->pool[pi];
    in->threads = p->live;
    in->parked = ps_throttle_parked(pi);
    in->tput = tput;
    in->ref_tput = c->ref_tput;
    in->w_c = c->rec.w_c;
    in->goetz = c->rec.goetz;
    in->model = c->target;
    in->bottleneck = c->rec.bottleneck;
    in->cpu_cores = c->cpu;
    in->runq_cores = c->runq;
    in->queue = p->queue;
    in->cls = ps_class_name[c->rec.cls];
}

/* Moves pool pi to size `to` (mode on) and logs it. Returns the size reached. */
static int change(int pi, struct ctl *c, uint64_t now, int to, int kind, double tput, const char *why)
{
    const struct ps_view_pool *p = &V->pool[pi];
    int live = p->live, from = c->size, act;
    struct ps_decision_in in;
    fill_inputs(pi, c, tput, &in);
    to = clamp_size(to);
    if (to > live) {
        int can = ps_expand_allowed(pi) && c->rec.cls != PS_CLASS_SERIAL && !guard(c);
        int started = can ? ps_expand_start(pi, to - live > 64 ? 64 : to - live) : 0;
        if (started) {
            ps_throttle_set_limit(pi, 0);
            act = PS_ACT_EXPAND;
            to = live + started;
        } else {
            if (!can && !c->fixed_noted) {
                char what[64], line[160];
                ps_expand_knob(pi, to, what, sizeof what, line, sizeof line);
                c->fixed_noted = 1;
                if (ps_expand_refusal(pi))
                    log_decision(pi, now, from, live, PS_ACT_HOLD, &in,
                                 "%s; that needs %d threads but the pool's size (%d) is fixed at start (%s) and "
                                 "POOLSHIM_EXPAND was refused: %s; the recommended size goes to the profile",
                                 why, to, live, what, ps_expand_refusal(pi));
                else if (!ps_expand_allowed(pi))
                    log_decision(pi, now, from, live, PS_ACT_HOLD, &in,
                                 "%s; that needs %d threads but the pool's size (%d) is fixed at start (%s%s): "
                                 "the recommended size goes to the profile", why, to, live, what,
                                 ps_cfg.expand[0] ? ", not POOLSHIM_EXPAND" : "; POOLSHIM_EXPAND not set");
                else
                    log_decision(pi, now, from, live, PS_ACT_HOLD, &in, "not adding threads: %s",
                                 c->rec.cls == PS_CLASS_SERIAL ? c->rec.reason
                                 : "the cores are saturated and threads already wait for them");
            }
            to = live;
            if (to == from && !ps_throttle_parked(pi))
                return from;
            ps_throttle_set_limit(pi, 0);
            act = PS_ACT_UNPARK;
        }
    } else {
        const char *cannot = cannot_park(pi, p, c);
        if (to < live && cannot) {
            if (!c->nopark_noted) {
                log_decision(pi, now, from, from, PS_ACT_HOLD, &in, "%s wants %d threads, but %s: not throttling",
                             why, to, cannot);
                c->nopark_noted = 1;
            }
            return from;
        }
        act = to < from ? PS_ACT_THROTTLE : PS_ACT_UNPARK;
        ps_throttle_set_limit(pi, to < live ? to : 0);
    }
    if (kind == K_ROLLBACK)
        act = PS_ACT_ROLLBACK;
    log_decision(pi, now, from, to, act, &in, "%s", why);
    if (ps_cfg.control == PS_CONTROL_ON && to != from)
        c->moved = 1;
    c->size = to;
    c->last_kind = kind;
    c->change_ns = now;
    c->change_demand = c->demand;
    c->win_pending = 1;
    return to;
}

/* The pool's work done so far, the count its throughput is measured in:
 * tasks, or for a pool parked at its hot mutexes (it never waits for work,
 * so its tasks are not seen: sysbench threads), its workers' hot-lock
 * acquisitions: each one is a
 * critical section done, and spinning or waiting completes none (CPU time
 * would reward both). A window's count is only compared with one of the same
 * unit (work_unit). */
static uint64_t work_done(int pi, const struct ctl *c)
{
    const struct ps_view_pool *p = &V->pool[pi];
    return c->by_acqs ? acqs_total[pi] : p->last.tasks;
}

static const char *work_unit(const struct ctl *c)
{
    return c->by_acqs ? "lock acquisitions" : "tasks";
}

/* What the pool did over the window that ends now, at the size it ran. */
static void end_window(int pi, struct ctl *c)
{
    const struct ps_pool_sample *s1 = &V->pool[pi].last, *s0 = &c->win_s0;
    memset(&c->last_win, 0, sizeof c->last_win);
    if (s1->t_ns <= s0->t_ns || !s0->t_ns)
        return;
    double dt = (double)(s1->t_ns - s0->t_ns) * NS;
#define RATE(f) ((s1->f >= s0->f ? (double)(s1->f - s0->f) : 0) * NS / dt)
    c->last_win.cpu = RATE(cpu_ns);
    c->last_win.ws = RATE(task_wait_ns);
#undef RATE
    c->last_win.waiting = c->win_looks ? c->win_waiting_sum / c->win_looks : 0;
}

static void start_window(struct ctl *c, int pi, uint64_t now)
{
    c->win_s0 = V->pool[pi].last;
    c->win_waiting_sum = 0;
    c->win_looks = 0;
    c->win_ns = now;
    c->win_tasks = work_done(pi, c);
    c->win_pending = 0;
}

/* Tries a 25 % step in the probe direction, then (unless `onward`: a step
 * that just paid is followed only the same way, the other way was just
 * measured worse) in the other; 0 if none is possible. */
static int probe(int pi, struct ctl *c, uint64_t now, double tput, int onward)
{
    const struct ps_view_pool *p = &V->pool[pi];
    int step = c->size / 4 > 1 ? c->size / 4 : 1;
    for (int tries = 0; tries < (onward ? 1 : 2); tries++, c->probe_dir = -c->probe_dir) {
        int to = clamp_size(c->size + c->probe_dir * step);
        /* Probe around the model, not away from it: single windows are noisy
         * and a lucky one must not walk the pool far from where it belongs. */
        int lo = c->target / 2 > 1 ? c->target / 2 : 1;
        int hi = c->target * 3 / 2 > c->target + 1 ? c->target * 3 / 2 : c->target + 1;
        if (to == c->size || (to < c->size && to < lo) || (to > c->size && to > hi))
            continue;
        if (to < c->size && (!can_park(pi, p) || c->no_throttle || handoff_unparkable(c, p) ||
                                 loss_predicted(c, to)))
            continue;                   /* cannot park (see change()), or a known loss */
        if (to > c->size && (guard(c) || c->rec.cls == PS_CLASS_SERIAL || gil_bound(c) || underfed(c) || cores_full(c) ||
                             (to > p->live && !ps_expand_allowed(pi))))
            continue;
        char why[160];
        ps_fmt(why, sizeof why, "probe %s: %d -> %d threads (last good %d at %d %s/s)",
               to > c->size ? "up" : "down", c->size, to, c->ref_size, (int)c->ref_tput, work_unit(c));
        int from = c->size;
        if (change(pi, c, now, to, K_PROBE, tput, why) == from)
            return 0;                   /* nothing could be done (logged) */
        c->phase = P_EVAL;
        return 1;
    }
    return 0;
}

/* A change is measured over this: POOLSHIM_COOLDOWN_MS, at least 2 ticks. */
static uint64_t window_ns(void)
{
    uint64_t window = (uint64_t)ps_cfg.cooldown_ms * 1000000ull;
    return window < 200000000ull ? 200000000ull : window;
}

/* When to probe a size next. Soon while it is new (a model move or a gain
 * may have landed a step off the best): PROBE_FIRST windows, then twice that.
 * Once SETTLED_FAILS probes in a row found nothing better on its sides, the
 * size is confirmed and each probe is a cost (a change, a window at a worse
 * size, its undo): once a minute, then every 2 and 4 minutes. A change in
 * the workload's shape (work per task, a model move, a real gain) sets fails
 * back to 0. */
static uint64_t probe_delay_ns(const struct ctl *c, uint64_t window)
{
    if (c->fails < SETTLED_FAILS)
        return PROBE_FIRST * window << c->fails;
    return (uint64_t)SETTLED_PROBE_S * 1000000000ull << (c->fails - SETTLED_FAILS);
}

static void backoff(struct ctl *c, uint64_t now, uint64_t window)
{
    if (c->fails < MAX_FAILS)
        c->fails++;
    c->next_probe_ns = now + probe_delay_ns(c, window);
}

/* The change under evaluation lost throughput: back to the last good size. */
static void rollback(int pi, struct ctl *c, uint64_t now, double tput, uint64_t window)
{
    char why[200];
    if (c->last_kind == K_MODEL)
        c->model_rejected = c->target;
    ps_fmt(why, sizeof why, "rollback: %d threads gave %d %s/s, %d threads gave %d",
           c->size, (int)tput, work_unit(c), c->ref_size, (int)c->ref_tput);
    if (c->ref_size < c->size)
        c->small_measured = c->ref_size;     /* more threads measured slower */
    change(pi, c, now, c->ref_size, K_ROLLBACK, tput, why);
    c->probe_dir = -c->probe_dir;
    c->phase = P_STEADY;
    backoff(c, now, window);
}

/* a and b differ by at least a factor num/den */
static int apart(int a, int b, int num, int den)
{
    return a * num <= b * den || b * num <= a * den;
}

/* "model: " and its reason, and the cores it counted when the rest of the
 * process used some (pool_cores). */
static void model_why(char *why, size_t n, const struct ctl *c)
{
    if (pool_cores() >= ps_cores) {
        ps_fmt(why, n, "model: %s", c->rec.reason);
        return;
    }
    char o[32], l[32];
    ps_fmt_double(o, sizeof o, other_cores, 1);
    ps_fmt_double(l, sizeof l, pool_cores(), 1);
    ps_fmt(why, n, "model: %s (cores: the process's other threads use %s, %s left to the pool)", c->rec.reason, o, l);
}

/* The model moved far from the size it last acted on, and from the current
 * size: a load shift, once it stays so for a window. */
static int model_shifted(const struct ctl *c)
{
    int t = c->target, cur = c->size, acted = c->model_acted;
    return acted && apart(t, cur, 4, 3) && apart(t, acted, 3, 2) && abs(t - acted) >= 2 && abs(t - cur) >= 2;
}

/* Follows the model when it is far from the current size and, once the pool
 * is steady, only when the model itself moved (a load shift): otherwise the
 * model would undo what the throughput measurements decided. */
static int model_move(int pi, struct ctl *c, uint64_t now, double tput, int steady)
{
    int t = c->target, cur = c->size;
    if (t == cur || !apart(t, cur, 4, 3))
        return 0;
    if (steady && c->model_acted && (!c->shift_ns || now - c->shift_ns < window_ns()))
        return 0;                       /* small moves are the hill climber's job; noise moves the
                                         * model too: wait until it stays */
    c->shift_ns = 0;
    if (c->model_rejected && t * 2 > c->model_rejected && t < c->model_rejected * 2)
        return 0;                       /* tried it: it lost throughput */
    if (t > cur && guard(c)) {
        if (!c->no_grow_noted) {
            struct ps_decision_in in;
            fill_inputs(pi, c, tput, &in);
            char pct[32];
            ps_fmt_double(pct, sizeof pct, 100 * c->cpu / ps_ncores, 0);
            log_decision(pi, now, cur, cur, PS_ACT_HOLD, &in,
                         "model wants %d threads, not growing: the pool uses %s%% of the cores and waits for them",
                         t, pct);
            c->no_grow_noted = 1;
        }
        return 0;
    }
    char why[300];
    model_why(why, sizeof why, c);
    c->model_acted = t;
    c->ref_size = cur;
    /* A load shift moved the model: the window's throughput is mostly the old
     * load's. The recent rate (EMA over the last ticks) is the new load's; the
     * lower of the two is the reference the move must beat: against the old
     * load's rate a move that follows the shift looks like a loss. */
    c->ref_tput = steady && c->tasks < tput ? c->tasks : tput;
    c->ref_demand = c->demand;
    c->probe_dir = t > cur ? 1 : -1;
    c->fails = 0;                       /* a new size: look around it soon */
    int reached = change(pi, c, now, t, K_MODEL, tput, why);
    if (reached == cur)
        return 0;
    c->phase = P_EVAL;
    return 1;
}

/* The pool's hot-lock acquisitions as a total that only grows: the view
 * sums its live workers', and an exit takes its worker's count out of that
 * sum (the total then counts on from the new sum). */
static void count_acquisitions(int pi)
{
    uint64_t sum = V->pool[pi].lock_events;
    acqs_prev[pi] = acqs_total[pi];
    acqs_total[pi] += sum >= acqs_sum[pi] ? sum - acqs_sum[pi] : 0;
    acqs_sum[pi] = sum;
}

/* Parking starved the pool: release everyone and never park it again. */
static void stop_throttling(int pi, struct ctl *c, uint64_t now, const char *why)
{
    const struct ps_view_pool *p = &V->pool[pi];
    struct ps_decision_in in;
    c->no_throttle = 1;
    ps_throttle_set_limit(pi, 0);
    ps_throttle_release_all(pi);
    fill_inputs(pi, c, c->tasks, &in);
    log_decision(pi, now, c->size, p->live, PS_ACT_RELEASE, &in, "%s", why);
    c->size = p->live;
    c->phase = P_STEADY;
    c->win_pending = 1;
    c->change_ns = now;
}

/* The throttle's safety net. Every running worker idle with nothing queued is
 * what a throttle aims for, not starvation, and the parked stay parked, with
 * one exception: a worker may come to the queue mutex with a finished task's
 * bookkeeping (node's platform workers count a task down under it; parked
 * there at rest, they hung the main thread waiting for the count). So when
 * the pool rests, workers parked at the queue mutex are let go once if a
 * thread waits on a condvar with that mutex, or after REST_RELEASE_TICKS
 * anyway. Parked workers are released on evidence that parking starves work:
 *  - work submitted (posts to the idle object) and none started for
 *    STARVE_TICKS ticks while a running worker waits for work: the work
 *    waits for the parked (per-worker queues);
 *  - the pool not at rest (work queued, any parked worker of a never-idle
 *    pool, or a running worker not waiting for work), and no task nor
 *    wrapped call completed for max(2 s, 8 task or call times): the running
 *    workers wait on something a parked one holds or would do, whether they
 *    count as waiting for work or not. With nothing queued, only if the pool
 *    uses no CPU (its workers are blocked): a worker may come to the learned
 *    queue mutex in the middle of a task or with its result
 *    (pigz's compress workers and its writer share one start routine, and
 *    the learned idle wait and queue mutex moved between their locks; parked
 *    there, workers held jobs the writer waited for, for minutes). Calls,
 *    not CPU time: spinning on a parked worker's lock burns CPU and
 *    completes nothing.
 * Either stops throttling the pool for good. And a throttle that leaves cores
 * idle while work waits (no running worker idle) is undone for STARVE_TICKS
 * ticks of it at once: the size grows by the idle cores (not for a serialized
 * pool, whose throttle is meant to leave them idle). */
static void watchdog(int pi, struct ctl *c, uint64_t now)
{
    const struct ps_view_pool *p = &V->pool[pi];
    uint64_t tasks = p->last.tasks, calls = p->calls;
    uint64_t subs = p->submissions;
    int started = tasks != c->wd_tasks, submitted = subs != c->wd_subs;
    double dt = c->wd_ns && now > c->wd_ns ? (double)(now - c->wd_ns) * NS : 0;
    if (dt > 0 && calls >= c->wd_calls)
        c->calls_rate = ema(c->calls_rate, (double)(calls - c->wd_calls) / dt, c->calls_rate == 0);
    if (started || calls != c->wd_calls || !c->progress_ns) {
        /* The stall limit is set while the pool progresses: once it stops,
         * its rates decay towards 0 and would stretch the limit forever. */
        int running = c->size > 0 ? c->size : 1;
        double per_task = c->tasks > 0 ? running / c->tasks : 0;
        double per_call = c->calls_rate > 0 ? running / c->calls_rate : 0;
        double stall_s = 8 * (per_task > per_call ? per_task : per_call);
        stall_s = stall_s < STALL_MIN_S ? STALL_MIN_S : stall_s > STALL_MAX_S ? STALL_MAX_S : stall_s;
        c->stall_ns = (uint64_t)(stall_s * 1e9);
        c->progress_ns = now;
    }
    c->wd_tasks = tasks;
    c->wd_calls = calls;
    c->wd_subs = subs;
    c->wd_ns = now;
    if (!ps_throttle_parked(pi) || c->no_throttle) {
        c->submit_ticks = c->idle_core_ticks = 0;
        return;
    }
    int never_idle = !p->idle_obj;      /* parked at the queue mutex: each parked worker has work */
    /* At rest: no task started since the last tick, none queued, no running
     * worker busy. The census alone is not enough: it finds a worker in its
     * wait for work until it runs again, and node's fs pool at 1 worker
     * (fed by the main thread, 500k tasks/s) was found there in most ticks,
     * "rested" for 2 s, and had its 63 parked workers let go. */
    int resting = !never_idle && p->busy == 0 && !p->queue && !started;
    c->rest_ticks = resting ? c->rest_ticks + 1 : 0;
    if (resting && ps_throttle_parked_at_mutex(pi) &&
        (p->queue_mutex_waited || c->rest_ticks >= REST_RELEASE_TICKS)) {
        ps_throttle_release_at_mutex(pi);
        c->rest_ticks = 0;
        if (now - c->release_log_ns >= 1000000000ull) {     /* said at most once a second */
            struct ps_decision_in in;
            fill_inputs(pi, c, c->tasks, &in);
            log_decision(pi, now, c->size, c->size, PS_ACT_RELEASE, &in, "watchdog: the pool rests with workers parked "
                         "at its queue mutex, where a worker may hold a finished task's bookkeeping, and %s: "
                         "released once", p->queue_mutex_waited ? "a thread waits on a condvar with that mutex"
                         : "it has rested for 2 s");
            c->release_log_ns = now;
        }
    }
    int queued = never_idle || p->queue > 0;
    c->submit_ticks = !never_idle && submitted && !started && p->idle > 0 ? c->submit_ticks + 1 : 0;
    char why[240], secs[32];
    if (c->submit_ticks >= STARVE_TICKS) {
        ps_fmt(why, sizeof why, "watchdog: work was submitted and none started for %d ticks while workers were "
               "parked: throttling stopped for this pool", c->submit_ticks);
        stop_throttling(pi, c, now, why);
        return;
    }
    /* Nothing queued: only if the pool's workers are blocked, not computing
     * (a long CPU task completes no call either: sysbench cpu's events). A
     * pool at rest is the throttle's goal, not a stall. */
    int blocked = queued || c->cpu < STALL_CPU_CORES;
    if (!resting && blocked && now - c->progress_ns >= c->stall_ns) {
        ps_fmt_double(secs, sizeof secs, (double)(now - c->progress_ns) * NS, 1);
        ps_fmt(why, sizeof why, "watchdog: %s and no worker finished a task or a call for %s s while "
               "workers were parked: throttling stopped for this pool",
               queued ? "work waits" : "a running worker is not waiting for work", secs);
        stop_throttling(pi, c, now, why);
        return;
    }
    /* Not where throughput was measured: a probe down under evaluation is
     * judged by its window (its early rollback undoes a real loss within a
     * quarter of it), and a size measured as fast as a larger one or faster
     * leaves the cores it does not use idle for a reason (more idle than
     * those is news: the rest of the machine let go of some). A pool that
     * never waits for work, parked at its hot mutexes, ran 2.4 million
     * acquisitions/s at 1 worker and 1.1 million at 2, yet in one run of 8
     * the watchdog read the core its probe to 1 left idle as starvation,
     * unparked 1 -> 5 in 2.5 s and kept it there. */
    int measured = (c->phase == P_EVAL && c->last_kind == K_PROBE && c->size < c->ref_size) ||
                   (c->small_measured && c->size == c->small_measured &&
                    idle_now <= ps_cores - c->size + IDLE_CORES_MIN / 2);
    int waiting = queued && p->idle == 0 && c->rec.cls != PS_CLASS_SERIAL && !c->top_handoff && !measured;
    double idle = waiting ? idle_now : 0;
    c->idle_core_ticks = idle >= IDLE_CORES_MIN ? c->idle_core_ticks + 1 : 0;
    if (c->idle_core_ticks < STARVE_TICKS)
        return;
    int live = ps_throttle_live(pi), to = c->size + (int)(idle + 0.999);
    to = to < live ? to : live;
    c->idle_core_ticks = 0;
    if (to <= c->size)
        return;
    ps_fmt_double(secs, sizeof secs, idle, 1);
    ps_fmt(why, sizeof why, "watchdog: %s cores idle while work waits and no running worker is idle: "
           "the throttle is undone by as many workers", secs);
    change(pi, c, now, to, K_NONE, c->tasks, why);
    c->phase = P_STEADY;
    c->ref_size = c->size;
    c->ref_tput = c->tasks;
    c->ref_demand = c->demand;
    backoff(c, now, window_ns());
}

/* Advice changes once the model's new size has held this long: a W/C that
 * wavers where the size turns from 2 to 3 (qemu-img convert -c, 15 workers)
 * flipped the advice every 0.5 s, 8 times in 7 s. */
#define ADVISE_HOLD_NS 2000000000ull

static void advise(int pi, struct ctl *c, uint64_t now)
{
    int cur = V->pool[pi].live, t = c->target;
    if (t == cur || t == c->advised || (c->advised && t * 4 > c->advised * 3 && t * 3 < c->advised * 4)) {
        c->advise_next = 0;             /* nothing new to say: within 25 % of what we said */
        return;
    }
    if (c->advised && !c->advise_next) {
        c->advise_next = 1;
        c->advise_since = now;
    }
    if ((c->advised && now - c->advise_since < ADVISE_HOLD_NS) ||
        now - c->change_ns < (uint64_t)ps_cfg.cooldown_ms * 1000000ull)
        return;
    struct ps_decision_in in;
    fill_inputs(pi, c, c->tasks, &in);
    const char *fixed = t > cur && !ps_expand_allowed(pi) ? " (size fixed at start: see the profile)" : "";
    log_decision(pi, now, cur, t, PS_ACT_ADVISE, &in, "advise: %s%s", c->rec.reason, fixed);
    c->advised = t;
    c->advise_next = 0;
    c->change_ns = now;
}

/* Said once per verdict, whether or not the pool can be acted on: again when
 * the lock turns out to be GIL-like (the pair of a mutex and a condvar is
 * only known once both halves waited). */
static void note_serial(int pi, struct ctl *c, uint64_t now)
{
    int verdict = c->rec.cls != PS_CLASS_SERIAL ? 0 : c->top_handoff ? 2 : 1;
    if (verdict <= c->serial_noted)
        return;
    struct ps_decision_in in;
    fill_inputs(pi, c, c->tasks, &in);
    int n = c->size ? c->size : V->pool[pi].live;
    log_decision(pi, now, n, n, PS_ACT_HOLD, &in, "never adding threads to this pool: %s", c->rec.reason);
    c->serial_noted = verdict;
}

/* A change's window saw too few task boundaries to measure throughput (the
 * pool's tasks are not seen at this size, or it did not get a core): a
 * rollback would compare the reference against 0 tasks/s, which says nothing
 * about the change. Measure again, twice; then keep the change, which the
 * model or a measured probe chose, and stop probing until tasks are seen.
 * Returns 1 while still measuring. */
static int unseen_window(int pi, struct ctl *c, uint64_t now, uint64_t n, double tput)
{
    struct ps_decision_in in;
    fill_inputs(pi, c, tput, &in);
    if (++c->blind_windows < BLIND_WINDOWS) {
        if (c->blind_windows == 1)
            log_decision(pi, now, c->size, c->size, PS_ACT_HOLD, &in, "keep %d threads: %d task boundaries in the "
                         "window, too few to compare with %d tasks/s at %d threads; measuring again", c->size,
                         (int)n, (int)c->ref_tput, c->ref_size);
        return 1;
    }
    log_decision(pi, now, c->size, c->size, PS_ACT_HOLD, &in, "keep %d threads: throughput not measurable at this size "
                 "(%d task boundaries in the last window); not probing until tasks are seen", c->size, (int)n);
    c->blind_windows = 0;
    c->ref_size = c->size;
    c->ref_tput = tput;
    c->ref_demand = c->demand;
    c->phase = P_STEADY;
    backoff(c, now, window_ns());
    return 1;
}

static void control(int pi, struct ctl *c, uint64_t now)
{
    const struct ps_view_pool *p = &V->pool[pi];
    uint64_t window = window_ns();
    /* Checked every tick, not only when a move may come (a window after the
     * last change): counted in those checks, while the hill climber probed
     * each window, a shift took 3 windows to be believed (load_shift beside
     * two CPU hogs followed its shift after 3.1-3.3 s in 2 runs of 8). */
    if (!model_shifted(c))
        c->shift_ns = 0;
    else if (!c->shift_ns)
        c->shift_ns = now;
    watchdog(pi, c, now);
    /* A mutex and a condvar whose waits time out look GIL-like until the
     * pool is seen running more than one thread at a time (PS_PEAK_TICKS,
     * ~0.3 s). Read so at the first look, a pool of 32 spinning workers
     * whose idle waits poll a stop flag was marked for good as one we may
     * not park (1 CI run in 3): decide once it is measured. */
    if (p->handoff_unsure)
        return;
    if (c->handoff_seen)
        ps_throttle_idle_only(pi, 1);    /* idempotent: releases those parked elsewhere once */
    if (handoff_unparkable(c, p) && !c->no_throttle && (ps_throttle_parked(pi) || p->limit)) {
        /* Throttled before its threads were seen handing a GIL-like lock
         * round (pigz: at 0.1 s, the hand-off seen at 0.3 s): by change()'s
         * rule such a pool is not parked, a thread may hold that lock across
         * the waits we park at. */
        stop_throttling(pi, c, now, "its threads hand a GIL-like lock to each other, which a thread may hold "
                        "across the waits we park at: parked workers released, throttling stopped for this pool");
        return;
    }
    if (!c->size) {
        c->size = p->live;
        c->ref_size = c->size;
        c->phase = P_START;
        c->probe_dir = -1;
        /* The model's rates were measured since the previous sample of the
         * pool's history: the first look counts from there, not from now. A
         * starved agent (64 spinning workers on 2 cores) ticks late, and one
         * tick less at the wrong size is a tenth of a second won. */
        const struct ps_pool_sample *s0 = &p->prev;
        c->win_ns = s0->t_ns;
        c->win_tasks = s0->tasks;
        c->win_pending = 0;
    }
    /* parked at its hot mutexes: it waits for no work, so no task boundary is seen */
    int by_acqs = ps_throttle_contended_allowed(pi);
    if (by_acqs != c->by_acqs || c->count_moved || work_done(pi, c) < c->win_tasks) {
        /* the unit changed (hot-lock acquisitions, or tasks counted the
         * other way): a window's count compares only with its own unit */
        c->by_acqs = by_acqs;
        c->ref_tput = 0;
        start_window(c, pi, now);
        if (c->phase == P_START && by_acqs && !c->count_moved) {
            /* Acquisitions are counted from the pool's first tick: the first
             * look need not wait a window more for the new unit, it takes the
             * one since the last tick (sysbench threads: acting at 0.1 s, not 0.2). */
            c->win_s0 = p->prev;
            c->win_ns = p->prev.t_ns;
            c->win_tasks = acqs_prev[pi];
        } else if (c->phase == P_EVAL && c->last_kind == K_PROBE) {
            /* a probe is kept only on a measured gain: this one cannot be measured */
            char why[160];
            ps_fmt(why, sizeof why, "rollback: %d threads not measured (the pool's work is counted another way "
                   "from now: %s), back to %d", c->size, work_unit(c), c->ref_size);
            change(pi, c, now, c->ref_size, K_ROLLBACK, 0, why);
            backoff(c, now, window);
        }
        if (c->phase == P_EVAL)
            c->phase = P_STEADY;
        if (c->phase != P_START)
            return;
    }
    /* A throttled pool that starts threads after the throttle runs them
     * until they reach a safe point: CPython's executor starts one at each
     * submit that finds no idle worker, up to its max (48-56 of 64 after a
     * throttle at 0.15-0.3 s, the last at 1.7-3.9 s), and a new thread takes
     * queued work at once. A window with more threads running than its size
     * measures another size (two rollbacks "1 threads gave 803 tasks/s"
     * compared such windows): measure again once they are parked, for up to
     * 2 s after the change or the pool's latest new thread, whichever is
     * later (a worker that never reaches a safe point must not stop the
     * controller for good). */
    if (p->limit && p->live > c->seen_live)
        c->grew_ns = now;
    c->seen_live = p->live;
    uint64_t since = c->grew_ns > c->change_ns ? c->grew_ns : c->change_ns;
    int settling = now - since < 2000000000ull;
    if (!c->win_pending && settling && p->limit && c->size < p->live &&
        p->live - ps_throttle_parked(pi) > c->size)
        c->win_pending = 1;
    if (c->win_pending) {
        /* Measure the new size only once it is in force: workers park at
         * their next safe point and new workers take a moment to start. */
        int live = p->live, parked = ps_throttle_parked(pi);
        int settled = c->size < live ? parked >= live - c->size : live >= c->size || !parked;
        if (settled || !settling)
            start_window(c, pi, now);
        return;
    }
    uint64_t tasks = work_done(pi, c);
    double tput = now > c->win_ns ? (double)(tasks - c->win_tasks) / ((double)(now - c->win_ns) * NS) : 0;
    /* A load shift moves the model far: follow it at once, not at the end
     * of a window (and not sooner than the cooldown after the last change). */
    if (c->phase != P_START && now - c->change_ns >= window && now > c->win_ns && model_move(pi, c, now, tput, 1))
        return;
    /* A probe that costs much is clear well before its window ends (a failed
     * probe is most of what hill climbing costs a steady pool): undo it once
     * the loss stands out of the noise of the tasks seen so far: 30 % after a
     * quarter of the window, 15 % after half of it. Unless the work per task
     * grew by as much since the change: then the tasks got longer, and the
     * whole window (which tells a load shift from a loss) decides. The
     * demand's EMA lags a shift (a 4x one reads 1.9x after one tick, 3x after
     * three), so part of a window cannot tell them apart: a probe that cost
     * nothing would be undone when the tasks had become longer meanwhile
     * (test_controller.c's load shift). */
    uint64_t in_win = now - c->win_ns;
    double lost = c->ref_tput > 0 ? 1 - tput / c->ref_tput : 0;
    if (c->phase == P_EVAL && c->last_kind == K_PROBE && tasks - c->win_tasks >= 16 &&
        ((in_win >= window / 4 && lost > 6 * EPS) || (in_win >= window / 2 && lost > 3 * EPS)) &&
        !(c->change_demand > 0 && c->demand > c->change_demand / (1 - 3 * EPS))) {
        start_window(c, pi, now);
        rollback(pi, c, now, tput, window);
        return;
    }
    /* And a change that gains much is clear as early, by the same margin
     * (a move that pays is most often a step on the way: node's fs pool
     * from 64 to the model's 2, on to 1 half a window sooner). Whether the
     * gain is the change's or the load's (shorter tasks), the evaluation
     * below keeps the change: it may come now. */
    int gained = c->phase == P_EVAL && c->last_kind != K_ROLLBACK && c->ref_tput > 0 &&
                 tasks - c->win_tasks >= 16 && in_win >= window / 4 && -lost > 6 * EPS;
    /* The first look needs only rates for the model (two samples of the
     * pool's history): do not wait a full window. Every tick at the wrong size
     * costs the whole run: an undersized pool runs at 2/43 of its speed. */
    if (!gained && now - c->win_ns < (c->phase == P_START ? START_LOOK_NS : window))
        return;
    if (c->phase == P_START && tasks - c->win_tasks < 8) {
        /* Too few task boundaries to measure throughput (the pool's tasks
         * are not seen, or there is no work yet): keep looking. A pool the
         * user declared safe to grow may still follow the model upwards
         * when it is busy (no worker idle): growing it is what was asked.
         * A CPU-starved pool may follow it downwards: its threads wait for
         * a core as long as they run, and so few tasks end that it may be
         * collapsed (64 spinning workers on 2 cores finish ~20 tasks/s). */
        int grow = ps_expand_allowed(pi) && c->target > p->live && c->rec.cls != PS_CLASS_SERIAL &&
                   !guard(c) && (c->cpu > 0 || c->ws > 0);
        int shrink = c->target < p->live && c->rec.cls == PS_CLASS_STARVED && !handoff_unparkable(c, p) &&
                     can_park(pi, p) && now - c->win_ns >= 200000000ull;
        /* against the size we run at, not the live workers: a throttled pool
         * keeps them, and the same limit was set again every tick */
        if ((grow || shrink) && p->idle == 0 && apart(c->target, c->size, 4, 3)) {
            char why[300];
            ps_fmt(why, sizeof why, "model, throughput not measurable yet (%d task boundaries seen): %s",
                   (int)(tasks - c->win_tasks), c->rec.reason);
            c->model_acted = c->target;
            change(pi, c, now, c->target, K_MODEL, tput, why);
            c->win_pending = 0;
            start_window(c, pi, now);
            return;
        }
        if (!c->blind_noted && now - c->win_ns >= 1000000000ull) {
            struct ps_decision_in in;
            fill_inputs(pi, c, tput, &in);
            log_decision(pi, now, c->size, c->size, PS_ACT_HOLD, &in,
                         "not acting: %d task boundaries seen in the last second, too few to check the "
                         "throughput of a change; the model says %d threads (%s)",
                         (int)(tasks - c->win_tasks), c->target, c->rec.reason);
            c->blind_noted = 1;
        }
        return;
    }
    if (tasks == c->win_tasks && c->phase != P_EVAL) {
        start_window(c, pi, now);       /* no work: nothing to learn */
        return;
    }
    if (p->live < c->size && !ps_throttle_parked(pi))
        c->size = p->live;      /* workers left */
    /* ... or joined, with no limit of ours in force: the first look may come
     * while the program is still starting its workers (32 spin_oversub
     * workers under a loaded CI run: the pool was sized 1 at 0.59 s, its
     * model's 2 read as growth, and it was never throttled): it starts
     * over at its new size, the model's target not yet acted on */
    if (p->live > c->size && !p->limit) {
        c->size = c->ref_size = p->live;
        c->phase = P_START;
        c->model_acted = 0;
    }
    uint64_t win_count = tasks - c->win_tasks;
    int seen = win_count >= MIN_WINDOW_TASKS;
    end_window(pi, c);
    start_window(c, pi, now);
    if (c->phase == P_EVAL && !seen && unseen_window(pi, c, now, win_count, tput))
        return;
    c->blind_windows = 0;
    switch (c->phase) {
    case P_START:
        c->ref_size = c->size;
        c->ref_tput = tput;
        c->ref_demand = c->demand;
        c->phase = P_STEADY;
        c->next_probe_ns = now + probe_delay_ns(c, window);
        c->model_acted = c->target;
        if (model_move(pi, c, now, tput, 0) && c->by_acqs && c->rec.cls == PS_CLASS_STARVED)
            c->ref_tput = 0;    /* as the blind path's cut of a CPU-starved pool: the start size's
                                 * acquisitions, every worker waiting for a core and a lock, are
                                 * no reference (one such window rolled lock_yield back to 16) */
        break;
    case P_EVAL: {
        /* Throughputs compare only for the same work: if the work per task
         * changed by 3x since the reference, the load shifted under us. */
        int shifted = c->ref_demand > 0 && c->demand > 0 &&
                      (c->demand > 3 * c->ref_demand || c->ref_demand > 3 * c->demand);
        if (shifted) {
            struct ps_decision_in in;
            fill_inputs(pi, c, tput, &in);
            char a[32], b[32];
            ps_fmt_double(a, sizeof a, c->ref_demand * 1e3, 2);
            ps_fmt_double(b, sizeof b, c->demand * 1e3, 2);
            log_decision(pi, now, c->size, c->size, PS_ACT_HOLD, &in,
                         "keep %d threads: the work per task changed from %s to %s ms, so throughput before "
                         "and after the change do not compare; measuring again", c->size, a, b);
        }
        /* Growing must pay for its threads: twice the noise margin. And a
         * pool held back by one lock or a GIL loses nothing by the bottleneck
         * law when it shrinks: it is kept unless it lost twice the noise
         * margin (CPython's executor, 13 -> 1: 1758 against 1875 tasks/s, a
         * window's noise, rolled back). */
        int improved = tput > c->ref_tput * (1 + (c->size > c->ref_size ? 2 * EPS : EPS));
        double keep = c->rec.cls == PS_CLASS_SERIAL || c->handoff_seen ? 1 - 2 * EPS : 1 - EPS;
        if (shifted || improved || (tput >= c->ref_tput * keep && c->size < c->ref_size)) {
            int kind = c->last_kind;
            if (!shifted && c->size < c->ref_size)
                c->small_measured = c->size;     /* fewer threads measured as fast or faster */
            c->ref_size = c->size;
            c->ref_tput = tput;
            c->ref_demand = c->demand;
            /* A real gain: look around again soon. A change of the work per
             * task alone does not count: the estimate swings 5-10x between
             * windows of an I/O pool on a loaded machine (io_undersized: 1.8
             * to 10 ms, truly 21), and a load shift moves the model too. */
            if (improved && !shifted)
                c->fails = 0;
            else if (!shifted)
                backoff(c, now, window);
            c->phase = P_STEADY;
            if (improved || shifted)
                c->next_probe_ns = now + probe_delay_ns(c, window);
            if (kind == K_PROBE && improved && !shifted) {
                probe(pi, c, now, tput, 1);     /* it helped: keep going that way */
            } else if (kind == K_MODEL && c->target != c->size) {
                /* The model, read again at its new size (the rest of the
                 * process may use more of the cores once the pool is
                 * smaller), points a step further: go there now, as a probe. */
                c->probe_dir = c->target > c->size ? 1 : -1;
                probe(pi, c, now, tput, 1);
            }
        } else {
            rollback(pi, c, now, tput, window);
        }
        break;
    }
    case P_STEADY:
        if (c->ref_demand > 0 && c->demand > 0 && (c->demand > 3 * c->ref_demand || c->ref_demand > 3 * c->demand)) {
            c->ref_tput = tput;         /* a new workload: forget the old reference */
            c->ref_demand = c->demand;
        } else if (c->last_kind != K_ROLLBACK || c->size == c->ref_size) {
            c->ref_tput = c->ref_tput > 0 ? c->ref_tput + 0.5 * (tput - c->ref_tput) : tput;
            /* The reference's work per task follows its throughput. The
             * first look has none (a demand needs two intervals), so a pool
             * that started at the model's size kept 0 until a change was
             * accepted, and no load shift could be told from a loss: a free
             * probe was rolled back when its tasks got 4x longer. */
            c->ref_demand = c->ref_demand > 0 ? c->ref_demand + 0.5 * (c->demand - c->ref_demand) : c->demand;
        }
        c->last_kind = K_NONE;
        if (now >= c->next_probe_ns && (!seen || !probe(pi, c, now, tput, 0)))
            backoff(c, now, window);
        break;
    }
}

static void reset_all(void)
{
    memset(ctls, 0, sizeof ctls);
    nring = 0;
    other_cores = 0;
    other_seen = 0;
    ps_expand_reset();
    if (ctl_pid)
        ps_throttle_reset();            /* a forked child */
    ctl_pid = getpid();
}

void ps_controller_tick(const struct ps_view *view, uint64_t now)
{
    if (ps_cfg.control == PS_CONTROL_OFF || !view)
        return;
    V = view;
    if (ctl_pid != getpid())
        reset_all();                    /* first tick, or a forked child */
    ps_throttle_tick();
    int any_parked = 0;
    for (int pi = 0; pi < V->npools && !any_parked; pi++)
        any_parked = ps_throttle_parked(pi) > 0;
    for (int pi = 0; pi < V->npools && ps_cfg.control == PS_CONTROL_ON; pi++)
        count_acquisitions(pi);         /* every tick: a pool's acquisitions count from its first tick */
    if (V->other_cores >= 0) {
        other_cores = ema(other_cores, V->other_cores, !other_seen);
        other_seen = 1;
    }
    if (any_parked && ps_cfg.control == PS_CONTROL_ON)
        idle_now = ps_machine_idle_cores(now);   /* the watchdog's: only needed while someone is parked */
    for (int pi = 0; pi < V->npools; pi++) {
        const struct ps_view_pool *p = &V->pool[pi];
        struct ctl *c = &ctls[pi];
        if (!p->has_routine || p->live <= 0 || !observe(pi, c))
            continue;
        if (ps_cfg.expand[0])
            ps_expand_allowed(pi);      /* a refusal is said as soon as it is known */
        model(pi, c);
        if (ps_cfg.control == PS_CONTROL_ADVISE) {
            advise(pi, c, now);
            continue;
        }
        note_serial(pi, c, now);
        int parkable = contended_point(pi, c) || ps_view_has_safe_point(p);
        if (parkable || ps_expand_allowed(pi))  /* something to act with */
            control(pi, c, now);
    }
}

void ps_controller_on_thread_exit(struct ps_thread *t)
{
    ps_throttle_on_thread_exit(t);
}

int ps_controller_measured(int pi, double *tput)
{
    const struct ctl *c = &ctls[pi];
    if (ctl_pid != getpid() || ps_cfg.control != PS_CONTROL_ON || !c->seen || c->phase != P_STEADY ||
        c->ref_size <= 0 || c->ref_tput <= 0 || !c->moved)
        return 0;
    /* The best of the sizes it could reach says nothing against a model that
     * wants more than the pool can be grown to. */
    if (c->target > c->ref_size && c->ref_size >= V->pool[pi].live && !ps_expand_allowed(pi))
        return 0;
    *tput = c->ref_tput;
    return c->ref_size;
}

int ps_controller_active(void)
{
    return ctl_pid == getpid();
}

int ps_controller_pool(int pi, struct ps_ctl_pool *out)
{
    const struct ctl *c = &ctls[pi];
    if (ctl_pid != getpid() || pi < 0 || pi >= PS_MAX_POOLS || !c->seen)
        return 0;
    out->threads_at_start = c->threads_at_start;
    out->size = c->size ? c->size : V->pool[pi].live;
    out->model = c->target;
    out->best_tput = c->ref_tput;
    out->cannot_park = cannot_park(pi, &V->pool[pi], c);
    return 1;
}

const struct ps_decision *ps_controller_decision(unsigned k)
{
    return ctl_pid == getpid() && k < nring && k + PS_DECISIONS_KEPT >= nring ? &ring[k % PS_DECISIONS_KEPT] : NULL;
}

int ps_controller_max_size(void)
{
    return max_size();
}

unsigned ps_controller_decisions_total(void)
{
    return ctl_pid == getpid() ? nring : 0;   /* a forked child that never ticked has none */
}
