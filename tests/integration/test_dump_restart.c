/* The shim's in-process dumps (the dump signal) must not show: a wait cut
 * short by our signal alone waits on for the time left, while a handler of
 * the program still interrupts it as it would without the shim. */
#include <criterion/criterion.h>
#include "analyzer_kit.h"
#include "dumpkit.h"

Test(dump_restart, waits_cut_by_the_dump_signal_alone_wait_on, .timeout = 60)
{
    char dir[] = "/tmp/poolshim-restart.XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char *argv[] = { (char *)ps_build_path("fixtures/sleep_holder"), "--workers", "2", "--checkers", "1",
                     "--run-ms", "2600", NULL };
    char *env[] = { "POOLSHIM_DUMP=off", NULL };
    pid_t pid = dk_spawn(argv, dir, env);
    cr_assert(pid > 0);
    char p[32];
    snprintf(p, sizeof p, "%d", (int)pid);
    for (int i = 0; i < 2; i++) {
        usleep(i ? 1100000 : 400000);             /* requests are answered at most once a second */
        struct ps_run a;
        ak_poolshim(&a, (char *[]){ "dump", "--capture", "signal", p, NULL });
        cr_expect_eq(a.status, 0, "signal dump %d: %s", i, a.err);
        ps_run_free(&a);
    }
    cr_assert_eq(dk_wait(pid, 20), 0, "the program exits normally");
    char *out = dk_slurp(dir, "stdout");
    json_t *truth = json_loads(out, JSON_DISABLE_EOF_CHECK, NULL);
    cr_assert_not_null(truth, "truth line: %s", out);
    cr_expect_eq(dk_count_dumps(dir), 2, "two in-process dumps, every thread signalled");
    /* sigsuspend, pause, sigtimedwait: EINTR after any handler, our dump
     * signal's too (lbzip2's main thread waits in sigsuspend; a dump made it
     * exit 1) */
    static const char *const calls[] = { "nanosleep", "poll", "epoll_wait", "sem_timedwait", "sigsuspend", "pause",
                                         "sigtimedwait" };
    for (int i = 0; i < 7; i++) {
        char key[48];
        snprintf(key, sizeof key, "cut.%s", calls[i]);
        cr_expect_eq(ps_num(truth, key), 0, "%s cut short or EINTR: %s", calls[i], out);
    }
    cr_expect_gt(ps_num(truth, "sleeps"), 20);
    json_decref(truth);
    free(out);
    dk_rmdir(dir);
}

Test(dump_restart, a_program_handler_still_interrupts_and_sigaction_shows_it, .timeout = 30)
{
    struct ps_run r;
    char *argv[] = { (char *)ps_build_path("fixtures/signal_eintr"), "--after-ms", "400", NULL };
    cr_assert_eq(ps_run_ex(&r, argv, NULL, 1, 20), 0);
    cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    cr_assert_not_null(r.truth, "truth: %s", r.out);
    cr_expect_eq(ps_num(r.truth, "query_ok"), 1, "sigaction shows the program's own handler and flags");
    cr_expect_eq(ps_num(r.truth, "eintr"), 1, "the handler's EINTR reaches the loop");
    cr_expect_lt(ps_num(r.truth, "loop_exit_ms"), 2500, "the loop saw its stop (not a 5 s wait restarted)");
    ps_run_free(&r);
}
