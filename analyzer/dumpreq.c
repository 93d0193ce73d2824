/* dumpreq.c: `poolshim dump PID`: which way a live process is dumped.
 * Not under the shim: by ptrace (ptrace_dump.c). Under the shim: by ptrace
 * too, with the shim's own picture (pools, causes, allocations) asked from the
 * shim's thread alone; --capture signal (or a refused ptrace, in auto) asks the
 * shim for its in-process dump with the dump signal and prints the new file's
 * path. Safety first: a signal is sent only if the process has libpoolshim
 * mapped and catches it (SigCgt in /proc/PID/status), because an uncaught
 * real-time signal would kill it. */
#include "cmd.h"
#include "load.h"
#include "ptrace.h"
#include "../shim/capture/stacks.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Reads a whole /proc file (small); returns length or -1 with errno. */
static ssize_t slurp(const char *path, char *buf, size_t n)
{
    FILE *f = fopen(path, "re");
    if (!f) return -1;
    size_t l = fread(buf, 1, n - 1, f);
    int err = ferror(f);
    fclose(f);
    if (err) { errno = EIO; return -1; }
    buf[l] = 0;
    return (ssize_t)l;
}

/* Value of NAME in the NUL-separated environ block, or NULL. */
static const char *env_get(const char *env, size_t len, const char *name)
{
    size_t nl = strlen(name);
    for (size_t i = 0; i < len; i += strlen(env + i) + 1)
        if (!strncmp(env + i, name, nl) && env[i + nl] == '=') return env + i + nl + 1;
    return NULL;
}

static int maps_has_shim(int pid, int *err)
{
    char path[64], line[4096];
    snprintf(path, sizeof path, "/proc/%d/maps", pid);
    FILE *f = fopen(path, "re");
    if (!f) { *err = errno; return 0; }
    int found = 0;
    while (!found && fgets(line, sizeof line, f)) found = strstr(line, "libpoolshim") != NULL;
    fclose(f);
    *err = 0;
    return found;
}

/* 1 if the process has a handler for sig, 0 if not, -1 if unknown. */
static int catches(int pid, int sig)
{
    char path[64], buf[8192];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    if (slurp(path, buf, sizeof buf) < 0) return -1;
    const char *p = strstr(buf, "SigCgt:");
    if (!p) return -1;
    unsigned long long mask = strtoull(p + 7, NULL, 16);
    return (int)((mask >> (sig - 1)) & 1);
}

struct seen { char **names; long long *mtime_ns; int n; };

static void scan(const char *dir, int pid, struct seen *s)
{
    char prefix[64];
    snprintf(prefix, sizeof prefix, "poolshim.%d.dump.", pid);
    DIR *d = opendir(dir);
    struct dirent *e;
    s->n = 0;
    while (d && (e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (strncmp(e->d_name, prefix, strlen(prefix)) || l < 5 || strcmp(e->d_name + l - 5, ".json")) continue;
        char path[PATH_MAX + 256];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (stat(path, &st)) continue;
        char **nn = realloc(s->names, sizeof *nn * (size_t)(s->n + 1));
        long long *nm = realloc(s->mtime_ns, sizeof *nm * (size_t)(s->n + 1));
        if (nn) s->names = nn;
        if (nm) s->mtime_ns = nm;
        if (!nn || !nm) break;
        s->names[s->n] = strdup(e->d_name);
        s->mtime_ns[s->n++] = st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
    }
    if (d) closedir(d);
}

static void seen_free(struct seen *s)
{
    for (int i = 0; i < s->n; i++) free(s->names[i]);
    free(s->names);
    free(s->mtime_ns);
    memset(s, 0, sizeof *s);
}

/* Where a shimmed process writes its dumps (POOLSHIM_DIR, else its working
 * directory) and its dump signal (*sig if given). 0, or 2 with a message. */
static int shim_target(int pid, int *sig, char *dir, size_t dirlen)
{
    char path[PATH_MAX], env[1 << 16];
    snprintf(path, sizeof path, "/proc/%d/environ", pid);
    ssize_t el = slurp(path, env, sizeof env);
    if (el < 0) el = 0;
    if (!*sig) {
        const char *v = env_get(env, (size_t)el, "POOLSHIM_DUMP_SIGNAL");
        char *end;
        long s = v ? strtol(v, &end, 10) : 0;
        *sig = v && !*end && s >= 1 && s <= 64 ? (int)s : SIGRTMIN + 7;
    }
    const char *d = env_get(env, (size_t)el, "POOLSHIM_DIR");
    char cwd[PATH_MAX];
    snprintf(path, sizeof path, "/proc/%d/cwd", pid);
    ssize_t cl = readlink(path, cwd, sizeof cwd - 1);
    if (cl < 0) cl = 0;
    cwd[cl] = 0;
    if (d && d[0] == '/') snprintf(dir, dirlen, "%s", d);
    else if (d && d[0]) snprintf(dir, dirlen, "%s/%s", cwd, d);
    else if (cl) snprintf(dir, dirlen, "%s", cwd);
    else {
        fprintf(stderr, "poolshim: dump: %d: cannot find its POOLSHIM_DIR nor its working directory\n", pid);
        return 2;
    }
    return 0;
}

/* Waits up to 3 s for a dump of pid in dir that is not in before; its path
 * in out. 0, or 1 with why (the process exited, or no dump came). */
static int wait_new_dump(int pid, const char *dir, struct seen *before, char *out, size_t outlen,
                         char *why, size_t whylen)
{
    struct seen after = { 0 };
    for (int tick = 0; tick < 300; tick++) {   /* 3 s in 10 ms steps */
        struct timespec ts = { 0, 10 * 1000000L };
        nanosleep(&ts, NULL);
        scan(dir, pid, &after);
        for (int i = 0; i < after.n; i++) {
            int old = 0;
            for (int j = 0; j < before->n; j++)
                if (!strcmp(after.names[i], before->names[j]) && after.mtime_ns[i] == before->mtime_ns[j]) old = 1;
            if (!old) {
                snprintf(out, outlen, "%s/%s", dir, after.names[i]);
                seen_free(&after);
                return 0;
            }
        }
        seen_free(&after);
        if (kill(pid, 0) && errno == ESRCH) {
            snprintf(why, whylen, "the process exited before writing a dump");
            return 1;
        }
    }
    snprintf(why, whylen, "no new poolshim.%d.dump.*.json in %s within 3 s "
             "(POOLSHIM_DUMP_MAX reached, or rate-limited by POOLSHIM_DUMP_INTERVAL_S)", pid, dir);
    return 1;
}

/* The shim's in-process dump: the dump signal sent to the process, and the
 * new file's path printed once the shim has written it. */
static int signal_dump(int pid, int sig)
{
    char dir[2 * PATH_MAX + 2], out[4 * PATH_MAX], why[PATH_MAX + 200];
    if (shim_target(pid, &sig, dir, sizeof dir)) return 2;
    int c = catches(pid, sig);
    if (c == 0) {
        fprintf(stderr, "poolshim: dump: %d: does not catch signal %d, not sent (it would kill the process; "
                        "does this libpoolshim support dumps? wrong --signal?)\n", pid, sig);
        return 1;
    }
    struct seen before = { 0 };
    scan(dir, pid, &before);
    if (kill(pid, sig)) {
        fprintf(stderr, "poolshim: dump: %d: cannot signal: %s\n", pid, strerror(errno));
        seen_free(&before);
        return 2;
    }
    int rc = wait_new_dump(pid, dir, &before, out, sizeof out, why, sizeof why);
    seen_free(&before);
    if (rc) {
        fprintf(stderr, "poolshim: dump: %d: %s\n", pid, why);
        return 1;
    }
    printf("%s\n", out);
    return fflush(stdout) ? 1 : 0;
}

/* The shim's thread ("poolshim" in comm), or 0. */
static int agent_tid(int pid)
{
    char path[64], comm[32];
    snprintf(path, sizeof path, "/proc/%d/task", pid);
    DIR *d = opendir(path);
    struct dirent *e;
    int found = 0;
    while (d && !found && (e = readdir(d))) {
        int tid = atoi(e->d_name);
        if (tid <= 0) continue;
        snprintf(path, sizeof path, "/proc/%d/task/%d/comm", pid, tid);
        if (slurp(path, comm, sizeof comm) > 0 && !strcmp(comm, "poolshim\n")) found = tid;
    }
    if (d) closedir(d);
    return found;
}

struct picture_req {
    int pid;
    int sig, agent;
    char dir[2 * PATH_MAX + 2];
    struct seen before;       /* the shim's dumps before the request */
    char why[300];            /* set when no picture can come */
};

/* Everything the request needs, found before any thread is stopped. */
static void picture_prepare(int pid, struct picture_req *r)
{
    r->agent = agent_tid(pid);
    if (!r->agent)
        snprintf(r->why, sizeof r->why, "the shim's thread (\"poolshim\") was not found");
    else if (shim_target(pid, &r->sig, r->dir, sizeof r->dir))
        snprintf(r->why, sizeof r->why, "cannot find where the shim writes its dumps");
    else if (catches(pid, r->sig) != 1)
        snprintf(r->why, sizeof r->why, "the process does not catch signal %d: not sent", r->sig);
    else
        scan(r->dir, pid, &r->before);
}

/* Asks the shim's thread alone for its picture (no thread of the program is
 * signalled). Called with every thread stopped: one system call, no wait. */
static void picture_request(void *arg)
{
    struct picture_req *r = arg;
    if (r->why[0]) return;
    siginfo_t si;
    memset(&si, 0, sizeof si);
    si.si_signo = r->sig;
    si.si_code = SI_QUEUE;
    si.si_pid = getpid();
    si.si_uid = getuid();
    si.si_value.sival_ptr = (void *)(uintptr_t)PS_DUMP_PICTURE_COOKIE;
    if (syscall(SYS_rt_tgsigqueueinfo, r->pid, r->agent, r->sig, &si))
        snprintf(r->why, sizeof r->why, "cannot signal the shim's thread: %s", strerror(errno));
}

/* Waits for the dump the shim writes and loads it. */
static json_t *picture_get(int pid, void *arg, char *path, size_t pathlen, char *why, size_t whylen)
{
    struct picture_req *r = arg;
    if (r->why[0]) {
        snprintf(why, whylen, "%s", r->why);
        return NULL;
    }
    if (wait_new_dump(pid, r->dir, &r->before, path, pathlen, why, whylen)) return NULL;
    struct an_doc doc;
    char msg[256];
    if (an_load(path, AN_DUMP, &doc, msg, sizeof msg)) {
        snprintf(why, whylen, "%s: %s", path, msg);
        return NULL;
    }
    return doc.root;
}

/* `poolshim run`'s own PID is not the program's: the program is its child.
 * 0 (pid is not poolshim run), or the one child's PID; -1 with a message
 * when it has none or several. */
static int run_child(int pid)
{
    char path[64], buf[256], exe[PATH_MAX];
    snprintf(path, sizeof path, "/proc/%d/cmdline", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
    if (fd >= 0) close(fd);
    if (n <= 0) return 0;
    buf[n] = 0;
    const char *a0 = strrchr(buf, '/') ? strrchr(buf, '/') + 1 : buf;
    size_t l0 = strlen(buf);
    if (strcmp(a0, "poolshim") || (size_t)n <= l0 + 1 || strcmp(buf + l0 + 1, "run")) return 0;
    snprintf(path, sizeof path, "/proc/%d/exe", pid);
    ssize_t el = readlink(path, exe, sizeof exe - 1);
    exe[el > 0 ? el : 0] = 0;
    if (el > 0 && strcmp(strrchr(exe, '/') ? strrchr(exe, '/') + 1 : exe, "poolshim")) return 0;
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", pid, pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
    if (fd >= 0) close(fd);
    buf[n > 0 ? n : 0] = 0;
    int kids[8], k = 0;
    for (char *p = buf, *end; k < 8; p = end) {
        long v = strtol(p, &end, 10);
        if (end == p) break;
        kids[k++] = (int)v;
    }
    if (k == 1) {
        char comm[64] = "?";
        snprintf(path, sizeof path, "/proc/%d/comm", kids[0]);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        n = fd >= 0 ? read(fd, comm, sizeof comm - 1) : -1;
        if (fd >= 0) close(fd);
        comm[n > 0 ? n : 1] = 0;
        comm[strcspn(comm, "\n")] = 0;
        fprintf(stderr, "poolshim: dump: %d is `poolshim run`; dumping the program it runs, %d (%s)\n", pid, kids[0],
                comm);
        return kids[0];
    }
    if (k == 0)
        fprintf(stderr, "poolshim: dump: %d is `poolshim run`, and its program is not running\n", pid);
    else
        fprintf(stderr, "poolshim: dump: %d is `poolshim run` with %d child processes (%s): give one of them\n", pid,
                k, buf[0] ? strtok(buf, "\n") : "");
    return -1;
}

int cmd_dump(int argc, char **argv)
{
    int sig = 0, pid = 0, json = 0;
    const char *dir = ".", *how = "auto";
    for (int i = 1; i < argc; i++) {
        char *end;
        if (!strcmp(argv[i], "--signal") && i + 1 < argc) {
            long v = strtol(argv[++i], &end, 10);
            /* only a signal the shim may use (config.c): --signal 15 would stop the program */
            if (*end || v < SIGRTMIN || v > SIGRTMAX) {
                fprintf(stderr, "poolshim: dump: --signal %s: expected a real-time signal %d..%d (SIGRTMIN..SIGRTMAX)\n",
                        argv[i], SIGRTMIN, SIGRTMAX);
                return 2;
            }
            sig = (int)v;
        } else if (!strcmp(argv[i], "--dir") && i + 1 < argc) {
            dir = argv[++i];
        } else if (!strcmp(argv[i], "--capture") && i + 1 < argc) {
            how = argv[++i];
            if (strcmp(how, "auto") && strcmp(how, "ptrace") && strcmp(how, "signal")) {
                fprintf(stderr, "poolshim: dump: --capture %s: expected auto, ptrace or signal\n", how);
                return 2;
            }
        } else if (!strcmp(argv[i], "--json")) {
            json = 1;
        } else {
            long v = strtol(argv[i], &end, 10);
            if (*end || v <= 0 || v > INT_MAX || pid) {
                fprintf(stderr, "poolshim: dump: %s: expected one PID (usage: poolshim dump [--dir D] [--json] "
                                "[--capture auto|ptrace|signal] [--signal N] PID)\n", argv[i]);
                return 2;
            }
            pid = (int)v;
        }
    }
    if (!pid) {
        fprintf(stderr, "poolshim: dump: give the PID of the process to dump\n");
        return 2;
    }
    struct stat st;
    if (stat(dir, &st) || !S_ISDIR(st.st_mode) || access(dir, W_OK)) {
        fprintf(stderr, "poolshim: dump: --dir %s: not a writable directory\n", dir);
        return 2;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/%d", pid);
    if (access(path, F_OK)) {
        fprintf(stderr, "poolshim: dump: %d: no such process\n", pid);
        return 2;
    }
    int child = run_child(pid);
    if (child < 0) return 2;
    if (child) pid = child;
    int err, shim = maps_has_shim(pid, &err);
    if (!shim && !strcmp(how, "signal")) {
        if (err) fprintf(stderr, "poolshim: dump: %d: cannot read its memory map: %s\n", pid, strerror(err));
        else fprintf(stderr, "poolshim: dump: %d: not running under the shim (no libpoolshim in /proc/%d/maps): "
                             "only --capture ptrace can dump it\n", pid, pid);
        return 2;
    }
    if (shim && !strcmp(how, "signal")) return signal_dump(pid, sig);
    if (!shim) return pt_dump(pid, dir, NULL, json, NULL, 0);
    /* Under the shim: ptrace for the instant, the shim's picture for the rest;
     * where ptrace is refused, auto falls back to the shim's own capture. */
    static struct picture_req req;
    req.pid = pid;
    req.sig = sig;
    picture_prepare(pid, &req);
    struct pt_picture pic = { picture_request, picture_get, &req, NULL, 0 };
    char refusal[512];
    int rc = pt_dump(pid, dir, &pic, json, strcmp(how, "auto") ? NULL : refusal, sizeof refusal);
    seen_free(&req.before);
    if (rc >= 0) return rc;
    fprintf(stderr, "poolshim: dump: %d: ptrace refused (%s): the shim's in-process capture instead\n", pid, refusal);
    return signal_dump(pid, sig);
}
