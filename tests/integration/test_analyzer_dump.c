/* `poolshim dump --capture signal PID`: refuses a process without the shim
 * (only ptrace can dump it: test_dump_ptrace.c); on a shimmed one,
 * either gets a dump (shim with dump support) or, when the process does not
 * catch the dump signal, refuses to send it, and the process lives on. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "analyzer_kit.h"

static pid_t spawn(char *const argv[], const char *preload, const char *dir)
{
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        if (preload) setenv("LD_PRELOAD", preload, 1);
        if (dir) setenv("POOLSHIM_DIR", dir, 1);
        freopen("/dev/null", "w", stdout);
        freopen("/dev/null", "w", stderr);
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

static void dump(struct ps_run *a, pid_t pid)
{
    char p[32];
    snprintf(p, sizeof p, "%d", (int)pid);
    ak_poolshim(a, (char *[]){ "dump", "--capture", "signal", p, NULL });
}

Test(analyzer_dump, signal_capture_refuses_a_process_without_the_shim, .timeout = 30)
{
    char *argv[] = { "/bin/sleep", "5", NULL };
    pid_t pid = spawn(argv, NULL, NULL);
    struct timespec ts = { 0, 100 * 1000000L };
    nanosleep(&ts, NULL);
    struct ps_run a;
    dump(&a, pid);
    cr_expect_eq(a.status, 2, "exit %d: %s", a.status, a.err);
    cr_expect_not_null(strstr(a.err, "not running under the shim"), "%s", a.err);
    cr_expect_eq(kill(pid, 0), 0, "the process must not have been signalled");
    ps_run_free(&a);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

Test(analyzer_dump, shimmed_process_gets_a_dump_or_is_left_alone, .timeout = 60)
{
    char dir[] = "/tmp/poolshim-dumpreq.XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char lib[600];
    snprintf(lib, sizeof lib, "%s", ps_build_path("libpoolshim.so"));
    char *argv[] = { (char *)ps_build_path("fixtures/condvar_pool"), "--threads", "2", "--tasks", "200",
                     "--cpu-ms", "1", "--io-ms", "10", NULL };
    pid_t pid = spawn(argv, lib, dir);
    struct timespec ts = { 0, 300 * 1000000L };
    nanosleep(&ts, NULL);
    char status_path[64], buf[8192];
    snprintf(status_path, sizeof status_path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(status_path, "r");
    cr_assert_not_null(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    unsigned long long cgt = strtoull(strstr(buf, "SigCgt:") + 7, NULL, 16);
    int sig = SIGRTMIN + 7, catches = (int)((cgt >> (sig - 1)) & 1);
    struct ps_run a;
    dump(&a, pid);
    if (catches) {
        cr_expect_eq(a.status, 0, "exit %d: %s", a.status, a.err);
        char path[600];
        cr_assert_eq(sscanf(a.out, "%599s", path), 1, "no path printed: %s", a.out);
        cr_expect_eq(strncmp(path, dir, strlen(dir)), 0, "%s not in %s", path, dir);
        struct ps_run s;
        ak_poolshim(&s, (char *[]){ "show", path, NULL });
        cr_expect_eq(s.status, 0, "show on the new dump: %s", s.err);
        ps_run_free(&s);
    } else {
        cr_expect_eq(a.status, 1, "exit %d: %s", a.status, a.err);
        cr_expect_not_null(strstr(a.err, "does not catch signal"), "%s", a.err);
    }
    ps_run_free(&a);
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the process did not end normally (status 0x%x)", st);
    ps_rmdir(dir);
}
