/* Processes that end through _exit or _Exit run no destructor, so the shim's
 * exit report was never written (lbzip2 ends so: test_lbzip2.c). The _exit
 * wrapper (shim/wrap/interpose_exit.c) writes it when the process ran a
 * thread besides its main one, and keeps the exit status; a forked child that
 * ran none and calls _exit (a fork helper, a shell's child whose exec failed)
 * writes nothing, or every shell would litter the directory with empty
 * reports; the process the user started writes its report even so (dash
 * ends with _exit). Fixture: tests/fixtures/exit_paths.c. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include "harness.h"

/* Runs the fixture in one of its modes under the shim. */
static void run_mode(struct ps_run *r, const char *mode)
{
    char *argv[] = { (char *)ps_build_path("fixtures/exit_paths"), (char *)mode, NULL };
    cr_assert_eq(ps_run(r, argv, NULL), 0);
}

/* why: "_exit", or "running" for the last report the agent wrote while the
 * program ran (from 0.25 s on; it names no trace, written only at exit) */
static void expect_worker_report(const char *mode, int status, const char *why)
{
    struct ps_run r;
    run_mode(&r, mode);
    cr_expect_eq(r.status, status, "exit status %d, want %d: %s", r.status, status, r.err);
    cr_assert_not_null(r.report, "no report after %s; stderr: %s", mode, r.err);
    cr_expect_str_eq(ps_str(r.report, "why"), why);
    if (!strcmp(why, "running")) {
        cr_expect(ps_num(r.report, "duration_s") >= 0.25, "written at %f s", ps_num(r.report, "duration_s"));
        cr_expect(json_is_null(json_object_get(r.report, "trace")), "an interim report names a trace not written");
    }
    json_t *p = ps_pool_by_routine(r.report, "exit_worker");
    cr_assert_not_null(p, "no pool of the worker: %s", r.err);
    cr_expect_eq(ps_num(p, "threads"), 1);
    cr_expect(ps_num(p, "cpu_s") > 0.02, "worker cpu %f, want about 0.05", ps_num(p, "cpu_s"));
    ps_run_free(&r);
}

Test(exit_paths, a_process_that_ran_a_thread_and_calls__exit_writes_its_report_and_keeps_its_status, .timeout = 30)
{
    expect_worker_report("thread", 3, "_exit");
}

Test(exit_paths, _Exit_is_the_same, .timeout = 30)
{
    expect_worker_report("Exit", 4, "_exit");
}

Test(exit_paths, a_forked_child_that_ran_no_thread_and_calls__exit_writes_no_report, .timeout = 30)
{
    struct ps_run r;
    run_mode(&r, "fork");
    cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    cr_assert_not_null(r.truth, "no truth line: %s", r.out);
    cr_assert_not_null(r.report, "the parent wrote no report: %s", r.err);
    json_t *kids = json_object_get(r.truth, "children");
    cr_assert_eq(json_array_size(kids), 2);
    int want[] = { 0, 127 };
    for (int i = 0; i < 2; i++) {
        int pid = (int)json_integer_value(json_array_get(kids, i));
        cr_expect_eq(json_integer_value(json_array_get(json_object_get(r.truth, "statuses"), i)), want[i],
                     "child %d's exit status", i);
        char path[400];
        struct stat st;
        snprintf(path, sizeof path, "%s/poolshim.%d.json", r.dir, pid);
        cr_expect(stat(path, &st) != 0, "child %d (%s) wrote %s", pid, i ? "failed exec, _exit(127)" : "_exit(0)",
                  path);
    }
    ps_run_free(&r);
}

Test(exit_paths, the_started_process_that_ran_no_thread_and_calls__exit_writes_its_report, .timeout = 30)
{
    struct ps_run r;
    run_mode(&r, "single");
    cr_expect_eq(r.status, 6, "exit status %d: %s", r.status, r.err);
    cr_assert_not_null(r.report, "no report after _exit: %s", r.err);
    cr_expect_str_eq(ps_str(r.report, "why"), "_exit");
    cr_expect_eq(json_array_size(json_object_get(r.report, "pools")), 0);
    ps_run_free(&r);
}

/* _exit from a signal handler of the program: the code the handler
 * interrupted may hold a lock the report's writer needs (the loader's), so
 * nothing is written there; the exit status is the program's. */
Test(exit_paths, _exit_from_a_signal_handler_writes_no_report_and_keeps_its_status, .timeout = 30)
{
    struct ps_run r;
    run_mode(&r, "handler");
    cr_expect_eq(r.status, 5, "exit status %d: %s", r.status, r.err);
    /* under load the run may last long enough for the agent's interim report */
    cr_expect(!r.report || !strcmp(ps_str(r.report, "why"), "running"), "a report written inside a signal handler");
    ps_run_free(&r);
}

/* The exit_group system call itself (Go programs end so): no wrapper sees it
 * and no exit handler runs, so the report is the last one the agent wrote
 * while the program ran ("why": "running"), with the worker it had run. */
Test(exit_paths, a_raw_exit_group_leaves_the_report_written_while_it_ran, .timeout = 30)
{
    expect_worker_report("raw", 8, "running");
}

/* A run that outlives a few interim reports ends with the final one. */
Test(exit_paths, the_report_at_exit_replaces_those_written_while_it_ran, .timeout = 30)
{
    struct ps_run r;
    char *argv[] = { (char *)ps_build_path("fixtures/condvar_pool"), "--threads", "2", "--tasks", "100",
                     "--cpu-ms", "1", "--io-ms", "10", NULL };
    cr_assert_eq(ps_run(&r, argv, NULL), 0);
    cr_assert_not_null(r.report, "no report: %s", r.err);
    cr_expect_str_eq(ps_str(r.report, "why"), "exit");
    cr_expect(ps_num(r.report, "duration_s") >= 0.45, "ran %f s", ps_num(r.report, "duration_s"));
    const char *first = strstr(r.err, "full answer");
    cr_expect(first != NULL, "no summary: %s", r.err);
    cr_expect(!first || !strstr(first + 1, "full answer"), "a summary printed twice: %s", r.err);
    ps_run_free(&r);
}
