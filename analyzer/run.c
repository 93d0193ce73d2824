/* run.c: `poolshim run [OPTIONS] -- CMD...`: runs CMD with the shim preloaded
 * and the options turned into POOLSHIM_* variables, waits for it, says where
 * the report went, and exits with CMD's status (128 + signal if it died of
 * one), so it can stand in for CMD in scripts. Like system(), it ignores
 * SIGINT/SIGQUIT while CMD runs: a ^C reaches CMD, which decides. */
#include "cmd.h"
#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Options of `run`: --name VALUE sets VAR (README's configuration table). */
static const struct { const char *opt, *var; } run_opts[] = {
    { "dir", "POOLSHIM_DIR" }, { "control", "POOLSHIM_CONTROL" }, { "interval-ms", "POOLSHIM_INTERVAL_MS" },
    { "dump", "POOLSHIM_DUMP" }, { "summary", "POOLSHIM_SUMMARY" }, { "report", "POOLSHIM_REPORT" },
    { "dump-signal", "POOLSHIM_DUMP_SIGNAL" }, { "dump-max", "POOLSHIM_DUMP_MAX" },
    { "dump-interval-s", "POOLSHIM_DUMP_INTERVAL_S" }, { "dump-blocked-ms", "POOLSHIM_DUMP_BLOCKED_MS" },
    { "min", "POOLSHIM_MIN" }, { "max", "POOLSHIM_MAX" }, { "cooldown-ms", "POOLSHIM_COOLDOWN_MS" },
    { "expand", "POOLSHIM_EXPAND" }, { "pool", "POOLSHIM_POOL" }, { "alloc-sample", "POOLSHIM_ALLOC_SAMPLE" },
    { "malloc", "POOLSHIM_MALLOC" }, { "metrics", "POOLSHIM_METRICS" },
    { "dump-capture", "POOLSHIM_DUMP_CAPTURE" },
};
#define NOPTS (sizeof run_opts / sizeof *run_opts)

void an_run_options(FILE *f)
{
    for (size_t k = 0; k < NOPTS; k++)
        fprintf(f, "  --%-16s V  sets %s\n", run_opts[k].opt, run_opts[k].var);
}

static int readable(const char *p) { return p && access(p, R_OK) == 0; }

/* The shim next to this executable (build tree), else the installed layout, else $POOLSHIM_LIB. */
static int find_lib(char *out, size_t n)
{
    char exe[PATH_MAX];
    ssize_t l = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (l > 0) {
        exe[l] = 0;
        char *dir = dirname(exe);
        snprintf(out, n, "%s/libpoolshim.so", dir);
        if (readable(out)) return 0;
        snprintf(out, n, "%s/../lib/poolshim/libpoolshim.so", dir);
        if (readable(out)) {
            char real[PATH_MAX];
            if (realpath(out, real)) snprintf(out, n, "%s", real);
            return 0;
        }
    }
    const char *env = getenv("POOLSHIM_LIB");
    if (env && env[0]) {
        snprintf(out, n, "%s", env);
        if (readable(out)) return 0;
        fprintf(stderr, "poolshim: run: POOLSHIM_LIB=%s: cannot read it\n", env);
        return -1;
    }
    fprintf(stderr, "poolshim: run: libpoolshim.so not found next to this program, in ../lib/poolshim/, "
                    "nor in $POOLSHIM_LIB\n");
    return -1;
}

/* Reports this run produced: poolshim.<pid>.json files in dir written since start. */
static void list_reports(const char *dir, pid_t child, const struct timespec *start)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/poolshim.%d.json", dir, (int)child);
    int found = access(path, R_OK) == 0;
    if (found) fprintf(stderr, "poolshim: report: %s\n", path);
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        int pid;
        char tail[8];
        if (sscanf(e->d_name, "poolshim.%d.%7s", &pid, tail) != 2 || strcmp(tail, "json") || pid == (int)child)
            continue;
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (stat(path, &st) == 0 && (st.st_mtim.tv_sec > start->tv_sec ||
            (st.st_mtim.tv_sec == start->tv_sec && st.st_mtim.tv_nsec >= start->tv_nsec))) {
            fprintf(stderr, "poolshim: report of child process %d: %s\n", pid, path);
            found = 1;
        }
    }
    if (d) closedir(d);
    if (!found)
        fprintf(stderr, "poolshim: no report in %s: static and setuid programs ignore LD_PRELOAD, "
                        "a program that ends with _exit (e.g. dash) writes none, nor does POOLSHIM_REPORT=off\n", dir);
}

int cmd_run(int argc, char **argv)
{
    int i = 1;
    char dir[PATH_MAX] = "";
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--")) { i++; break; }
        if (strncmp(a, "--", 2)) break;   /* CMD without "--" */
        const char *name = a + 2, *eq = strchr(name, '='), *val;
        size_t nl = eq ? (size_t)(eq - name) : strlen(name);
        size_t k;
        for (k = 0; k < NOPTS; k++)
            if (strlen(run_opts[k].opt) == nl && !strncmp(run_opts[k].opt, name, nl)) break;
        if (k == NOPTS) {
            fprintf(stderr, "poolshim: run: unknown option %s (see README: --dir, --control, --interval-ms, ...)\n", a);
            return 2;
        }
        if (eq) val = eq + 1;
        else if (i + 1 < argc) val = argv[++i];
        else {
            fprintf(stderr, "poolshim: run: %s needs a value\n", a);
            return 2;
        }
        if (k == 0) {   /* absolute, so a CMD that changes directory still writes here */
            struct stat st;
            if (stat(val, &st) != 0 || !S_ISDIR(st.st_mode) || !realpath(val, dir)) {
                fprintf(stderr, "poolshim: run: --dir %s: not a directory\n", val);
                return 2;
            }
            val = dir;
        }
        /* The shim validates values itself (one line naming the variable); we only pass them on. */
        setenv(run_opts[k].var, val, 1);
    }
    if (i >= argc) {
        fprintf(stderr, "poolshim: run: give a command: poolshim run [OPTIONS] -- CMD [ARGS...]\n");
        return 2;
    }
    if (!dir[0]) {
        const char *env = getenv("POOLSHIM_DIR");
        if (!(env && env[0] && realpath(env, dir)) && !getcwd(dir, sizeof dir)) snprintf(dir, sizeof dir, ".");
        setenv("POOLSHIM_DIR", dir, 1);
    }
    char lib[PATH_MAX], *pre;
    if (find_lib(lib, sizeof lib)) return 2;
    const char *old = getenv("LD_PRELOAD");
    if (old && old[0] && !strstr(old, "libpoolshim")) {
        if (asprintf(&pre, "%s %s", lib, old) < 0) return 2;
    } else if (!(pre = strdup(lib))) {
        return 2;
    }
    setenv("LD_PRELOAD", pre, 1);
    free(pre);

    struct sigaction ign = { .sa_handler = SIG_IGN }, oint, oquit;
    sigemptyset(&ign.sa_mask);
    sigaction(SIGINT, &ign, &oint);
    sigaction(SIGQUIT, &ign, &oquit);
    struct timespec start;
    clock_gettime(CLOCK_REALTIME, &start);
    an_super_open();                      /* dumps by ptrace; without it the shim signals its threads */
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "poolshim: run: fork: %s\n", strerror(errno));
        return 2;
    }
    if (pid == 0) {
        sigaction(SIGINT, &oint, NULL);
        sigaction(SIGQUIT, &oquit, NULL);
        execvp(argv[i], argv + i);
        int e = errno;
        fprintf(stderr, "poolshim: run: %s: %s\n", argv[i], strerror(e));
        _exit(e == ENOENT ? 127 : 126);
    }
    int status;
    if (an_super_wait(pid, &status)) {
        fprintf(stderr, "poolshim: run: waitpid: %s\n", strerror(errno));
        return 2;
    }
    sigaction(SIGINT, &oint, NULL);
    sigaction(SIGQUIT, &oquit, NULL);
    int rc = WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 2;
    list_reports(dir, pid, &start);
    if (WIFSIGNALED(status))
        fprintf(stderr, "poolshim: %s died of signal %d (%s)\n", argv[i], WTERMSIG(status), strsignal(WTERMSIG(status)));
    return rc;
}
