/* expand.c: more workers for a pool the user declared safe to grow.
 * Runs on the agent only. A new worker is started the way the program started
 * an existing one: same start routine and argument (kept in the thread record
 * by our pthread_create), the same thread name (a thread inherits its
 * creator's name, so the agent wears the worker's name for the duration of
 * pthread_create: the new thread lands in the same pool at its first
 * instruction) and the worker's signal mask (read from /proc: the agent
 * blocks every signal and must not hand that to the host's threads). New
 * workers are detached: the program does not know them and will never join
 * them; they leave the way its own workers do (its stop flag, its broadcast).
 * Why only on request: starting a routine a second time with the same
 * argument is only correct if the worker loop is written for any number of
 * workers sharing that argument, and if the program waits for its tasks rather
 * than for its workers; the shim cannot prove either. */
#include "expand.h"
#include "agent.h"
#include "config.h"
#include "file.h"
#include "log.h"
#include "pool.h"
#include "symbol.h"
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

static signed char allowed[PS_MAX_POOLS];     /* 0 unknown, 1 yes, -1 no */
static int trampoline_logged;
static int added[PS_MAX_POOLS];

void ps_expand_reset(void)
{
    memset(allowed, 0, sizeof allowed);
    memset(added, 0, sizeof added);
}

int ps_expand_allowed(int pi)
{
    if (!allowed[pi]) {
        char name[160];
        allowed[pi] = -1;
        if (ps_cfg.expand[0] && ps_pools[pi].routine) {
            ps_symbol_func(ps_pools[pi].routine, name, sizeof name);
            /* A trampoline (entry.h) usually frees its argument (CPython's
             * pythread_wrapper does): started again with it, a new worker
             * would read freed memory. */
            if (!strcmp(name, ps_cfg.expand) && ps_pools[pi].entry)
                ps_log_once(&trampoline_logged, "POOLSHIM_EXPAND=%s: that routine starts its threads' real "
                            "function from an argument it owns; not starting more of them", name);
            else if (!strcmp(name, ps_cfg.expand))
                allowed[pi] = 1;
        }
    }
    return allowed[pi] > 0;
}

int ps_expand_added(int pi)
{
    return added[pi];
}

static struct ps_thread *template_of(int pi)
{
    int hwm = ps_thread_hwm();
    for (int i = 0; i < hwm; i++) {
        struct ps_thread *t = &ps_threads[i];
        if (__atomic_load_n(&t->state, __ATOMIC_ACQUIRE) == PS_T_LIVE && t->pool == pi && t->via_create &&
            !t->ignore && t->routine == ps_pools[pi].routine && t->tid > 0)
            return t;
    }
    return NULL;
}

/* The thread's blocked signals, from /proc/self/task/TID/status (SigBlk). */
static int sigmask_of(int tid, sigset_t *set)
{
    char path[64], buf[2048];
    ps_fmt(path, sizeof path, "/proc/self/task/%d/status", tid);
    if (ps_file_read_small(path, buf, sizeof buf) <= 0)
        return -1;
    char *p = strstr(buf, "SigBlk:");
    if (!p)
        return -1;
    unsigned long long bits = strtoull(p + 7, NULL, 16);
    sigemptyset(set);
    for (int s = 1; s <= 64; s++)
        if (bits & (1ull << (s - 1)))
            sigaddset(set, s);
    return 0;
}

int ps_expand_start(int pi, int n)
{
    static int fail_logged;
    struct ps_thread *tp = template_of(pi);
    if (!tp || n <= 0)
        return 0;
    void *(*fn)(void *) = (void *(*)(void *))tp->routine;
    void *arg = tp->start_arg;
    char name[PS_NAME_LEN], mine[PS_NAME_LEN] = "poolshim";
    memcpy(name, tp->name, PS_NAME_LEN);
    name[PS_NAME_LEN - 1] = 0;
    sigset_t mask;
    if (sigmask_of(tp->tid, &mask))
        return 0;                          /* the template just exited: next time */
    pthread_attr_t attr;
    if (pthread_attr_init(&attr))
        return 0;
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setsigmask_np(&attr, &mask);
    prctl(PR_GET_NAME, mine, 0, 0, 0);
    prctl(PR_SET_NAME, name, 0, 0, 0);
    int started = 0;
    for (; started < n; started++) {
        pthread_t th;
        int r = pthread_create(&th, &attr, fn, arg);    /* our wrapper: the new worker gets a record */
        if (r) {
            ps_log_once(&fail_logged, "cannot start a worker for pool %d (error %d): pool not grown", pi, r);
            break;
        }
    }
    prctl(PR_SET_NAME, mine, 0, 0, 0);
    pthread_attr_destroy(&attr);
    added[pi] += started;
    return started;
}

static const char *base(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

int ps_expand_knob(int pi, int size, char *what, size_t wcap, char *line, size_t lcap)
{
    struct ps_sym s;
    char exe[256] = "";
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = 0;
    const char *mod = "", *fn = "";
    if (ps_pools[pi].routine && !ps_symbolize(ps_pools[pi].routine, &s)) {
        mod = base(s.module);
        fn = s.name;
    }
    if (strstr(mod, "libgomp")) {
        ps_fmt(what, wcap, "libgomp (OpenMP)");
        ps_fmt(line, lcap, "export OMP_NUM_THREADS=%d", size);
        return 1;
    }
    if (strstr(mod, "libuv")) {
        ps_fmt(what, wcap, "libuv");
        ps_fmt(line, lcap, "export UV_THREADPOOL_SIZE=%d", size);
        return 1;
    }
    if (!strcmp(fn, "pythread_wrapper") || strstr(mod, "libpython") || !strncmp(base(exe), "python", 6)) {
        ps_fmt(what, wcap, "CPython threads");
        ps_fmt(line, lcap, "# CPython: ThreadPoolExecutor(max_workers=%d) (no environment variable sets it)", size);
        return 0;
    }
    if (!strcmp(base(exe), "pigz")) {
        ps_fmt(what, wcap, "pigz");
        ps_fmt(line, lcap, "# pigz: run it as pigz -p %d", size);
        return 0;
    }
    ps_fmt(what, wcap, "%s", base(exe));
    ps_fmt(line, lcap, "# %s, pool %s: %d threads (set it with the program's own option)", base(exe),
           fn[0] ? fn : "(unknown routine)", size);
    return 0;
}
