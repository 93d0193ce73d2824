/* A pool whose workers wait for work in epoll_wait on one shared epoll fd
 * (EPOLLEXCLUSIVE, level-triggered pipe): the epoll fd is learned as the idle
 * wait, even for waits that began before it was learned (EPOLLEXCLUSIVE leaves
 * some workers asleep for long); wake-ups that find the pipe already emptied by
 * another worker (read fails with EAGAIN) are not tasks; the timerfd reads of
 * the tasks are `io`, and W/C matches the fixture's truth. */
#include "pool_test.h"

Test(epoll_pool, idle_epoll_tasks_and_wc_match_truth, .timeout = 60)
{
    struct ps_run r;
    char *argv[] = { (char *)ps_build_path("fixtures/epoll_pool"), "--threads", "4", "--tasks", "200",
                     "--cpu-ms", "2", "--io-ms", "8", "--submit-us", "4000", NULL };
    json_t *p = pt_run_pool(&r, argv, "epoll_worker");
    double cpu = ps_num(r.truth, "cpu_s"), wait = ps_num(r.truth, "wait_s"), tasks = ps_num(r.truth, "tasks");
    cr_expect_eq(ps_num(p, "threads"), 4);
    cr_expect(ps_near(ps_num(p, "cpu_s"), cpu, 0.15), "cpu %f vs truth %f", ps_num(p, "cpu_s"), cpu);
    double w = ps_num(p, "wait_by_cause.io");
    cr_expect(ps_near(w, wait, 0.15), "io %f vs truth %f", w, wait);
    cr_expect(ps_near(ps_num(p, "w_c"), wait / cpu, 0.15), "w_c %f vs truth %f", ps_num(p, "w_c"), wait / cpu);
    cr_expect(ps_near(ps_num(p, "tasks"), tasks, 0.05), "tasks %f vs truth %f (%d wake-ups found nothing)",
              ps_num(p, "tasks"), tasks, (int)ps_num(r.truth, "spurious_wakeups"));
    cr_expect_str_eq(ps_str(p, "idle_wait.kind"), "poll");
    /* How long workers sit idle depends on the machine's load (tasks stretch
     * when the cores are busy); that the wait for work is not io is proven
     * by the io/sleep figure matching the truth above. */
    cr_expect(ps_num(p, "wait_by_cause.idle") > 0, "no idle time");
    double threads_s = ps_num(p, "threads") * ps_num(p, "wall_s");
    cr_expect(ps_num(p, "cpu_s") + w + ps_num(p, "wait_by_cause.idle") <= 1.1 * threads_s,
              "cpu + io + idle %f exceed the threads' lifetime %f: counted twice",
              ps_num(p, "cpu_s") + w + ps_num(p, "wait_by_cause.idle"), threads_s);
    cr_expect_str_eq(ps_str(p, "classification"), "io-bound");
    /* and `poolshim report` names the epoll fd by its number, not by the
     * key the shim records it under (0x8000000000000005) */
    char rep[600], cmd[1400], line[512], said[512] = "";
    snprintf(rep, sizeof rep, "%s/epoll-report.json", r.dir);
    cr_assert_eq(json_dump_file(r.report, rep, 0), 0);
    snprintf(cmd, sizeof cmd, "'%s' report --width 0 '%s'", ps_build_path("poolshim"), rep);
    FILE *f = popen(cmd, "r");
    cr_assert_not_null(f);
    while (fgets(line, sizeof line, f))
        if (strstr(line, "idle wait") && !said[0])
            snprintf(said, sizeof said, "%s", line);
    pclose(f);
    int fd = -1;
    char *at = strstr(said, "poll fd ");
    cr_expect(at && sscanf(at, "poll fd %d", &fd) == 1 && fd > 2 && fd < 1024, "idle wait line: %s", said);
    ps_run_free(&r);
}

/* An event-loop pool serving datagrams (unbound's shape): each worker's own
 * epoll fd on one UDP socket, and at each wake-up recvfrom until EAGAIN. A
 * wake-up serves several requests: counted by wake-ups, unbound's tasks were
 * 8.7 times too few. Each datagram is a request (its quits included: the
 * workers' "received"), within 2 %; the workers' own count of wake-ups shows
 * it is not the number of wake-ups that matched. */
Test(epoll_pool, a_udp_event_loop_counts_each_datagram_as_a_task, .timeout = 60)
{
    struct ps_run r;
    char *argv[] = { (char *)ps_build_path("fixtures/udp_pool"), "--threads", "2", "--tasks", "1000",
                     "--cpu-ms", "0.05", "--burst", "10", "--submit-us", "5000", NULL };
    json_t *p = pt_run_pool(&r, argv, "udp_worker");
    double got = ps_num(p, "tasks"), want = ps_num(r.truth, "received"), wakeups = ps_num(r.truth, "wakeups");
    cr_expect(ps_near(got, want, 0.02), "tasks %f vs %f datagrams (%f wake-ups)", got, want, wakeups);
    cr_expect(wakeups < 0.8 * want, "%f wake-ups for %f datagrams: the case does not test batches", wakeups, want);
    cr_expect_str_eq(ps_str(p, "idle_wait.kind"), "poll");
    ps_run_free(&r);
}
