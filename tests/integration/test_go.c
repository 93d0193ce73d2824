/* A Go program built with cgo (tests/fixtures/go_pool.go), as Go programs
 * that call C are: dynamically linked, the runtime's threads started from
 * cgo's threadentry, goroutines blocking with system calls of the runtime's
 * own that no wrapper sees, and the end a raw exit_group with no exit handler.
 * It wrote no report at all (the report was written only at exit), and its
 * threads read as a pool "threadentry", "io-bound", told 4 threads on 2
 * cores: nothing the user can set. Now the report is the last one written
 * while it ran, the pool is the Go runtime's, and its size is GOMAXPROCS =
 * the cores the process may use, in the profile too; under taskset -c 0, 1. */
#include <criterion/criterion.h>
#include <math.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>
#include "harness.h"

/* want: the CPUs of the run's affinity; GOMAXPROCS is the cores it may use,
 * as many or fewer under a cgroup quota. */
static void expect_gomaxprocs(char *const argv[], int want)
{
    struct ps_run r;
    cr_assert_eq(ps_run(&r, argv, NULL), 0);
    cr_expect_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    cr_assert_not_null(r.report, "no report: %s", r.err);
    cr_expect_str_eq(ps_str(r.report, "why"), "running", "a raw exit_group runs no exit handler");
    /* the cores the process may use: its affinity, or fewer under a cgroup quota */
    int usable = (int)ceil(ps_num(r.report, "cores_usable") - 1e-9);
    cr_expect(usable >= 1 && usable <= want, "cores usable %f, affinity %d", ps_num(r.report, "cores_usable"), want);
    want = usable;
    json_t *p = ps_pool_by_name(r.report, "Go runtime");
    cr_assert_not_null(p, "no pool named \"Go runtime\": %s", r.err);
    cr_expect_str_eq(ps_str(p, "classification"), "runtime");
    cr_expect_eq(ps_num(p, "recommended_threads"), want, "%s", ps_str(p, "reason"));
    cr_expect(strstr(ps_str(p, "reason"), "GOMAXPROCS") != NULL, "%s", ps_str(p, "reason"));
    cr_expect(ps_num(p, "threads") >= 2, "threads %f", ps_num(p, "threads"));
    char *text = ps_profile(r.report), line[64];
    cr_assert_not_null(text, "no profile");
    snprintf(line, sizeof line, "\nexport GOMAXPROCS=%d\n", want);
    cr_expect(strstr(text, line) != NULL, "profile without%s: %s", line, text);
    free(text);
    ps_run_free(&r);
}

Test(go, the_go_runtimes_threads_are_sized_by_gomaxprocs_from_the_cores_it_may_use, .timeout = 60)
{
    if (access(ps_build_path("fixtures/go_pool"), X_OK))
        cr_skip_test("no Go toolchain: fixtures/go_pool not built (scripts/deps.sh installs golang-go)");
    char *argv[] = { (char *)ps_build_path("fixtures/go_pool"), NULL };
    cpu_set_t set;
    cr_assert_eq(sched_getaffinity(0, sizeof set, &set), 0);
    expect_gomaxprocs(argv, CPU_COUNT(&set));
}

Test(go, under_taskset_c_0_gomaxprocs_is_1, .timeout = 60)
{
    if (access(ps_build_path("fixtures/go_pool"), X_OK))
        cr_skip_test("no Go toolchain: fixtures/go_pool not built (scripts/deps.sh installs golang-go)");
    char *argv[] = { "taskset", "-c", "0", (char *)ps_build_path("fixtures/go_pool"), NULL };
    expect_gomaxprocs(argv, 1);
}
