/* The shim's picture of a condvar pool matches the fixture's own truth. */
#include <criterion/criterion.h>
#include "harness.h"

Test(condvar_pool, threads_cpu_wait_and_wc_match_truth, .timeout = 60)
{
    struct ps_run r;
    char *argv[] = { (char *)ps_build_path("fixtures/condvar_pool"), "--threads", "4", "--tasks", "200",
                     "--cpu-ms", "2", "--io-ms", "8", "--submit-us", "1000", NULL };
    cr_assert_eq(ps_run(&r, argv, NULL), 0);
    cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    cr_assert_not_null(r.report, "no report; stderr: %s", r.err);
    cr_assert_not_null(r.truth, "no truth line: %s", r.out);
    json_t *p = ps_pool_by_routine(r.report, "condvar_worker");
    cr_assert_not_null(p, "no pool condvar_worker");
    cr_expect_eq(ps_num(p, "threads"), 4);
    double cpu = ps_num(r.truth, "cpu_s"), wait = ps_num(r.truth, "wait_s");
    cr_expect(ps_near(ps_num(p, "cpu_s"), cpu, 0.15), "cpu %f vs truth %f", ps_num(p, "cpu_s"), cpu);
    double w = ps_num(p, "wait_by_cause.io") + ps_num(p, "wait_by_cause.sleep");
    cr_expect(ps_near(w, wait, 0.15), "io+sleep %f vs truth %f", w, wait);
    cr_expect(ps_near(ps_num(p, "w_c"), wait / cpu, 0.15), "w_c %f vs truth %f", ps_num(p, "w_c"), wait / cpu);
    cr_expect(ps_near(ps_num(p, "tasks"), 200, 0.05), "tasks %f", ps_num(p, "tasks"));
    cr_expect_str_eq(ps_str(p, "idle_wait.kind"), "cond");
    cr_expect_str_eq(ps_str(p, "classification"), "io-bound");
    ps_run_free(&r);
}
