/* One condvar per thread for two jobs (Ruby 3.1 on glibc: a thread's sleep
 * condvar and its GVL condvar are one union): a sleep that runs out, then at
 * once a wait for the GIL on the same condvar, at the same site, under the
 * GIL's mutex. That second wait is no sign that the first waited for a post
 * (x265's timedWait loops re-wait under the same mutex): the sleeps must stay
 * sleeps. Old code: the fixture's 1.6 s of sleep read 0 (idle and cond), W/C 0
 * for 2; Ruby's Queue pool of 1 ms CPU + 4 ms sleep tasks read W/C 0.45-2.92
 * for 4 and was told 4-11 threads (13 ran best). 250 rounds (about 2 s):
 * at 100, 1 run in 12 read 25 % of the sleeps as idle, while a condvar
 * first posted before any wait on it had ended (its post counted as an
 * outsider's) was the pool's wait for work for a tick or two. */
#include <math.h>
#include "pool_test.h"

Test(gvl_union, a_sleep_on_a_condvar_then_a_lock_wait_on_it_stays_a_sleep, .timeout = 60)
{
    struct ps_run r;
    char *argv[] = { (char *)ps_build_path("fixtures/gvl_union"), "--threads", "4", "--cpu-ms", "2", "--io-ms", "4",
                     "--tasks", "250", NULL };
    json_t *p = pt_run_pool(&r, argv, "gu_worker");
    double sleep = ps_num(p, "wait_by_cause.sleep"), truth = ps_num(r.truth, "sleep_s");
    cr_expect(ps_near(sleep, truth, 0.15), "sleep %f s, truth (blocked in the sleeps) %f s", sleep, truth);
    double wc = ps_num(p, "w_c"), twc = truth / ps_num(r.truth, "cpu_s");
    cr_expect(ps_near(wc, twc, 0.2), "W/C %f, truth %f", wc, twc);
    ps_run_free(&r);
}
