/* An oversized pool (64 workers on 2 cores, tasks partly under a spinlock)
 * collapses; with control on the throttle parks workers and the run as a
 * whole, convergence included, reaches >= 0.9 of the best static size. */
#include "control_common.h"

Test(control, oversized_pool_is_throttled_to_the_best_static_size, .timeout = 120)
{
    /* Three attempts at most: single runs land at 0.89-0.95 on a quiet
     * machine (the oracle is itself measured: each static run is noisy by
     * ~5 %), so one in four or five misses the bar by noise; a controller
     * that is really below 0.9 fails all three. */
    const char *fx = "fixtures/spin_oversub";
    double frac = 0, s64 = 0, best = 0;
    /* The bar. Where the rest goes: ~0.25 s at 64 workers before the
     * first decision, then a probe down and one up, each undone within
     * 0.2-0.4 s. */
    const double bar = 0.9;
    double limit = 0, added = 0;      /* of the attempt that counts: the last */
    for (int attempt = 0; attempt < 3 && frac < bar; attempt++) {
        s64 = cc_static(fx, 64, 2.5, NULL);
        double s1 = cc_static(fx, 1, 3, NULL);
        double s2a = cc_static(fx, 2, 3, NULL);
        struct ps_run r;
        char *env[] = { "POOLSHIM_CONTROL=on", "POOLSHIM_SUMMARY=off", "POOLSHIM_DUMP=off", NULL };
        double on = cc_run(&r, fx, 64, 10, NULL, env);
        double s2b = cc_static(fx, 2, 3, NULL);
        /* static sizes measured before and after the controlled run: machine load drifts */
        double s2 = (s2a + s2b) / 2;
        best = s1 > s2 ? s1 : s2;
        frac = on / best;
        fprintf(stderr, "oversized #%d: static 64 %.0f/s, 1 %.0f/s, 2 %.0f+%.0f/s; control on from 64: %.0f/s = %.2f of best\n",
                attempt + 1, s64, s1, s2a, s2b, on, frac);
        cc_print_decisions(&r);
        json_t *p = ps_pool_by_routine(r.report, "spin_worker");
        cr_assert_not_null(p);
        limit = ps_num(p, "limit");
        json_t *c = cc_ctl_pool(&r, "spin_worker");
        cr_assert_not_null(c);
        added = ps_num(c, "threads_added");
        ps_run_free(&r);
    }
    cr_expect(limit >= 1 && limit <= 4, "final limit %g", limit);
    cr_expect_eq(added, 0);
    cr_expect(s64 < 0.5 * best, "64 workers should collapse: %.0f vs best %.0f", s64, best);
    cr_expect(frac >= bar, "control on reached %.2f of the best static size", frac);
}

/* pthread_join on workers parked by the throttle returns at once, even when
 * the program stops its pool without a broadcast. */
Test(control, join_on_parked_workers_returns, .timeout = 60)
{
    struct ps_run r;
    const char *extra[] = { "--stop-join", "1", NULL };
    char *env[] = { "POOLSHIM_CONTROL=on", "POOLSHIM_SUMMARY=off", "POOLSHIM_DUMP=off", NULL };
    cc_run(&r, "fixtures/spin_oversub", 32, 2.5, extra, env);
    json_t *p = ps_pool_by_routine(r.report, "spin_worker");
    cr_assert_not_null(p);
    double join_s = ps_num(r.truth, "join_s");
    fprintf(stderr, "join: %.3f s for 32 workers\n", join_s);
    cc_print_decisions(&r);
    /* the controller did park workers before the end */
    json_t *d = cc_decisions(&r), *e;
    size_t i;
    int throttled = 0;
    json_array_foreach(d, i, e)
        throttled |= !strcmp(ps_str(e, "action"), "throttle");
    cr_expect(throttled, "no throttle decision: nothing was parked");
    cr_expect(join_s < 1.0, "joining 32 workers took %.3f s", join_s);
    ps_run_free(&r);
}

/* The same oversized pool whose workers never wait for work: the queue is
 * filled before they start and kept full (it holds 256 tasks for 64
 * workers), so no idle wait can be learned. The queue mutex is learned from
 * the producer's "not full" condvar, which the workers post; the throttle
 * parks workers there, before any worker ever found the queue empty. */
Test(control, never_idle_pool_is_throttled_at_its_queue_mutex, .timeout = 90)
{
    const char *fx = "fixtures/spin_oversub";
    const char *extra[] = { "--queue-cap", "256", "--prefill", "1", NULL };
    double s64 = cc_static(fx, 64, 3, extra);
    struct ps_run r;
    char *env[] = { "POOLSHIM_CONTROL=on", "POOLSHIM_SUMMARY=off", "POOLSHIM_DUMP=off", NULL };
    double on = cc_run(&r, fx, 64, 4, extra, env);
    double empty = ps_num(r.truth, "first_empty_s");
    fprintf(stderr, "never idle: static 64 %.0f/s, control on %.0f/s; queue first empty at %.2f s\n", s64, on,
            empty);
    cc_print_decisions(&r);
    json_t *d = cc_decisions(&r), *e;
    size_t i;
    double first = -1;
    json_array_foreach(d, i, e)
        if (first < 0 && !strcmp(ps_str(e, "action"), "throttle"))
            first = ps_num(e, "t_s");
    cr_assert(first >= 0, "no throttle decision");
    cr_expect(empty < 0 || first < empty, "throttled at %.2f s, after the queue was first empty (%.2f s)", first,
              empty);
    json_t *p = ps_pool_by_routine(r.report, "spin_worker");
    cr_assert_not_null(p);
    cr_expect(ps_str(p, "idle_wait.queue_mutex") != NULL, "no queue mutex learned");
    cr_expect(ps_num(p, "limit") >= 1 && ps_num(p, "limit") <= 4, "final limit %g", ps_num(p, "limit"));
    /* 64 spinning workers collapse ~20x on 2 cores; throttled early, the run
     * as a whole must do far better (a loose bar: the point is that it acts). */
    cr_expect(on > 4 * s64, "control on %.0f/s vs static 64 %.0f/s", on, s64);
    ps_run_free(&r);
}
