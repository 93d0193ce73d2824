/* Pools built on raw futex words, as C++20 and Rust build them (a new
 * user's pass found both wrong): a std::counting_semaphore pool, whose
 * release wakes every waiter, and a futex mutex waited on with
 * FUTEX_WAIT_BITSET, as Rust's std Mutex waits. */
#include "pool_test.h"
#include <string.h>

/* libstdc++'s release() wakes all waiters; the ones that find the count
 * taken wait again: no tasks (4003 read for 2000 in the new user's pass).
 * The count is exact, or unknown where tasks were taken without a wait
 * (a backlog under load): never a wrong number. */
Test(futex_pools, a_cxx_counting_semaphore_pool_counts_each_task_once, .timeout = 60)
{
    struct ps_run r;
    char *argv[] = { (char *)ps_build_path("fixtures/cxx_sem_pool"), "--threads", "4", "--tasks", "400",
                     "--cpu-ms", "1", "--io-ms", "4", "--submit-us", "2000", NULL };
    cr_assert_eq(ps_run(&r, argv, NULL), 0);
    cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    cr_assert_not_null(r.report, "no report; stderr: %s", r.err);
    cr_assert_not_null(r.truth, "no truth line: %s", r.out);
    json_t *p = ps_pool_with_threads(r.report, 4);
    cr_assert_not_null(p, "no pool of the 4 workers: %s", r.err);
    double tasks = ps_num(r.truth, "tasks"), cpu = ps_num(r.truth, "cpu_s"), wait = ps_num(r.truth, "wait_s");
    json_t *t = json_object_get(p, "tasks");
    cr_expect(json_is_null(t) || ps_near(json_number_value(t), tasks, 0.02), "tasks %f vs truth %f",
              json_number_value(t), tasks);
    cr_expect_str_eq(ps_str(p, "idle_wait.kind"), "futex");
    cr_expect(ps_near(ps_num(p, "cpu_s"), cpu, 0.05), "cpu %f vs truth %f", ps_num(p, "cpu_s"), cpu);
    cr_expect(ps_near(ps_num(p, "wait_by_cause.sleep"), wait, 0.15), "sleep %f vs truth %f",
              ps_num(p, "wait_by_cause.sleep"), wait);
    ps_run_free(&r);
}

static void futex_lock_case(const char *bitset)
{
    struct ps_run r;
    char *argv[] = { (char *)ps_build_path("fixtures/futex_lock"), "--threads", "4", "--iters", "150",
                     "--hold-ms", "2", "--bitset", (char *)bitset, NULL };
    json_t *p = pt_run_pool(&r, argv, "worker");
    double lock = ps_num(r.truth, "lock_s");
    cr_expect(ps_near(ps_num(p, "wait_by_cause.lock"), lock, 0.15), "lock %f vs truth %f",
              ps_num(p, "wait_by_cause.lock"), lock);
    cr_expect(ps_num(p, "wait_by_cause.cond") < 0.05 * lock, "cond %f: lock waits taken for condvar waits",
              ps_num(p, "wait_by_cause.cond"));
    json_t *l;
    size_t i;
    int listed = 0;
    json_array_foreach(json_object_get(r.report, "locks"), i, l)
        listed |= !strcmp(ps_str(l, "addr"), ps_str(r.truth, "word")) && !strcmp(ps_str(l, "kind"), "futex_lock");
    cr_expect(listed, "the futex word %s is not among the locks", ps_str(r.truth, "word"));
    cr_expect_str_eq(ps_str(p, "classification"), "serialized");
    ps_run_free(&r);
}

Test(futex_pools, a_futex_mutex_waited_with_wait_bitset_is_a_lock, .timeout = 60)
{
    futex_lock_case("1");
}

Test(futex_pools, a_futex_mutex_waited_with_plain_wait_is_a_lock, .timeout = 60)
{
    futex_lock_case("0");
}
