/* Unit tests for shim/control/view.c: the agent's one pass over the thread
 * table, built from records written here by hand as the wrappers and the
 * sampler would: each pool's totals, live census and completed calls, and
 * the one fact about other threads the controller needs (a thread waiting
 * with a pool's queue mutex). Criterion runs each test in its own process,
 * so the tables start empty. */
#include <criterion/criterion.h>
#include "tables.h"
#include "cores.h"
#include "view.h"
#include <string.h>

#define NOW 50000000000ull

static int pi;

static void setup(void)
{
    pi = ut_tables_init((void *)setup, "worker");
}

/* A live record of pool `pool` (-1: none) with tid, CPU and completed io calls. */
static struct ps_thread *thread(int i, int pool, uint64_t cpu_ns, uint64_t io_calls)
{
    struct ps_thread *t = ut_live_thread(i, pool, NOW - 1000000000ull, cpu_ns);
    t->waits[PS_IO] = io_calls;
    return t;
}

Test(view, one_pass_sums_each_pools_threads, .init = setup)
{
    int other = ps_pool_get((void *)thread, NULL, "other");
    thread(0, pi, 300000000, 10);
    struct ps_thread *idle = thread(1, pi, 200000000, 5);
    idle->cur_since_ns = NOW - 1000;
    idle->cur_cause = PS_IDLE;
    thread(2, other, 70000000, 1);
    thread(3, -1, 900000000, 100);              /* no pool: in no total */
    const struct ps_view *v = ps_view_tick(NOW);
    cr_assert_eq(v->npools, 2);
    const struct ps_view_pool *p = &v->pool[pi];
    cr_expect_eq(p->tot.threads, 2);
    cr_expect_eq(p->tot.cpu_ns, 500000000);
    cr_expect_eq(p->live, 2);
    cr_expect_eq(p->idle, 1);
    cr_expect_eq(p->busy, 1);
    cr_expect_eq(p->calls, 15);
    cr_expect_eq(p->hist_n, 1);
    cr_expect_eq(p->last.threads, 2);
    cr_expect_eq(v->pool[other].tot.cpu_ns, 70000000);
    cr_expect_eq(v->pool[other].calls, 1);
    /* the next tick starts its sums afresh */
    v = ps_view_tick(NOW + 100000000);
    cr_expect_eq(v->pool[pi].calls, 15);
    cr_expect_eq(v->pool[pi].hist_n, 2);
}

/* Node's DrainTasks: a thread outside the pool waits on a condvar with the
 * pool's queue mutex, for something a worker does under it. */
static void queue_mutex_waiter(int pool, uintptr_t cv)
{
    ps_pools[pi].queue_mutex = 0x6000;
    ps_pools[pi].idle_obj = 0x5000;
    struct ps_obj *drained = ps_obj_get(0x7000, PS_K_COND);
    cr_assert_not_null(drained);
    drained->mutex = 0x6000;
    thread(0, pi, 0, 0);
    struct ps_thread *main_thread = thread(1, pool, 0, 0);
    main_thread->cur_kind = PS_K_COND;
    main_thread->cur_obj = cv;
}

Test(view, a_thread_waiting_with_a_pools_queue_mutex_is_seen, .init = setup)
{
    ps_cfg.control = PS_CONTROL_ON;
    queue_mutex_waiter(-1, 0x7000);
    cr_expect_eq(ps_view_tick(NOW)->pool[pi].queue_mutex_waited, 1);
}

Test(view, a_worker_waiting_with_its_own_queue_mutex_is_not, .init = setup)
{
    ps_cfg.control = PS_CONTROL_ON;
    queue_mutex_waiter(pi, 0x7000);
    cr_expect_eq(ps_view_tick(NOW)->pool[pi].queue_mutex_waited, 0);
}

Test(view, queue_mutex_waiters_are_looked_for_only_with_control_on, .init = setup)
{
    ps_cfg.control = PS_CONTROL_ADVISE;          /* nobody is parked */
    queue_mutex_waiter(-1, 0x7000);
    cr_expect_eq(ps_view_tick(NOW)->pool[pi].queue_mutex_waited, 0);
}

/* What the rest of the process keeps busy while a pool runs is not the
 * pool's: node's main thread runs its JavaScript on a core of two, and its
 * fs pool is best at 1 worker. The process's CPU grows by 0.2 s in a tick of
 * 0.2 s while the pool's stays: a core's worth of other threads. */
Test(view, a_pool_is_sized_for_the_cores_the_rest_of_the_process_leaves, .init = setup)
{
    ps_cores = 2;
    cr_expect_float_eq(ps_view_cores_left(0.05), 2, 1e-9, "a little is noise");
    cr_expect_float_eq(ps_view_cores_left(1.0), 1, 1e-9);
    cr_expect_float_eq(ps_view_cores_left(0.6), 1, 1e-9, "in whole cores: most of one is theirs");
    cr_expect_float_eq(ps_view_cores_left(0.4), 2, 1e-9);
    cr_expect_float_eq(ps_view_cores_left(7), 1, 1e-9, "at least one");
    thread(0, pi, 300000000, 10);
    thread(1, pi, 300000000, 10);
    ps_view_tick(NOW);
    ut_process_cpu_s = 0.2;
    const struct ps_view *v = ps_view_tick(NOW + 200000000ull);
    const struct ps_view_pool *p = ps_view_answer(pi);
    cr_assert_not_null(p);
    cr_expect_float_eq(v->other_cores, 1, 1e-9, "0.2 s of CPU outside the pool in 0.2 s: %f", v->other_cores);
    cr_expect_float_eq(p->model_cores, 1, 1e-9, "model cores %f, other %f", p->model_cores,
                       (double)v->pool[pi].other_ns / (double)v->pool[pi].window_ns);
    cr_expect(strstr(p->rec.reason, "other threads used") != NULL, "%s", p->rec.reason);
}

Test(view, a_pool_keeps_every_core_when_the_rest_of_the_process_is_quiet, .init = setup)
{
    ps_cores = 2;
    thread(0, pi, 300000000, 10);
    ps_view_tick(NOW);
    ps_view_tick(NOW + 1000000000ull);   /* a second of wall, no CPU outside the pool */
    const struct ps_view_pool *p = ps_view_answer(pi);
    cr_assert_not_null(p);
    cr_expect_float_eq(p->model_cores, 2, 1e-9);
    cr_expect_null(strstr(p->rec.reason, "other threads used"), "%s", p->rec.reason);
}

/* Posts to a pool's wait for work while its workers are busy are its queue,
 * but only once a second worker has waited there: an object one worker of
 * several waits on may be that worker's own (xz -T4 gives each a condvar,
 * and an early tick wrote a dump for "about 131 tasks queued for 3 workers,
 * growing" before the others' waits showed them as twins). */
Test(view, a_queue_is_read_once_two_workers_have_waited_for_work, .init = setup)
{
    struct ps_thread *a = thread(0, pi, 100000000, 0), *b = thread(1, pi, 100000000, 0);
    thread(2, pi, 100000000, 0);
    ps_pools[pi].joined = 3;
    ps_pools[pi].idle_obj = 0x4008;
    ps_pools[pi].idle_kind = PS_K_COND;
    struct ps_obj *cv = ps_obj_get(0x4008, PS_K_COND);
    ps_obj_on_wait(cv, a, (void *)0x10, 1000);
    ps_obj_on_wait(cv, a, (void *)0x10, 1000);
    ps_pools[pi].submissions = 50;
    ps_pools[pi].tasks = 10;
    const struct ps_view *v = ps_view_tick(NOW);
    cr_expect_eq(v->pool[pi].queue, 0, "one worker's waits: queue %lu", (unsigned long)v->pool[pi].queue);
    ps_obj_on_wait(cv, b, (void *)0x10, 1000);
    v = ps_view_tick(NOW + 100000000ull);
    cr_expect_eq(v->pool[pi].queue, 40, "two workers' waits: queue %lu", (unsigned long)v->pool[pi].queue);
}

/* A condvar the workers post for each other more than others do is a GIL
 * (hand-off) only if its waits run out now and then: CPython's waiter asks
 * the holder to let go when its 5 ms wait times out. coreutils sort's merge
 * queue, posted by the workers as they make tasks, is waited on untimed. */
Test(view, a_condvar_the_workers_post_is_a_hand_off_only_with_timeouts, .init = setup)
{
    thread(0, pi, 0, 0);
    thread(1, pi, 0, 0);
    ps_pools[pi].joined = 2;
    struct ps_obj *o = ps_obj_get(0x8000, PS_K_COND);
    cr_assert_not_null(o);
    o->waiter_pool = pi;
    o->waited_outside = 1;
    o->posts_same = 846;
    o->posts_other = 282;
    o->contended = 123;
    o->waiters_many = 1;
    cr_expect_not(ps_view_is_handoff(pi, o));
    o->timeouts = 40;
    cr_expect(ps_view_is_handoff(pi, o));
}

/* ... and only if more than one thread waits on it: x265's frame encoders
 * each wait for their rows on a condvar of their own, in timed waits that
 * run out (timedWait(250)), posted by the pool's workers; beside two CPU
 * hogs the pool never ran 1.25 cores and read "a GIL-like lock, use 2
 * processes". */
Test(view, a_condvar_one_thread_waits_on_is_no_hand_off, .init = setup)
{
    thread(0, pi, 0, 0);
    thread(1, pi, 0, 0);
    ps_pools[pi].joined = 2;
    struct ps_obj *o = ps_obj_get(0x8000, PS_K_COND);
    cr_assert_not_null(o);
    o->waiter_pool = pi;
    o->posts_same = 846;
    o->posts_other = 20;
    o->contended = 123;
    o->timeouts = 40;
    o->first_waiter = 1001;
    cr_expect_not(ps_view_is_handoff(pi, o), "one waiter's event read as a GIL");
    o->waiters_many = 1;
    cr_expect(ps_view_is_handoff(pi, o));
}

/* Two event-loop threads polling at the pool's idle site, each wake-up one
 * task per ready fd: the count holds where each is answered by one write
 * (memcached, HAProxy), and is unknown where the writes outnumber it (several
 * requests per fd) or where the loops also block on condvars or futex words
 * (BEAM's schedulers: work reaches them another way too). */
static const struct ps_view_pool *loop_pool(uint64_t tasks_each, uint64_t replies_each, uint64_t conds_each)
{
    ps_pools[pi].idle_site = (void *)0x77;
    ps_pools[pi].idle_obj = PS_FD_KEY(9);            /* one worker's epoll fd */
    ps_pools[pi].idle_kind = PS_K_POLL;
    for (int i = 0; i < 2; i++) {
        struct ps_thread *t = thread(i, pi, 100000000, 0);
        t->polled_idle = 1;
        t->tasks = tasks_each;
        t->loop_replies = replies_each;
        t->cond_blocked = conds_each;
    }
    return &ps_view_tick(NOW)->pool[pi];
}

Test(view, an_event_loops_tasks_hold_when_each_is_answered_once, .init = setup)
{
    const struct ps_view_pool *p = loop_pool(5000, 5002, 0);
    cr_expect(p->tasks_whole);
    cr_expect_eq(p->tot.tasks, 10000);
    cr_expect(loop_pool(5000, 0, 0)->tasks_whole, "a token read per task, no answer (epoll_pool)");
    cr_expect(loop_pool(5000, 5400, 9)->tasks_whole, "a partial write now and then, a rare condvar wait");
}

Test(view, an_event_loop_answering_more_than_it_woke_for_has_unknown_tasks, .init = setup)
{
    cr_expect_not(loop_pool(1900, 10000, 0)->tasks_whole);
}

Test(view, an_event_loop_that_also_waits_on_condvars_has_unknown_tasks, .init = setup)
{
    cr_expect_not(loop_pool(700, 300, 380)->tasks_whole);
}

/* Pool pi as a condvar pool of n threads whose wait for work several of them
 * share, learned before it did any work: its tasks are counted whole. */
static void condvar_pool_of(int n)
{
    struct ps_obj *o = ps_obj_get(0x9000, PS_K_COND);
    cr_assert_not_null(o);
    o->waiter_pool = pi;
    o->waiters_many = 1;
    ps_pools[pi].idle_obj = 0x9000;
    ps_pools[pi].idle_kind = PS_K_COND;
    ps_pools[pi].count_started = 1;
    ps_pools[pi].joined = n;
}

/* multiprocessing's ThreadPool: every CPython thread starts at one routine,
 * so its worker-handler thread, which polls a pipe, is the one poller among
 * eight workers and two more handlers, all blocking on condvars (the GIL) and
 * semaphores. Its count is unknown because one thread of several polls, not
 * because of an event loop: the report said "an event loop's wake-ups bound
 * no task" of a pool with none. */
Test(view, one_poller_among_threads_waiting_on_condvars_is_no_event_loop, .init = setup)
{
    ps_pools[pi].idle_site = (void *)0x77;
    ps_pools[pi].idle_obj = PS_FD_KEY(3);
    ps_pools[pi].idle_kind = PS_K_POLL;
    ps_pools[pi].joined = 11;
    for (int i = 0; i < 11; i++) {
        struct ps_thread *t = thread(i, pi, 100000000, 0);
        t->polled_idle = i == 0;
        t->tasks = i == 0 ? 7 : 0;
        t->cond_blocked = i == 0 ? 0 : 120;
    }
    const struct ps_view_pool *p = &ps_view_tick(NOW)->pool[pi];
    cr_expect_not(p->tasks_whole);
    cr_expect_str_eq(p->tasks_unseen, "one thread of several polls its wait for work");
}

/* A CPython executor of 4 whose tasks are 1 ms of CPU and 4 ms of sleep,
 * and a heartbeat thread of the same program asleep for the whole run: in
 * one pool, since every CPython thread starts at one routine. W/C is the
 * tasks' (4), not 6 with the heartbeat's sleep; its threads and their waits
 * say what was left out. Past half the pool such threads are not told apart
 * from its workers, and count. */
static const struct ps_view_pool *heartbeat_pool(int workers, int sleepers)
{
    condvar_pool_of(workers + sleepers);
    for (int i = 0; i < workers + sleepers; i++) {
        struct ps_thread *t = thread(i, pi, i < workers ? 250000000 : 1000000, 0);
        t->tasks = i < workers ? 250 : 0;
        t->blocked_ns[PS_SLEEP] = i < workers ? 1000000000 : 2000000000;
    }
    ps_view_tick(NOW);
    return ps_view_answer(pi);
}

Test(view, a_thread_that_took_no_task_is_left_out_of_w_c, .init = setup)
{
    const struct ps_view_pool *p = heartbeat_pool(4, 1);
    cr_assert(p->tasks_whole, "%s", p->tasks_unseen ? p->tasks_unseen : "");
    cr_expect_eq(p->tot.taskless, 1);
    cr_expect_eq(p->tot.taskless_sleep_ns, 2000000000);
    cr_expect_eq(p->tot.wait_ns[PS_SLEEP], 6000000000, "the pool's sleep is every thread's");
    cr_expect_eq(p->last.task_wait_ns, 4000000000);
    cr_expect(p->rec.w_c > 3.9 && p->rec.w_c < 4.0, "w_c %f: the workers' 4000 ms over 1001 ms", p->rec.w_c);
}

Test(view, taskless_threads_past_half_the_pool_count_in_w_c, .init = setup)
{
    const struct ps_view_pool *p = heartbeat_pool(2, 3);
    cr_expect_eq(p->tot.taskless, 0);
    cr_expect_eq(p->last.task_wait_ns, 8000000000);
}

/* Tasks not counted (no wait for work learned): multiprocessing's ThreadPool,
 * 8 workers of 0.135 s of CPU and 0.48 s of sleep each, and its handler
 * thread, no CPU, in poll on a pipe for 1.1 s. W/C is the workers' 3.6, not
 * 4.5; a pool whose workers all run little CPU (their tasks only sleep)
 * keeps every thread's waits. */
static const struct ps_view_pool *unseen_pool(uint64_t worker_cpu_ns, uint64_t last_cpu_ns)
{
    ps_pools[pi].joined = 9;
    for (int i = 0; i < 9; i++) {
        struct ps_thread *t = thread(i, pi, i < 8 ? worker_cpu_ns : last_cpu_ns, 0);
        t->blocked_ns[i < 8 ? PS_SLEEP : PS_IO] = i < 8 ? 480000000 : 1100000000;
    }
    ps_view_tick(NOW);
    return ps_view_answer(pi);
}

Test(view, a_thread_of_no_cpu_beside_uncounted_tasks_is_left_out_of_w_c, .init = setup)
{
    const struct ps_view_pool *p = unseen_pool(135000000, 0);
    cr_assert_not(p->tasks_whole);
    cr_expect_eq(p->tot.taskless, 1);
    cr_expect_eq(p->tot.taskless_io_ns, 1100000000);
    cr_expect(p->rec.w_c > 3.5 && p->rec.w_c < 3.6, "w_c %f: 8 x 0.48 s over 8 x 0.135 s", p->rec.w_c);
    p = unseen_pool(2000000, 1000000);   /* the last one's 1 ms: half a worker's, not a hundredth */
    cr_expect_eq(p->tot.taskless, 0);
}

/* A condvar pool whose workers each ended one wait (a start barrier) but one
 * that never waited did a quarter of the work: sysbench threads read "3
 * tasks of 1 s" for 4 workers. The count is unknown, and says why. */
static const struct ps_view_pool *barrier_pool(uint64_t last_tasks, int came_back)
{
    condvar_pool_of(4);
    for (int i = 0; i < 4; i++) {
        struct ps_thread *t = thread(i, pi, 250000000, 0);
        t->tasks = i < 3 ? 1 : last_tasks;
        t->came_back = came_back;
    }
    return &ps_view_tick(NOW)->pool[pi];
}

Test(view, a_worker_that_never_waited_for_work_makes_the_count_unknown, .init = setup)
{
    const struct ps_view_pool *p = barrier_pool(0, 0);
    cr_expect_not(p->tasks_whole);
    cr_expect_str_eq(p->tasks_unseen, "a worker that never waited for work did a part of it");
}

/* Every worker waited there once, and none came back for more: a gate they
 * were let through (sysbench fileio at 15 threads, its main thread last at
 * the start barrier, read "14 tasks of 2 s" for 150,000 writes). Workers
 * that each took one task and then waited for work again hold a count. */
Test(view, workers_let_through_a_gate_once_have_no_count_of_tasks, .init = setup)
{
    const struct ps_view_pool *p = barrier_pool(1, 0);
    cr_expect_not(p->tasks_whole);
    cr_expect_str_eq(p->tasks_unseen, "its threads waited there once each and never came back for more work (a gate)");
    p = barrier_pool(1, 1);
    cr_expect(p->tasks_whole, "they waited for work again: %s", p->tasks_unseen ? p->tasks_unseen : "");
    cr_expect_eq(p->tot.tasks, 4);
}

/* memcached -t 16 under 4 clients: 4 workers serve their connections, and
 * two more each served one that only checked the port or read the stats.
 * The workers its clients need are the 4 (a tenth of the busiest worker's
 * tasks or more), not 6: told 6, it ran 0.79-0.86 as fast as at 4. */
Test(view, an_event_loop_is_owed_the_workers_that_served_its_clients_not_a_probe, .init = setup)
{
    ps_pools[pi].idle_site = (void *)0x77;
    ps_pools[pi].idle_obj = PS_FD_KEY(9);
    ps_pools[pi].idle_kind = PS_K_POLL;
    static const uint64_t tasks[] = { 22000, 23500, 21000, 23000, 2, 1, 0, 0 };
    for (int i = 0; i < 8; i++) {
        struct ps_thread *t = thread(i, pi, tasks[i] * 10000 + 1000000, 0);
        t->polled_idle = 1;
        t->tasks = tasks[i];
        t->loop_replies = tasks[i];
    }
    const struct ps_view_pool *p = &ps_view_tick(NOW)->pool[pi];
    cr_assert(p->tasks_whole, "%s", p->tasks_unseen ? p->tasks_unseen : "");
    cr_expect_eq(p->tot.working, 6);
    cr_expect_eq(p->tot.serving, 4);
    p = ps_view_answer(pi);
    cr_expect_eq(p->rec.recommended_threads, 4, "recommended %d: %s", p->rec.recommended_threads, p->rec.reason);
}

/* node's crypto pool: 400 tasks posted at once to 4 workers, busy until the
 * end; the queue is calibrated only when all go idle at the end, and a tick
 * after saw one busy. The peak of the calibrated ticks (1) does not bound
 * the pool: the ticks before it found every worker busy and could not read
 * the queue. It was told 1 thread on 2 cores for pure CPU work. */
static void set_idle(int n, int idle)
{
    for (int i = 0; i < n; i++) {
        ps_threads[i].cur_since_ns = i < idle ? NOW - 1000 : 0;
        ps_threads[i].cur_cause = i < idle ? PS_IDLE : PS_COND;
    }
}

Test(view, a_peak_demand_read_only_at_the_end_does_not_cap_a_pool_busy_before, .init = setup)
{
    ps_cores = 2;
    condvar_pool_of(4);
    for (int i = 0; i < 4; i++)
        thread(i, pi, 450000000, 0)->tasks = 100;
    ps_pools[pi].submissions = 400;
    ps_pools[pi].tasks = 400;
    set_idle(4, 0);                       /* all busy, queue not yet read */
    ps_view_tick(NOW - 600000000ull);
    set_idle(4, 4);                       /* all idle: the queue is read from here */
    ps_view_tick(NOW - 400000000ull);
    set_idle(4, 3);                       /* one busy: a peak of 1 */
    ps_view_tick(NOW - 200000000ull);
    const struct ps_view_pool *p = ps_view_answer(pi);
    cr_assert_not_null(p);
    cr_expect_eq(ps_pools[pi].demand_peak, 1);
    cr_expect(ps_pools[pi].demand_unseen);
    cr_expect_eq(p->rec.recommended_threads, 2, "told %d: %s", p->rec.recommended_threads, p->rec.reason);
    cr_expect_null(strstr(p->rec.reason, "capped"), "%s", p->rec.reason);
}

/* The same pool seen idle from its first tick: its peak holds, and the
 * busiest tick (2 workers) bounds it from below. */
Test(view, a_peak_demand_read_at_every_tick_caps_the_pool, .init = setup)
{
    ps_cores = 2;
    condvar_pool_of(4);
    for (int i = 0; i < 4; i++) {
        struct ps_thread *t = thread(i, pi, 450000000, 0);
        t->tasks = 100;
        t->blocked_ns[PS_SLEEP] = 4000000000ull;   /* W/C 8.9: goetz 20 */
    }
    set_idle(4, 4);
    ps_view_tick(NOW - 600000000ull);
    set_idle(4, 2);
    ps_view_tick(NOW - 400000000ull);
    set_idle(4, 3);
    ps_view_tick(NOW - 200000000ull);
    const struct ps_view_pool *p = ps_view_answer(pi);
    cr_assert_not_null(p);
    cr_expect_not(ps_pools[pi].demand_unseen);
    cr_expect_eq(p->rec.recommended_threads, 2, "told %d: %s", p->rec.recommended_threads, p->rec.reason);
    cr_expect(strstr(p->rec.reason, "capped at 2") != NULL, "%s", p->rec.reason);
}

/* A thread per request (python3 -m http.server: 600 started, at most 1
 * alive at a tick): the reason says the threads come and go, and the size is for a
 * pool that keeps them. A pool whose threads all stay says nothing of it. */
static const struct ps_view_pool *pool_of(int started, int alive)
{
    condvar_pool_of(started);
    for (int i = 0; i < started; i++) {
        struct ps_thread *t = thread(i, pi, 10000000, 0);
        t->blocked_ns[PS_SLEEP] = 30000000;
        if (i >= alive)
            t->state = PS_T_EXITED;
    }
    ps_view_tick(NOW);
    return ps_view_answer(pi);
}

Test(view, threads_that_come_and_go_are_said_to, .init = setup)
{
    const struct ps_view_pool *p = pool_of(40, 4);
    cr_assert_not_null(p);
    cr_expect_eq(p->tot.threads, 40);
    cr_expect(strstr(p->rec.reason, "its threads come and go: 40 started, at most 4 alive at a tick") != NULL,
              "%s", p->rec.reason);
}

Test(view, threads_that_stay_are_not_said_to_come_and_go, .init = setup)
{
    const struct ps_view_pool *p = pool_of(24, 24);
    cr_assert_not_null(p);
    cr_expect_null(strstr(p->rec.reason, "come and go"), "%s", p->rec.reason);
}
