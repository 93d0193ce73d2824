/* A pool whose workers wait for work on a POSIX semaphore: the shim learns the
 * semaphore as the idle wait (posted by the producer only), counts one task per
 * successful wait (blocking or not), and its CPU, sleep and W/C match the
 * fixture's own truth. The producer submits slower than the pool can work, so
 * workers really sit idle on the semaphore between tasks. */
#include "pool_test.h"

Test(sem_pool, idle_semaphore_tasks_and_wc_match_truth, .timeout = 60)
{
    struct ps_run r;
    char *argv[] = { (char *)ps_build_path("fixtures/sem_pool"), "--threads", "4", "--tasks", "200",
                     "--cpu-ms", "2", "--io-ms", "8", "--submit-us", "4000", NULL };
    json_t *p = pt_run_pool(&r, argv, "sem_worker");
    double cpu = ps_num(r.truth, "cpu_s"), wait = ps_num(r.truth, "wait_s"), tasks = ps_num(r.truth, "tasks");
    cr_expect_eq(ps_num(p, "threads"), 4);
    cr_expect(ps_near(ps_num(p, "cpu_s"), cpu, 0.15), "cpu %f vs truth %f", ps_num(p, "cpu_s"), cpu);
    double w = ps_num(p, "wait_by_cause.io") + ps_num(p, "wait_by_cause.sleep");
    cr_expect(ps_near(w, wait, 0.15), "io+sleep %f vs truth %f", w, wait);
    cr_expect(ps_near(ps_num(p, "w_c"), wait / cpu, 0.15), "w_c %f vs truth %f", ps_num(p, "w_c"), wait / cpu);
    /* +threads: each worker's wake-up for the shutdown post looks like a task */
    cr_expect(ps_near(ps_num(p, "tasks"), tasks, 0.05), "tasks %f vs truth %f", ps_num(p, "tasks"), tasks);
    cr_expect_str_eq(ps_str(p, "idle_wait.kind"), "sem");
    /* How long workers sit idle depends on the machine's load (tasks stretch
     * when the cores are busy); that the wait for work is not io is proven
     * by the io/sleep figure matching the truth above. */
    cr_expect(ps_num(p, "wait_by_cause.idle") > 0, "no idle time");
    double threads_s = ps_num(p, "threads") * ps_num(p, "wall_s");
    cr_expect(ps_num(p, "cpu_s") + w + ps_num(p, "wait_by_cause.idle") <= 1.1 * threads_s,
              "cpu + io + idle %f exceed the threads' lifetime %f: counted twice",
              ps_num(p, "cpu_s") + w + ps_num(p, "wait_by_cause.idle"), threads_s);
    cr_expect(ps_num(p, "wait_by_cause.cond") < 0.1 * ps_num(p, "wait_by_cause.idle"),
              "waits for work counted as contention: cond %f idle %f", ps_num(p, "wait_by_cause.cond"),
              ps_num(p, "wait_by_cause.idle"));
    cr_expect_str_eq(ps_str(p, "classification"), "io-bound");
    ps_run_free(&r);
}

/* The same pool with its first 100 tasks queued before its workers start:
 * they take them without waiting, before the semaphore is learned as their
 * wait for work, so their waits miss those tasks (this printed null). The
 * rest come slowly enough for the workers to catch up and wait, on a busy
 * machine too (beside 5 CPU hogs: 404). The posts of the semaphore by the
 * producer, less what is still queued and the posts that stopped the
 * workers, count them (tally.c ps_tally_sem_takes), within 2 %. */
Test(sem_pool, a_backlog_before_the_wait_is_learned_is_counted, .timeout = 60)
{
    struct ps_run r;
    char *argv[] = { (char *)ps_build_path("fixtures/sem_pool"), "--threads", "4", "--tasks", "400",
                     "--cpu-ms", "2", "--io-ms", "8", "--submit-us", "6000", "--burst", "100", NULL };
    json_t *p = pt_run_pool(&r, argv, "sem_worker");
    double tasks = ps_num(r.truth, "tasks");
    cr_expect(ps_near(ps_num(p, "tasks"), tasks, 0.02), "tasks %f (nan: unknown) vs truth %f", ps_num(p, "tasks"), tasks);
    ps_run_free(&r);
}

/* Every task and the posts that stop the workers queued before the workers
 * start: no worker ever blocks on the semaphore, so no wait puts it in the
 * object table. Its producer's posts mark it (tally.c ps_tally_mark_fed) and
 * its takers name the pool it feeds: it is learned all the same, and its
 * takes, less the 4 stop posts, count the tasks. make truth's sem_pool read
 * null ("no wait for work learned") in 3 runs of 20 and 304 for 300 in 3
 * more; this case on the old library: null. */
Test(sem_pool, a_pool_that_never_blocks_is_counted_from_its_producers_posts, .timeout = 60)
{
    struct ps_run r;
    char *argv[] = { (char *)ps_build_path("fixtures/sem_pool"), "--threads", "4", "--tasks", "300",
                     "--cpu-ms", "1", "--io-ms", "4", "--burst", "300", NULL };
    json_t *p = pt_run_pool(&r, argv, "sem_worker");
    double tasks = ps_num(r.truth, "tasks");
    cr_expect_str_eq(ps_str(p, "idle_wait.kind"), "sem", "unknown why: %s", ps_str(p, "tasks_unknown_why"));
    cr_expect(ps_near(ps_num(p, "tasks"), tasks, 0.02), "tasks %f (nan: unknown: %s) vs truth %f",
              ps_num(p, "tasks"), ps_str(p, "tasks_unknown_why"), tasks);
    ps_run_free(&r);
}
