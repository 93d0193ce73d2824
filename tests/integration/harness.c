/* harness.c: see harness.h. Uses posix_spawn so the test runner itself is never
 * preloaded; output goes through files in the run's directory. */
#include "harness.h"
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

extern char **environ;

const char *ps_build_path(const char *rel)
{
    static char buf[4][512];
    static int k;
    const char *b = getenv("POOLSHIM_BUILD");
    char *out = buf[k++ & 3];
    snprintf(out, 512, "%s/%s", b ? b : "build", rel);
    return out;
}

char *ps_slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return strdup("");
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    size_t got = fread(s, 1, (size_t)n, f);
    s[got] = 0;
    fclose(f);
    return s;
}

char *ps_profile(json_t *report)
{
    const char *path = ps_str(json_object_get(report, "controller"), "profile");
    if (!path || !*path || access(path, R_OK))
        return NULL;
    return ps_slurp(path);
}

pid_t ps_spawn(char *const argv[], char *const env[], int preload, const char *outdir, const char *shimdir,
               const char *cwd)
{
    /* environment: ours minus POOLSHIM_ and LD_PRELOAD, plus the run's */
    size_t n = 0;
    while (environ[n])
        n++;
    size_t extra = 0;
    while (env && env[extra])
        extra++;
    char **e = calloc(n + extra + 4, sizeof *e);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "POOLSHIM_", 9) && strncmp(environ[i], "LD_PRELOAD=", 11))
            e[k++] = environ[i];
    char pre[600], dir[600];
    snprintf(pre, sizeof pre, "LD_PRELOAD=%s", ps_build_path("libpoolshim.so"));
    snprintf(dir, sizeof dir, "POOLSHIM_DIR=%s", shimdir ? shimdir : outdir);
    if (preload)
        e[k++] = pre;
    e[k++] = dir;
    for (size_t i = 0; i < extra; i++)
        e[k++] = env[i];
    e[k] = NULL;

    char outp[600], errp[600];
    snprintf(outp, sizeof outp, "%s/stdout", outdir);
    snprintf(errp, sizeof errp, "%s/stderr", outdir);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, outp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, errp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (cwd)
        posix_spawn_file_actions_addchdir_np(&fa, cwd);
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, e);
    posix_spawn_file_actions_destroy(&fa);
    free(e);
    if (rc) {
        errno = rc;
        return -1;
    }
    return pid;
}

int ps_run_ex(struct ps_run *r, char *const argv[], char *const env[], int preload, int timeout_s)
{
    memset(r, 0, sizeof *r);
    snprintf(r->dir, sizeof r->dir, "/tmp/poolshim-test.XXXXXX");
    if (!mkdtemp(r->dir))
        return -1;
    pid_t pid = ps_spawn(argv, env, preload, r->dir, NULL, NULL);
    if (pid < 0)
        return -1;
    r->pid = pid;
    int st = 0;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid)
            break;
        struct timespec t1;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (t1.tv_sec - t0.tv_sec > timeout_s) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            r->status = -1;
            goto collected;
        }
        usleep(10000);
    }
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
collected:;
    char outp[300], errp[300];
    snprintf(outp, sizeof outp, "%s/stdout", r->dir);
    snprintf(errp, sizeof errp, "%s/stderr", r->dir);
    r->out = ps_slurp(outp);
    r->err = ps_slurp(errp);
    char rep[400];
    snprintf(rep, sizeof rep, "%s/poolshim.%d.json", r->dir, pid);
    r->report = json_load_file(rep, 0, NULL);
    char *nl = strchr(r->out, '\n');
    if (r->out[0] == '{') {
        char save = 0;
        if (nl) {
            save = *nl;
            *nl = 0;
        }
        r->truth = json_loads(r->out, 0, NULL);
        if (nl)
            *nl = save;
    }
    return 0;
}

int ps_run(struct ps_run *r, char *const argv[], char *const env[])
{
    return ps_run_ex(r, argv, env, 1, 120);
}

void ps_run_free(struct ps_run *r)
{
    free(r->out);
    free(r->err);
    json_decref(r->report);
    json_decref(r->truth);
    if (r->dir[0])
        ps_rmdir(r->dir);
    memset(r, 0, sizeof *r);
}

/* With PS_TEST_FILES set (scripts/test.sh), every report and dump a
 * test leaves is kept there, one folder per test directory, so that
 * tests/scripts/schema.sh validates all of them against docs/schema/. */
void ps_rmdir(const char *dir)
{
    char cmd[1400];
    const char *keep = getenv("PS_TEST_FILES");
    if (keep && keep[0] && !strchr(dir, '\'') && !strchr(keep, '\'')) {
        const char *leaf = strrchr(dir, '/');
        snprintf(cmd, sizeof cmd,
                 "set -- '%s'/poolshim.*.json; [ -e \"$1\" ] || exit 0; "
                 "mkdir -p '%s/%s' && cp -p \"$@\" '%s/%s/'",
                 dir, keep, leaf ? leaf + 1 : dir, keep, leaf ? leaf + 1 : dir);
        if (system(cmd)) {}
    }
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd)) {}
}

/* The report's first pool whose string key is value, or NULL. */
static json_t *pool_by(json_t *report, const char *key, const char *value)
{
    json_t *pools = json_object_get(report, "pools"), *p;
    size_t i;
    json_array_foreach(pools, i, p) {
        const char *s = json_string_value(json_object_get(p, key));
        if (s && !strcmp(s, value))
            return p;
    }
    return NULL;
}

json_t *ps_pool_by_routine(json_t *report, const char *routine)
{
    return pool_by(report, "start_routine", routine);
}

json_t *ps_pool_by_name(json_t *report, const char *name)
{
    return pool_by(report, "name", name);
}

static json_t *at(json_t *obj, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    json_t *cur = obj;
    for (char *tok = strtok(buf, "."); tok && cur; tok = strtok(NULL, "."))
        cur = json_object_get(cur, tok);
    return cur;
}

double ps_num(json_t *obj, const char *path)
{
    json_t *v = at(obj, path);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

const char *ps_str(json_t *obj, const char *path)
{
    return json_string_value(at(obj, path));
}

json_t *ps_load_file(struct ps_run *r, const char *prefix)
{
    DIR *d = opendir(r->dir);
    if (!d)
        return NULL;
    struct dirent *de;
    json_t *j = NULL;
    while (!j && (de = readdir(d))) {
        if (strncmp(de->d_name, prefix, strlen(prefix)))
            continue;
        char p[600];
        snprintf(p, sizeof p, "%s/%s", r->dir, de->d_name);
        j = json_load_file(p, 0, NULL);
    }
    closedir(d);
    return j;
}

int ps_near(double got, double want, double tol)
{
    return fabs(got - want) <= tol * fabs(want);
}

long ps_make_text(const char *path, long bytes)
{
    static const char *const words[] = { "alpha", "beta", "gamma", "delta", "pool", "thread", "lock",
                                         "wait", "cpu", "io" };
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    unsigned long x = 1;
    long n = 0;
    while (n < bytes) {
        x = x * 6364136223846793005ul + 1442695040888963407ul;
        n += fprintf(f, "%s%lu%c", words[(x >> 33) % 10], (x >> 40) % 1000, (x >> 20) % 12 ? ' ' : '\n');
    }
    return fclose(f) == 0 ? n : -1;
}

json_t *ps_pool_with_threads(json_t *report, int n)
{
    json_t *p = NULL, *q;
    size_t i;
    json_array_foreach(json_object_get(report, "pools"), i, q)
        if (ps_num(q, "threads") == n)
            p = q;
    return p;
}

static double children_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6;
}

int ps_run_cpu(struct ps_run *r, char *const argv[], char *const env[], double *cpu_s)
{
    double cpu0 = children_cpu_s();
    int rc = ps_run(r, argv, env);
    *cpu_s = children_cpu_s() - cpu0;
    return rc;
}

double ps_threads_cpu(json_t *report)
{
    double sum = 0;
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(report, "threads"), i, t)
        sum += ps_num(t, "cpu_s");
    return sum;
}
