/* Unit tests for shim/control/recommend.c: the sizing model on inputs whose answer is
 * computed by hand in each test's comment (recommend.h gives the formulas). */
#include <criterion/criterion.h>
#include "recommend.h"
#include "qmodel.h"
#include <math.h>
#include <string.h>

static struct ps_rec_out rec(struct ps_rec_in in)
{
    struct ps_rec_out o;
    ps_recommend(&in, &o);
    return o;
}

/* W/C = 4/1 = 4; goetz = 2 x (1 + 4) = 10; the queueing model (exponential
 * bursts and waits, 2 servers) reaches 95 % of the cores at 13. */
Test(recommend, io_bound_uses_the_queueing_model)
{
    struct ps_rec_out o = rec((struct ps_rec_in){ .cores = 2, .threads = 4, .cpu_s = 1, .io_s = 3,
                                                  .sleep_s = 1, .idle_s = 50, .wall_s = 10 });
    cr_expect_float_eq(o.w_c, 4.0, 1e-12);
    cr_expect_float_eq(o.goetz, 10.0, 1e-12);
    cr_expect_eq(o.queueing, 13);
    cr_expect_eq(o.recommended_threads, 13);
    cr_expect_eq(o.recommended_processes, 0);
    cr_expect_eq(o.cls, PS_CLASS_IO);
    cr_expect_float_eq(o.bottleneck, 0, 1e-12);
    cr_expect_float_eq(o.effective_parallelism, 0.1, 1e-12);
    cr_expect_str_eq(o.reason, "I/O-bound: W/C 4, cores x (1 + W/C) = 10, 13 threads keep the cores 95 % busy "
                               "(queueing model)");
    cr_expect_str_eq(ps_class_name[o.cls], "io-bound");
}

/* W/C = 0.5/10 = 0.05; goetz = 2 x 1.05 = 2.1 -> 2 threads. */
Test(recommend, cpu_bound_stays_near_cores)
{
    struct ps_rec_out o = rec((struct ps_rec_in){ .cores = 2, .threads = 8, .cpu_s = 10, .io_s = 0.5,
                                                  .wall_s = 5 });
    cr_expect_float_eq(o.w_c, 0.05, 1e-12);
    cr_expect_eq(o.recommended_threads, 2);
    cr_expect_eq(o.cls, PS_CLASS_CPU);
    cr_expect_float_eq(o.effective_parallelism, 2.0, 1e-12);
    cr_expect_str_eq(o.reason, "CPU-bound: W/C 0.05, cores x (1 + W/C) = 2.1, 2 threads keep the cores 95 % "
                               "busy (queueing model)");
}

/* W/C = 2/4 = 0.5: between the CPU (0.25) and I/O (1) thresholds; 4 x 1.5 = 6,
 * the queueing model 7. */
Test(recommend, mixed_between_thresholds)
{
    struct ps_rec_out o = rec((struct ps_rec_in){ .cores = 4, .threads = 4, .cpu_s = 4, .io_s = 2 });
    cr_expect_eq(o.cls, PS_CLASS_MIXED);
    cr_expect_eq(o.recommended_threads, 7);
    /* the thresholds themselves are "mixed": W/C exactly 1 and exactly 0.25 */
    cr_expect_eq(rec((struct ps_rec_in){ .cores = 2, .cpu_s = 2, .io_s = 2 }).cls, PS_CLASS_MIXED);
    cr_expect_eq(rec((struct ps_rec_in){ .cores = 2, .cpu_s = 4, .io_s = 1 }).cls, PS_CLASS_MIXED);
}

/* GIL-like: contention 6 >= 0.5 x (C + W) = 2.5, top object has all of it,
 * handed between workers: hold = C = 1 -> bottleneck = (1 + 4)/1 = 5 = 1 + W/C;
 * goetz would be 2 x 5 = 10; processes = cores. 5 threads could keep the lock
 * held only if every burst and wait took its mean: the queueing model's 8
 * keep it held 95 % of the time (multiprocessing's ThreadPool at B = 4.4: 4
 * threads ran 0.86 as fast as its best, 7 0.99). Below B = 2 the bottleneck
 * is rounded as it is: each thread past the first pays for the hand-off. */
Test(recommend, gil_like_handoff_is_one_plus_wc_with_headroom_and_processes)
{
    struct ps_rec_out o = rec((struct ps_rec_in){ .cores = 2, .threads = 16, .cpu_s = 1, .io_s = 4,
                                                  .cond_s = 6, .top_wait_s = 6, .top_is_handoff = 1 });
    cr_expect_float_eq(o.w_c, 4.0, 1e-12);
    cr_expect_float_eq(o.goetz, 10.0, 1e-12);
    cr_expect_float_eq(o.bottleneck, 5.0, 1e-12);
    cr_expect_eq(o.recommended_threads, 8);
    cr_expect_eq(o.recommended_processes, 2);
    cr_expect_eq(o.cls, PS_CLASS_SERIAL);
    cr_expect_not_null(strstr(o.reason, "5 threads could keep it held, 8 keep it held 95 %"), "%s", o.reason);
    cr_expect_not_null(strstr(o.reason, "use 2 processes"), "%s", o.reason);
    o = rec((struct ps_rec_in){ .cores = 2, .threads = 16, .cpu_s = 2, .io_s = 1, .cond_s = 6, .top_wait_s = 6,
                                .top_is_handoff = 1 });
    cr_expect_float_eq(o.bottleneck, 1.5, 1e-12);
    cr_expect_eq(o.recommended_threads, 2, "B = 1.5 rounds to 2 (the model's 95 %% would be 3): %s", o.reason);
    cr_expect_not_null(strstr(o.reason, "at most 1.5 threads can progress"), "%s", o.reason);
}

/* Pure-CPU GIL: W = 0 -> bottleneck 1 + 0 = 1 thread. */
Test(recommend, gil_like_cpu_only_is_one_thread)
{
    struct ps_rec_out o = rec((struct ps_rec_in){ .cores = 2, .threads = 8, .cpu_s = 2, .cond_s = 14,
                                                  .top_wait_s = 14, .top_is_handoff = 1 });
    cr_expect_float_eq(o.bottleneck, 1.0, 1e-12);
    cr_expect_eq(o.recommended_threads, 1);
    cr_expect_eq(o.recommended_processes, 2);
}

/* A GIL-like lock need not hold most of the wait: CPython's ThreadPoolExecutor
 * workers also queue on a Python-level lock (whose holder waits for the GIL),
 * which can wait longer than the GIL itself. Still serialized. */
Test(recommend, gil_like_lock_serializes_with_a_minority_of_the_wait)
{
    struct ps_rec_out o = rec((struct ps_rec_in){ .cores = 2, .threads = 8, .cpu_s = 1.5, .cond_s = 9.5,
                                                  .top_wait_s = 2.9, .top_is_handoff = 1 });
    cr_expect_eq(o.cls, PS_CLASS_SERIAL);
    cr_expect_eq(o.recommended_processes, 2);
    /* the same waits on a plain lock holding 30 % of them: spread, not serialized */
    o = rec((struct ps_rec_in){ .cores = 2, .threads = 8, .cpu_s = 1.5, .lock_s = 9.5, .top_wait_s = 2.9,
                                .top_hold_s = 0.5 });
    cr_expect_neq(o.cls, PS_CLASS_SERIAL, "%s", o.reason);
}

/* One thread queues behind no other member of its pool (pigz's writer waits
 * for the compressors, another pool): never serialized, whatever it waits on. */
Test(recommend, a_lone_thread_is_never_serialized)
{
    struct ps_rec_out o = rec((struct ps_rec_in){ .cores = 2, .threads = 1, .cpu_s = 0.3, .io_s = 0.2,
                                                  .cond_s = 5, .top_wait_s = 5, .top_is_handoff = 0 });
    cr_expect_neq(o.cls, PS_CLASS_SERIAL, "%s", o.reason);
    o = rec((struct ps_rec_in){ .cores = 2, .threads = 2, .cpu_s = 0.3, .io_s = 0.2, .cond_s = 5,
                                .top_wait_s = 5 });
    cr_expect_eq(o.cls, PS_CLASS_SERIAL, "two threads on one lock: %s", o.reason);
}

/* pigz's writer: one thread with tasks (its wait for work is learned) that
 * waits for the compressors' blocks most of its time: not CPU-bound work,
 * and one thread stays right. A lone worker that mostly computes is sized. */
Test(recommend, a_lone_thread_waiting_on_others_keeps_one)
{
    struct ps_rec_in in = { .cores = 2, .threads = 1, .lone = 1, .tasks_seen = 1, .cpu_s = 0.02,
                            .cond_s = 0.43, .idle_s = 0.01, .wall_s = 0.48 };
    struct ps_rec_out o = rec(in);
    cr_expect_eq(o.cls, PS_CLASS_SINGLE, "%s", o.reason);
    cr_expect_eq(o.recommended_threads, 1);
    cr_expect(strstr(o.reason, "waits on other threads (lock and condvar 96 %"), "%s", o.reason);
    in.cond_s = 0.01;                  /* mostly CPU: a one-thread pool like any other */
    in.io_s = 0.2;
    o = rec(in);
    cr_expect_neq(o.cls, PS_CLASS_SINGLE, "%s", o.reason);
    cr_expect_gt(o.recommended_threads, 1);
}

/* V8's platform workers: 4 threads, 208 tasks of 0.16 ms in 1.3 s, the rest
 * waiting for work: idle, not CPU-bound, and never grown. A busy pool of the
 * same W/C is CPU-bound. */
Test(recommend, a_pool_waiting_for_work_nearly_always_is_idle)
{
    struct ps_rec_in in = { .cores = 2, .threads = 4, .tasks_seen = 1, .cpu_s = 0.03, .idle_s = 5.2,
                            .runq_s = 0.03, .wall_s = 1.32 };
    struct ps_rec_out o = rec(in);
    cr_expect_eq(o.cls, PS_CLASS_IDLE, "%s", o.reason);
    cr_expect_leq(o.recommended_threads, 4);
    cr_expect(strstr(o.reason, "mostly idle: its threads waited for work 98.5 %"), "%s", o.reason);
    in.threads = 1;                    /* a lone one too: never grown past what it has */
    o = rec(in);
    cr_expect_eq(o.cls, PS_CLASS_IDLE, "%s", o.reason);
    cr_expect_eq(o.recommended_threads, 1);
    in.threads = 4;                    /* its few waits on one lock serialize nothing */
    in.lock_s = 0.02;
    in.top_wait_s = 0.02;
    in.top_hold_s = 0.01;
    cr_expect_eq(rec(in).cls, PS_CLASS_IDLE, "%s", rec(in).reason);
    in.lock_s = in.top_wait_s = in.top_hold_s = 0;
    in.cpu_s = 4.5;                    /* busy: sized by the model */
    in.idle_s = 0.5;
    cr_expect_eq(rec(in).cls, PS_CLASS_CPU);
    /* 16 CPU-bound threads on 2 cores, waiting for a core 7/8 of the time:
     * busy, not idle (sysbench cpu --threads=16) */
    in = (struct ps_rec_in){ .cores = 2, .threads = 16, .tasks_seen = 1, .cpu_s = 6, .runq_s = 42,
                             .wall_s = 3 };
    cr_expect_neq(rec(in).cls, PS_CLASS_IDLE, "%s", rec(in).reason);
}

/* memcached -t 16 under 4 clients: CPU-bound work (W/C 0, the model says
 * 2), but each worker owns the connections it accepted: never fewer than
 * the 4 that served clients. Without owners, the model's 2. */
Test(recommend, event_loop_workers_owning_connections_are_a_floor)
{
    struct ps_rec_in in = { .cores = 2, .threads = 16, .tasks_seen = 1, .cpu_s = 1.2, .io_s = 0.01,
                            .idle_s = 46, .wall_s = 3, .owners = 4, .task_work_s = 5e-6, .handoff_s = 2e-5 };
    struct ps_rec_out o = rec(in);
    cr_expect_eq(o.recommended_threads, 4, "%s", o.reason);
    cr_expect(strstr(o.reason, "at least 4: each worker polls the connections it accepted"), "%s", o.reason);
    in.owners = 0;
    cr_expect_lt(rec(in).recommended_threads, 4);
    in.owners = 40;                    /* never above the pool's size */
    cr_expect_leq(rec(in).recommended_threads, 16);
}

/* Convoy on a mutex: C + W = 2 + 6 = 8, held 2 -> bottleneck 4 < goetz 2 x 4 = 8. */
Test(recommend, mutex_convoy_is_work_over_hold)
{
    struct ps_rec_out o = rec((struct ps_rec_in){ .cores = 2, .threads = 12, .cpu_s = 2, .io_s = 6,
                                                  .lock_s = 20, .top_wait_s = 18, .top_hold_s = 2 });
    cr_expect_float_eq(o.bottleneck, 4.0, 1e-12);
    cr_expect_eq(o.recommended_threads, 4);
    cr_expect_eq(o.recommended_processes, 0);
    cr_expect_eq(o.cls, PS_CLASS_SERIAL);
    cr_expect_not_null(strstr(o.reason, "held 1/4 of the time"), "%s", o.reason);
}

/* A lock held so briefly it leaves room for every thread (B >= threads) is no
 * bottleneck, however long its waits: Apache's 25 workers on one core waited
 * 8.9 s on their queue's mutex, held 0.06 s (B = 31), while its holder, the
 * listener, was preempted; they were told "serialized, shorten the critical
 * section". The same lock held long enough to bind (B < threads) is. */
Test(recommend, a_lock_with_room_for_every_thread_is_no_bottleneck)
{
    struct ps_rec_in in = { .cores = 1, .threads = 25, .cpu_s = 1.97, .io_s = 0.0065, .lock_s = 7.68,
                            .idle_s = 67.4, .runq_s = 12.8, .wall_s = 3.6, .top_wait_s = 8.9,
                            .top_hold_s = 0.0636 };
    struct ps_rec_out o = rec(in);
    cr_expect_neq(o.cls, PS_CLASS_SERIAL, "%s", o.reason);
    cr_expect_gt(o.bottleneck, 25, "B %.1f", o.bottleneck);
    cr_expect(strstr(o.reason, "limit nothing"), "%s", o.reason);
    cr_expect_null(strstr(o.reason, "shorten the critical section"), "%s", o.reason);
    in.top_hold_s = 0.2;                 /* B = 9.9 < 25: the lock binds */
    o = rec(in);
    cr_expect_eq(o.cls, PS_CLASS_SERIAL, "%s", o.reason);
    cr_expect_null(strstr(o.reason, "limit nothing"), "%s", o.reason);
}

/* The bottleneck rounded to the nearest size: C + W = 2 + 2 = 4 held 2.05
 * (B = 1.95) wants the second thread; held 3.33 (B = 1.2) does not. */
Test(recommend, bottleneck_rounds_to_the_nearest_size)
{
    struct ps_rec_out o = rec((struct ps_rec_in){ .cores = 2, .threads = 8, .cpu_s = 2, .sleep_s = 2,
                                                  .lock_s = 20, .top_wait_s = 18, .top_hold_s = 2.05 });
    cr_expect_eq(o.cls, PS_CLASS_SERIAL, "%s", o.reason);
    cr_expect_eq(o.recommended_threads, 2, "B %.2f: %d", o.bottleneck, o.recommended_threads);
    o = rec((struct ps_rec_in){ .cores = 2, .threads = 8, .cpu_s = 2, .sleep_s = 2, .lock_s = 20,
                                .top_wait_s = 18, .top_hold_s = 3.33 });
    cr_expect_eq(o.recommended_threads, 1, "B %.2f: %d", o.bottleneck, o.recommended_threads);
}

/* Tasks shorter than the hand-off to a waiting worker (4 us of work, 6.5 us
 * hand-offs: node's fs pool) want one worker whatever the model says; 2 ms
 * tasks with the same hand-offs keep the model's size. */
Test(recommend, tasks_cheaper_than_their_handoff_want_one_thread)
{
    struct ps_rec_in in = { .cores = 2, .threads = 16, .cpu_s = 1.4, .io_s = 1.4, .wall_s = 1.5,
                            .task_work_s = 4e-6, .handoff_s = 6.5e-6 };
    struct ps_rec_out o = rec(in);
    cr_expect_eq(o.recommended_threads, 1, "%s", o.reason);
    cr_expect_not_null(strstr(o.reason, "shorter than handing it"), "%s", o.reason);
    in.task_work_s = 2e-3;
    o = rec(in);
    cr_expect_gt(o.recommended_threads, 1, "%s", o.reason);
}

/* A lock held longer than all the work (hold 16 > C + W = 8): at least 1. */
Test(recommend, bottleneck_never_below_one)
{
    struct ps_rec_out o = rec((struct ps_rec_in){ .cores = 2, .threads = 4, .cpu_s = 4, .io_s = 4,
                                                  .lock_s = 20, .top_wait_s = 20, .top_hold_s = 16 });
    cr_expect_float_eq(o.bottleneck, 1.0, 1e-12);
    cr_expect_eq(o.recommended_threads, 1);
}

/* Serialized but the hold time is unknown (0): no bound can be computed; the
 * verdict must not grow the pool nor print a made-up fraction. */
Test(recommend, serialized_without_hold_time_keeps_the_size)
{
    struct ps_rec_out o = rec((struct ps_rec_in){ .cores = 2, .threads = 3, .cpu_s = 1, .io_s = 4,
                                                  .lock_s = 10, .top_wait_s = 10 });
    cr_expect_eq(o.cls, PS_CLASS_SERIAL);
    cr_expect_float_eq(o.bottleneck, 0, 1e-12);
    cr_expect_eq(o.recommended_threads, 3, "goetz is 10, but more threads will not help: %d",
                 o.recommended_threads);
    cr_expect_null(strstr(o.reason, "1/0"), "%s", o.reason);
}

/* Contention spread over many objects (top has 50 % < 60 %): not serialized. */
Test(recommend, spread_contention_is_not_serialized)
{
    struct ps_rec_out o = rec((struct ps_rec_in){ .cores = 2, .threads = 4, .cpu_s = 1, .io_s = 4,
                                                  .lock_s = 10, .top_wait_s = 5, .top_hold_s = 1 });
    cr_expect_neq(o.cls, PS_CLASS_SERIAL);
    cr_expect_eq(o.cls, PS_CLASS_IO);
    cr_expect_eq(o.recommended_threads, 13);
}

/* runq 3 >= 0.5 x C = 2, threads 8 > cores 2, and the pool itself keeps
 * C / wall = 4 / 2.5 = 1.6 >= 0.5 x 2 cores busy: starved; W/C 0.1: goetz
 * 2.2, the queueing model 3. */
Test(recommend, cpu_starved_cuts_to_the_model)
{
    struct ps_rec_out o = rec((struct ps_rec_in){ .cores = 2, .threads = 8, .cpu_s = 4, .io_s = 0.4,
                                                  .runq_s = 3, .wall_s = 2.5 });
    cr_expect_eq(o.cls, PS_CLASS_STARVED);
    cr_expect_eq(o.recommended_threads, 3);
    cr_expect_not_null(strstr(o.reason, "W/C 0.1 gives 3 threads"), "%s", o.reason);
    /* the same delay with no more threads than cores is not starvation by the pool */
    cr_expect_eq(rec((struct ps_rec_in){ .cores = 2, .threads = 2, .cpu_s = 4, .io_s = 0.4, .runq_s = 3,
                                         .wall_s = 2.5 }).cls, PS_CLASS_CPU);
}

/* A loaded machine: the pool uses 4 / 10 = 0.4 < 1 core yet waits for CPU:
 * other processes cause the delay, not the pool's size. */
Test(recommend, run_queue_delay_from_other_processes_is_not_starvation)
{
    struct ps_rec_out o = rec((struct ps_rec_in){ .cores = 2, .threads = 8, .cpu_s = 4, .io_s = 0.4,
                                                  .runq_s = 3, .wall_s = 10 });
    cr_expect_eq(o.cls, PS_CLASS_CPU);
    cr_expect_eq(o.recommended_threads, 3);
}

/* Lock-heavy but C / wall = 3.8 / 2 = 1.9 >= 0.9 x 2 cores: the CPU is the
 * only limit, so not serialized; W/C 0 -> goetz 2. */
Test(recommend, contention_in_a_pool_saturating_the_cores_is_not_serialized)
{
    struct ps_rec_out o = rec((struct ps_rec_in){ .cores = 2, .threads = 4, .cpu_s = 3.8, .lock_s = 10,
                                                  .top_wait_s = 10, .top_hold_s = 1, .wall_s = 2 });
    cr_expect_neq(o.cls, PS_CLASS_SERIAL);
    cr_expect_eq(o.recommended_threads, 2);
}

/* The top lock was only ever waited on by one thread (redis's I/O threads,
 * each on a mutex of its own that the main thread holds while threaded I/O
 * is off): no peers queue there, so nothing is serialized on it. */
Test(recommend, a_lock_only_one_thread_waited_on_serializes_nothing)
{
    struct ps_rec_in in = { .cores = 2, .threads = 3, .cpu_s = 1, .io_s = 0.1, .lock_s = 40,
                            .top_wait_s = 30, .top_hold_s = 4, .wall_s = 14 };
    cr_expect_eq(rec(in).cls, PS_CLASS_SERIAL);
    in.top_one_waiter = 1;
    struct ps_rec_out o = rec(in);
    cr_expect_neq(o.cls, PS_CLASS_SERIAL, "%s", o.reason);
    cr_expect_null(strstr(o.reason, "critical section"), "%s", o.reason);
}

/* One thread of 4 does 8 of the 10 s of contention (> 2/3): one role waiting
 * on the others, not a queue on one lock. */
Test(recommend, one_thread_doing_most_of_the_waiting_is_not_serialized)
{
    struct ps_rec_in in = { .cores = 2, .threads = 8, .cpu_s = 1, .io_s = 4, .lock_s = 10,
                            .top_wait_s = 10, .top_hold_s = 1, .max_thread_contention_s = 8 };
    cr_expect_eq(rec(in).cls, PS_CLASS_IO);
    in.max_thread_contention_s = 5;                 /* spread: serialized again, (1 + 4) / 1 = 5 */
    struct ps_rec_out o = rec(in);
    cr_expect_eq(o.cls, PS_CLASS_SERIAL);
    cr_expect_eq(o.recommended_threads, 5);
}

Test(recommend, idle_pool_keeps_its_size)
{
    struct ps_rec_out o = rec((struct ps_rec_in){ .cores = 2, .threads = 5, .idle_s = 100, .wall_s = 20 });
    cr_expect_eq(o.cls, PS_CLASS_IDLE);
    cr_expect_eq(o.recommended_threads, 5);
    cr_expect_float_eq(o.w_c, 0, 1e-12);
    cr_expect_str_eq(o.reason, "no work measured: keep the current size");
    cr_expect_eq(rec((struct ps_rec_in){ .cores = 2, .threads = 0 }).recommended_threads, 1);
}

/* Redis's three bio threads over a 3 s run: no CPU to speak of, every
 * thread blocked on a condvar of its own (not their learned wait for work):
 * idle, kept at 3, where W/C 0 said "cpu-bound -> 2". An I/O-bound pool with
 * as little CPU is not idle: its tasks slept (too little CPU: kept too). */
Test(recommend, threads_that_did_nothing_but_wait_on_locks_are_idle)
{
    struct ps_rec_in in = { .cores = 2, .threads = 3, .cpu_s = 0.0004, .cond_s = 8.88, .wall_s = 2.97 };
    struct ps_rec_out o = rec(in);
    cr_expect_eq(o.cls, PS_CLASS_IDLE);
    cr_expect_eq(o.recommended_threads, 3);
    cr_expect(strstr(o.reason, "no work to size from: its threads used 0.4 ms of CPU") != NULL, "%s", o.reason);
    in.runq_s = 4;                      /* runnable behind other work: idle all the same */
    cr_expect_eq(rec(in).cls, PS_CLASS_IDLE);
    in.cpu_s = 0.5;                     /* 0.17 cores over the run: work to size */
    cr_expect_neq(rec(in).cls, PS_CLASS_IDLE);
    struct ps_rec_in io = { .cores = 2, .threads = 3, .cpu_s = 0.004, .sleep_s = 8.9, .wall_s = 2.97,
                            .tasks_seen = 1 };
    o = rec(io);
    cr_expect_eq(o.cls, PS_CLASS_IO);
    cr_expect_eq(o.recommended_threads, 3);
}

/* unbound with no clients: three event loops whose polls for work never
 * returned (io, as a poll not yet known to be idle reads), 10 ms of CPU at
 * start, no task: idle, kept, where W/C 1200 said "2402 threads". With a
 * task seen, or no wait for work known, it is sized as before. */
Test(recommend, a_pool_that_took_no_task_and_only_waited_for_work_is_idle)
{
    struct ps_rec_in in = { .cores = 2, .threads = 3, .cpu_s = 0.01, .io_s = 11.9, .wall_s = 3.97,
                            .waits_for_work = 1, .took_none = 1 };
    struct ps_rec_out o = rec(in);
    cr_expect_eq(o.cls, PS_CLASS_IDLE, "%s", o.reason);
    cr_expect_eq(o.recommended_threads, 3);
    in.took_none = 0;                  /* its tasks unknown: perhaps some */
    cr_expect_eq(rec(in).cls, PS_CLASS_IO);
    in.took_none = 1;
    in.waits_for_work = 0;
    cr_expect_eq(rec(in).cls, PS_CLASS_IO);
}

/* W without C (everything waited, CPU below the sampler's resolution): no
 * division by zero, W/C reported 0, at least one thread. */
Test(recommend, no_cpu_is_not_a_division_by_zero)
{
    struct ps_rec_out o = rec((struct ps_rec_in){ .cores = 2, .threads = 4, .io_s = 3 });
    cr_expect_float_eq(o.w_c, 0, 1e-12);
    cr_expect_geq(o.recommended_threads, 1);
}

/* W/C 1e8 over 10 ms of CPU (threads parked in timed waits,
 * redis's jemalloc background threads: 5.4 ms in 137 s each, told 88977): a
 * ten-thousandth of the threads' time is too little CPU to size from, however
 * long the run; the size stays. */
Test(recommend, huge_wc_keeps_the_size)
{
    struct ps_rec_out o = rec((struct ps_rec_in){ .cores = 2, .threads = 4, .cpu_s = 0.01, .io_s = 1e6 });
    cr_expect_eq(o.recommended_threads, 4, "%s", o.reason);
    o = rec((struct ps_rec_in){ .cores = 2, .threads = 4, .cpu_s = 0.0054, .sleep_s = 240, .cond_s = 6,
                                .idle_s = 298, .runq_s = 0.05, .wall_s = 136.5, .waits_for_work = 1 });
    cr_expect_eq(o.recommended_threads, 4, "%s", o.reason);
    cr_expect(strstr(o.reason, "too little to size from, keep 4") != NULL, "%s", o.reason);
    /* a share of a thousandth is sized (W/C 1000) */
    o = rec((struct ps_rec_in){ .cores = 2, .threads = 4, .cpu_s = 0.1, .io_s = 100, .wall_s = 100 });
    cr_expect_gt(o.recommended_threads, 1000, "%s", o.reason);
}

/* rocksdb's table loaders: 30 short threads of one lambda, 3.2 ms of CPU in
 * all, read "cpu-bound -> 4". Too little to size down from, too; but the
 * controller's window of little CPU (a pool it holds back) is sized. */
Test(recommend, too_little_cpu_keeps_the_size_down_too)
{
    struct ps_rec_out o = rec((struct ps_rec_in){ .cores = 2, .threads = 30, .cpu_s = 0.0032, .lock_s = 0.0001,
                                                  .runq_s = 0.002, .wall_s = 0.02 });
    cr_expect_eq(o.recommended_threads, 30, "%s", o.reason);
    cr_expect(strstr(o.reason, "too little to size from, keep 30") != NULL, "%s", o.reason);
    o = rec((struct ps_rec_in){ .cores = 2, .threads = 30, .cpu_s = 0.0032, .lock_s = 0.0001, .runq_s = 0.002,
                                .wall_s = 1, .rates = 1 });
    cr_expect_lt(o.recommended_threads, 30, "%s", o.reason);
    /* a convoy is sized by its waits (analyzer_convoy's fixture: 4 threads
     * behind one lock held 1.5 s, 4.5-7 ms of CPU over runs) */
    o = rec((struct ps_rec_in){ .cores = 2, .threads = 4, .cpu_s = 0.0045, .sleep_s = 0.39, .lock_s = 6.0,
                                .runq_s = 0.005, .wall_s = 1.6, .top_wait_s = 6.0, .top_hold_s = 1.5 });
    cr_expect_eq(o.cls, PS_CLASS_SERIAL, "%s", o.reason);
    cr_expect_leq(o.recommended_threads, 1, "%s", o.reason);
    /* 20 ms is enough */
    o = rec((struct ps_rec_in){ .cores = 2, .threads = 30, .cpu_s = 0.02, .runq_s = 0.002, .wall_s = 0.02 });
    cr_expect_lt(o.recommended_threads, 30, "%s", o.reason);
}

/* W/C = 4 -> goetz 10, but at most 3 tasks were ever in flight: 3 threads. */
Test(recommend, peak_demand_caps_the_size)
{
    struct ps_rec_out o = rec((struct ps_rec_in){ .cores = 2, .threads = 4, .cpu_s = 1, .io_s = 4,
                                                  .wall_s = 10, .demand_peak = 3 });
    cr_expect_eq(o.recommended_threads, 3);
    cr_expect_eq(o.cls, PS_CLASS_IO);
    cr_expect_str_eq(o.reason, "I/O-bound: W/C 4, cores x (1 + W/C) = 10, 13 threads keep the cores 95 % busy "
                               "(queueing model); capped at 3: no more tasks than that were ever in flight");
    /* a peak above the model does not raise it */
    cr_expect_eq(rec((struct ps_rec_in){ .cores = 2, .threads = 4, .cpu_s = 1, .io_s = 4,
                                         .demand_peak = 50 }).recommended_threads, 13);
}

/* 1 ms of CPU against 10 s of sleep: W/C 10000 says 20002 threads; too little
 * CPU to trust, so the current size stays. */
Test(recommend, too_little_cpu_keeps_the_size)
{
    struct ps_rec_out o = rec((struct ps_rec_in){ .cores = 2, .threads = 1, .cpu_s = 0.001,
                                                  .sleep_s = 10, .wall_s = 10, .tasks_seen = 1 });
    cr_expect_eq(o.recommended_threads, 1);
    cr_expect_float_eq(o.goetz, 20002.0, 1e-6);
    cr_expect(strstr(o.reason, "only 1 ms of CPU was measured") != NULL, "%s", o.reason);
}

/* One thread, no task boundaries (a writer, a timer loop): not a pool. Its
 * W/C of 10000 says nothing about a size. With tasks seen it is sized. */
Test(recommend, a_single_thread_without_tasks_is_not_a_pool)
{
    struct ps_rec_in in = { .cores = 2, .threads = 1, .lone = 1, .cpu_s = 0.02, .sleep_s = 100, .wall_s = 100 };
    struct ps_rec_out o = rec(in);
    cr_expect_eq(o.cls, PS_CLASS_SINGLE);
    cr_expect_eq(o.recommended_threads, 1);
    cr_expect_str_eq(ps_class_name[o.cls], "single");
    in.tasks_seen = 1;
    cr_expect_gt(rec(in).recommended_threads, 1);
    in.took_one = 1;                   /* one task in its life: no pool either */
    cr_expect_eq(rec(in).cls, PS_CLASS_SINGLE);
    in.took_one = 0;
    in.tasks_seen = 0;                 /* it waits for work, its tasks uncounted: a pool of one */
    in.waits_for_work = 1;
    in.idle_s = 30;
    in.sleep_s = 70;
    cr_expect_neq(rec(in).cls, PS_CLASS_SINGLE);
    in.idle_s = 0.04;                  /* a wait for work it hardly used: a timer loop still */
    in.sleep_s = 100;
    cr_expect_eq(rec(in).cls, PS_CLASS_SINGLE);
    in.waits_for_work = 0;
    in.tasks_seen = 0;                 /* one thread left of a pool of several: still a pool */
    in.lone = 0;
    cr_expect_gt(rec(in).recommended_threads, 1);
}

/* Throughput of the queueing model: pure CPU fills the cores at their count;
 * with W/C 1 on 2 cores, cores x (1 + W/C) = 4 threads keep them only ~85 %
 * busy (the 0.68-0.87 of best measured on real mixed pools). */
Test(recommend, the_queueing_model_against_goetz)
{
    cr_expect_float_eq(ps_qmodel_utilization(2, 2, 0), 1.0, 1e-9);
    cr_expect_float_eq(ps_qmodel_utilization(1, 2, 0), 0.5, 1e-9);
    double u4 = ps_qmodel_utilization(4, 2, 1);
    cr_expect(u4 > 0.8 && u4 < 0.9, "u(4) %f", u4);
    cr_expect_eq(ps_qmodel_threads(2, 1, 0.95), 6);
    cr_expect_eq(ps_qmodel_threads(1.5, 0, 0.95), 2);       /* 1 thread uses 2/3 of 1.5 CPUs */
    cr_expect_eq(ps_qmodel_threads(2, 1000, 0.95), 2002);    /* beyond the model: goetz */
    cr_expect_eq(ps_qmodel_threads(2, -1, 0.95), 1);
}

/* A CPython executor fed one task every 2 ms, each a 1 ms sleep (500 tasks in
 * 1.05 s, 2 threads): W/C 52 says ~100 threads, but the pool waited for work
 * half its time. Its offered load is (0.01 + 0.525) / 1.05 = 0.51 tasks in
 * service; Erlang C: 1 thread makes a task wait 51 % of the time, 2 about
 * 11 %, 3 about 1.6 %: 3. The same pool with a backlog (never waiting for
 * work) is sized by the model; so is one whose tasks were not all seen. */
Test(recommend, a_pool_fed_by_its_producer_is_sized_by_the_load_offered)
{
    struct ps_rec_in in = { .cores = 2, .threads = 2, .tasks_seen = 1, .waits_for_work = 1, .cpu_s = 0.01,
                            .sleep_s = 0.525, .idle_s = 1.0, .cond_s = 0.01, .wall_s = 1.05 };
    struct ps_rec_out o = rec(in);
    cr_expect_eq(o.recommended_threads, 3, "%s", o.reason);
    cr_expect_eq(o.cls, PS_CLASS_IO, "%s", o.reason);
    cr_expect(strstr(o.reason, "waited for work 48 % of the time: 0.51 tasks in service on average, 3 threads"),
              "%s", o.reason);
    in.idle_s = 0.05;                  /* backlogged */
    cr_expect_gt(rec(in).recommended_threads, 50, "%s", rec(in).reason);
    in.idle_s = 1.0;
    in.tasks_seen = 0;                 /* the load offered is unknown */
    cr_expect_gt(rec(in).recommended_threads, 50, "%s", rec(in).reason);
    /* V8's platform workers, idle 98 %: bursts as wide as the pool may hide
     * behind the average (parallel GC), so the idle rule keeps up to 4 */
    in = (struct ps_rec_in){ .cores = 2, .threads = 4, .tasks_seen = 1, .cpu_s = 0.03, .idle_s = 5.2,
                             .runq_s = 0.03, .wall_s = 1.32 };
    cr_expect_eq(rec(in).cls, PS_CLASS_IDLE);
    cr_expect_eq(rec(in).recommended_threads, 2, "%s", rec(in).reason);
    /* a heavier load, 8 tasks in service (W/C 4, 1.6 s of CPU in 1 s), idle
     * 30 %: Erlang C's 14 is above the model's 13, which stands (the load
     * floors the size only where the tasks are unseen, below); unseen, 14,
     * but on 10 threads the model's 13 (the load raises no size past the
     * current one) */
    in = (struct ps_rec_in){ .cores = 2, .threads = 20, .tasks_seen = 1, .cpu_s = 1.6, .sleep_s = 6.4,
                             .idle_s = 6, .wall_s = 1 };
    cr_expect_eq(rec(in).recommended_threads, 13, "%s", rec(in).reason);
    in.tasks_seen = 0;
    in.waits_for_work = 1;
    cr_expect_eq(rec(in).recommended_threads, 14, "%s", rec(in).reason);
    cr_expect(strstr(rec(in).reason, "but no fewer than 14: its threads waited for work 30 % of the time"),
              "%s", rec(in).reason);
    in.threads = 10;
    in.idle_s = 3;
    cr_expect_eq(rec(in).recommended_threads, 13, "%s", rec(in).reason);
    cr_expect_null(strstr(rec(in).reason, "no fewer"), "%s", rec(in).reason);
}

/* ffmpeg's 4 frame threads (H.264, `-threads 4`, 2 cores): each waits on a
 * condvar of its own for the main thread's next frame, so tasks are unseen
 * but the wait for work is known; 0.76 s of CPU, 2.66 s idle, 0.60 s waiting
 * for a core in 1.04 s, while the main thread used 0.7 of a core (1 left to
 * the pool). It is no CPU-starved pool (it waited for work 64 % of its
 * time), and 0.73 frames in decoding on average need 3 threads for a frame
 * to wait for a free one under 5 % of the time: 3, not the model's 1. The
 * sweep: 1 runs 0.70 as fast as the best (3-6). */
Test(recommend, a_fed_pool_is_not_shrunk_below_its_offered_load)
{
    struct ps_rec_in in = { .cores = 1, .threads = 4, .waits_for_work = 1, .cpu_s = 0.76, .idle_s = 2.66,
                            .cond_s = 0.09, .runq_s = 0.60, .wall_s = 1.04 };
    struct ps_rec_out o = rec(in);
    cr_expect_eq(o.recommended_threads, 3, "%s", o.reason);
    cr_expect_eq(o.cls, PS_CLASS_CPU, "%s", o.reason);
    cr_expect(strstr(o.reason, "but no fewer than 3: its threads waited for work 64 % of the time, 0.73 tasks"),
              "%s", o.reason);
    /* the same pool with its tasks seen (node's fs pool: a shared queue whose
     * hand-offs cost): its task costs size it, no floor from its load */
    in.tasks_seen = 1;
    cr_expect_eq(rec(in).recommended_threads, 1, "%s", rec(in).reason);
    in.tasks_seen = 0;
    /* the same threads never waiting for work: oversubscribed, starved */
    in.idle_s = 0.05;
    in.runq_s = 3.0;
    o = rec(in);
    cr_expect_eq(o.cls, PS_CLASS_STARVED, "%s", o.reason);
    cr_expect_eq(o.recommended_threads, 1, "%s", o.reason);
}

/* node's idle platform thread: 0.1 ms of CPU, 5.7 s asleep. The raw ratio
 * (57,000) still feeds the model, which PS_LITTLE_CPU_S keeps from sizing
 * on it; what is shown is unknown. 4 ms of CPU with no wait is a true 0. */
Test(recommend, wc_over_a_few_ms_of_cpu_is_shown_unknown)
{
    struct ps_rec_out o = rec((struct ps_rec_in){ .cores = 2, .threads = 1, .cpu_s = 0.0001, .sleep_s = 5.7,
                                                  .wall_s = 6 });
    cr_expect_float_eq(o.w_c, 57000.0, 1e-6);
    cr_expect(isnan(o.w_c_shown));
    cr_expect(strstr(o.reason, "W/C unknown") != NULL, "%s", o.reason);
    cr_expect_eq(o.recommended_threads, 1);
    cr_expect(isnan(ps_recommend_w_c_shown(0, 0)));
    cr_expect_float_eq(ps_recommend_w_c_shown(0, 0.004), 0, 1e-12);
    cr_expect_float_eq(ps_recommend_w_c_shown(0.02, 0.005), 4, 1e-12);
}

/* CPython's process pool executor in `compileall -j4`: its manager and
 * feeder threads (both thread_run) ran 0.13 s of CPU over 3 s, waited on
 * condvars and their manager's poll, and were runnable a third of the time
 * behind the worker processes: 0.04 cores, no work to size ("cpu-bound -> 3"
 * before). A GIL-bound pool of 64 threads runs a whole core: serialized. */
Test(recommend, threads_that_ran_a_few_hundredths_of_a_core_are_idle)
{
    struct ps_rec_in in = { .cores = 2, .threads = 2, .cpu_s = 0.13, .io_s = 0.009, .lock_s = 0.006,
                            .cond_s = 2.67, .idle_s = 1.49, .runq_s = 1.39, .wall_s = 3.0 };
    struct ps_rec_out o = rec(in);
    cr_expect_eq(o.cls, PS_CLASS_IDLE);
    cr_expect_eq(o.recommended_threads, 2);
    struct ps_rec_in gil = { .cores = 2, .threads = 64, .cpu_s = 3.0, .cond_s = 180, .runq_s = 8, .wall_s = 3.1,
                             .top_wait_s = 180, .top_is_handoff = 1 };
    cr_expect_eq(rec(gil).cls, PS_CLASS_SERIAL);
}

/* Perl's Thread::Queue pool, paced: tasks unseen (a dequeue that finds an
 * item takes it without a wait), but its workers waited for work 47 % of the
 * time, so its queue emptied: the reason must not say it never does. */
Test(recommend, a_pool_with_unseen_tasks_that_waited_for_work_is_not_told_its_queue_never_empties)
{
    struct ps_rec_in in = { .cores = 2, .threads = 4, .cpu_s = 1.04, .sleep_s = 4.05, .idle_s = 4.32,
                            .wall_s = 2.3, .waits_for_work = 1 };
    struct ps_rec_out o = rec(in);
    cr_expect(strstr(o.reason, "never empties") == NULL, "%s", o.reason);
    cr_expect(strstr(o.reason, "waited for work 47 % of the time") != NULL, "%s", o.reason);
    in.idle_s = 0.2;                    /* hardly ever idle: a queue that never empties */
    cr_expect(strstr(rec(in).reason, "never empties") != NULL, "%s", rec(in).reason);
}

/* zstd -T8's reader and writer: each a lone thread that waited for work 82-84 %
 * of its 0.43 s, with 4-18 ms of CPU and a top lock waited on for 1 us. No
 * convoy queues there (its threads never waited on a lock to speak of), so
 * it is no CPU-bound pool either ("cpu-bound -> 2 threads", with "the current
 * 1 may do" in the same reason): it had no work to size from. */
Test(recommend, a_lone_waiting_thread_with_a_lock_waited_on_for_nothing_has_no_work_to_size)
{
    struct ps_rec_in in = { .cores = 2, .threads = 1, .lone = 1, .waits_for_work = 1, .cpu_s = 0.0184,
                            .idle_s = 0.352, .runq_s = 0.0568, .wall_s = 0.4275, .top_wait_s = 1e-6 };
    struct ps_rec_out o = rec(in);
    cr_expect_eq(o.cls, PS_CLASS_IDLE, "%s: %s", ps_class_name[o.cls], o.reason);
    cr_expect_eq(o.recommended_threads, 1);
    in.cpu_s = 0.00445;
    in.idle_s = 0.3607;
    in.runq_s = 0.0623;
    o = rec(in);
    cr_expect_eq(o.cls, PS_CLASS_IDLE, "%s: %s", ps_class_name[o.cls], o.reason);
    cr_expect_eq(o.recommended_threads, 1);
}

/* The same writer with 25 ms of CPU in its 0.43 s (over PS_FEW_CORES of a
 * core): waiting for work over half its life, it is mostly idle, and keeps 1;
 * a lone worker idle a third of its life is sized by the model. */
Test(recommend, a_lone_thread_that_waited_for_work_over_half_its_life_is_mostly_idle)
{
    struct ps_rec_in in = { .cores = 2, .threads = 1, .lone = 1, .waits_for_work = 1, .cpu_s = 0.025,
                            .idle_s = 0.35, .runq_s = 0.05, .wall_s = 0.43 };
    struct ps_rec_out o = rec(in);
    cr_expect_eq(o.cls, PS_CLASS_IDLE, "%s: %s", ps_class_name[o.cls], o.reason);
    cr_expect_eq(o.recommended_threads, 1, "%s", o.reason);
    in.cpu_s = 0.25;
    in.idle_s = 0.15;
    in.runq_s = 0.03;
    o = rec(in);
    cr_expect_eq(o.cls, PS_CLASS_CPU, "%s: %s", ps_class_name[o.cls], o.reason);
}

/* zstd -T8's compressors on 2 cores: 78 jobs of 12 ms CPU, hand-offs of
 * 0.14 ms, idle 35 % of their lives, yet 1.82 of the 2 cores busy with their
 * own CPU: tasks wait for a core, not a thread. cores x (1 + W/C) says 2;
 * the producer's load (1.8 tasks in service) floored it at 5, which read
 * 0.86-0.89 of the best in three `make truth` sweeps, where 2 never read
 * under 0.94 in seven. The same costly tasks on a pool that leaves the
 * cores half idle are floored by that load; with 4 us tasks and 6.5 us
 * hand-offs (node's fs pool) it is 1. */
Test(recommend, a_fed_pool_of_costly_seen_tasks_keeps_the_threads_its_load_needs)
{
    struct ps_rec_in in = { .cores = 2, .threads = 8, .waits_for_work = 1, .tasks_seen = 1, .cpu_s = 0.91,
                            .lock_s = 0.014, .cond_s = 0.135, .idle_s = 1.386, .runq_s = 1.564, .wall_s = 0.5,
                            .task_work_s = 0.0117, .handoff_s = 0.000144 };
    struct ps_rec_out o = rec(in);
    cr_expect_eq(o.recommended_threads, 2, "%d: %s", o.recommended_threads, o.reason);
    /* a run in which they waited for work 22 % of the time: the same */
    in.idle_s = 0.88;
    in.runq_s = 2.07;
    o = rec(in);
    cr_expect_eq(o.recommended_threads, 2, "%d: %s", o.recommended_threads, o.reason);
    /* 1.73 cores of the 1.95 the reader and writer left: the same */
    in.cpu_s = 0.865;
    in.cores_free = 1.95;
    o = rec(in);
    cr_expect_eq(o.recommended_threads, 2, "%d: %s", o.recommended_threads, o.reason);
    in.cores_free = 0;
    /* half the CPU in the same time: a core idle, the load floors it */
    in.cpu_s = 0.5;
    in.idle_s = 1.386;
    in.runq_s = 0.4;
    o = rec(in);
    cr_expect_geq(o.recommended_threads, 3, "%d: %s", o.recommended_threads, o.reason);
    cr_expect(strstr(o.reason, "no fewer than") != NULL, "%s", o.reason);
    in.task_work_s = 4e-6;
    in.handoff_s = 6.5e-6;
    o = rec(in);
    cr_expect_eq(o.recommended_threads, 1, "%d: %s", o.recommended_threads, o.reason);
}

/* Perl's Thread::Queue, paced (a task every 3 ms, 4 workers): its workers
 * post the queue's condvar too, so its waits do not count the tasks, but
 * the time there is their wait for work: idle 63 %, 1.44 tasks in service.
 * Sized by that load (Erlang C: 5), not by W/C 8.9 (24 threads), and the
 * reason does not call the load unknown. The same pool without a shared
 * queue condvar keeps the model's size. */
Test(recommend, a_pool_waiting_on_its_queue_condvar_is_sized_by_its_load_with_tasks_unseen)
{
    struct ps_rec_in in = { .cores = 2, .threads = 4, .waits_for_work = 1, .queue_wait = 1, .cpu_s = 0.137,
                            .sleep_s = 1.222, .idle_s = 2.4, .runq_s = 0.012, .wall_s = 0.945 };
    struct ps_rec_out o = rec(in);
    cr_expect_eq(o.recommended_threads, 5, "%d: %s", o.recommended_threads, o.reason);
    cr_expect_null(strstr(o.reason, "unknown"), "%s", o.reason);
    in.queue_wait = 0;
    o = rec(in);
    cr_expect_gt(o.recommended_threads, 10, "%d: %s", o.recommended_threads, o.reason);
}

/* One share of the work per thread, ending one by one: W/C 0 gives the
 * cores (2), and the shares' uneven ends ask for two per core (4); 1.5
 * cores (a quota) give 3. Not for a serialized pool, nor for tasks that
 * wait (W/C 1: the model's own size stands). */
Test(recommend, fixed_shares_are_two_threads_per_core)
{
    struct ps_rec_out o = rec((struct ps_rec_in){ .cores = 2, .threads = 8, .cpu_s = 8, .runq_s = 20,
                                                  .wall_s = 4, .fixed_shares = 1 });
    cr_expect_eq(o.recommended_threads, 4);
    cr_expect_eq(o.cls, PS_CLASS_STARVED);
    cr_expect(strstr(o.reason, "; but 4: each thread ran one share of the work") != NULL, "%s", o.reason);
    o = rec((struct ps_rec_in){ .cores = 1.5, .threads = 2, .cpu_s = 2, .wall_s = 1.4, .fixed_shares = 1 });
    cr_expect_eq(o.recommended_threads, 3, "%s", o.reason);
    o = rec((struct ps_rec_in){ .cores = 2, .threads = 2, .cpu_s = 2, .wall_s = 1.1 });
    cr_expect_eq(o.recommended_threads, 2, "%s", o.reason);
    o = rec((struct ps_rec_in){ .cores = 2, .threads = 8, .cpu_s = 2, .lock_s = 6, .top_wait_s = 6,
                                .top_hold_s = 1.5, .wall_s = 4, .fixed_shares = 1 });
    cr_expect_eq(o.cls, PS_CLASS_SERIAL);
    cr_expect(o.recommended_threads < 4, "%s", o.reason);
    o = rec((struct ps_rec_in){ .cores = 2, .threads = 8, .cpu_s = 2, .sleep_s = 2, .wall_s = 1,
                                .fixed_shares = 1 });
    cr_expect(strstr(o.reason, "share") == NULL, "%s", o.reason);
}

/* Shares end unevenly only where there are shares: a pool whose whole run
 * was one task (pixz -p4 on input of one block: one worker ran it, the other
 * none) has no more tasks to split, and is capped at that one. */
Test(recommend, fixed_shares_are_no_more_than_the_tasks_in_flight)
{
    struct ps_rec_out o = rec((struct ps_rec_in){ .cores = 2, .threads = 2, .cpu_s = 4.6, .wall_s = 4.6,
                                                  .fixed_shares = 1, .tasks_seen = 1, .demand_peak = 1 });
    cr_expect_eq(o.recommended_threads, 1, "%s", o.reason);
    cr_expect(strstr(o.reason, "share") == NULL, "%s", o.reason);
    cr_expect(strstr(o.reason, "capped at 1") != NULL, "%s", o.reason);
    o = rec((struct ps_rec_in){ .cores = 2, .threads = 8, .cpu_s = 8, .runq_s = 20, .wall_s = 4,
                                .fixed_shares = 1, .tasks_seen = 1, .demand_peak = 8 });
    cr_expect_eq(o.recommended_threads, 4, "%s", o.reason);
}

/* The Go runtime's threads are sized by GOMAXPROCS: the cores the process may
 * use, rounded up (a quota of 1.5 CPUs: 2), whatever their W/C. */
Test(recommend, the_go_runtime_is_sized_by_the_cores_it_may_use)
{
    struct ps_rec_out o;
    ps_recommend(&(struct ps_rec_in){ .cores = 2, .threads = 4, .cpu_s = 1, .sleep_s = 1.7, .wall_s = 1 }, &o);
    cr_expect_eq(o.cls, PS_CLASS_IO);
    double w_c = o.w_c;
    ps_recommend_go(1.5, &o);
    cr_expect_eq(o.cls, PS_CLASS_RUNTIME);
    cr_expect_str_eq(ps_class_name[o.cls], "runtime");
    cr_expect_eq(o.recommended_threads, 2);
    cr_expect_float_eq(o.w_c, w_c, 1e-12, "the threads' W/C stays as measured");
    cr_expect(strstr(o.reason, "GOMAXPROCS = the cores the process may use: 2") != NULL, "%s", o.reason);
    ps_recommend_go(1, &o);
    cr_expect_eq(o.recommended_threads, 1);
}

/* ---- runs of the same command at other sizes (ps_recommend_history) ---- */

/* ripgrep from a cold cache, as measured: W/C 2.3 at 4 threads, 5.5 at 10.
 * One run at 4 says 9 (cores x (1 + W/C) = 6.6, the queueing model's 9).
 * The fit: W/C = 0.17 + 0.533 n; the model's utilization with that W/C at
 * each size rises slowly (0.58 at 4, 0.69 at 8, 0.77 at 16, 0.82 at 32, as
 * the sweep's throughput did) and reaches 95 % of its value at 40 (4 x 10)
 * at 23, the size checked below. */
static struct ps_rec_out io_run(double w_c, int threads)
{
    return rec((struct ps_rec_in){ .cores = 2, .threads = threads, .cpu_s = 1, .io_s = w_c, .wall_s = 10 });
}

Test(recommend, wc_growing_with_the_threads_across_runs_sizes_up)
{
    struct ps_rec_out o = io_run(2.3, 4);
    int one_run = o.recommended_threads;
    struct ps_rec_point pts[] = { { 4, 2.3, 0.5, 0 }, { 10, 5.5, 0.9, 0 } };
    struct ps_rec_in in = { .cores = 2, .threads = 4, .cpu_s = 1, .io_s = 2.3, .wall_s = 10 };
    ps_recommend_history(&in, pts, 2, &o);
    /* by hand: the smallest n with utilization(n, 2, 0.17 + 0.533 n) >= 0.97 x utilization(40, ...) */
    double a = 2.3 - (5.5 - 2.3) / 6 * 4, b = (5.5 - 2.3) / 6;
    double best = 0;
    for (int k = 1; k <= 40; k++)
        best = fmax(best, ps_qmodel_utilization(k, 2, a + b * k));
    int want = 1;
    while (ps_qmodel_utilization(want, 2, a + b * want) < 0.97 * best)
        want++;
    cr_expect_eq(o.recommended_threads, want, "%d (one run: %d): %s", o.recommended_threads, one_run, o.reason);
    cr_expect_eq(want, 28, "the model's size with growing W/C: %d", want);
    cr_expect(strstr(o.reason, "2.30 at 4 here, 5.50 at 10") || strstr(o.reason, "2.3 at 4 here, 5.5 at 10"),
              "%s", o.reason);
    cr_expect_eq(o.cls, PS_CLASS_IO);
}

/* W/C the same at both sizes (a fixed sleep per task): one run's model stands. */
Test(recommend, wc_flat_across_runs_leaves_the_model)
{
    struct ps_rec_out o = io_run(4, 4), before = o;
    struct ps_rec_point pts[] = { { 4, 4.0, 1.0, 1 }, { 13, 4.4, 2.9, 1 } };
    struct ps_rec_in in = { .cores = 2, .threads = 4, .cpu_s = 1, .io_s = 4, .wall_s = 10 };
    ps_recommend_history(&in, pts, 2, &o);
    cr_expect_eq(o.recommended_threads, before.recommended_threads);
    cr_expect_str_eq(o.reason, before.reason);
}

/* W/C grows, but the larger size measured ran slower (in the same unit):
 * no more threads than the faster one; a point in another unit says nothing. */
Test(recommend, a_size_measured_faster_than_a_larger_one_caps_the_history)
{
    struct ps_rec_out o = io_run(2.3, 4);
    struct ps_rec_point pts[] = { { 4, 2.3, 100, 1 }, { 10, 5.5, 93, 1 } };
    struct ps_rec_in in = { .cores = 2, .threads = 4, .cpu_s = 1, .io_s = 2.3, .wall_s = 10 };
    ps_recommend_history(&in, pts, 2, &o);
    cr_expect_eq(o.recommended_threads, 4, "%s", o.reason);
    cr_expect(strstr(o.reason, "4 threads ran faster than more did") != NULL, "%s", o.reason);
    struct ps_rec_out p = io_run(2.3, 4);
    struct ps_rec_point mixed[] = { { 4, 2.3, 100, 1 }, { 10, 5.5, 0.9, 0 } };
    ps_recommend_history(&in, mixed, 2, &p);
    cr_expect_gt(p.recommended_threads, 10, "%s", p.reason);
}

/* Only a pool the model sized: a CPU-bound one, or one capped by the tasks
 * ever in flight below the model, keeps its answer. */
Test(recommend, history_leaves_pools_the_model_did_not_size)
{
    struct ps_rec_point pts[] = { { 4, 0.1, 1, 0 }, { 10, 0.2, 1, 0 } };
    struct ps_rec_in cpu = { .cores = 2, .threads = 4, .cpu_s = 10, .io_s = 1, .wall_s = 10 };
    struct ps_rec_out o = rec(cpu), before = o;
    ps_recommend_history(&cpu, pts, 2, &o);
    cr_expect_eq(o.recommended_threads, before.recommended_threads);
    struct ps_rec_point io[] = { { 4, 2.3, 1, 0 }, { 10, 5.5, 1, 0 } };
    struct ps_rec_in capped = { .cores = 2, .threads = 4, .cpu_s = 1, .io_s = 2.3, .wall_s = 10, .demand_peak = 5,
                                .tasks_seen = 1 };
    o = rec(capped);
    cr_assert_eq(o.recommended_threads, 5, "%s", o.reason);
    ps_recommend_history(&capped, io, 2, &o);
    cr_expect_eq(o.recommended_threads, 5, "%s", o.reason);
}

/* A steep two-run fit (W/C 2.46 at 4, 8.2 at 10; ripgrep's steepest read
 * 7.4 there, where 10 ran 28 % faster than 4): the fit alone says fewer
 * threads than 10; the size measured faster than every smaller one stands. */
Test(recommend, a_size_measured_faster_than_every_smaller_one_is_a_floor)
{
    struct ps_rec_out o = io_run(8.2, 10);
    struct ps_rec_point pts[] = { { 10, 8.2, 1.17, 0 }, { 4, 2.46, 0.91, 0 } };
    struct ps_rec_in in = { .cores = 2, .threads = 10, .cpu_s = 1, .io_s = 8.2, .wall_s = 10 };
    struct ps_rec_out fit = o;
    struct ps_rec_point same[] = { { 10, 8.2, 0.91, 0 }, { 4, 2.46, 0.91, 0 } };
    ps_recommend_history(&in, same, 2, &fit);     /* no faster size: the fit alone */
    cr_assert_lt(fit.recommended_threads, 10, "%s", fit.reason);
    ps_recommend_history(&in, pts, 2, &o);
    cr_expect_eq(o.recommended_threads, 10, "%s", o.reason);
    cr_expect(strstr(o.reason, "10 threads ran faster than fewer did") != NULL, "%s", o.reason);
}
