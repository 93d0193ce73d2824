/* recommend.c: see recommend.h for the model. Thresholds, and why:
 *  - serialized: contention (lock + cond + spin) is at least the useful work
 *    (cpu + io + sleep) and one object holds >= 60 % of it (or is a GIL-like
 *    condvar, behind which the pool's other locks queue): adding threads only
 *    lengthens the queue on that object; unless the pool keeps >= 90 % of the
 *    cores (or of its threads) busy all the same (nothing limits it but the
 *    CPU), or one thread of three or more does 2/3 of the waiting (one role
 *    waiting on the others, pigz's writer waiting for compressed blocks: the
 *    others do not queue, so nothing is serialized); nor where the lock,
 *    held 1/B of the time its threads work, leaves room for all of them
 *    (B >= threads: its waits are its holders' waits for a core);
 *  - CPU-starved: run-queue delay >= half the CPU time, more threads than
 *    cores, and the pool itself keeps at least half the cores busy
 *    (effective parallelism): then the pool oversubscribes the cores and fewer
 *    threads would finish the same work sooner. A pool using less than that
 *    queues behind other processes (a loaded machine): its size is not the
 *    cause; nor is it for a pool that waited for work a good share of its
 *    time (PS_FED_IDLE): its bursts of work meet the rest of the process on
 *    the cores (ffmpeg's frame threads, idle 65 %, waited for a core 0.6 s
 *    per 0.76 s of CPU beside the main thread's demuxing);
 *  - I/O-bound: W/C > 1 (the article's routing rule), CPU-bound: W/C < 0.25. */
#include "recommend.h"
#include "qmodel.h"
#include "log.h"
#include "jsonw.h"
#include <math.h>
#include <string.h>

const char *const ps_class_name[] = { "idle", "io-bound", "cpu-bound", "mixed", "serialized",
                                      "cpu-starved", "single", "runtime" };

/* The share of the cores' capacity a pool is sized to reach: the queueing
 * model's throughput curve is flat above it, and each further thread costs
 * memory and switches for under 5 % more. */
#define PS_BUSY_TARGET 0.95
/* A pool fed by its producers: it waited for work at least this share of its
 * threads' time, and is sized so that a task waits for a free thread at most
 * PS_FED_WAIT of the time. */
#define PS_FED_IDLE 0.25
/* ... and a pool that waited for work this share of it is idle. */
#define PS_IDLE_SHARE 0.95
#define PS_FED_WAIT 0.05
/* Threads that queue on one lock for at least this share of their lives
 * are a convoy. */
#define PS_CONVOY_SHARE 0.05
/* Less CPU than this is too little to size a pool from ... */
#define PS_LITTLE_CPU_S 0.005
/* ... and so is less than this share of its threads' lives, however long:
 * redis's four jemalloc background threads, 5.4 ms of CPU in 137 s each
 * (timed waits of 10 s on their own condvars, which run out: sleeps), read
 * W/C 44,487 and "io-bound, 88977 threads". A pool whose tasks' CPU is a
 * ten-thousandth of their wait would be sized in the tens of thousands. */
#define PS_LITTLE_CPU_SHARE 1e-4
/* ... and so is a pool that ran fewer cores than this over its life. */
#define PS_FEW_CORES 0.05
/* Threads of one routine with one poller among them are a pool of workers
 * anyway when they ran this many cores: Erlang's schedulers take turns at
 * polling and each runs most of a core. */
#define PS_POLLERS_BUSY 0.25
/* A lone thread with its tasks unseen is a pool of one if it waited for
 * work at least this share of its life. */
#define PS_LONE_IDLE 0.05
/* ... and a mostly idle one if it waited for work over this share. */
#define PS_LONE_IDLE_HALF 0.5
#define PS_MAX_THREADS_RECOMMENDED 100000

/* A task's work (cpu + io + sleep) at least this many times its hand-off
 * time is costly: an idle worker ready for it is worth its keep. */
#define PS_COSTLY_HANDOFFS 20
/* ... and a pool of such tasks that waited for work this share of its time
 * is fed by its producer (below PS_FED_IDLE: only for the floor). */
#define PS_COSTLY_IDLE 0.1
/* The share of the cores left to a pool its own CPU must keep busy for its
 * tasks to wait for a core rather than a thread (the floor below). */
#define PS_CORES_BUSY 0.85

static int costly_tasks(const struct ps_rec_in *in)
{
    return in->task_work_s > 0 && in->handoff_s > 0 && in->task_work_s >= PS_COSTLY_HANDOFFS * in->handoff_s;
}

static int clamp_threads(double v)
{
    if (!(v >= 1))
        return 1;
    if (v > PS_MAX_THREADS_RECOMMENDED)
        return PS_MAX_THREADS_RECOMMENDED;
    return (int)floor(v + 1e-9);
}

/* The fewest threads n for which a task offered at random finds all n busy
 * at most `wait` of the time (Erlang C), for `a` tasks in service on average. */
static int offered_threads(double a, double wait)
{
    if (a <= 0)
        return 1;
    double blocked = 1;          /* Erlang B at n, by its recursion: no overflow at any load */
    for (int n = 1; n <= PS_MAX_THREADS_RECOMMENDED; n++) {
        blocked = a * blocked / (n + a * blocked);
        if (n > a && n * blocked / (n - a * (1 - blocked)) <= wait)
            return n;
    }
    return PS_MAX_THREADS_RECOMMENDED;
}

/* A wait over a few milliseconds of CPU gives a ratio in the thousands
 * (node's idle platform threads: W/C 56,961 over 0.1 ms of CPU). The model
 * still reads the raw ratio (PS_LITTLE_CPU_S keeps it from sizing on it). */
double ps_recommend_w_c_shown(double W, double C)
{
    if (C <= 0 || (C < PS_LITTLE_CPU_S && W > 0))
        return NAN;
    return W / C;
}

void ps_recommend(const struct ps_rec_in *in, struct ps_rec_out *o)
{
    memset(o, 0, sizeof *o);
    double C = in->cpu_s, W = in->io_s + in->sleep_s;
    double contention = in->lock_s + in->cond_s + in->spin_s;
    o->w_c = C > 0 ? W / C : 0;
    o->w_c_shown = ps_recommend_w_c_shown(W, C);
    o->goetz = in->cores * (1 + o->w_c);
    o->queueing = ps_qmodel_threads(in->cores, o->w_c, PS_BUSY_TARGET);
    o->effective_parallelism = in->wall_s > 0 ? C / in->wall_s : 0;
    char wc[32], g[32], b[32];
    if (isnan(o->w_c_shown))
        ps_fmt(wc, sizeof wc, "unknown");
    else
        ps_fmt_double(wc, sizeof wc, o->w_c_shown, 2);
    ps_fmt_double(g, sizeof g, o->goetz, 1);
    char q[32];
    ps_fmt(q, sizeof q, "%d", o->queueing);

    /* One thread that takes no tasks from a queue (a writer, a timer loop, a
     * runtime's housekeeping thread) is not a pool: its W/C says how it
     * spends its time, not that more threads would do more. */
    /* A wait for work it hardly waited on (HotSpot's periodic task thread:
     * 0.3 % of its life, the rest timed sleeps) does not make it one either
     * ("io-bound, 3471 threads"). */
    double idle_share = in->threads > 0 && in->wall_s > 0 ? in->idle_s / (in->threads * in->wall_s) : 0;
    if (in->lone && !in->tasks_seen && (!in->waits_for_work || idle_share < PS_LONE_IDLE)) {
        o->cls = PS_CLASS_SINGLE;
        o->recommended_threads = 1;
        ps_fmt(o->reason, sizeof o->reason,
               "a single thread that takes no tasks from a queue: not a pool to size (W/C %s)", wc);
        return;
    }
    /* ... nor is one that took a single task in its life (mksquashfs's
     * reader: one task, the whole input; its W/C was read as room for 5-7). */
    if (in->lone && in->took_one) {
        o->cls = PS_CLASS_SINGLE;
        o->recommended_threads = 1;
        ps_fmt(o->reason, sizeof o->reason,
               "a single thread that took one task in its life: not a pool to size (W/C %s)", wc);
        return;
    }
    /* Threads of one start routine that do different jobs: one polls for
     * the pool's work, the others never do (CPython's process pool executor:
     * a manager thread polls the workers' result pipe, a feeder waits on a
     * condition; both start in thread_run). Not interchangeable workers,
     * so no pool to size ("serialized, use 2 processes" from their GIL).
     * Busy threads are workers all the same: Erlang's schedulers take turns
     * at polling, one at a time, and each runs most of a core. */
    if (in->one_poller && !in->tasks_seen && o->effective_parallelism < PS_POLLERS_BUSY) {
        o->cls = PS_CLASS_SINGLE;
        o->recommended_threads = in->threads;
        ps_fmt(o->reason, sizeof o->reason,
               "threads with different jobs: one of the %d polls where the pool's work comes, %s; "
               "not a pool to size (W/C %s), keep %d", in->threads,
               in->threads == 2 ? "the other never does" : "the others never do", wc, in->threads);
        return;
    }
    /* One thread with tasks that spends most of its time waiting on a lock or
     * condvar waits for others (pigz's writer for its compressors' blocks, in
     * order): a second thread would wait beside it, so its W/C of 0 must not
     * read as CPU-bound work. */
    if (in->lone && in->threads == 1 && contention > 0 && contention >= 2 * (C + W)) {
        char pct[32];
        ps_fmt_double(pct, sizeof pct, 100 * contention / (contention + C + W), 0);
        o->cls = PS_CLASS_SINGLE;
        o->recommended_threads = 1;
        ps_fmt(o->reason, sizeof o->reason,
               "a single thread that waits on other threads (lock and condvar %s %% of its time): "
               "more threads would wait beside it; keep 1", pct);
        return;
    }
    if (C + W + contention <= 0) {
        o->cls = PS_CLASS_IDLE;
        o->recommended_threads = in->threads > 0 ? in->threads : 1;
        ps_fmt(o->reason, sizeof o->reason, "no work measured: keep the current size");
        return;
    }
    /* Threads that did next to nothing and spent their time blocked on locks
     * and condvars (not in I/O or sleeps, which an I/O-bound pool's tasks
     * are): workers that never got work, or helpers waiting for a rare job
     * (redis's bio threads, jemalloc's background threads, mksquashfs's
     * fragment workers on a tree without fragments). Their W/C of 0 is no
     * CPU-bound work to size (they read "cpu-bound -> 2"): keep them. */
    double blocked = W + contention + in->idle_s, lived = C + blocked + in->runq_s;  /* the threads' own lives */
    /* Likewise a pool that took no task, whose wait for work is known, and
     * whose CPU is under 1 % of its blocked time, however its waits are
     * labelled: an idle unbound's event loops, whose polls for work never
     * returned and so read as I/O, were told "io-bound, 2402 threads". */
    int untouched = (C < PS_LITTLE_CPU_S && W <= (1 - PS_IDLE_SHARE) * blocked) ||
                    (in->took_none && in->waits_for_work && C < 0.01 * blocked);
    /* Likewise threads that ran under PS_FEW_CORES of a core over the run, in
     * no I/O or sleep, whatever else was running meanwhile: CPython's process
     * pool executor's manager and feeder threads (0.13 s of CPU over 3 s,
     * runnable a third of the time behind the worker processes) read
     * "cpu-bound -> 3". A GIL-bound pool runs a whole core. A pool whose
     * tasks are seen is sized by them below (the load offered, its waits
     * for work). Nor is a pool whose threads queue on one lock (a convoy:
     * serialized, below): one they queued on (PS_CONVOY_SHARE), not a lock
     * waited on for a microsecond (zstd's reader and
     * writer, idle 82 % of their lives, read "cpu-bound -> 2" for such a
     * top lock: 1 us of 0 s of contention is all of it). */
    int top_queues = contention >= PS_CONVOY_SHARE * lived && in->top_wait_s >= 0.6 * contention && !in->top_one_waiter;
    int few_cores = !in->tasks_seen && !top_queues && o->effective_parallelism < PS_FEW_CORES && W <= (1 - PS_IDLE_SHARE) * blocked &&
                    C <= (1 - PS_IDLE_SHARE) * lived;
    if (in->threads > 0 && lived > 0 && ((untouched && blocked >= PS_IDLE_SHARE * lived) || few_cores)) {
        char ms[32], pct[32];
        ps_fmt_double(ms, sizeof ms, C * 1e3, 2);
        ps_fmt_double(pct, sizeof pct, 100 * C / lived, 1);
        o->cls = PS_CLASS_IDLE;
        o->recommended_threads = in->threads;
        ps_fmt(o->reason, sizeof o->reason,
               "no work to size from: its threads used %s ms of CPU, %s %% of their time, and were otherwise "
               "blocked on locks, condvars or their wait for work; keep %d", ms, pct, in->threads);
        return;
    }
    double usable = in->threads > 0 && in->threads < in->cores ? in->threads : in->cores;
    int saturating = o->effective_parallelism >= 0.9 * usable;
    int one_waiter = in->threads >= 3 && in->max_thread_contention_s > (2.0 / 3.0) * contention;
    /* A GIL-like lock need not be where most of the wait is: the pool's other
     * locks queue behind it (see ps_view_top_contention, view.c). */
    /* One thread queues behind no other member of its pool: what it waits
     * for comes from outside (pigz's writer waits for its compressors). */
    /* The share of the pool's thread time spent waiting for work (not for a
     * core: sysbench's 16 CPU-bound threads on 2 cores wait for one 7/8 of
     * the time). A pool that waited for work 95 % of it is serialized by
     * nothing, however its few other waits split. */
    /* A lock only one thread ever waited on queues no peers: that thread
     * waits for the holder, as for work (redis's I/O threads each wait on a
     * mutex of their own that the main thread holds while threaded I/O is
     * off; an idle redis was told "serialized, shorten the critical section"). */
    int serial = contention >= 0.5 * (C + W) && (top_queues || in->top_is_handoff) &&
                 contention > 0 && !saturating && !one_waiter && in->threads != 1 && idle_share < PS_IDLE_SHARE;
    double hold = in->top_is_handoff ? C : in->top_hold_s;
    if (serial && hold > 0) {
        o->bottleneck = (C + W) / hold;
        if (o->bottleneck < 1)
            o->bottleneck = 1;
    }
    /* A lock held so briefly that every thread of the pool could progress
     * (B >= its threads) limits nothing at its size, however long the waits
     * on it: waits that long on holds that short are its holders kept off a
     * core while they held it. Apache on one core (taskset), 25 workers:
     * 8.9 s of waits on their queue's mutex, held 0.06 s (B = 31); the
     * listener, preempted while holding it by the worker it had just
     * signalled, was the holder (perf: 2,769 preemptions). "Serialized,
     * shorten the critical section" was the verdict. B still caps the size
     * (reach, below). Not a GIL-like condvar, whose hold is a thread's whole
     * CPU burst. */
    int roomy = serial && !in->top_is_handoff && o->bottleneck >= in->threads && in->threads > 1;
    if (roomy)
        serial = 0;
    double target = o->queueing;
    /* At most B threads make progress: B rounded to the nearest size (B =
     * 1.96 wants the second thread that flooring would give up; B = 1.2
     * does not, as each thread past the first also pays for the hand-offs:
     * node's fs pool runs 0.67 as fast at 2 as at 1). */
    double reach = o->bottleneck > 0 ? floor(o->bottleneck + 0.5) : 0;
    /* A GIL-like lock its threads leave to wait (CPython tasks that sleep) is
     * held all the time at B = 1 + W/C only if every burst and wait takes its
     * mean: it is one server of the same closed network as the cores
     * (qmodel.h), and the same headroom keeps it busy. multiprocessing's
     * ThreadPool, 1 ms of CPU and 4 ms of sleep per task, B = 4.4: 4 threads
     * ran 0.86 as fast as its best (6 to 17 within 1 %), 7 (this) 0.99. Not
     * below B = 2, where each thread past the first pays for the hand-off. */
    int headroom = 0;
    if (serial && in->top_is_handoff && o->bottleneck >= 2) {
        int q = ps_qmodel_threads(1, o->bottleneck - 1, PS_BUSY_TARGET);
        if (q > reach) {
            reach = q;
            headroom = 1;
        }
    }
    if (reach > 0 && reach < target)
        target = reach;
    /* Serialized with no hold time to bound it: no size can be computed, but
     * more threads only lengthen the queue, so never above the current size. */
    if (serial && o->bottleneck <= 0 && in->threads > 0 && in->threads < target)
        target = in->threads;
    int capped = in->demand_peak > 0 && target > in->demand_peak;
    if (capped)
        target = in->demand_peak;
    /* A pool that waited for work a good share of its time did not limit its
     * own throughput: tasks came as they were offered, and the work in flight
     * on average is that offered load, (cpu + io + sleep) / wall (Little's
     * law). Threads beyond those that keep a task's wait for a free thread
     * rare only wait for work (a CPython executor fed one 1 ms sleep every
     * 2 ms: 0.5 tasks in flight, 3 threads, where W/C 40 says 80). Only with
     * every task counted, or a wait for work that is a condvar the workers
     * share with the queue's mutex (Perl's Thread::Queue, paced: idle 63 %,
     * 1.45 tasks in flight, told 22 threads by W/C 7.9): otherwise the
     * wait for work may be a lock's. Not
     * for a pool idle nearly always: its work may come in bursts as wide as
     * the pool (V8's parallel GC tasks), which an average does not show. */
    /* Nor the other way: fewer threads than that make the producer's tasks
     * wait for one, and save nothing, the threads being idle anyway
     * (ffmpeg's 4 frame threads, 0.73 frames in decoding on average, were
     * told 1 by cores x (1 + W/C), the main thread using the other core; the
     * sweep's best is 3-6, and 1 runs 0.70 as fast). At most the current
     * size: more would be a guess from an average. With the tasks unseen
     * (each frame thread waits on its own condvar), the wait for work known;
     * with them seen, only where each task's work is far longer than handing
     * it over (zstd -T8's 1 MiB jobs: 12 ms of CPU against a 0.14 ms hand-off,
     * the main thread on the other core; told 2, which runs 0.84-0.90 as fast
     * as its best 4-8, and 5 by this floor). An idle thread is not free
     * where tasks are short (node's fs pool, 4 us tasks and 6.5 us hand-offs:
     * fed, it runs 0.47 as fast at the 4 this floor gave it as at 1). */
    /* Not for a pool that makes its own work: a task readied by a worker's
     * task finds that worker about to be free, and its waits for work are
     * waits for its work's dependencies, which more threads do not end
     * (dav1d --threads 8: idle 54 %, 1.42 tasks in service, floored at 5,
     * where 2 ran best and 4-8 0.75-0.77 as fast). */
    double offered = in->wall_s > 0 ? (C + W) / in->wall_s : 0;
    int fed_base = !serial && !in->owners && !in->self_fed && idle_share < PS_IDLE_SHARE && offered > 0;
    int fed_pool = fed_base && (in->tasks_seen || in->waits_for_work) && idle_share >= PS_FED_IDLE;
    int fed_size = fed_pool ? offered_threads(offered, PS_FED_WAIT) : 0;
    int fed = fed_size > 0 && (in->tasks_seen || in->queue_wait) && target > fed_size;
    if (fed) {
        target = fed_size;
        capped = 0;
    }
    /* Costly tasks need less idle time to show their producer sets the pace:
     * zstd -T8's compressors waited for work 22-35 % of the time over runs,
     * and were floored in some and told 2 in the others. */
    if (!fed_size && fed_base && in->tasks_seen && costly_tasks(in) && idle_share >= PS_COSTLY_IDLE)
        fed_size = offered_threads(offered, PS_FED_WAIT);
    /* Not where the pool's own CPU keeps busy what the rest of the process
     * leaves it (PS_CORES_BUSY of it: a shared host's other tenants take
     * some): its tasks then wait for a core, not for a thread. zstd -T8's
     * compressors ran 1.73-1.81 cores of the 1.9-1.95 its reader and writer
     * left, and the floor's 5 read 0.86-0.89 of the best in three `make
     * truth` sweeps, where 2, the model's, never read under 0.94 in seven;
     * ffmpeg's frame threads, floored, ran 0.73 of the 1.3 left. */
    double free_cores = in->cores_free > 0 && in->cores_free < in->cores ? in->cores_free : in->cores;
    int busy_cores = o->effective_parallelism >=
                     PS_CORES_BUSY * (in->threads > 0 && in->threads < free_cores ? in->threads : free_cores);
    int floor_size = fed_size < in->threads ? fed_size : in->threads;
    int fed_floor = fed_size > 0 && (!in->tasks_seen || costly_tasks(in)) && target < floor_size && !busy_cores;
    if (fed_floor) {
        target = floor_size;
        capped = 0;
    }
    /* The article's hand-off cost: a task whose whole work is shorter than
     * waking a worker for it gains nothing from a second worker, which only
     * adds wake-ups and hand-offs of the queue's lock (node's fs pool: 4 us
     * tasks, 6.5 us hand-offs, runs 0.58 as fast at 2 workers as at 1). */
    int cheap = in->task_work_s > 0 && in->handoff_s > 0 && in->task_work_s < in->handoff_s && target > 1 &&
                !in->owners;             /* no one thread can serve every connection */
    if (cheap) {
        target = 1;
        capped = fed_floor = 0;
    }
    /* Work split into one share per thread ends unevenly: once the first
     * share is done its core idles while the rest finish, and on a shared
     * host cores run at unequal speeds (sysbench mutex's two threads here
     * used 0.69 and 1.12 s of CPU for the same share, the first core idle
     * for the last 0.43 s). Twice as many shares, each half as long, end
     * closer together: sysbench mutex on 2 cores, medians of 5 runs, ran
     * 0.72-0.91 as fast at 2 threads as at its best (4-16, within 10 % of
     * each other) in four sweeps. Oversubscribed CPU-bound work loses little
     * else: sysbench cpu runs as fast at 2 to 16. Not for a serialized
     * pool, whose threads would queue longer; threads that yield are no
     * fixed shares either (view.c: sysbench threads, yielding under its
     * locks, runs 0.39 as fast at 4 as at 2). */
    int split = in->fixed_shares && !serial && o->w_c < 0.25 && target < ceil(2 * in->cores) && !cheap &&
                !(in->demand_peak > 0 && in->demand_peak < ceil(2 * in->cores));   /* not more shares than tasks */
    if (split) {
        target = ceil(2 * in->cores);
        capped = 0;
    }
    /* W/C over a few milliseconds of CPU is mostly noise (a thread parked in
     * pause() reads as W/C in the tens of thousands): do not size from it,
     * up or down (rocksdb's table loaders, 30 threads of a lambda that used
     * 3 ms of CPU in all, read "cpu-bound -> 4"); the controller's window,
     * though, may be one of a pool it holds back; and a size from the pool's
     * waits or counts stands: serialized (a convoy behind a holder blocked in
     * I/O runs next to no CPU), fed (the work in flight), capped (the tasks
     * in flight), cheap tasks. A small share of a long life is still enough
     * to shrink an idle pool by. */
    int by_wc_only = !serial && !fed && !capped && !cheap && !in->rates;
    int little_cpu = in->threads > 0 && ((C < PS_LITTLE_CPU_S && target < in->threads && by_wc_only) ||
                                         ((C < PS_LITTLE_CPU_S || C < PS_LITTLE_CPU_SHARE * lived) &&
                                          target > in->threads));
    if (little_cpu) {
        target = in->threads;
        capped = 0;
    }
    /* An event loop per worker (memcached, nginx): each worker owns the
     * connections it accepted and no other can serve them, so fewer workers
     * than served clients queue connections behind each other on one thread
     * while a core may be free (memcached -t 2 under 4 clients ran 0.67-0.76
     * as fast as -t 4 on 2 cores, the client beside it). */
    int owned = in->owners > 0 && target < in->owners;
    if (owned) {
        target = in->owners;
        capped = 0;
    }
    /* A pool whose threads wait for work nearly all the time (V8's platform
     * workers: 99 %) is not CPU-bound, whatever its W/C: its size costs
     * only memory, and it never needs more threads than it has.
     * A lone thread that waited for work over half its life is one too:
     * zstd's writer (idle 82-87 %, 18 ms of CPU in 0.43 s) read "cpu-bound
     * -> 2 threads" beside "the current 1 may do". */
    int mostly_idle = (in->tasks_seen || in->waits_for_work) &&
                      idle_share >= (in->lone && in->threads == 1 ? PS_LONE_IDLE_HALF : PS_IDLE_SHARE);
    if (mostly_idle && in->threads > 0 && target > in->threads) {
        target = in->threads;
        capped = 0;
    }
    o->recommended_threads = clamp_threads(target);

    if (mostly_idle) {
        char pct[32];
        ps_fmt_double(pct, sizeof pct, 100 * idle_share, 1);
        o->cls = PS_CLASS_IDLE;
        ps_fmt(o->reason, sizeof o->reason,
               "mostly idle: its threads waited for work %s %% of the time; W/C %s, %d threads would do",
               pct, wc, o->recommended_threads);
    } else if (serial) {
        o->cls = PS_CLASS_SERIAL;
        ps_fmt_double(b, sizeof b, o->bottleneck, 2);
        if (in->top_is_handoff)
            o->recommended_processes = in->cores >= 1 ? (int)in->cores : 1;
        if (in->top_is_handoff && headroom) {
            ps_fmt(o->reason, sizeof o->reason,
                   "serialized: threads hand one condvar to each other (a GIL-like lock); W/C %s: "
                   "%s threads could keep it held, %d keep it held 95 %% of the time (queueing model); "
                   "more will not help, use %d processes",
                   wc, b, o->recommended_threads, o->recommended_processes);
        } else if (in->top_is_handoff) {
            ps_fmt(o->reason, sizeof o->reason,
                   "serialized: threads hand one condvar to each other (a GIL-like lock); W/C %s, "
                   "at most %s threads can progress: more threads will not help, use %d processes",
                   wc, b, o->recommended_processes);
        } else if (o->bottleneck <= 0) {
            ps_fmt(o->reason, sizeof o->reason,
                   "serialized on one lock: contention exceeds useful work (hold time unknown); "
                   "more threads will not help, shorten the critical section");
        } else {
            ps_fmt(o->reason, sizeof o->reason,
                   "serialized on one lock: contention exceeds useful work and the lock is held "
                   "1/%s of the time each thread works; more threads will not help, shorten the "
                   "critical section", b);
        }
    } else if (in->runq_s >= 0.5 * C && C > 0 && in->threads > in->cores &&
               o->effective_parallelism >= 0.5 * in->cores && !fed_pool && !fed_floor) {
        o->cls = PS_CLASS_STARVED;
        ps_fmt(o->reason, sizeof o->reason,
               "CPU-starved: threads wait for a core as long as they run; W/C %s gives %s threads",
               wc, q);
    } else if (o->w_c > 1) {
        o->cls = PS_CLASS_IO;
        ps_fmt(o->reason, sizeof o->reason, "I/O-bound: W/C %s, cores x (1 + W/C) = %s, %s threads keep the cores "
               "95 %% busy (queueing model)", wc, g, q);
    } else if (o->w_c < 0.25) {
        o->cls = PS_CLASS_CPU;
        ps_fmt(o->reason, sizeof o->reason, "CPU-bound: W/C %s, cores x (1 + W/C) = %s, %s threads keep the cores "
               "95 %% busy (queueing model)", wc, g, q);
    } else {
        o->cls = PS_CLASS_MIXED;
        ps_fmt(o->reason, sizeof o->reason, "mixed: W/C %s, cores x (1 + W/C) = %s, %s threads keep the cores "
               "95 %% busy (queueing model)", wc, g, q);
    }
    if (little_cpu) {
        char ms[32], share[32];
        ps_fmt_double(ms, sizeof ms, C * 1e3, 2);
        ps_fmt_double(share, sizeof share, lived > 0 ? 100 * C / lived : 0, 2);
        ps_fmt_cat(o->reason, sizeof o->reason,
                   "; but only %s ms of CPU was measured (%s %% of its threads' time): too little to size "
                   "from, keep %d", ms, share, in->threads);
    }
    if (fed || fed_floor) {
        char pct[32], ld[32];
        ps_fmt_double(pct, sizeof pct, 100 * idle_share, 0);
        ps_fmt_double(ld, sizeof ld, offered, 2);
        if (fed)
            ps_fmt_cat(o->reason, sizeof o->reason,
                       "; but its threads waited for work %s %% of the time: %s tasks in service on average, "
                       "%d threads keep a task's wait for a free one under %d %%",
                       pct, ld, o->recommended_threads, (int)(100 * PS_FED_WAIT));
        else
            ps_fmt_cat(o->reason, sizeof o->reason,
                       "; but no fewer than %d: its threads waited for work %s %% of the time, %s tasks in service "
                       "on average, and fewer threads would make tasks wait for a free one over %d %% of the time",
                       o->recommended_threads, pct, ld, (int)(100 * PS_FED_WAIT));
    }
    if (capped) {
        ps_fmt_cat(o->reason, sizeof o->reason,
                   "; capped at %d: no more tasks than that were ever in flight", in->demand_peak);
    }
    if (roomy) {
        char ws[32], bs[32];
        ps_fmt_double(ws, sizeof ws, in->top_wait_s, 2);
        ps_fmt_double(bs, sizeof bs, o->bottleneck, 1);
        ps_fmt_cat(o->reason, sizeof o->reason,
                   "; its %s s of waits on one lock limit nothing: it was held 1/%s of the time its threads "
                   "worked, room for all %d, so its holders were kept off a core while they held it "
                   "(preempted), which fewer runnable threads shorten", ws, bs, in->threads);
    }
    if (owned) {
        ps_fmt_cat(o->reason, sizeof o->reason,
                   "; at least %d: each worker polls the connections it accepted, and %d served clients",
                   in->owners, in->owners);
    }
    if (!in->tasks_seen && in->waits_for_work && !mostly_idle && !fed && in->threads > 0 &&
        o->recommended_threads > in->threads) {
        /* A pool that waited for work a good share of the time had a queue
         * that emptied (Perl's Thread::Queue, paced: 47 %): say so, not
         * "never empties". */
        if (idle_share >= PS_FED_IDLE) {
            char pct[32];
            ps_fmt_double(pct, sizeof pct, 100 * idle_share, 0);
            ps_fmt_cat(o->reason, sizeof o->reason,
                       "; its tasks were not all seen, so the load offered is unknown, but its threads waited "
                       "for work %s %% of the time: the current %d may do", pct, in->threads);
        } else {
            ps_fmt_cat(o->reason, sizeof o->reason,
                       "; its tasks were not all seen (taken from the queue without a wait), so the load "
                       "offered is unknown: that size is for a queue that never empties");
        }
    }
    if (split) {
        ps_fmt_cat(o->reason, sizeof o->reason,
                   "; but %d: each thread ran one share of the work from start to end, and shares end unevenly "
                   "(cores of unequal speed, the last share alone at the end); smaller shares, two per core, "
                   "end closer together", o->recommended_threads);
    }
    if (cheap) {
        char tw[32], ho[32];
        ps_fmt_double(tw, sizeof tw, in->task_work_s * 1e6, 1);
        ps_fmt_double(ho, sizeof ho, in->handoff_s * 1e6, 1);
        ps_fmt_cat(o->reason, sizeof o->reason,
                   "; but 1 thread: a task's work (%s us) is shorter than handing it to a waiting worker "
                   "(%s us median)", tw, ho);
    }
}

/* How far the history's fit is followed: sizes up to this many times the
 * largest one measured, and never more than PS_HISTORY_MAX (an MVA pass to
 * n threads costs O(n^2)). */
#define PS_HISTORY_REACH 4
#define PS_HISTORY_MAX 128
/* W/C counts as growing with the threads when the fit's W/C at the largest
 * size measured is this many times its W/C at the smallest. */
#define PS_HISTORY_GROWTH 1.25
/* ... and a larger size ran slower than a smaller one when its throughput
 * was this much lower (the noise of one run against another). */
#define PS_HISTORY_SLOWER 0.05
/* The share of the fit's most throughput the size must reach. Not the one
 * run's 95 %: a line through two runs' W/C flattens sooner than the program
 * does, and near the top of a flat curve a few threads more are a few
 * percent. sysbench fileio's fsync-bound writers, 4 then 15 threads, were
 * told 19 (0.90 of the best in a sweep by hand, 5 runs a size), and their
 * throughput rose to 64-128 threads in each of three sweeps; ripgrep from a
 * cold cache, rising to 32: told 25 (0.92). At 97 %: 26 and 29. */
#define PS_HISTORY_TARGET 0.97

static double fitted_utilization(int k, double cores, double a, double b)
{
    double wc = a + b * k;
    return ps_qmodel_utilization(k, cores, wc > 0 ? wc : 0);
}

void ps_recommend_history(const struct ps_rec_in *in, const struct ps_rec_point *pts, int n, struct ps_rec_out *o)
{
    if (n < 2 || (o->cls != PS_CLASS_IO && o->cls != PS_CLASS_MIXED && o->cls != PS_CLASS_STARVED) ||
        o->recommended_threads != o->queueing ||
        !(in->cores > 0))
        return;
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    int lo = pts[0].threads, hi = pts[0].threads;
    for (int i = 0; i < n; i++) {
        double x = pts[i].threads, y = pts[i].w_c;
        if (pts[i].threads < 1 || !(y >= 0))
            return;
        sx += x;
        sy += y;
        sxx += x * x;
        sxy += x * y;
        lo = pts[i].threads < lo ? pts[i].threads : lo;
        hi = pts[i].threads > hi ? pts[i].threads : hi;
    }
    double var = sxx - sx * sx / n;
    if (hi == lo || var <= 0)
        return;
    double b = (sxy - sx * sy / n) / var, a = (sy - b * sx) / n;
    double wc_lo = a + b * lo, wc_hi = a + b * hi;
    if (!(b > 0) || !(wc_hi >= PS_HISTORY_GROWTH * (wc_lo > 0 ? wc_lo : 0)) || wc_hi <= 0)
        return;
    /* Not below the smallest size run: the line fitted over the sizes run
     * says nothing of fewer threads (a steep one crosses W/C 0 there, where
     * the model keeps every core busy with as many threads as cores). Fewer
     * threads are one run's model's to say, or a measured ceiling's below. */
    int reach = PS_HISTORY_REACH * hi < PS_HISTORY_MAX ? PS_HISTORY_REACH * hi : PS_HISTORY_MAX;
    if (reach < lo)
        return;
    /* With a wait that grows no faster than the threads, the model's
     * throughput never falls as threads are added (it tends to 1 / (b x C),
     * the device's rate): the most it reaches is at `reach`, and the first
     * size within 95 % of it is found by bisection (a few MVA passes, not
     * one per size: this runs at every tick of an advised pool). */
    double top = fitted_utilization(reach, in->cores, a, b);
    int target = lo, up = reach;
    while (target < up) {
        int mid = target + (up - target) / 2;
        if (fitted_utilization(mid, in->cores, a, b) >= PS_HISTORY_TARGET * top)
            up = mid;
        else
            target = mid + 1;
    }
    /* Measured beats modelled, both ways (in the same unit): a size that
     * ran faster than a larger one is as far as more threads paid, and one
     * that ran faster than every smaller one is as far as they did (two
     * runs' W/C is a noisy slope: ripgrep's at 10 threads read 4.4 to 7.4
     * over runs, and the steepest fit said 8 after 10 had run faster than 4). */
    int faster = 0, floor_n = 0;
    for (int i = 0; i < n; i++) {
        if (pts[i].by_tasks != pts[0].by_tasks)
            continue;
        int beats_smaller = 1;
        for (int j = 0; j < n; j++) {
            if (pts[j].by_tasks != pts[0].by_tasks)
                continue;
            if (pts[j].threads > pts[i].threads && pts[j].tput < (1 - PS_HISTORY_SLOWER) * pts[i].tput &&
                pts[i].threads < target && (!faster || pts[i].threads < faster))
                faster = pts[i].threads;
            if (pts[j].threads < pts[i].threads && !(pts[i].tput >= (1 + PS_HISTORY_SLOWER) * pts[j].tput))
                beats_smaller = 0;
        }
        if (beats_smaller && pts[i].threads > lo && pts[i].threads > target && pts[i].threads > floor_n)
            floor_n = pts[i].threads;
    }
    if (faster)
        target = faster;
    else if (floor_n)
        target = floor_n;
    if (in->demand_peak > 0 && target > in->demand_peak)
        target = in->demand_peak;
    if (target == o->recommended_threads)
        return;
    o->recommended_threads = target;
    char sz[200] = "", v[32], bs[32];
    for (int i = 0; i < n && i < 6; i++) {
        ps_fmt_double(v, sizeof v, pts[i].w_c, 2);
        ps_fmt_cat(sz, sizeof sz, "%s%s at %d%s", i ? ", " : "", v, pts[i].threads, i ? "" : " here");
    }
    ps_fmt_double(bs, sizeof bs, b, 2);
    if (faster || floor_n)
        ps_fmt_cat(o->reason, sizeof o->reason,
                   "; but %d from runs of this command at other sizes: W/C grows with the threads (%s), and %d "
                   "threads ran faster than %s did", target, sz, target, faster ? "more" : "fewer");
    else
        ps_fmt_cat(o->reason, sizeof o->reason,
                   "; but %d from runs of this command at other sizes: W/C grows with the threads (%s; %s a thread), "
                   "as a wait behind a shared device does, and %d keep 97 %% of the throughput that allows up to "
                   "%d threads (queueing model)", target, sz, bs, target, reach);
}

void ps_recommend_go(double process_cores, struct ps_rec_out *o)
{
    int n = (int)ceil(process_cores - 1e-9);
    char wc[32];
    if (isnan(o->w_c_shown))
        ps_fmt(wc, sizeof wc, "unknown");
    else
        ps_fmt_double(wc, sizeof wc, o->w_c_shown, 2);
    o->cls = PS_CLASS_RUNTIME;
    o->recommended_threads = n > 0 ? n : 1;
    o->recommended_processes = 0;
    o->bottleneck = 0;
    ps_fmt(o->reason, sizeof o->reason,
           "the Go runtime's threads: its scheduler runs goroutines on them, GOMAXPROCS at a time, and "
           "starts more while some block; goroutines block with system calls of their own, unseen, so "
           "W/C %s is the threads', not the tasks'. GOMAXPROCS = the cores the process may use: %d",
           wc, o->recommended_threads);
}
