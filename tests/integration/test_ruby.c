/* Ruby 3.1's threads (Debian's ruby): a Queue-fed pool of tasks of 1 ms of
 * CPU and a 4 ms sleep (tests/fixtures/ruby_pool.rb). On glibc a Ruby
 * thread's sleep condvar and its GVL condvar are one union: each sleep that
 * ran out was followed at once by a wait for the GVL on the same condvar, and
 * the sleeps read as condvar and idle waits: W/C 0.45-2.92 for 4, told 4-11
 * threads, where 9-24 run within 1 % of the best and 4 runs 0.80 as fast
 * (tasks/s by hand, 3 runs a size: 4: 772-781, 9: 964-966, 13: 961-966). */
#include <criterion/criterion.h>
#include <unistd.h>
#include "harness.h"

static const char ruby_exe[] = "/usr/bin/ruby";

static const char *script(void)
{
    const char *p = ps_build_path("../tests/fixtures/ruby_pool.rb");
    return access(p, R_OK) == 0 ? p : "tests/fixtures/ruby_pool.rb";
}

Test(ruby, a_ruby_pools_sleeps_are_sleeps_beside_its_gvl, .timeout = 60)
{
    if (access(ruby_exe, X_OK))
        cr_skip_test("no %s (scripts/deps.sh installs ruby)", ruby_exe);
    struct ps_run r;
    char *argv[] = { (char *)ruby_exe, (char *)script(), "4", "300", "1", "4", NULL };
    cr_assert_eq(ps_run(&r, argv, NULL), 0);
    cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    cr_assert_not_null(r.report, "no report: %s", r.err);
    cr_assert_not_null(r.truth, "no truth line: %s", r.out);
    json_t *p = ps_pool_with_threads(r.report, 4);
    cr_assert_not_null(p, "no pool of the 4 Ruby threads");
    double sleep = ps_num(p, "wait_by_cause.sleep"), asked = ps_num(r.truth, "sleep_s");
    /* the sleeps' asked length, and their timer slack (50 us each) */
    cr_expect(sleep >= 0.97 * asked && sleep <= 1.15 * asked, "sleep %f s, asked %f s", sleep, asked);
    double wc = ps_num(p, "w_c"), twc = asked / ps_num(r.truth, "cpu_s");
    cr_expect(ps_near(wc, twc, 0.2), "W/C %f, truth at least %f", wc, twc);
    ps_run_free(&r);
}
