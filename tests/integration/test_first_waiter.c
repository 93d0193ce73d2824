/* A pool's queue mutex that a thread of another pool also takes (Apache's
 * event MPM listener pushing connections to its workers' queue): each pool's
 * top contention is its own wait there, and the lock table names the pool
 * that waited most. Apache's listener read "top lock 2.49 s" for its 0.08 s
 * there, and its workers, who waited the 2.41 s, had another lock as their
 * top; the workers' own top read their wait plus the listener's. */
#include <string.h>
#include "pool_test.h"

Test(first_waiter, each_pool_reads_its_own_wait_on_a_lock_two_pools_share, .timeout = 60)
{
    struct ps_run r;
    char *argv[] = { (char *)ps_build_path("fixtures/first_waiter"), NULL };
    char *env[] = { "POOLSHIM_DUMP=off", NULL };
    cr_assert_eq(ps_run(&r, argv, env), 0);
    cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    cr_assert_not_null(r.report, "no report: %s", r.err);
    cr_assert_not_null(r.truth, "no truth line: %s", r.out);
    json_t *w = ps_pool_by_routine(r.report, "queue_worker"), *l = ps_pool_by_routine(r.report, "listener");
    cr_assert_not_null(w, "no workers' pool");
    cr_assert_not_null(l, "no listener's pool");
    /* a lock's wait is wall time (docs/format.md): the truth's too */
    double wt = ps_num(r.truth, "worker_lock_wall_s"), lt = ps_num(r.truth, "listener_lock_wall_s");
    cr_assert_str_eq(ps_str(w, "top_contention.name"), "qm");
    cr_expect(ps_near(ps_num(w, "top_contention.wait_s"), wt, 0.15), "workers' wait on qm %f, truth %f (and the listener's %f)",
              ps_num(w, "top_contention.wait_s"), wt, lt);
    const char *ln = ps_str(l, "top_contention.name");
    cr_expect(ln && !strcmp(ln, "qm"), "the listener's top contention %s", ln ? ln : "none");
    if (ln)
        cr_expect(ps_near(ps_num(l, "top_contention.wait_s"), lt, 0.15), "the listener's wait on qm %f, truth %f",
                  ps_num(l, "top_contention.wait_s"), lt);
    json_t *e;
    size_t i;
    int found = 0;
    json_array_foreach(json_object_get(r.report, "locks"), i, e) {
        if (ps_str(e, "name") && !strcmp(ps_str(e, "name"), "qm")) {
            found = 1;
            cr_expect_eq(ps_num(e, "waiter_pool"), ps_num(w, "id"), "the lock's pool %g, the workers' %g",
                         ps_num(e, "waiter_pool"), ps_num(w, "id"));
        }
    }
    cr_expect(found, "qm not in locks[]");
    ps_run_free(&r);
}
