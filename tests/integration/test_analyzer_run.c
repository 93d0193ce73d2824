/* `poolshim run`: CMD runs under the shim with the options as POOLSHIM_*
 * variables, its exit status (or 128 + signal) is kept, and the report's
 * path is printed. */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "analyzer_kit.h"

static void run(struct ps_run *a, char **args)
{
    char *argv[21] = { "run" };
    int i = 0;
    while (args[i] && i < 19) { argv[i + 1] = args[i]; i++; }
    argv[i + 1] = NULL;
    ak_poolshim(a, argv);
}

Test(analyzer_run, keeps_exit_status_and_signal_death, .timeout = 60)
{
    struct ps_run a;
    run(&a, (char *[]){ "--", "sh", "-c", "exit 7", NULL });
    cr_expect_eq(a.status, 7, "exit 7 gave %d: %s", a.status, a.err);
    ps_run_free(&a);
    run(&a, (char *[]){ "--", "sh", "-c", "exit 0", NULL });
    cr_expect_eq(a.status, 0, "exit 0 gave %d: %s", a.status, a.err);
    ps_run_free(&a);
    run(&a, (char *[]){ "--", "sh", "-c", "kill -TERM $$", NULL });
    cr_expect_eq(a.status, 128 + 15, "SIGTERM gave %d: %s", a.status, a.err);
    cr_expect_not_null(strstr(a.err, "signal 15"), "%s", a.err);
    ps_run_free(&a);
    run(&a, (char *[]){ "--", "/nonexistent/cmd", NULL });
    cr_expect_eq(a.status, 127, "missing command gave %d: %s", a.status, a.err);
    ps_run_free(&a);
}

Test(analyzer_run, passes_options_as_environment, .timeout = 60)
{
    struct ps_run a;
    run(&a, (char *[]){ "--control", "off", "--interval-ms=50", "--dump", "off", "--", "sh", "-c",
                        "echo \"$POOLSHIM_CONTROL $POOLSHIM_INTERVAL_MS $POOLSHIM_DUMP $LD_PRELOAD\"", NULL });
    cr_assert_eq(a.status, 0, "%s", a.err);
    char want[600];
    snprintf(want, sizeof want, "off 50 off %s\n", ps_build_path("libpoolshim.so"));
    cr_expect_str_eq(a.out, want);
    ps_run_free(&a);
}

Test(analyzer_run, prints_where_the_report_went, .timeout = 60)
{
    struct ps_run a;
    char dir[] = "/tmp/poolshim-run.XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    /* With the shim's summary off, `run` names the report itself (on, the summary does). */
    run(&a, (char *[]){ "--summary", "off", "--dir", dir, "--", (char *)ps_build_path("fixtures/condvar_pool"), "--threads", "2",
                        "--tasks", "40", "--cpu-ms", "1", "--io-ms", "2", NULL });
    cr_assert_eq(a.status, 0, "%s", a.err);
    cr_expect_not_null(strstr(a.out, "\"tasks\":40"), "fixture output lost: %s", a.out);
    char *line = strstr(a.err, "poolshim: report: ");
    cr_assert_not_null(line, "no report line: %s", a.err);
    char path[512];
    cr_assert_eq(sscanf(line, "poolshim: report: %511s", path), 1);
    cr_expect_eq(strncmp(path, dir, strlen(dir)), 0, "report %s not in %s", path, dir);
    cr_expect_eq(access(path, R_OK), 0, "%s does not exist", path);
    json_t *rep = json_load_file(path, 0, NULL);
    cr_assert_not_null(rep);
    json_t *p = ps_pool_by_routine(rep, "condvar_worker");
    cr_expect_not_null(p, "the report has no condvar_worker pool: the shim was not loaded");
    cr_expect_eq(ps_num(p, "threads"), 2);
    json_decref(rep);
    ps_run_free(&a);
    ps_rmdir(dir);
}

/* The report `run` named on stderr ("poolshim: report: PATH"), loaded; its path into path. */
static json_t *named_report(struct ps_run *a, char *path, size_t n)
{
    char *line = strstr(a->err, "poolshim: report: ");
    cr_assert_not_null(line, "no report line: %s", a->err);
    line += strlen("poolshim: report: ");
    snprintf(path, n, "%.*s", (int)strcspn(line, "\n"), line);
    json_t *rep = json_load_file(path, 0, NULL);
    cr_assert_not_null(rep, "%s", path);
    return rep;
}

/* coreutils' sort closes its stderr before it exits (gnulib's close_stdout),
 * so the shim can print no summary: the report says so, and `run` names it
 * (before, a user saw nothing at all). sort sorts in threads from 128 Ki
 * lines on. */
Test(analyzer_run, names_the_report_of_a_program_that_closed_its_stderr, .timeout = 60)
{
    char dir[] = "/tmp/poolshim-run.XXXXXX", in[64];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(in, sizeof in, "%s/lines", dir);
    FILE *f = fopen(in, "w");
    cr_assert_not_null(f);
    for (unsigned i = 0; i < 300000; i++)
        fprintf(f, "%u\n", (i * 2654435761u) % 1000003u);
    cr_assert_eq(fclose(f), 0);
    struct ps_run a;
    run(&a, (char *[]){ "--dir", dir, "--", "sort", "--parallel=2", "-S", "64M", "-o", "/dev/null", in, NULL });
    cr_assert_eq(a.status, 0, "%s", a.err);
    char path[512];
    json_t *rep = named_report(&a, path, sizeof path);
    cr_expect(json_is_false(json_object_get(rep, "summary_printed")), "summary_printed not false");
    cr_expect(json_array_size(json_object_get(rep, "threads")) >= 2, "sort ran no thread: not the case tested");
    json_decref(rep);
    ps_run_free(&a);
    ps_rmdir(dir);
}

/* A program started through a symlink (Debian's redis-server is a link to
 * redis-check-rdb): the report names it as its user started it, and the
 * text says both ("link (target)"); before, every report and profile of
 * redis-server said redis-check-rdb. */
Test(analyzer_run, a_program_started_by_a_symlink_is_named_as_started, .timeout = 60)
{
    char dir[] = "/tmp/poolshim-run.XXXXXX", link[80], target[PATH_MAX];
    cr_assert_not_null(mkdtemp(dir));
    cr_assert_not_null(realpath(ps_build_path("fixtures/condvar_pool"), target));
    snprintf(link, sizeof link, "%s/my-server", dir);
    cr_assert_eq(symlink(target, link), 0);
    struct ps_run a;
    run(&a, (char *[]){ "--summary", "off", "--dir", dir, "--", link, "--threads", "2", "--tasks", "10", NULL });
    cr_assert_eq(a.status, 0, "%s", a.err);
    char path[512];
    json_t *rep = named_report(&a, path, sizeof path);
    cr_expect_str_eq(ps_str(rep, "program"), "my-server");
    cr_expect_str_eq(ps_str(rep, "exe"), target);
    json_decref(rep);
    char cmd[1200], head[512] = "";
    snprintf(cmd, sizeof cmd, "'%s' report '%s'", ps_build_path("poolshim"), path);
    FILE *f = popen(cmd, "r");
    cr_assert_not_null(f);
    cr_assert_not_null(fgets(head, sizeof head, f));
    pclose(f);
    cr_expect_not_null(strstr(head, "my-server (condvar_pool)"), "%s", head);
    ps_run_free(&a);
    ps_rmdir(dir);
}
