/* recommend.h: from a pool's measured CPU and waits to a verdict and a size.
 * Pure arithmetic (no shim state), so unit tests can check it on known inputs.
 *
 *   W/C       = (io + sleep) / cpu           waiting that frees a core (the brief)
 *   goetz     = cores x (1 + W/C)            the article's thread-pool rule
 *   bottleneck= (cpu + io + sleep) / hold    at most that many threads can make
 *                                            progress when every task holds one
 *                                            lock for `hold` (for a GIL-like
 *                                            condvar hold = cpu, giving 1 + W/C)
 *   queueing  = the smallest size that keeps 95 % of the cores busy in a
 *               closed queueing model (qmodel.h): goetz plus headroom for
 *               tasks whose bursts and waits vary
 *   recommended = min(queueing, bottleneck rounded, peak demand), at least 1;
 *               1 when a task's work is shorter than handing it over; two per
 *               core for CPU-bound work split into one share per thread. */
#ifndef PS_RECOMMEND_H
#define PS_RECOMMEND_H
#include <stdint.h>

enum ps_class { PS_CLASS_IDLE, PS_CLASS_IO, PS_CLASS_CPU, PS_CLASS_MIXED, PS_CLASS_SERIAL,
                PS_CLASS_STARVED, PS_CLASS_SINGLE, PS_CLASS_RUNTIME };
extern const char *const ps_class_name[];

struct ps_rec_in {
    double cores;            /* CPUs the process can use (cores.h) */
    double cores_free;       /* of those, what the rest of the process left the pool while
                              * it ran, unrounded (0: unknown, all of cores) */
    int threads;
    double cpu_s, io_s, sleep_s, lock_s, cond_s, idle_s, runq_s, spin_s;
    double wall_s;           /* how long the pool existed */
    int rates;               /* the times above are per second of a recent window (the
                                controller's, wall_s 1): a window of little CPU is a pool
                                at rest or held back, not a pool too small to size */
    /* the one object most of the pool's contention waited on, if any */
    double top_wait_s;       /* pool's wait on it */
    double top_hold_s;       /* time it was held (locks), 0 if unknown */
    int top_is_handoff;      /* condvar handed between workers (GIL-like): hold = cpu */
    int top_one_waiter;      /* only one thread ever waited on it: no peers queue there */
    double max_thread_contention_s;  /* lock + cond + spin of the pool's most contended thread */
    int tasks_seen;          /* task boundaries are known (the wait for work, or tasks counted) */
    int took_none, took_one; /* its tasks are counted, and it took none / exactly one */
    int lone;                /* the pool ever had one thread (not: one left at the end) */
    int waits_for_work;      /* its wait for work is known (its tasks may still be uncounted) */
    int queue_wait;          /* ... and is a condvar its workers share with the queue's mutex */
    int self_fed;            /* its wait for work is a condvar its own workers post over twice
                                as often as anyone else (dav1d's task threads, as their work
                                readies more): its waits for work say nothing of a load a
                                producer offers */
    int one_poller;          /* its wait for work is a poll site where one of its several
                                threads polls: the others have other jobs */
    int demand_peak;         /* most tasks ever in flight (busy + queued), 0 = unknown:
                                more threads than that would find nothing to do */
    double task_work_s;      /* cpu + io + sleep per task, 0 = tasks unknown */
    double handoff_s;        /* median time from a post to the woken worker running, 0 = unknown */
    int fixed_shares;        /* two or more threads that each ran one share of the work from
                                start to end (sysbench mutex, a static split): at most one
                                task each, next to nothing blocked, ending one by one, not
                                yielding (view.c) */
    int owners;              /* an event loop per worker: the workers that served clients
                                (each owns the connections it accepted; one that served a
                                tenth of the busiest one's tasks or more), 0 = not such a pool */
};

struct ps_rec_out {
    double w_c;
    double w_c_shown;        /* ps_recommend_w_c_shown(W, C) */
    double goetz;            /* cores x (1 + W/C) */
    int queueing;            /* the smallest size that keeps the cores 95 % busy (qmodel.h) */
    double bottleneck;       /* 0 = no serialising object */
    double effective_parallelism;   /* cpu / wall: cores' worth actually used */
    int recommended_threads;
    int recommended_processes;      /* 0 = threads are right */
    enum ps_class cls;
    char reason[400];            /* the model's line and its clauses ("; but ...", "; capped ...",
                                    "; its threads come and go ..."): 320 could cut the last short */
};

/* One run's measure of a pool at one size, for ps_recommend_history: its
 * threads (most alive at once), W/C, and throughput, in tasks/s where its
 * tasks were counted (by_tasks), else in cores of CPU it ran (for the same
 * work per task, proportional to tasks/s). */
struct ps_rec_point {
    int threads;
    double w_c, tput;
    int by_tasks;
};

/* Runs of the same command at other sizes (history.h) correct the model
 * where W/C itself grows with the threads (a wait behind a shared device: a
 * disk's queue): W/C is fitted as a + b x threads over the runs and the size
 * is the smallest that reaches 97 % of the throughput the queueing model
 * gives up to 4x the largest size measured; at most a size measured faster
 * than a larger one, at least one measured faster than every smaller one. pts[0] is this run, the others distinct sizes. Only for
 * a pool sized by the queueing model itself (I/O-bound, mixed or CPU-starved:
 * ripgrep's pool is starved at 10 threads; no bound, cap or floor chose its
 * size), and never below the smallest size measured (a measured ceiling
 * aside); out is changed only when W/C grew by 25 % or more over the sizes
 * measured. Pure arithmetic. */
void ps_recommend_history(const struct ps_rec_in *in, const struct ps_rec_point *pts, int n,
                          struct ps_rec_out *out);
/* W/C as printed: NaN (null, `-`, "unknown") where a wait over a few
 * milliseconds of CPU makes the ratio noise. */
double ps_recommend_w_c_shown(double wait_s, double cpu_s);
void ps_recommend(const struct ps_rec_in *in, struct ps_rec_out *out);
/* The Go runtime's threads (cgo's threadentry): its own scheduler runs
 * goroutines on them, GOMAXPROCS at a time, and they block with system calls
 * of their own that no wrapper sees. Their size is GOMAXPROCS: the cores the
 * process may use (process_cores: its affinity and cgroup quota; Go before
 * 1.25 counts its affinity's CPUs, not a quota). Replaces out's size, class
 * and reason; out's W/C and models stay as measured, of the threads. */
void ps_recommend_go(double process_cores, struct ps_rec_out *out);
#endif
