/* GNAT's tasking pattern (tests/fixtures/task_pool.c): workers named w(1) ..
 * w(4) by prctl as they begin, each waiting for its jobs and sleeping (Ada's
 * `delay`) on one condvar of its own. The old library split them into four
 * pools of one (the name "w(1)" kept its number, and a prctl rename was seen
 * only at the agent's next tick), counted the delays as cond or idle (the
 * condvar is also posted, for the hand-offs) and read W/C 0 where it is 3.8.
 * Checked backlogged (all jobs handed at once) and paced. */
#include "pool_test.h"

static void expect_one_pool_of_sleepers(const char *submit_us)
{
    struct ps_run r;
    char *argv[] = { (char *)ps_build_path("fixtures/task_pool"), "--threads", "4", "--tasks", "400",
                     "--cpu-ms", "1", "--io-ms", "4", "--submit-us", (char *)submit_us, NULL };
    json_t *p = pt_run_pool(&r, argv, "task_worker");
    cr_expect_eq(ps_num(p, "threads"), 4, "the workers are split: %s", r.err);
    cr_expect_str_eq(ps_str(p, "name_prefix"), "w");
    double cpu = ps_num(r.truth, "cpu_s"), wait = ps_num(r.truth, "wait_s");
    cr_expect(ps_near(ps_num(p, "cpu_s"), cpu, 0.15), "cpu %f vs truth %f", ps_num(p, "cpu_s"), cpu);
    cr_expect(ps_near(ps_num(p, "wait_by_cause.sleep"), wait, 0.15), "sleep %f vs truth %f",
              ps_num(p, "wait_by_cause.sleep"), wait);
    cr_expect(ps_near(ps_num(p, "w_c"), wait / cpu, 0.2), "w_c %f vs truth %f", ps_num(p, "w_c"), wait / cpu);
    cr_expect_str_eq(ps_str(p, "classification"), "io-bound", "%s", ps_str(p, "reason"));
    ps_run_free(&r);
}

Test(task_pool, backlogged_delays_on_the_workers_own_condvars_are_sleep, .timeout = 60)
{
    expect_one_pool_of_sleepers("0");
}

Test(task_pool, paced_delays_on_condvars_also_posted_for_work_are_sleep, .timeout = 60)
{
    expect_one_pool_of_sleepers("3000");
}
