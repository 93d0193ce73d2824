/* POOLSHIM_DUMP_CAPTURE: who takes the stacks of the shim's own dumps, and the
 * fallbacks. Under `poolshim run` a requested dump is taken by the run, by
 * ptrace; with no supervisor (or one that is gone, or one that cannot trace:
 * a debugger already attached) auto falls back to the dump signal and the
 * dump says why; ptrace without a supervisor signals no thread and writes a
 * dump without stacks; a bad value warns and means auto. The long runs that
 * check the program's own waits are tests/truth/dumps.py. */
#include <criterion/criterion.h>
#include "analyzer_kit.h"
#include "dumpkit.h"

#define DUMP_SIG (SIGRTMIN + 7)

static char *tmpdir(void)
{
    static char dir[4][64];
    static int k;
    char *d = dir[k++ & 3];
    snprintf(d, 64, "/tmp/poolshim-capture.XXXXXX");
    return mkdtemp(d);
}

/* The first child of parent (its /proc children list), or -1. */
static pid_t first_child(pid_t parent)
{
    char p[96], kids[256] = "";
    snprintf(p, sizeof p, "/proc/%d/task/%d/children", (int)parent, (int)parent);
    FILE *f = fopen(p, "r");
    if (f) {
        size_t l = fread(kids, 1, sizeof kids - 1, f);
        kids[l] = 0;
        fclose(f);
    }
    long k = strtol(kids, NULL, 10);
    return k > 0 ? (pid_t)k : -1;
}

/* Waits until pid has at least n threads (the fixture started its workers). */
static void wait_threads(pid_t pid, int n)
{
    for (int i = 0; i < 500 && dk_live_threads(pid) < n; i++)
        usleep(10000);
}

/* The report's dumps[] entry k of pid in dir, or NULL (decref the report). */
static json_t *report_of(const char *dir, pid_t pid)
{
    char p[600];
    snprintf(p, sizeof p, "%s/poolshim.%d.json", dir, (int)pid);
    return json_load_file(p, 0, NULL);
}

/* Starts `poolshim run --dir dir --dump off -- sleep_holder --workers 2
 * --run-ms run_ms` (not itself under the shim); the program's pid once its
 * threads run, the run's in *run. */
static pid_t start_under_run(const char *dir, const char *run_ms, pid_t *run)
{
    char run_path[600];                  /* ps_build_path's buffer is static */
    snprintf(run_path, sizeof run_path, "%s", ps_build_path("poolshim"));
    char *argv[] = { run_path, "run", "--dir", (char *)dir, "--dump", "off", "--",
                     (char *)ps_build_path("fixtures/sleep_holder"), "--workers", "2", "--run-ms", (char *)run_ms, NULL };
    *run = ps_spawn(argv, NULL, 0, dir, NULL, dir);
    cr_assert(*run > 0, "spawn: %s (dir %s)", strerror(errno), dir);
    pid_t pid = -1;
    for (int i = 0; i < 300 && pid < 0; i++) {
        usleep(10000);
        pid = first_child(*run);
    }
    cr_assert(pid > 0, "poolshim run started the program");
    wait_threads(pid, 4);
    return pid;
}

Test(dump_capture, under_poolshim_run_a_requested_dump_is_taken_by_ptrace, .timeout = 60)
{
    char *dir = tmpdir();
    pid_t run, pid = start_under_run(dir, "2500", &run);
    usleep(300000);
    cr_assert_eq(kill(pid, DUMP_SIG), 0);
    cr_expect_geq(dk_wait_dumps(dir, 1, 10), 0, "a dump within 10 s");
    cr_assert_eq(dk_wait(run, 30), 0, "poolshim run exits with the program's status");
    json_t *d = dk_load_dump(dir, pid, 0);
    cr_assert_not_null(d);
    cr_expect_str_eq(ps_str(d, "capture.method"), "ptrace", "why: %s", ps_str(d, "capture.why"));
    cr_expect_not_null(strstr(ps_str(d, "capture.why"), "supervising poolshim run"));
    cr_expect_str_eq(ps_str(d, "trigger.reason"), "request");
    cr_expect_not_null(ps_pool_by_routine(d, "worker"), "the shim's picture is merged");
    json_t *t;
    size_t i;
    int stacks = 0;
    json_array_foreach(json_object_get(d, "threads"), i, t) {
        stacks += dk_stack_has(json_object_get(t, "stack"), "start_thread");
        cr_expect_str_neq((char *)ps_str(t, "name"), "poolshim", "the shim's thread is left out");
    }
    cr_expect_geq(stacks, 3, "the holder's and the workers' stacks, by ptrace");
    json_t *rep = report_of(dir, pid);
    cr_assert_not_null(rep);
    json_t *e = json_array_get(json_object_get(rep, "dumps"), 0);
    cr_expect_str_eq(ps_str(e, "capture"), "ptrace", "the report lists the dump and how it was taken");
    char pat[600];
    snprintf(pat, sizeof pat, "poolshim.%d.picture.0.json", (int)pid);
    char *left = dk_slurp(dir, pat);
    cr_expect_str_eq(left, "", "no picture is left behind");
    free(left);
    json_decref(rep);
    json_decref(d);
    dk_rmdir(dir);
}

/* sleep_holder under the shim with env, until its first convoy dump. */
static json_t *convoy_dump(struct ps_run *r, char **env)
{
    char *argv[] = { (char *)ps_build_path("fixtures/sleep_holder"), "--workers", "4", "--run-ms", "1800", NULL };
    return dk_run_for_dump(r, argv, env);
}

Test(dump_capture, without_a_supervisor_auto_signals_and_says_why, .timeout = 60)
{
    struct ps_run r;
    /* A bad value: one line naming the variable, and auto. */
    char *env[] = { "POOLSHIM_DUMP_CAPTURE=gdb", "POOLSHIM_DUMP_MAX=1", "POOLSHIM_DUMP_INTERVAL_S=0", NULL };
    json_t *d = convoy_dump(&r, env);
    cr_expect_not_null(strstr(r.err, "POOLSHIM_DUMP_CAPTURE=\"gdb\" ignored: expected auto, ptrace or signal"),
                       "%s", r.err);
    cr_expect_str_eq(ps_str(d, "capture.method"), "signal");
    cr_expect_not_null(strstr(ps_str(d, "capture.why"), "no supervising poolshim run"), "%s",
                       ps_str(d, "capture.why"));
    cr_expect_gt(ps_num(d, "capture.answered"), 3, "the threads answered the dump signal");
    cr_expect_str_eq(ps_str(json_array_get(json_object_get(r.report, "dumps"), 0), "capture"), "signal");
    json_decref(d);
    ps_run_free(&r);
}

Test(dump_capture, a_supervisor_that_is_gone_falls_back_to_the_signal, .timeout = 60)
{
    struct ps_run r;
    char *env[] = { "POOLSHIM_SUPERVISOR=poolshim-run.0.gone", "POOLSHIM_DUMP_MAX=1", "POOLSHIM_DUMP_INTERVAL_S=0",
                    NULL };
    json_t *d = convoy_dump(&r, env);
    cr_expect_str_eq(ps_str(d, "capture.method"), "signal");
    cr_expect_not_null(strstr(ps_str(d, "capture.why"), "is gone"), "%s", ps_str(d, "capture.why"));
    json_decref(d);
    ps_run_free(&r);
}

Test(dump_capture, ptrace_without_a_supervisor_signals_no_thread, .timeout = 60)
{
    struct ps_run r;
    char *env[] = { "POOLSHIM_DUMP_CAPTURE=ptrace", "POOLSHIM_DUMP_MAX=2", "POOLSHIM_DUMP_INTERVAL_S=0", NULL };
    json_t *d = convoy_dump(&r, env);
    cr_expect_str_eq(ps_str(d, "capture.method"), "none");
    cr_expect_not_null(strstr(ps_str(d, "capture.why"), "POOLSHIM_DUMP_CAPTURE=ptrace"), "%s",
                       ps_str(d, "capture.why"));
    cr_expect_eq(ps_num(d, "capture.signalled"), 0, "no thread was signalled");
    json_t *t;
    size_t i;
    json_array_foreach(json_object_get(d, "threads"), i, t)
        cr_expect_eq(json_array_size(json_object_get(t, "stack")), 0, "no stacks");
    cr_expect_eq(dk_count(r.err, "POOLSHIM_DUMP_CAPTURE=ptrace"), 1, "warned once: %s", r.err);
    json_decref(d);
    ps_run_free(&r);
}

Test(dump_capture, a_debugger_attached_makes_the_supervisor_refuse_and_auto_signals, .timeout = 60)
{
    if (access("/usr/bin/strace", X_OK))
        cr_skip_test("needs strace (scripts/deps.sh)");
    char *dir = tmpdir();
    pid_t run, pid = start_under_run(dir, "3000", &run);
    char p[32];
    snprintf(p, sizeof p, "%d", (int)pid);
    char *st[] = { "/usr/bin/strace", "-f", "-qq", "-e", "trace=none", "-p", p, NULL };
    char *stdir = tmpdir();
    pid_t tracer = ps_spawn(st, NULL, 0, stdir, NULL, stdir);
    cr_assert(tracer > 0);
    char path[64], status[4096];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    int traced = 0;
    for (int i = 0; i < 300 && !traced; i++) {       /* strace has seized it */
        usleep(10000);
        FILE *f = fopen(path, "r");      /* /proc files have no size: no ps_slurp */
        size_t l = f ? fread(status, 1, sizeof status - 1, f) : 0;
        if (f)
            fclose(f);
        status[l] = 0;
        char *tp = strstr(status, "TracerPid:");
        traced = tp && atoi(tp + 10) == tracer;
    }
    char *sterr = dk_slurp(stdir, "stderr");
    cr_assert(traced, "strace is attached: %s", sterr);
    free(sterr);
    cr_assert_eq(kill(pid, DUMP_SIG), 0);
    cr_expect_geq(dk_wait_dumps(dir, 1, 10), 0, "a dump within 10 s");
    cr_expect_eq(dk_wait(run, 30), 0, "the program ends normally");
    kill(tracer, SIGTERM);
    dk_wait(tracer, 10);
    json_t *d = dk_load_dump(dir, pid, 0);
    cr_assert_not_null(d);
    cr_expect_str_eq(ps_str(d, "capture.method"), "signal");
    cr_expect_not_null(strstr(ps_str(d, "capture.why"), "already traced"), "%s", ps_str(d, "capture.why"));
    json_decref(d);
    dk_rmdir(dir);
    dk_rmdir(stdir);
}

Test(dump_capture, an_unprivileged_run_traces_its_own_program, .timeout = 60)
{
    if (geteuid() != 0 || access("/usr/bin/setpriv", X_OK))
        cr_skip_test("needs root and setpriv to run as an unprivileged user");
    char *dir = tmpdir();
    cr_assert_eq(chmod(dir, 0777), 0);
    char run_path[600];
    snprintf(run_path, sizeof run_path, "%s", ps_build_path("poolshim"));
    /* No capability left: only being the program's parent lets it trace. */
    char *argv[] = { "/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", run_path, "run",
                     "--dir", dir, "--dump-max", "1", "--dump-interval-s", "0", "--",
                     (char *)ps_build_path("fixtures/sleep_holder"), "--workers", "4", "--run-ms", "2000", NULL };
    pid_t run = ps_spawn(argv, NULL, 0, dir, NULL, dir);
    cr_assert(run > 0, "spawn: %s", strerror(errno));
    cr_assert_eq(dk_wait(run, 30), 0, "poolshim run exits with the program's status");
    char *err = dk_slurp(dir, "stderr");
    cr_expect_not_null(strstr(err, "stacks by ptrace from poolshim run"), "%s", err);
    free(err);
    int found = 0;
    DIR *dd = opendir(dir);
    struct dirent *de;
    while (dd && (de = readdir(dd))) {
        int pid, n;
        char tail[8];
        if (sscanf(de->d_name, "poolshim.%d.dump.%d.%7s", &pid, &n, tail) != 3 || strcmp(tail, "json"))
            continue;
        json_t *d = dk_load_dump(dir, pid, n);
        cr_assert_not_null(d);
        cr_expect_str_eq(ps_str(d, "capture.method"), "ptrace");
        cr_expect(json_is_false(json_object_get(json_object_get(d, "capture"), "realtime")),
                  "ran without CAP_SYS_NICE, so without privileges");
        found++;
        json_decref(d);
    }
    if (dd)
        closedir(dd);
    cr_expect_eq(found, 1, "one convoy dump");
    dk_rmdir(dir);
}
