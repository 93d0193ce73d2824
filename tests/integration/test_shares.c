/* Work split into one share per thread (tests/fixtures/shares.c): workers
 * that each burn their own share and exit, ending one by one (sysbench
 * mutex on a shared host). Once the first share is done its core idles
 * while the rest finish, so the pool is sized at two threads per core
 * (recommend.c, fixed_shares). Threads that run for a given time end
 * together (sysbench cpu), and threads that yield (sysbench threads, whose
 * yields under its locks run 0.39 as fast at 4 threads as at 2): those
 * keep the cores' size. */
#include "pool_test.h"
#include <math.h>
#include <string.h>

/* Runs 8 workers with the given options (shares of 50 ms and more unless
 * timed); the pool, its cores in cores. */
static json_t *run_shares(struct ps_run *r, const char *opt, const char *val, double *cores)
{
    char *argv[] = { (char *)ps_build_path("fixtures/shares"), "--threads", "8", "--cpu-ms", "50",
                     (char *)opt, (char *)val, NULL };
    json_t *p = pt_run_pool(r, argv, "share_worker");
    *cores = ps_num(p, "model_cores");
    cr_expect_eq(ps_num(p, "threads"), 8);
    return p;
}

Test(shares, threads_that_end_one_by_one_are_sized_at_two_per_core, .timeout = 60)
{
    struct ps_run r;
    double cores;
    json_t *p = run_shares(&r, "--skew", "0.5", &cores);
    cr_expect_eq(ps_num(p, "recommended_threads"), ceil(2 * cores), "cores %g: %s", cores, ps_str(p, "reason"));
    cr_expect(strstr(ps_str(p, "reason"), "one share of the work") != NULL, "%s", ps_str(p, "reason"));
    ps_run_free(&r);
}

/* Runs them with opt: the pool keeps the cores' size, with no word of shares. */
static void expect_cores_size(const char *opt, const char *val)
{
    struct ps_run r;
    double cores;
    json_t *p = run_shares(&r, opt, val, &cores);
    cr_expect(ps_num(p, "recommended_threads") <= ceil(cores), "cores %g: %s", cores, ps_str(p, "reason"));
    cr_expect(strstr(ps_str(p, "reason"), "share") == NULL, "%s", ps_str(p, "reason"));
    ps_run_free(&r);
}

Test(shares, threads_that_end_together_keep_the_cores_size, .timeout = 60)
{
    expect_cores_size("--timed-ms", "1500");
}

Test(shares, threads_that_yield_keep_the_cores_size, .timeout = 60)
{
    expect_cores_size("--yield", "1");
}

/* Workers let through a start gate once, which the main thread opens when
 * all of them wait there (sysbench's start barrier): the gate is learned as
 * their wait for work, yet they never come back to it, so one "task" each
 * (sysbench fileio at 15 threads: 14 tasks of 2 s for 150,000 writes) is no
 * count of their work: unknown, and the report says why. */
Test(shares, workers_let_through_a_start_gate_have_no_count_of_tasks, .timeout = 60)
{
    struct ps_run r;
    double cores;
    json_t *p = run_shares(&r, "--gate", "1", &cores);
    cr_expect(isnan(ps_num(p, "tasks")), "tasks %g: %s", ps_num(p, "tasks"), ps_str(p, "tasks_unknown_why"));
    const char *why = ps_str(p, "tasks_unknown_why");
    cr_expect(why && strstr(why, "a gate"), "why: %s", why ? why : "(none)");
    cr_expect_eq(ps_num(p, "taskless_threads"), 0);
    ps_run_free(&r);
}
