/* Saturation triggers on a plain condvar pool: every worker blocked in its
 * task's wait, and a queue that grows faster than the workers drain it. */
#include <criterion/criterion.h>
#include "dumpkit.h"

static int pool_id(json_t *dump, const char *routine)
{
    json_t *p = ps_pool_by_routine(dump, routine);
    return p ? (int)ps_num(p, "id") : -1;
}

Test(dump_triggers, every_worker_blocked_dumps_blocked, .timeout = 30)
{
    struct ps_run r;
    char *argv[] = { (char *)ps_build_path("fixtures/condvar_pool"), "--threads", "2", "--tasks", "4",
                     "--cpu-ms", "1", "--io-ms", "900", NULL };
    char *env[] = { "POOLSHIM_DUMP_BLOCKED_MS=300", NULL };
    json_t *d = dk_run_for_dump(&r, argv, env);
    cr_expect_str_eq(ps_str(d, "trigger.reason"), "blocked", "%s", ps_str(d, "trigger.detail"));
    int pool = pool_id(d, "condvar_worker");
    cr_expect(pool >= 0);
    cr_expect_eq(ps_num(d, "trigger.pool"), pool);
    int blocked = 0;
    json_t *t;
    size_t i;
    json_array_foreach(json_object_get(d, "threads"), i, t) {
        if (ps_num(t, "pool") != pool)
            continue;
        cr_expect_str_eq(ps_str(t, "state"), "blocked");
        cr_expect_str_eq(ps_str(t, "blocked_on.kind"), "sleep");
        cr_expect(ps_num(t, "blocked_on.since_s") >= 0.3, "since %f", ps_num(t, "blocked_on.since_s"));
        blocked++;
    }
    cr_expect_eq(blocked, 2);
    json_decref(d);
    ps_run_free(&r);
}

Test(dump_triggers, growing_queue_dumps_queue, .timeout = 30)
{
    struct ps_run r;
    /* 330 submissions/s for 0.9 s against ~180 tasks/s: the pool's idle wait is
     * learnt from the first posts, then the queue grows for most of a second. */
    char *argv[] = { (char *)ps_build_path("fixtures/condvar_pool"), "--threads", "2", "--tasks", "300",
                     "--cpu-ms", "1", "--io-ms", "10", "--submit-us", "3000", NULL };
    json_t *d = dk_run_for_dump(&r, argv, NULL);
    cr_expect_str_eq(ps_str(d, "trigger.reason"), "queue", "%s", ps_str(d, "trigger.detail"));
    json_t *p = ps_pool_by_routine(d, "condvar_worker");
    cr_assert_not_null(p);
    cr_expect_eq(ps_num(d, "trigger.pool"), ps_num(p, "id"));
    /* the queue the dump saw is at most what was submitted and not started */
    double q = ps_num(p, "queue_estimate");
    cr_expect(q > 4 && q <= 300, "queue %f", q);
    json_decref(d);
    ps_run_free(&r);
}

/* Workers each waiting on a mutex of their own that the main thread holds
 * (redis's I/O threads while threaded I/O is off) wait to be let go: an idle
 * redis wrote "all 3 workers of pool 1 blocked for >= 1000 ms" and was told
 * "serialized, shorten the critical section". No dump and no such verdict;
 * the same workers all waiting on one mutex the main thread holds are a
 * convoy (dumped), and serialized. */
Test(dump_triggers, workers_waiting_on_mutexes_of_their_own_are_no_incident, .timeout = 30)
{
    for (int shared = 0; shared < 2; shared++) {
        struct ps_run r;
        char *argv[] = { (char *)ps_build_path("fixtures/own_mutex"), "--threads", "3", "--hold-ms", "1500",
                         "--shared", shared ? "1" : "0", NULL };
        char *env[] = { "POOLSHIM_DUMP_BLOCKED_MS=500", NULL };
        cr_assert_eq(ps_run(&r, argv, env), 0);
        cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
        cr_assert_not_null(r.report, "no report: %s", r.err);
        json_t *p = ps_pool_by_routine(r.report, "own_mutex_worker");
        cr_assert_not_null(p);
        size_t dumps = json_array_size(json_object_get(r.report, "dumps"));
        if (shared) {
            cr_expect(dumps >= 1, "all on one mutex: no dump: %s", r.err);
            cr_expect_str_eq(ps_str(p, "classification"), "serialized");
        } else {
            cr_expect_eq(dumps, 0, "each on its own: %s", r.err);
            cr_expect_str_neq(ps_str(p, "classification"), "serialized", "%s", ps_str(p, "reason"));
        }
        ps_run_free(&r);
    }
}

/* Workers that each wait for work on a condvar of their own (varnish's): the
 * pool's wait for work is learned from the two that were handed a task
 * (which then block in a read, as varnish's acceptors do in accept), while
 * the six others are still in the waits they began at start. Those are
 * waits for work all the same: varnish read "all 200 workers of pool 9
 * blocked for >= 1000 ms" and dumped (and the dump then crashed it: dump_request). */
Test(dump_triggers, workers_waiting_for_work_on_condvars_of_their_own_are_no_incident, .timeout = 30)
{
    struct ps_run r;
    char *argv[] = { (char *)ps_build_path("fixtures/own_cond"), "--threads", "8", "--tasks", "2", "--hold-ms",
                     "1500", NULL };
    char *env[] = { "POOLSHIM_DUMP_BLOCKED_MS=500", NULL };
    cr_assert_eq(ps_run(&r, argv, env), 0);
    cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    cr_assert_not_null(r.report, "no report: %s", r.err);
    cr_expect_eq(json_array_size(json_object_get(r.report, "dumps")), 0, "%s", r.err);
    json_t *p = ps_pool_by_routine(r.report, "own_cond_worker");
    cr_assert_not_null(p, "%s", r.err);
    cr_expect_eq(ps_num(p, "threads"), 8);
    ps_run_free(&r);
}
