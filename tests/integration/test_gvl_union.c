/* One condvar per thread for two jobs (Ruby 3.1 on glibc: a thread's sleep
 * condvar and its GVL condvar are one union): a sleep that runs out, then at
 * once a wait for the GIL on the same condvar, at the same site, under the
 * GIL's mutex. That second wait is no sign that the first waited for a post
 * (x265's timedWait loops re-wait under the same mutex): the sleeps must stay
 * sleeps. Old code: the fixture's 1.6 s of sleep read 0 (idle and cond), W/C 0
 * for 2; Ruby's Queue pool of 1 ms CPU + 4 ms sleep tasks read W/C 0.45-2.92
 * for 4 and was told 4-11 threads (13 ran best). And the GIL's hand-over
 * made before any wait on a thread's condvar had ended was an outsider's
 * post: their condvars were taken for twins (each worker's own wait for
 * work), and every wait at their site was idle: the GIL waits in each run
 * (0.6 s), the sleeps too in 1 run of 12 (25 % of them). */
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
    /* the GIL's waits are contention, not a wait for work */
    double cond = ps_num(p, "wait_by_cause.cond"), idle = ps_num(p, "wait_by_cause.idle");
    double gil = ps_num(r.truth, "gil_wait_s");
    cr_expect(ps_near(cond, gil, 0.15) || fabs(cond - gil) <= 0.02, "cond %f s, truth (blocked for the GIL) %f s",
              cond, gil);
    cr_expect(idle <= 0.1 * gil, "idle %f s of the %f s waiting for the GIL", idle, gil);
    ps_run_free(&r);
}
