/* Programs that need something of their process the shim could take from
 * them. A process of one thread must stay one: unshare(CLONE_NEWUSER) fails
 * with EINVAL in a process of two, and Chromium's zygote traps when it is
 * not single-threaded; the shim's thread starts with the program's second
 * (shim/agent.c). A child sharing the program's memory on a TLS block of
 * its own (Chromium's zygote chroots through one) must be able to _exit. A
 * program that confines its own system calls with seccomp (Chromium's
 * renderers) must not be killed for a call of ours: from then on the shim
 * makes none (shim/base/confine.h). Fixtures: confined.c, clone_vm_exit.c. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"

static void run_confined(struct ps_run *r, char *const extra[])
{
    char *argv[8] = { (char *)ps_build_path("fixtures/confined") };
    for (int i = 0; extra[i] && i < 6; i++)
        argv[i + 1] = extra[i];
    cr_assert_eq(ps_run(r, argv, NULL), 0);
}

/* Old code: the agent was the process's second thread from the start. */
Test(confined, a_process_of_one_thread_stays_one, .timeout = 30)
{
    struct ps_run r;
    char *extra[] = { "--threads", "0", NULL };
    run_confined(&r, extra);
    cr_expect_eq(r.status, 0, "status %d: the process had more than one thread: %s", r.status, r.err);
    cr_expect_not_null(r.report, "the program the user started writes its report: %s", r.err);
    ps_run_free(&r);
}

/* util-linux's unshare, where this machine lets a process make a user
 * namespace at all (without the shim first). Old code: "unshare failed:
 * Invalid argument", exit 1. */
Test(confined, unshare_of_a_user_namespace_works, .timeout = 30)
{
    struct ps_run r;
    char *argv[] = { "unshare", "-U", "true", NULL };
    cr_assert_eq(ps_run_ex(&r, argv, NULL, 0, 20), 0);
    int plain = r.status;
    ps_run_free(&r);
    if (plain != 0)
        cr_skip_test("unshare -U fails here without the shim too (status %d)", plain);
    cr_assert_eq(ps_run(&r, argv, NULL), 0);
    cr_expect_eq(r.status, 0, "status %d: %s", r.status, r.err);
    ps_run_free(&r);
}

/* Measured until the filter goes in, then no call of ours: the filter kills
 * the process at process_vm_readv, open, fstat, getrusage. Old code: killed
 * by SIGSYS at the first thread started after it. */
static void expect_confined_runs(char *const extra[])
{
    struct ps_run r;
    run_confined(&r, extra);
    cr_expect_eq(r.status, 0, "status %d (159: SIGSYS): %s", r.status, r.err);
    cr_expect(strstr(r.err, "confines its system calls") != NULL, "not said: %s", r.err);
    cr_expect_null(r.report, "a report from a confined process");
    ps_run_free(&r);
}

Test(confined, a_program_that_confines_its_calls_with_seccomp_runs_on, .timeout = 30)
{
    char *extra[] = { "--threads", "2", NULL };
    expect_confined_runs(extra);
}

Test(confined, the_same_through_prctl, .timeout = 30)
{
    char *extra[] = { "--threads", "2", "--prctl", "1", NULL };
    expect_confined_runs(extra);
}

/* A probe of seccomp (a null filter, EFAULT: Chromium's browser probes
 * TSYNC so) confines nothing: the run is measured and reported. */
Test(confined, a_probe_of_seccomp_confines_nothing, .timeout = 30)
{
    struct ps_run r;
    char *extra[] = { "--threads", "2", "--probe", "1", NULL };
    run_confined(&r, extra);
    cr_expect_eq(r.status, 0, "status %d: %s", r.status, r.err);
    cr_expect(strstr(r.err, "confines its system calls") == NULL, "confined by a probe: %s", r.err);
    cr_assert_not_null(r.report, "no report: %s", r.err);
    json_t *p = ps_pool_by_routine(r.report, "confined_wait");
    cr_assert_not_null(p, "the threads started after the probe were not measured: %s", r.err);
    cr_expect_eq(ps_num(p, "threads"), 2);
    ps_run_free(&r);
}

/* Old code: the child faulted in the _exit wrapper (errno read through a
 * null thread pointer), {"signal":11}. */
Test(confined, a_child_sharing_memory_on_a_tls_of_its_own_can__exit, .timeout = 30)
{
    struct ps_run r;
    char *argv[] = { (char *)ps_build_path("fixtures/clone_vm_exit"), NULL };
    cr_assert_eq(ps_run(&r, argv, NULL), 0);
    cr_expect_eq(r.status, 0, "status %d: %s %s", r.status, r.out, r.err);
    cr_assert_not_null(r.truth, "no line: %s", r.out);
    cr_expect_eq(ps_num(r.truth, "exited"), 0, "%s", r.out);
    ps_run_free(&r);
}
