/* dumpkit.h: helpers for the dump tests: finding dump files in a run's
 * directory, looking threads and frames up in a dump, and waiting on a fixture
 * started with ps_spawn while the test sends it signals (ps_run waits for the
 * exit, too late for that). */
#ifndef PS_DUMPKIT_H
#define PS_DUMPKIT_H
#include "harness.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Number of poolshim.*.dump.*.json files in dir. */
static inline int dk_count_dumps(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *de;
    while (d && (de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (!strncmp(de->d_name, "poolshim.", 9) && strstr(de->d_name, ".dump.") && l > 5 &&
            !strcmp(de->d_name + l - 5, ".json"))
            n++;
    }
    if (d)
        closedir(d);
    return n;
}

/* Dump number n of pid in dir, or NULL. */
static inline json_t *dk_load_dump(const char *dir, int pid, int n)
{
    char p[512];
    snprintf(p, sizeof p, "%s/poolshim.%d.dump.%d.json", dir, pid, n);
    return json_load_file(p, 0, NULL);
}

static inline json_t *dk_thread(json_t *dump, int tid)
{
    json_t *t;
    size_t i;
    json_array_foreach(json_object_get(dump, "threads"), i, t)
        if (json_integer_value(json_object_get(t, "tid")) == tid)
            return t;
    return NULL;
}

/* Does any frame of stack (an array of {symbol}) name sym? */
static inline int dk_stack_has(json_t *stack, const char *sym)
{
    json_t *f;
    size_t i;
    json_array_foreach(stack, i, f) {
        const char *s = json_string_value(json_object_get(f, "symbol"));
        if (s && !strcmp(s, sym))
            return 1;
    }
    return 0;
}

/* Is thread tid of pid asleep with no signal blocked: started, and past the
 * start-up in which a new thread runs with every signal blocked (a dump's
 * signal then finds it blocked_signal, and it is not unwound)? */
static inline int dk_settled(pid_t pid, const char *tid)
{
    char f[300], buf[2048];
    snprintf(f, sizeof f, "/proc/%d/task/%s/status", (int)pid, tid);
    FILE *fp = fopen(f, "r");
    if (!fp)
        return 0;
    size_t k = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    buf[k] = 0;
    return strstr(buf, "State:\tS") && strstr(buf, "SigBlk:\t0000000000000000");
}

/* Threads of process pid (entries of /proc/PID/task), or only the settled
 * ones (dk_settled). */
static inline int dk_count_threads(pid_t pid, int settled)
{
    char p[64];
    snprintf(p, sizeof p, "/proc/%d/task", (int)pid);
    DIR *d = opendir(p);
    int n = 0;
    struct dirent *de;
    while (d && (de = readdir(d)))
        n += de->d_name[0] != '.' && (!settled || dk_settled(pid, de->d_name));
    if (d)
        closedir(d);
    return n;
}

static inline int dk_live_threads(pid_t pid)
{
    return dk_count_threads(pid, 0);
}

static inline double dk_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Starts argv under the shim with POOLSHIM_DIR=shimdir (+ env), in directory
 * cwd; stdout/stderr go to dir/stdout, dir/stderr. Returns the pid or -1. */
static inline pid_t dk_spawn_in(char *const argv[], const char *dir, const char *shimdir, const char *cwd,
                                char *const env[])
{
    return ps_spawn(argv, env, 1, dir, shimdir, cwd ? cwd : dir);
}

static inline pid_t dk_spawn(char *const argv[], const char *dir, char *const env[])
{
    return dk_spawn_in(argv, dir, dir, NULL, env);
}

/* Exit status (128+sig if killed), or -1 after timeout_s (then killed). */
static inline int dk_wait(pid_t pid, double timeout_s)
{
    double end = dk_now() + timeout_s;
    int st;
    while (dk_now() < end) {
        if (waitpid(pid, &st, WNOHANG) == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        usleep(5000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return -1;
}

/* Waits until dir holds at least n dumps; returns the seconds it took or -1. */
static inline double dk_wait_dumps(const char *dir, int n, double timeout_s)
{
    double t0 = dk_now();
    while (dk_now() - t0 < timeout_s) {
        if (dk_count_dumps(dir) >= n)
            return dk_now() - t0;
        usleep(5000);
    }
    return -1;
}

/* Reads dir/name into a malloc'ed string ("" if absent). */
static inline char *dk_slurp(const char *dir, const char *name)
{
    char p[1024];
    if (snprintf(p, sizeof p, "%s/%s", dir, name) >= (int)sizeof p)
        return ps_slurp("");   /* no such path: "" */
    return ps_slurp(p);
}

#ifdef cr_assert
/* Runs argv under the shim with env, asserts a normal exit and a first dump;
 * returns the dump (json_decref it, then ps_run_free). */
static inline json_t *dk_run_for_dump(struct ps_run *r, char *const argv[], char *const env[])
{
    cr_assert_eq(ps_run_ex(r, argv, env, 1, 20), 0);
    cr_assert_eq(r->status, 0, "exit %d: %s", r->status, r->err);
    json_t *d = dk_load_dump(r->dir, r->pid, 0);
    cr_assert_not_null(d, "no dump; stderr: %s", r->err);
    return d;
}
#endif

static inline void dk_rmdir(const char *dir)
{
    ps_rmdir(dir);
}

/* Counts occurrences of needle in hay. */
static inline int dk_count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}
#endif
