/* Unit tests for shim/record/tally.{h,c}: each thread's tally of the
 * semaphores and condvars it posts (exact for an object posted often among
 * many that come and go), and the task object learned from the tallies, as
 * the agent's view counts a pool's tasks with it: CPython's executor, where
 * each worker posts the idle semaphore's lock once per task and the
 * submitter at every submit, and pigz, whose compressors broadcast their
 * queue's count at each pop.
 * Criterion runs each test in its own process, so the tables start empty. */
#include <criterion/criterion.h>
#include "tables.h"
#include "view.h"

#define NOW 50000000000ull

/* The object posted once per task among a stream of locks each posted once
 * or twice and never again (a Future's lock): its count stays exact. */
Test(tally, counts_a_frequent_object_exactly_among_churn)
{
    static struct ps_tally tl;
    uintptr_t task = 0x7f0000123450, queue = 0x7f0000123980;
    uint64_t fresh = 0x55000000;
    for (int i = 0; i < 5000; i++) {
        ps_tally_post(&tl, fresh);            /* the future's lock: set running ... */
        ps_tally_post(&tl, queue);
        ps_tally_post(&tl, fresh);            /* ... and set its result */
        ps_tally_post(&tl, fresh + 0x40);     /* the waiter woken by the result */
        ps_tally_post(&tl, task);
        fresh += 0x80;
    }
    cr_expect_eq(ps_tally_count(&tl, task), 5000);
    cr_expect_eq(ps_tally_count(&tl, queue), 5000);
    cr_expect_eq(ps_tally_count(&tl, 0x1234), 0);
}

static int pi;

static void setup(void)
{
    pi = ut_tables_init((void *)setup, "python");
}

static struct ps_thread *thread(int i, int pool)
{
    struct ps_thread *t = ut_live_thread(i, pool, NOW - 1000000000ull, 100000000);
    if (pool >= 0)
        ps_pools[pool].joined++;
    return t;
}

static void posts(struct ps_thread *t, uintptr_t obj, int n)
{
    for (int i = 0; i < n; i++)
        ps_tally_post(&t->tally, obj);
}

#define IDLE_LOCK 0x1000 /* the executor's idle semaphore's lock */
#define TASK_LOCK 0x2000 /* a lock each task takes, the submitter never */
#define QUEUE 0x3000     /* the SimpleQueue's lock: the pool's wait for work */

/* The submitter and two workers of a ThreadPoolExecutor: 300 tasks, 120 and
 * 180 per worker. The pool's tasks are counted (300), per thread too, and
 * with no latency (no task start is seen). */
Test(tally, learns_the_object_the_submitter_and_workers_post, .init = setup)
{
    struct ps_thread *sub = thread(0, -1), *a = thread(1, pi), *b = thread(2, pi);
    ps_pools[pi].idle_obj = QUEUE;
    ps_pools[pi].idle_kind = PS_K_SEM;
    posts(sub, IDLE_LOCK, 420);          /* once or twice per submit */
    posts(sub, QUEUE, 40);
    posts(a, IDLE_LOCK, 120);
    posts(a, TASK_LOCK, 240);             /* more often, but never by the submitter */
    posts(a, QUEUE, 40);
    posts(b, IDLE_LOCK, 180);
    posts(b, TASK_LOCK, 360);
    const struct ps_view *v = ps_view_tick(NOW);      /* a new pool is looked at at once ... */
    cr_expect_eq(ps_pools[pi].task_obj, IDLE_LOCK);
    cr_expect_eq(v->pool[pi].tot.tasks, 300);
    v = ps_view_tick(NOW + 100000000);                /* ... and at the next tick */
    cr_expect_eq(ps_pools[pi].task_obj, IDLE_LOCK);
    cr_expect(v->pool[pi].tasks_whole);
    cr_expect(v->pool[pi].tasks_by_tally);
    cr_expect_eq(v->pool[pi].tot.tasks, 300);
    cr_expect_eq(v->pool[pi].tot.working, 2);
    cr_expect_eq(v->pool[pi].last.tasks, 300);
    cr_expect_eq(ps_tally_thread_tasks(a), 120);
    cr_expect_eq(ps_tally_thread_tasks(b), 180);
    cr_expect_eq(ps_tally_thread_tasks(sub), -1);
}

/* Workers posting an object more often than anyone outside the pool is no
 * count of tasks (a lock they hand each other, or one the submitter takes
 * only now and then): the tasks stay unknown, and a choice that stops
 * passing is dropped. */
Test(tally, no_object_when_the_workers_post_more_than_outsiders, .init = setup)
{
    struct ps_thread *sub = thread(0, -1), *a = thread(1, pi), *b = thread(2, pi);
    posts(sub, IDLE_LOCK, 100);
    posts(a, IDLE_LOCK, 60);
    posts(b, IDLE_LOCK, 60);
    posts(a, TASK_LOCK, 500);
    ps_view_tick(NOW);
    const struct ps_view *v = ps_view_tick(NOW + 100000000);
    cr_expect_eq(ps_pools[pi].task_obj, 0);
    cr_expect_eq(v->pool[pi].tasks_whole, 0);
    posts(sub, IDLE_LOCK, 30);
    v = ps_view_tick(NOW + 200000000);
    cr_expect_eq(ps_pools[pi].task_obj, IDLE_LOCK);
    cr_expect_eq(v->pool[pi].tot.tasks, 120);
    posts(a, IDLE_LOCK, 20);                          /* now 140 by the workers, 130 by the submitter */
    v = ps_view_tick(NOW + 300000000);
    cr_expect_eq(ps_pools[pi].task_obj, 0);
    cr_expect_eq(v->pool[pi].tasks_whole, 0);
}

/* A record reused after its thread exited keeps its posts in the pool. */
Test(tally, retired_threads_keep_their_tasks, .init = setup)
{
    struct ps_thread *sub = thread(0, -1), *a = thread(1, pi), *b = thread(2, pi);
    posts(sub, IDLE_LOCK, 200);
    posts(a, IDLE_LOCK, 70);
    posts(b, IDLE_LOCK, 50);
    ps_pool_retire(a);
    memset(&a->tally, 0, sizeof a->tally);
    a->state = PS_T_FREE;
    ps_view_tick(NOW);
    const struct ps_view *v = ps_view_tick(NOW + 100000000);
    cr_expect_eq(ps_pools[pi].task_obj, IDLE_LOCK);
    cr_expect_eq(v->pool[pi].tot.tasks, 120);
}

#define QUEUE_COND 0x4008 /* pigz's compress_have: its count's condvar */
#define GIL_COND 0x5008   /* a condvar every thread posts at every switch */

static void cond_posts(struct ps_thread *t, uintptr_t cv, int n)
{
    posts(t, cv | PS_TALLY_COND, n);
}

/* pigz: the compressors wait for work on the queue count's condvar and
 * broadcast it at each pop, as the reader does at each push; backlogged,
 * they take most blocks without waiting. Their posts count the blocks (458),
 * per thread too; a condvar other than the wait for work (posted by everyone
 * at every switch) is no count, and neither is the writer, one thread that
 * posts its turn's condvar as often as the compressors do. */
Test(tally, counts_a_condvar_pool_by_its_wait_for_work, .init = setup)
{
    int wi = ps_pool_get((void *)cond_posts, NULL, "writer");
    struct ps_thread *reader = thread(0, -1), *a = thread(1, pi), *b = thread(2, pi), *w = thread(3, wi);
    ps_pools[pi].idle_obj = QUEUE_COND;
    ps_pools[pi].idle_kind = PS_K_COND;
    ps_pools[wi].idle_obj = 0x6008;
    ps_pools[wi].idle_kind = PS_K_COND;
    struct ps_obj *q = ps_obj_get(QUEUE_COND, PS_K_COND);   /* the compressors wait on it */
    ps_obj_on_wait(q, a, NULL, 1000);
    ps_obj_on_wait(q, b, NULL, 1000);
    cond_posts(reader, QUEUE_COND, 459);           /* 458 blocks and the end */
    cond_posts(a, QUEUE_COND, 234);
    cond_posts(b, QUEUE_COND, 224);
    cond_posts(a, GIL_COND, 900);
    cond_posts(reader, GIL_COND, 2000);
    cond_posts(a, 0x6008, 234);                     /* the writer's turn */
    cond_posts(b, 0x6008, 224);
    cond_posts(w, 0x6008, 458);
    ps_view_tick(NOW);
    const struct ps_view *v = ps_view_tick(NOW + 100000000);
    cr_expect_eq(ps_pools[pi].task_obj, QUEUE_COND | PS_TALLY_COND);
    cr_expect(v->pool[pi].tasks_by_tally);
    cr_expect_eq(v->pool[pi].tot.tasks, 458);
    cr_expect_eq(ps_view_thread_tasks(a), 234);
    cr_expect_eq(ps_view_thread_tasks(b), 224);
    cr_expect_eq(ps_pools[wi].task_obj, 0);
    cr_expect_eq(ps_tally_thread_tasks(w), -1);
}

/* A condvar posted by the workers and more often by others, but not their
 * wait for work (CPython's GIL condvars, posted at every switch): no count;
 * nor when it was taken for their wait for work (they waited for the GIL
 * longer than for work): others post it far more often, and wait on it. */
Test(tally, a_condvar_that_is_not_the_wait_for_work_is_no_count, .init = setup)
{
    struct ps_thread *main = thread(0, -1), *a = thread(1, pi), *b = thread(2, pi);
    ps_pools[pi].idle_obj = QUEUE_COND;
    ps_pools[pi].idle_kind = PS_K_COND;
    struct ps_obj *q = ps_obj_get(QUEUE_COND, PS_K_COND), *gil = ps_obj_get(GIL_COND, PS_K_COND);
    ps_obj_on_wait(q, a, NULL, 1000);
    cond_posts(main, GIL_COND, 2000);
    cond_posts(a, GIL_COND, 300);
    cond_posts(b, GIL_COND, 300);
    cond_posts(main, QUEUE_COND, 500);              /* the workers never post it */
    ps_view_tick(NOW);
    ps_view_tick(NOW + 100000000);
    cr_expect_eq(ps_pools[pi].task_obj, 0);
    ps_obj_on_wait(gil, a, NULL, 1000);
    ps_pools[pi].idle_obj = GIL_COND;
    ps_view_tick(NOW + 150000000);
    cr_expect_eq(ps_pools[pi].task_obj, 0);           /* posted far more often outside */
    ps_obj_on_wait(gil, main, NULL, 1000);
    cond_posts(a, GIL_COND, 1000);
    ps_view_tick(NOW + 200000000);
    cr_expect_eq(ps_pools[pi].task_obj, 0);           /* waited on outside the pool */
    ps_obj_on_wait(q, b, NULL, 1000);               /* the control: only the pool waits on it */
    ps_pools[pi].idle_obj = QUEUE_COND;
    cond_posts(a, QUEUE_COND, 250);
    cond_posts(b, QUEUE_COND, 250);
    ps_view_tick(NOW + 300000000);
    cr_expect_eq(ps_pools[pi].task_obj, QUEUE_COND | PS_TALLY_COND);
}

/* An executor of one worker is a pool all the same: its object is posted by
 * the submitter, a thread in no pool, not by another pool's workers. */
Test(tally, a_lone_worker_fed_by_a_submitter_is_counted, .init = setup)
{
    struct ps_thread *sub = thread(0, -1), *a = thread(1, pi);
    posts(sub, IDLE_LOCK, 150);
    posts(a, IDLE_LOCK, 100);
    ps_view_tick(NOW);
    const struct ps_view *v = ps_view_tick(NOW + 100000000);
    cr_expect_eq(ps_pools[pi].task_obj, IDLE_LOCK);
    cr_expect_eq(v->pool[pi].tot.tasks, 100);
}

/* sem_pool with every task queued before its 4 workers start: they take the
 * count without ever blocking, so no wait enters it in the object table. Its
 * producer (no pool) posted it 304 times and no worker posted it: it is
 * marked, and a worker's take names the pool it feeds, which learns it as its
 * wait for work. A lock the workers release too (CPython's SimpleQueue lock)
 * is not marked, however often the submitter posts it. */
#define ITEMS 0x4000
Test(tally, a_semaphore_only_a_producer_posts_is_learned_from_its_takes, .init = setup)
{
    struct ps_thread *producer = thread(0, -1), *w1 = thread(1, pi), *w2 = thread(2, pi);
    posts(producer, ITEMS, 304);
    posts(producer, QUEUE, 300);
    posts(w1, QUEUE, 150);
    ps_tally_mark_fed();
    struct ps_obj *o = ps_obj_find(ITEMS);
    cr_assert_not_null(o, "the producer's semaphore is not in the table");
    cr_expect(o->fed);
    cr_expect_eq(o->waiter_pool, -1, "no taker yet");
    struct ps_obj *q = ps_obj_find(QUEUE);
    cr_expect(!q || !q->fed, "a lock the workers release is marked fed");
    ps_obj_on_take(w1, ITEMS);
    ps_obj_on_take(w2, ITEMS);
    cr_expect_eq(o->waiter_pool, pi);
    cr_expect(o->waiters_many);
    ps_view_tick(NOW);
    cr_expect_eq(ps_pools[pi].idle_obj, ITEMS, "learned %#lx", (unsigned long)ps_pools[pi].idle_obj);
}

/* A lock a pool's thread has posted is turned down for good: not marked fed
 * when that thread's tally lets its entry go (a worker's tally churns
 * through futures' locks), and not looked up again at every tick. */
Test(tally, a_lock_a_worker_posted_stays_turned_down, .init = setup)
{
    struct ps_thread *producer = thread(0, -1), *w1 = thread(1, pi);
    posts(producer, QUEUE, 300);
    posts(w1, QUEUE, 3);
    ps_tally_mark_fed();
    struct ps_obj *q = ps_obj_find(QUEUE);
    cr_expect(!q || !q->fed, "a lock a worker released is marked fed");
    memset(&w1->tally, 0, sizeof w1->tally);      /* its entry taken over since */
    posts(producer, QUEUE, 300);
    ps_tally_mark_fed();
    q = ps_obj_find(QUEUE);
    cr_expect(!q || !q->fed, "marked fed once the worker's entry went");
}
