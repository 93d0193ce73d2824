/* Unit tests for shim/record/pool.c: the name prefix that groups threads, and the
 * pool table's find-or-create (single thread, racing threads, full table). */
#include <criterion/criterion.h>
#include <pthread.h>
#include "capture.h"
#include "clock.h"
#include "instance.h"
#include "pool.h"
#include "tables.h"

static const char *prefix(const char *name)
{
    static char out[PS_NAME_LEN];
    memset(out, 'Q', sizeof out);
    ps_pool_prefix(name, out);
    return out;
}

Test(pool, prefix_strips_trailing_numbers_and_separators)
{
    cr_expect_str_eq(prefix("worker-12"), "worker");
    cr_expect_str_eq(prefix("worker_3"), "worker");
    cr_expect_str_eq(prefix("worker7"), "worker");
    cr_expect_str_eq(prefix("kworker/0:1"), "kworker");
    cr_expect_str_eq(prefix("pool-1-thread-2"), "pool-1-thread");
    cr_expect_str_eq(prefix("io.4"), "io");
    cr_expect_str_eq(prefix("worker"), "worker");
    cr_expect_str_eq(prefix("w"), "w");
}

/* GNAT names the tasks of an array by index: w(1) .. w(4) are one pool. */
Test(pool, prefix_strips_a_number_in_brackets)
{
    cr_expect_str_eq(prefix("w(1)"), "w");
    cr_expect_str_eq(prefix("w(12)"), "w");
    cr_expect_str_eq(prefix("worker[3]"), "worker");
    cr_expect_str_eq(prefix("grid(2, 3)"), "grid");
    cr_expect_str_eq(prefix("pool-2(7)"), "pool");
    cr_expect_str_eq(prefix("f(x)"), "f(x)");
    cr_expect_str_eq(prefix("f()"), "f()");
    cr_expect_str_eq(prefix("(3)"), "");                /* as "3" */
    cr_expect_str_eq(prefix(")"), ")");
}

/* Erlang puts the index first: 1_scheduler .. 8_scheduler, 1_dirty_io_sche. */
Test(pool, prefix_strips_a_leading_index)
{
    cr_expect_str_eq(prefix("1_scheduler"), "scheduler");
    cr_expect_str_eq(prefix("12_scheduler"), "scheduler");
    cr_expect_str_eq(prefix("3_dirty_io_sche"), "dirty_io_sche");
    cr_expect_str_eq(prefix("2-worker-5"), "worker");
    cr_expect_str_eq(prefix("7z"), "7z");
    cr_expect_str_eq(prefix("3_"), "");
    cr_expect_str_eq(prefix("1_2"), "");
}

/* Threads of a CPython pool are all named after the process ("python3"):
 * they lose the 3 alike, so grouping is unchanged; harmless. */
Test(pool, prefix_of_python3_is_python)
{
    cr_expect_str_eq(prefix("python3"), "python");
    cr_expect_str_eq(prefix("python3.11"), "python");
}

/* Names made only of digits ("0".."15", thread indexes) must group together:
 * all map to "", i.e. the start routine alone decides the pool. */
Test(pool, prefix_of_digits_only_names_is_empty)
{
    cr_expect_str_eq(prefix("1"), "");
    cr_expect_str_eq(prefix("12"), "");
    char a[PS_NAME_LEN], b[PS_NAME_LEN];
    ps_pool_prefix("7", a);
    ps_pool_prefix("10", b);
    cr_expect_str_eq(a, b);
    cr_expect_str_eq(prefix("-"), "");
    cr_expect_str_eq(prefix(""), "");
}

Test(pool, prefix_of_a_long_name_is_bounded)
{
    char out[PS_NAME_LEN + 8];
    memset(out, 'Q', sizeof out);
    ps_pool_prefix("abcdefghijklmnopqrstuvwxyz", out);
    cr_expect_eq(strlen(out), PS_NAME_LEN - 1);
    cr_expect_eq(out[PS_NAME_LEN], 'Q');
}

Test(pool, get_without_a_table_is_minus_one)
{
    cr_expect_eq(ps_pool_get((void *)0x1000, NULL, "w"), -1);
}

Test(pool, get_finds_or_creates)
{
    cr_assert_eq(ps_pool_table_init(), 0);
    void *r1 = (void *)0x1000, *r2 = (void *)0x2000;
    cr_expect_eq(ps_pool_get(r1, NULL, "worker"), 0);
    cr_expect_eq(ps_pool_get(r1, NULL, "worker"), 0);
    cr_expect_eq(ps_pool_get(r2, NULL, "worker"), 1);
    cr_expect_eq(ps_pool_get(r1, NULL, "io"), 2);
    cr_expect_eq(ps_pool_get(r1, NULL, ""), 3);
    cr_expect_eq(ps_pool_get(r2, NULL, "worker"), 1);
    cr_expect_eq(ps_pools[1].routine, r2);
    cr_expect_str_eq(ps_pools[1].prefix, "worker");
    cr_expect_eq(ps_pools[1].used, 2);
    cr_expect_eq(ps_pools[4].used, 0);
    cr_expect_eq(ps_pools[0].tasks, 0);
    ps_pool_table_reset();
    cr_expect_eq(ps_pool_get(r2, NULL, "worker"), 0, "reset forgets every pool");
}

Test(pool, get_on_a_full_table_is_minus_one_logged_once)
{
    cr_assert_eq(ps_pool_table_init(), 0);
    for (int i = 0; i < PS_MAX_POOLS; i++)
        cr_assert_eq(ps_pool_get((void *)(uintptr_t)(0x1000 + i), NULL, "w"), i);
    struct ps_cap cap;
    ps_cap_begin(&cap);
    int a = ps_pool_get((void *)0x99999, NULL, "w");
    int b = ps_pool_get((void *)0x99998, NULL, "w");
    ps_cap_end(&cap);
    cr_expect_eq(a, -1);
    cr_expect_eq(b, -1);
    cr_expect_eq(ps_count_lines(cap.text), 1, "%s", cap.text);
    cr_expect_not_null(strstr(cap.text, "more than 256 pools"), "%s", cap.text);
    cr_expect_eq(ps_pool_get((void *)0x1000 + 255, NULL, "w"), 255, "existing pools still found");
}

#define RACERS 4
#define KEYS 16
static int seen[RACERS][KEYS];
static pthread_barrier_t go;

static void *racer(void *arg)
{
    int me = (int)(intptr_t)arg;
    pthread_barrier_wait(&go);
    for (int round = 0; round < 200; round++)
        for (int k = 0; k < KEYS; k++) {
            int key = (k + me * 5) % KEYS;     /* each racer in a different order */
            int p = ps_pool_get((void *)(uintptr_t)(0x5000 + key), NULL, key & 1 ? "odd" : "even");
            if (round == 0)
                seen[me][key] = p;
            else if (seen[me][key] != p)
                seen[me][key] = -2;
        }
    return NULL;
}

Test(pool, racing_threads_agree_on_one_entry_per_key, .timeout = 10)
{
    cr_assert_eq(ps_pool_table_init(), 0);
    pthread_t th[RACERS];
    pthread_barrier_init(&go, NULL, RACERS);
    for (int i = 0; i < RACERS; i++)
        cr_assert_eq(pthread_create(&th[i], NULL, racer, (void *)(intptr_t)i), 0);
    for (int i = 0; i < RACERS; i++)
        pthread_join(th[i], NULL);
    int used = 0;
    for (int i = 0; i < PS_MAX_POOLS; i++)
        used += ps_pools[i].used != 0;
    cr_expect_eq(used, KEYS);
    for (int k = 0; k < KEYS; k++) {
        cr_expect(seen[0][k] >= 0 && seen[0][k] < KEYS, "key %d -> %d", k, seen[0][k]);
        for (int i = 1; i < RACERS; i++)
            cr_expect_eq(seen[i][k], seen[0][k], "racer %d key %d", i, k);
        cr_expect_eq(ps_pools[seen[0][k]].routine, (void *)(uintptr_t)(0x5000 + k));
    }
}

/* Instances (pool.c): threads of one routine given one context each pool are
 * told apart by that shared argument; arguments that differ per worker, or an
 * address reused for other bytes (CPython frees each thread's start argument
 * as it starts), leave one pool. */
static struct ps_thread *starter(int i, void *arg, uint64_t bytes)
{
    struct ps_thread *t = ut_live_thread(i, -1, 1, 0);
    t->routine = (void *)0x7000;
    t->start_arg = arg;
    t->arg_bytes[0] = bytes;
    t->arg_read = 1;
    t->pool = ps_pool_join(t, "zstd");
    return t;
}

Test(pool, workers_sharing_a_context_are_an_instance_of_their_own)
{
    ut_tables_init((void *)0x6000, "main");
    int ctx_r, ctx_w, ctx_c;
    struct ps_thread *r = starter(1, &ctx_r, 1), *w = starter(2, &ctx_w, 2), *c[4];
    cr_expect_eq(r->pool, w->pool, "lone threads with their own arguments: one pool until shown otherwise");
    for (int i = 0; i < 4; i++)
        c[i] = starter(3 + i, &ctx_c, 3);
    for (int i = 1; i < 4; i++)
        cr_expect_eq(c[i]->pool, c[0]->pool, "compressor %d in pool %d, the first in %d", i, c[i]->pool, c[0]->pool);
    cr_expect_neq(c[0]->pool, r->pool, "the first compressor moved out of the readers' pool");
    cr_expect_neq(r->pool, w->pool, "once the code is known to run instances, each argument is one");
    cr_expect_eq(ps_pools[c[0]->pool].joined, 4);
    cr_expect_eq(ps_pool_instance_no(r->pool) + ps_pool_instance_no(w->pool) + ps_pool_instance_no(c[0]->pool), 6,
                 "numbered 1, 2, 3");
    struct ps_thread *later = starter(7, &ctx_w, 2);
    cr_expect_eq(later->pool, w->pool, "a new worker of a known instance joins it");
}

Test(pool, an_address_reused_for_other_bytes_or_arguments_per_worker_stay_one_pool)
{
    ut_tables_init((void *)0x6000, "main");
    int boot, per[3];
    struct ps_thread *a = starter(1, &boot, 11), *b = starter(2, &boot, 12), *d = starter(3, &boot, 13);
    cr_expect_eq(a->pool, b->pool);
    cr_expect_eq(b->pool, d->pool);
    cr_expect_null(ps_pools[a->pool].inst);
    struct ps_thread *w[3];
    for (int i = 0; i < 3; i++) {
        w[i] = starter(4 + i, &per[i], 5);
        cr_expect_eq(w[i]->pool, a->pool, "worker %d with its own argument", i);
    }
    w[0]->state = PS_T_EXITED;           /* a client's thread ended; its argument is reused */
    struct ps_thread *next = starter(7, &per[0], 5);
    cr_expect_eq(next->pool, a->pool, "a sibling counts only while it lives");
    cr_expect_eq(ps_pools[a->pool].by_arg, 0);
}

/* A thread's own rename and the agent's reading of its new name race
 * (HotSpot's pool-1-thread-N name themselves): whichever finds it moved
 * already must leave its old pool's name alone, or every later worker of
 * that name joins the old pool (a Java pool of 8 split 3 + 5, 2 runs of 4). */
static struct ps_thread *renamed_one;
static pthread_barrier_t rename_go;

static void *renamer(void *arg)
{
    pthread_barrier_wait(&rename_go);
    ps_instance_renamed(renamed_one, "pool-1-thread");
    return NULL;
}

Test(pool, a_rename_seen_twice_at_once_moves_the_thread_and_leaves_its_old_pool_unnamed, .timeout = 20)
{
    int aliased = 0, stayed = 0;
    ut_tables_init((void *)0x6000, "main");
    for (int round = 0; round < 600; round++) {
        ps_pool_table_reset();
        int java = ps_pool_get((void *)0x8000, NULL, "java");
        renamed_one = ut_live_thread(1, java, 1, 0);
        renamed_one->routine = (void *)0x8000;
        ps_pools[java].joined = 1;
        pthread_barrier_init(&rename_go, NULL, 2);
        pthread_t a, b;
        cr_assert_eq(pthread_create(&a, NULL, renamer, NULL), 0);
        cr_assert_eq(pthread_create(&b, NULL, renamer, NULL), 0);
        pthread_join(a, NULL);
        pthread_join(b, NULL);
        pthread_barrier_destroy(&rename_go);
        aliased += ps_pools[java].alias[0] != 0;
        stayed += renamed_one->pool == java;
        /* the next worker of that name joins the first one's pool */
        struct ps_thread *next = ut_live_thread(2, -1, 1, 0);
        next->routine = (void *)0x8000;
        stayed += ps_pool_join(next, "pool-1-thread") != renamed_one->pool;
    }
    cr_expect_eq(aliased, 0, "the old pool took the new name in %d rounds of 600", aliased);
    cr_expect_eq(stayed, 0, "%d of 600 rounds left a worker apart", stayed);
}

/* A thread that waited before it named itself (HotSpot's start handshake,
 * taken for the `java` pool's wait for work) did no work: it moves. One
 * that worked joins the pool its new name has already, rather than keep the
 * old pool and name it; with no such pool it stays, and its pool takes the
 * name, as before. */
Test(pool, a_renamed_thread_that_waited_joins_the_pool_of_its_new_name)
{
    ut_tables_init((void *)0x6000, "main");
    int java = ps_pool_get((void *)0x8000, NULL, "java");
    struct ps_thread *gc = ut_live_thread(5, java, 1, 0), *first = ut_live_thread(1, java, 1, 0),
                     *late = ut_live_thread(2, java, 1, 0);
    gc->routine = first->routine = late->routine = (void *)0x8000;
    ps_pools[java].joined = 3;
    gc->wait_ns[PS_IDLE] = 200000;
    ps_instance_renamed(gc, "Sweeper thread");
    cr_expect_neq(gc->pool, java, "it only waited: it moves to a pool of its own name");
    cr_expect_eq(ps_pools[java].alias[0], 0);
    first->tasks = 3;
    ps_instance_renamed(first, "GC Thread");
    cr_expect_eq(first->pool, java, "it worked, and no pool has its new name: it stays");
    cr_expect_str_eq(ps_pools[java].alias, "GC Thread");
    int java2 = ps_pool_get((void *)0x8000, NULL, "java2");
    struct ps_thread *w1 = ut_live_thread(3, java2, 1, 0), *w4 = ut_live_thread(4, java2, 1, 0);
    w1->routine = w4->routine = (void *)0x8000;
    ps_pools[java2].joined = 2;
    ps_instance_renamed(w1, "pool-1-thread");
    int workers = w1->pool;
    cr_expect_neq(workers, java2, "a young thread moves");
    w4->wait_ns[PS_IDLE] = 300000;
    w4->cpu_ns = 30000000;
    w4->tasks = 2;
    ps_instance_renamed(w4, "pool-1-thread");
    cr_expect_eq(w4->pool, workers, "it worked, yet joins its siblings");
    cr_expect_eq(ps_pools[java2].alias[0], 0, "the pool it left keeps its name");
}

/* The queue estimate of a pool whose wait for work only one worker has waited
 * on: none, as for xz's encoders, each on a condvar of its own that the main
 * thread posts at every hand-off of input. That holds when the pool is down
 * to its last worker too; only a pool that never had a second thread reads
 * its posts as queued tasks. */
Test(pool, a_pool_down_to_one_worker_reads_no_queue_from_one_workers_object)
{
    int pi = ut_tables_init((void *)0x6000, "xz");
    struct ps_obj *own = ps_obj_get(0x7000, PS_K_COND);
    cr_assert_not_null(own);
    struct ps_pool *p = &ps_pools[pi];
    p->idle_obj = 0x7000;
    p->submissions = 2700;
    p->tasks = 41;
    struct ps_pool_totals tot = { 0 };
    struct ps_pool_census c = { .live = 1, .idle = 0, .parked = 0, .tot = &tot };
    p->joined = 1;
    ps_pool_tick(1000000000ull, 1, &c);
    cr_expect_eq(p->queue_est, 2659, "a pool of one: its posts less its starts are its queue");
    p->joined = 4;
    ps_pool_tick(2000000000ull, 1, &c);
    cr_expect_eq(p->queue_est, 0, "one of four workers left: read %lu queued", (unsigned long)p->queue_est);
    own->waiters_many = 1;
    ps_pool_tick(3000000000ull, 1, &c);
    cr_expect_eq(p->queue_est, 2659, "a wait for work all workers shared: its queue is read");
}

/* A thread alone in its pool (lbzip2's main_thread_proc, which starts the
 * workers and then works beside them) waits for work on the workers'
 * condvar, first of all, at their call site: it is one of them, tasks and
 * all, and the condvar is their wait for work. At another site it stays
 * apart: a producer waiting for room on the condvar its consumers wait on
 * for work is no worker. So does a thread of another name (HotSpot's G1
 * marker and refinement thread meet on one monitor, at the one call site
 * of every HotSpot monitor wait), or one that did a tenth of a worker's
 * work or less. */
static struct ps_thread *lone_waiter(void *lone_site, const char *workers_name, uint64_t lone_cpu_ns)
{
    ut_tables_init((void *)0x6000, "lbzip2");
    int workers = ps_pool_get((void *)0x6100, NULL, workers_name);
    cr_assert_eq(workers, 1);
    struct ps_thread *s = ut_live_thread(0, 0, 1, lone_cpu_ns);
    s->tasks = 5;
    ps_pools[0].joined = 1;
    ps_pools[0].tasks = 5;
    struct ps_obj *o = ps_obj_get(0x7000, PS_K_COND);
    cr_assert_not_null(o);
    ps_obj_on_wait(o, s, lone_site, 1000000);
    for (int i = 1; i <= 3; i++)
        ps_obj_on_wait(o, ut_live_thread(i, workers, 1, 50000000), (void *)0x6180, 1000000);
    ps_pools[workers].joined = 3;
    o->posts_other = 40;                 /* the producer's */
    ps_pool_learn();
    return s;
}

Test(pool, a_thread_alone_that_waits_for_work_with_a_pools_workers_joins_them)
{
    struct ps_thread *s = lone_waiter((void *)0x6180, "lbzip2", 40000000);
    cr_expect_eq(s->pool, 1, "in pool %d", s->pool);
    cr_expect_eq(ps_pools[1].joined, 4);
    cr_expect_eq(ps_pools[0].joined, 0);
    cr_expect_eq(ps_pools[1].tasks, 5, "its tasks moved with it");
    cr_expect_eq(ps_pools[1].idle_obj, 0x7000, "the workers' wait for work is theirs");
    cr_expect_eq(ps_pools[0].idle_obj, 0);
}

Test(pool, a_thread_alone_that_waits_on_the_workers_condvar_elsewhere_stays_apart)
{
    struct ps_thread *s = lone_waiter((void *)0x6280, "lbzip2", 40000000);
    cr_expect_eq(s->pool, 0);
    cr_expect_eq(ps_pools[1].joined, 3);
}

Test(pool, a_thread_alone_of_another_name_stays_apart)
{
    struct ps_thread *s = lone_waiter((void *)0x6180, "G1 Refine", 40000000);
    cr_expect_eq(s->pool, 0, "in pool %d", s->pool);
}

Test(pool, a_thread_alone_that_did_next_to_no_work_stays_apart)
{
    struct ps_thread *s = lone_waiter((void *)0x6180, "lbzip2", 2000000);
    cr_expect_eq(s->pool, 0, "2 ms of CPU beside workers of 50 each: in pool %d", s->pool);
}

/* The pool's peak CPU rate is taken over at least 250 ms of history
 * whatever the tick: at POOLSHIM_INTERVAL_MS=10, three ticks back never
 * spanned it, the rate was never known, and the controller, which waits
 * for it where a pool looks GIL-like, never acted on such a pool. Two
 * cores' worth of CPU a tick: known after 250 ms, at 2.0. */
Test(pool, the_cpu_rate_peak_is_known_at_a_10_ms_tick)
{
    int pi = ut_tables_init((void *)0x6000, "w");
    struct ps_pool *p = &ps_pools[pi];
    struct ps_pool_totals tot = { 0 };
    struct ps_pool_census c = { .live = 4, .idle = 0, .parked = 0, .tot = &tot };
    uint64_t t = 1000000000ull;
    for (int k = 0; k < 24; k++, t += 10000000ull) {
        tot.cpu_ns += 20000000ull;
        ps_pool_tick(t, 1, &c);
    }
    cr_expect_eq(p->cpu_rate_known, 0, "known after 240 ms");
    for (int k = 0; k < 3; k++, t += 10000000ull) {
        tot.cpu_ns += 20000000ull;
        ps_pool_tick(t, 1, &c);
    }
    cr_expect_eq(p->cpu_rate_known, 1, "not known after 270 ms");
    cr_expect(p->cpu_rate_peak > 1.9 && p->cpu_rate_peak < 2.1, "peak %f", p->cpu_rate_peak);
}

/* A pool whose wait for work was learned after it had run more than a
 * fiftieth of its CPU has its tasks unseen, unless what ran before is one
 * task's worth at most (zstd -T4's compressors, beside two CPU hogs, took
 * their first 1 MiB job before any wait for work ended: 15-20 ms of 740,
 * one job of 40, and read "learned late" where the count missed that one). */
static const char *late_by(uint64_t before_ns, uint64_t tasks)
{
    int pi = ut_tables_init((void *)0x6000, "zstd");
    struct ps_obj *o = ps_obj_get(0x7000, PS_K_COND);
    cr_assert_not_null(o);
    o->waiters_many = 1;
    o->posts_other = 40;
    struct ps_pool *p = &ps_pools[pi];
    p->joined = 4;
    p->idle_obj = 0x7000;
    p->idle_kind = PS_K_COND;
    p->count_started = 1;
    p->cpu_before_count_ns = before_ns;
    struct ps_pool_totals tot = { 0 };
    tot.cpu_ns = 740000000ull;
    tot.tasks = tasks;
    return ps_pool_tasks_unseen(pi, &tot);
}

Test(pool, a_count_that_missed_one_task_is_not_learned_late)
{
    cr_expect_null(late_by(10000000ull, 39), "under a fiftieth");
    const char *why = late_by(17000000ull, 39);
    cr_expect_null(why, "one job's CPU before the count: %s", why ? why : "");
    cr_expect_str_eq(late_by(30000000ull, 38), "its wait for work was learned late", "two jobs' worth");
    cr_expect_str_eq(late_by(20000000ull, 0), "its wait for work was learned late", "no task counted");
}

/* zstd's workers take the queue mutex again after each job only to count
 * themselves idle (pool.c, bookkeeping): the release that follows is no
 * task, and mostly lasts tens of nanoseconds until the worker comes back to
 * the lock. One preempted in those nanoseconds lasted far longer and was
 * counted (beside two CPU hogs: 42-49 tasks for 40 jobs, and 80-82 once the
 * long ones passed an eighth of the site's). It is bookkeeping all the same;
 * a task at the site the workers leave their wait for work from counts. */
static void spin_us(double us)
{
    uint64_t end = ps_now_ns() + (uint64_t)(us * 1000);
    while (ps_now_ns() < end)
        ;
}

Test(pool, a_preempted_bookkeeping_release_is_no_task)
{
    int pi = ut_tables_init((void *)0x6000, "zstd");
    struct ps_thread *t = ut_live_thread(0, pi, 1, 1000000);
    ps_pools[pi].wait_unlock_site = (void *)0x6200;
    for (int i = 0; i < 10; i++) {
        ps_task_begin_at_unlock(t, (void *)0x6300);
        ps_task_end_queue(t);
    }
    uint64_t tasks = t->tasks;
    for (int i = 0; i < 3; i++) {
        ps_task_begin_at_unlock(t, (void *)0x6300);
        spin_us(50);                     /* preempted */
        ps_task_end_queue(t);
    }
    cr_expect_eq(t->tasks, tasks, "%lu preempted bookkeeping releases counted", (unsigned long)(t->tasks - tasks));
    ps_task_begin_at_unlock(t, (void *)0x6200);
    spin_us(50);
    ps_task_end_queue(t);
    cr_expect_eq(t->tasks, tasks + 1, "a job taken after a wait for work");
}
