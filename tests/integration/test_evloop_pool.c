/* An event-loop pool (HAProxy's shape: evloop_pool): each loop thread waits
 * for work in epoll_wait on an epoll fd of its own and serves non-blocking
 * sockets, several requests per wake-up. Its reads and sends never block, so
 * its io is 0, however long a send that woke the client was preempted; its
 * blocked time is its wait for work. Its tasks are the requests, or unknown:
 * never its wake-ups nor its ready fds. */
#include "pool_test.h"

Test(evloop_pool, a_nonblocking_event_loop_has_no_io_and_no_wakeups_as_tasks, .timeout = 90)
{
    struct ps_run r;
    char *argv[] = { (char *)ps_build_path("fixtures/evloop_pool"), "--threads", "2", "--tasks", "40000",
                     "--cpu-ms", "0.02", "--burst", "4", NULL };
    json_t *p = pt_run_pool(&r, argv, "evloop_worker");
    double cpu = ps_num(r.truth, "cpu_s"), wait = ps_num(r.truth, "wait_s"), tasks = ps_num(r.truth, "tasks");
    double wakeups = ps_num(r.truth, "wakeups");
    cr_expect_eq(ps_num(p, "threads"), 2);
    cr_expect(wakeups < 0.5 * tasks, "%f wake-ups for %f requests: the case does not test batches", wakeups, tasks);
    cr_expect(ps_near(ps_num(p, "cpu_s"), cpu, 0.15), "cpu %f vs truth %f", ps_num(p, "cpu_s"), cpu);
    double io = ps_num(p, "wait_by_cause.io");
    cr_expect(io <= 0.02 + 0.15 * wait, "io %f s where the loops never block in io (truth %f)", io, wait);
    cr_expect(ps_num(p, "wait_by_cause.idle") > 0, "no idle time");
    cr_expect_str_eq(ps_str(p, "idle_wait.kind"), "poll");
    json_t *jt = json_object_get(p, "tasks");
    cr_expect(json_is_null(jt) || ps_near(json_number_value(jt), tasks, 0.02),
              "tasks %f for %f requests (%f wake-ups): neither the requests nor unknown", json_number_value(jt),
              tasks, wakeups);
    ps_run_free(&r);
}
