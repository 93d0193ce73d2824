/* run.c: `poolshim run [OPTIONS] -- CMD...`: runs CMD with the shim preloaded
 * and the options turned into POOLSHIM_* variables, waits for it, says where
 * the report went, and exits with CMD's status (128 + signal if it died of
 * one), so it can stand in for CMD in scripts. Like system(), it ignores
 * SIGINT/SIGQUIT while CMD runs: a ^C reaches CMD, which decides. */
#include "cmd.h"
#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
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
    { "trace", "POOLSHIM_TRACE" }, { "trace-events", "POOLSHIM_TRACE_EVENTS" },
    { "dump-capture", "POOLSHIM_DUMP_CAPTURE" }, { "history", "POOLSHIM_HISTORY" },
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

/* Why a program that ran wrote no report: LD_PRELOAD does not reach a
 * static program (no PT_INTERP) nor, unless we are root, a setuid or
 * setgid one (the loader ignores it in secure mode). path as execvp found it. */
static const char *why_no_report(const char *cmd, char *path, size_t n)
{
    const char *p = getenv("PATH");
    if (strchr(cmd, '/')) snprintf(path, n, "%s", cmd);
    else
        for (path[0] = 0; p && *p; p += strcspn(p, ":") + (p[strcspn(p, ":")] == ':')) {
            snprintf(path, n, "%.*s/%s", (int)strcspn(p, ":"), p, cmd);
            if (access(path, X_OK) == 0) break;
            path[0] = 0;
        }
    struct stat st;
    if (!path[0] || stat(path, &st) != 0) return NULL;
    if ((st.st_mode & (S_ISUID | S_ISGID)) && geteuid() != 0)
        return "it is setuid or setgid: the loader ignores LD_PRELOAD for it";
    FILE *f = fopen(path, "re");
    unsigned char h[64];
    int interp = -1;
    if (f && fread(h, 1, sizeof h, f) == sizeof h && !memcmp(h, "\177ELF", 4) && h[4] == 2) {
        unsigned long long phoff;
        unsigned short phentsize, phnum;
        memcpy(&phoff, h + 32, 8);
        memcpy(&phentsize, h + 54, 2);
        memcpy(&phnum, h + 56, 2);
        interp = 0;
        for (unsigned i = 0; i < phnum && phentsize >= 4; i++) {
            unsigned int type;
            if (fseek(f, (long)(phoff + (unsigned long long)i * phentsize), SEEK_SET) || fread(&type, 4, 1, f) != 1) break;
            if (type == 3) interp = 1;   /* PT_INTERP: dynamically linked */
        }
    }
    if (f) fclose(f);
    if (interp == 0) return "it is statically linked: LD_PRELOAD cannot load the shim into it";
    return NULL;
}

/* Did the shim print its summary, which names the report? (Not when
 * POOLSHIM_SUMMARY kept it quiet, nor when the program closed its stderr
 * before it exited; a report without the field is from before it said.)
 * A report written while the program ran is its last one when it ended
 * without exit handlers: *ran_s is then its time, else -1. */
static int summary_printed(const char *path, double *ran_s)
{
    json_t *j = json_load_file(path, 0, NULL);
    json_t *v = json_object_get(j, "summary_printed");
    int printed = !json_is_false(v);
    const char *why = json_string_value(json_object_get(j, "why"));
    *ran_s = why && !strcmp(why, "running") ? json_number_value(json_object_get(j, "duration_s")) : -1;
    json_decref(j);
    return printed;
}

/* The exe a report names, its base name, or "?". */
static void exe_of(const char *path, char *out, size_t n)
{
    json_t *j = json_load_file(path, 0, NULL);
    const char *e = j ? json_string_value(json_object_get(j, "exe")) : NULL;
    const char *b = e ? strrchr(e, '/') : NULL;
    snprintf(out, n, "%s", b ? b + 1 : e ? e : "?");
    json_decref(j);
}

/* Reports this run produced: poolshim.<pid>.json files in dir written since
 * start. The program's own is named once (the shim's summary names it when
 * it prints one); the children's are counted by program in one line. */
static void list_reports(const char *dir, pid_t child, const struct timespec *start, const char *cmd)
{
    char path[PATH_MAX + 64], first[PATH_MAX + 64] = "";
    snprintf(path, sizeof path, "%s/poolshim.%d.json", dir, (int)child);
    int found = access(path, R_OK) == 0;
    double ran_s = -1;
    if (found && !summary_printed(path, &ran_s))
        fprintf(stderr, "poolshim: report: %s\n", path);
    if (found && ran_s >= 0)
        fprintf(stderr, "poolshim: the program ended without running exit handlers (a raw exit_group, as Go "
                        "programs end; a crash; a kill): the report is the last one written while it ran, at "
                        "%.2f s\n", ran_s);
    DIR *d = opendir(dir);
    struct dirent *e;
    json_t *by_exe = json_object();
    int others = 0;
    while (d && (e = readdir(d))) {
        int pid;
        char tail[8];
        if (sscanf(e->d_name, "poolshim.%d.%7s", &pid, tail) != 2 || strcmp(tail, "json") || pid == (int)child)
            continue;
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (stat(path, &st) == 0 && (st.st_mtim.tv_sec > start->tv_sec ||
            (st.st_mtim.tv_sec == start->tv_sec && st.st_mtim.tv_nsec >= start->tv_nsec))) {
            char exe[256];
            exe_of(path, exe, sizeof exe);
            json_object_set_new(by_exe, exe, json_integer(json_integer_value(json_object_get(by_exe, exe)) + 1));
            if (!others++) snprintf(first, sizeof first, "%s", path);
        }
    }
    if (d) closedir(d);
    if (others == 1) {
        fprintf(stderr, "poolshim: and a report of a child process: %s\n", first);
    } else if (others) {
        char list[600] = "";
        size_t l = 0;
        const char *k;
        json_t *v;
        json_object_foreach(by_exe, k, v)
            if (l < sizeof list - 64)
                l += (size_t)snprintf(list + l, sizeof list - l, "%s%s %lld", l ? ", " : "", k,
                                      (long long)json_integer_value(v));
        fprintf(stderr, "poolshim: and %d reports of child processes (%s) in %s\n", others, list, dir);
    }
    json_decref(by_exe);
    if (!found && !others) {
        char prog[PATH_MAX];
        const char *why = why_no_report(cmd, prog, sizeof prog);
        if (why) fprintf(stderr, "poolshim: no report: %s: %s\n", prog, why);
        else
            fprintf(stderr, "poolshim: no report in %s: the program ended without running exit handlers "
                            "(_exit, e.g. dash), or POOLSHIM_REPORT=off\n", dir);
    }
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
    /* The helpers a script runs (a version manager's readlink, basename)
     * print no summary of their own; list_reports counts them in one line. */
    setenv("POOLSHIM_SUMMARY", "threads", 0);
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
    /* The exec's errno comes back on a close-on-exec pipe: nothing read
     * means the program started. */
    int ep[2];
    if (pipe2(ep, O_CLOEXEC) != 0) {
        fprintf(stderr, "poolshim: run: pipe: %s\n", strerror(errno));
        return 2;
    }
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "poolshim: run: fork: %s\n", strerror(errno));
        return 2;
    }
    if (pid == 0) {
        sigaction(SIGINT, &oint, NULL);
        sigaction(SIGQUIT, &oquit, NULL);
        close(ep[0]);
        execvp(argv[i], argv + i);
        int e = errno;
        if (write(ep[1], &e, sizeof e)) {}
        _exit(e == ENOENT ? 127 : 126);
    }
    close(ep[1]);
    int exec_err = 0;
    ssize_t got;
    while ((got = read(ep[0], &exec_err, sizeof exec_err)) < 0 && errno == EINTR) {}
    close(ep[0]);
    if (got != (ssize_t)sizeof exec_err) exec_err = 0;
    int status;
    if (an_super_wait(pid, &status)) {
        fprintf(stderr, "poolshim: run: waitpid: %s\n", strerror(errno));
        return 2;
    }
    sigaction(SIGINT, &oint, NULL);
    sigaction(SIGQUIT, &oquit, NULL);
    int rc = WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 2;
    if (exec_err) {
        const char *what = exec_err == ENOENT ? (strchr(argv[i], '/') ? "no such file" : "not found in PATH")
                         : exec_err == EACCES ? "not executable (permission denied, or not a regular file)"
                         : exec_err == ENOEXEC ? "not a program this system can run"
                         : strerror(exec_err);
        fprintf(stderr, "poolshim: run: %s: %s\n", argv[i], what);
        return rc;
    }
    list_reports(dir, pid, &start, argv[i]);
    if (WIFSIGNALED(status))
        fprintf(stderr, "poolshim: %s died of signal %d (%s)\n", argv[i], WTERMSIG(status), strsignal(WTERMSIG(status)));
    return rc;
}
