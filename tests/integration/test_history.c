/* Runs of one command at other sizes (shim/control/history.c): device_pool's
 * tasks wait on a shared device, so their W/C grows with the threads, as
 * ripgrep's on a cold disk does. The first run sizes from its own W/C; a run
 * at that size reads the first one's line in POOLSHIM_DIR/poolshim.history,
 * fits W/C over both, and sizes from the fit (here the device saturates
 * early: 0.5 ms of CPU and 1 ms of the device a task). The fit's arithmetic is
 * tests/unit/test_recommend.c's. A command with another argument reads no
 * line of it, and POOLSHIM_HISTORY=off neither reads nor writes. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "harness.h"

/* device_pool at `threads` under the shim with POOLSHIM_DIR=dir; its
 * workers' pool in the report (owned by the caller, via *report). */
static json_t *run_in(const char *dir, int threads, const char *extra_flag, const char *history, json_t **report)
{
    char th[16], out[300], path[400];
    snprintf(th, sizeof th, "%d", threads);
    snprintf(out, sizeof out, "%s/out.%d", dir, threads);
    cr_assert_eq(mkdir(out, 0700) == 0 || access(out, F_OK) == 0, 1);
    /* a device twice as slow as a task's CPU: it, not the cores, bounds the
     * pool even beside CPU hogs (with 1 ms of CPU and 0.5 ms a request,
     * two hogs starved the workers and the device's queue stayed short) */
    char *argv[] = { (char *)ps_build_path("fixtures/device_pool"), "--threads", th, "--tasks", "1000",
                     "--cpu-ms", "0.5", "--device-ms", "1", (char *)extra_flag, extra_flag ? "1" : NULL, NULL };
    char hist[40];
    snprintf(hist, sizeof hist, "POOLSHIM_HISTORY=%s", history);
    char *env[] = { "POOLSHIM_CONTROL=advise", "POOLSHIM_DUMP=off", "POOLSHIM_SUMMARY=off", hist, NULL };
    pid_t pid = ps_spawn(argv, env, 1, out, dir, NULL);
    cr_assert_gt(pid, 0);
    int st = 0;
    for (int i = 0; i < 600 && waitpid(pid, &st, WNOHANG) == 0; i++)
        usleep(100000);
    if (kill(pid, 0) == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
        cr_assert_fail("device_pool --threads %d did not end in 60 s", threads);
    }
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "device_pool exit %d", st);
    snprintf(path, sizeof path, "%s/poolshim.%d.json", dir, (int)pid);
    *report = json_load_file(path, 0, NULL);
    cr_assert_not_null(*report, "no report %s", path);
    json_t *p = ps_pool_by_routine(*report, "device_worker");
    cr_assert_not_null(p, "no device_worker pool");
    return p;
}

static int lines_of(const char *dir, const char *needle)
{
    char path[300];
    snprintf(path, sizeof path, "%s/poolshim.history", dir);
    char *s = ps_slurp(path), *at = s;
    int n = 0;
    while ((at = strstr(at, needle))) {
        n++;
        at++;
    }
    free(s);
    return n;
}

Test(history, a_run_at_the_advised_size_sizes_from_both_runs, .timeout = 120)
{
    char dir[] = "/tmp/poolshim-history.XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    json_t *r1, *r2, *r3;
    json_t *p1 = run_in(dir, 4, NULL, "on", &r1);
    int first = (int)ps_num(p1, "recommended_threads");
    const char *why1 = ps_str(p1, "reason");
    cr_expect(strstr(why1, "runs of this command") == NULL, "the first run had no history: %s", why1);
    cr_expect_eq(lines_of(dir, "\t4\t"), 1, "the first run's line");
    cr_expect_eq(lines_of(dir, "device_worker\n"), 1, "one line, the workers' pool");
    fprintf(stderr, "history: 4 threads, W/C %.2f -> %d (%s)\n", ps_num(p1, "w_c"), first, why1);
    cr_assert_gt(first, 4, "told %d from 4: %s", first, why1);

    json_t *p2 = run_in(dir, first, NULL, "on", &r2);
    int second = (int)ps_num(p2, "recommended_threads");
    const char *why2 = ps_str(p2, "reason");
    fprintf(stderr, "history: %d threads, W/C %.2f -> %d (%s)\n", first, ps_num(p2, "w_c"), second, why2);
    /* W/C at 4 and at the first advice: the device's queue makes it grow */
    cr_expect_gt(ps_num(p2, "w_c"), 1.25 * ps_num(p1, "w_c"), "W/C did not grow: %f then %f", ps_num(p1, "w_c"),
                 ps_num(p2, "w_c"));
    cr_expect(strstr(why2, "from runs of this command at other sizes") != NULL, "%s", why2);
    cr_expect_neq(second, (int)ps_num(p2, "queueing_threads"), "the fit changed nothing: %s", why2);
    cr_expect_geq(second, 4, "below the smallest size run: %s", why2);
    cr_expect_eq(lines_of(dir, "device_worker\n"), 2);

    /* another command (one more argument): none of those lines */
    json_t *p3 = run_in(dir, first, "--tag", "on", &r3);
    cr_expect(strstr(ps_str(p3, "reason"), "runs of this command") == NULL, "%s", ps_str(p3, "reason"));
    json_decref(r1);
    json_decref(r2);
    json_decref(r3);
    ps_rmdir(dir);
}

Test(history, off_reads_and_writes_nothing, .timeout = 60)
{
    char dir[] = "/tmp/poolshim-history-off.XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    json_t *r1, *r2;
    run_in(dir, 4, NULL, "on", &r1);
    cr_assert_eq(lines_of(dir, "device_worker\n"), 1);
    json_t *p2 = run_in(dir, 12, NULL, "off", &r2);
    cr_expect(strstr(ps_str(p2, "reason"), "runs of this command") == NULL, "%s", ps_str(p2, "reason"));
    cr_expect_eq(lines_of(dir, "device_worker\n"), 1, "POOLSHIM_HISTORY=off appended a line");
    json_decref(r1);
    json_decref(r2);
    ps_rmdir(dir);
}
