/* A wait for a post in timed waits that run out now and then (x265's frame
 * encoders: timedWait(250) in a loop until their rows are done) is a wait
 * for the workers, not a sleep; a sleep in timed waits nothing posts
 * (HotSpot's Thread.sleep), in a loop, stays a sleep. x265 beside two CPU
 * hogs read sleep 5.5-6 s per encoder of 11 s, and its pool W/C 0.15-0.3
 * for 0; the fixture's coordinator read sleep 0.97 s of its 1.02 s wait. */
#include <math.h>
#include "pool_test.h"

Test(heartbeat_wait, a_timed_wait_for_a_post_that_runs_out_is_no_sleep, .timeout = 60)
{
    struct ps_run r;
    char *argv[] = { (char *)ps_build_path("fixtures/heartbeat_wait"), NULL };
    /* each a pool of one thread: the pool's waits are the thread's */
    json_t *c = pt_run_pool(&r, argv, "hb_coordinator"), *s = ps_pool_by_routine(r.report, "hb_sleeper");
    cr_assert_not_null(s, "no sleeper's pool");
    double cw = ps_num(r.truth, "coordinator_wait_s"), ss = ps_num(r.truth, "sleeper_sleep_s");
    double csleep = ps_num(c, "wait_by_cause.sleep"), ccond = ps_num(c, "wait_by_cause.cond");
    double cidle = ps_num(c, "wait_by_cause.idle");
    csleep = isnan(csleep) ? 0 : csleep;
    ccond = (isnan(ccond) ? 0 : ccond) + (isnan(cidle) ? 0 : cidle);
    cr_expect(csleep <= 0.1 * cw, "the coordinator slept %f s of its %f s wait for the workers", csleep, cw);
    cr_expect(ps_near(ccond, cw, 0.15) || fabs(ccond - cw) <= 0.02, "the coordinator's cond %f, truth %f", ccond, cw);
    double ssleep = ps_num(s, "wait_by_cause.sleep");
    cr_expect(ps_near(ssleep, ss, 0.15) || fabs(ssleep - ss) <= 0.02, "the sleeper's sleep %f, truth %f", ssleep, ss);
    ps_run_free(&r);
}
