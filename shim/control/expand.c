/* expand.c: more workers for a pool the user declared safe to grow.
 * Runs on the agent only (and at exit, for the report). A new worker is
 * started the way the program started an existing one: same start routine
 * and argument (kept in the thread record by our pthread_create), the same
 * stack and guard sizes, the same thread name (a thread inherits its
 * creator's name, so the agent wears the worker's name for the duration of
 * pthread_create: the new thread lands in the same pool at its first
 * instruction) and the worker's signal mask (read from /proc: the agent
 * blocks every signal and must not hand that to the host's threads). New
 * workers are detached: the program does not know them and will never join
 * them; they leave the way its own workers do (its stop flag, its broadcast).
 *
 * Naming a routine in POOLSHIM_EXPAND is a request, not a licence: whatever
 * is named, a pool is grown only when all of these hold (an allowlist: what
 * is not shown safe is refused, with one line saying why):
 *  - the routine is not a trampoline (entry.h): those own their argument and
 *    usually free it (CPython's pythread_wrapper, GLib's g_thread_proxy);
 *  - its object does not implement a runtime whose pools are sized once and
 *    whose workers take start-up state from their creator: the object exports
 *    that runtime's API (libuv's worker posts a semaphore on its creator's
 *    stack; libgomp's start data is alloca'd by the team's master);
 *  - the start argument is NULL or lies in a writable segment of a loaded
 *    object (a global): never a thread's stack, never the heap, whose owner
 *    may have reused or freed it since the first start;
 *  - the worker's stack was not given by the program (a second thread on
 *    it would corrupt both).
 * Even then, starting a routine again is only correct if its loop is written
 * for any number of workers and the program waits for its tasks rather than
 * for its workers; the shim cannot prove that, hence only on request. */
#include "expand.h"
#include "config.h"
#include "file.h"
#include "log.h"
#include "modules.h"
#include "pool.h"
#include "poolname.h"
#include "symbol.h"
#include <dlfcn.h>
#include <link.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#define REFUSAL_LEN 200

static signed char named[PS_MAX_POOLS];       /* routine or entry is POOLSHIM_EXPAND: 0 unknown, 1, -1 */
static signed char allowed[PS_MAX_POOLS];     /* 0 unknown, 1 yes, -1 refused */
static char refusal[PS_MAX_POOLS][REFUSAL_LEN];
static int added[PS_MAX_POOLS];
static int none_logged;

void ps_expand_reset(void)
{
    memset(named, 0, sizeof named);
    memset(allowed, 0, sizeof allowed);
    memset(refusal, 0, sizeof refusal);
    memset(added, 0, sizeof added);
}

int ps_expand_added(int pi)
{
    return added[pi];
}

/* Runtimes whose worker routines must never be started by us, known by an
 * API function their object exports (the routine's own object, so a program
 * that merely links the runtime is not mistaken for it). */
static const struct {
    const char *symbol, *runtime;
} fixed_pools[] = {
    { "uv_queue_work", "libuv" },                 /* libuv.so, or bundled in node */
    { "GOMP_parallel", "libgomp (OpenMP)" },
    { "PyThread_start_new_thread", "CPython" },   /* libpython, or a static python3 */
    { "g_thread_pool_new", "GLib" },
    { "x_cgo_init", "Go" },                       /* a Go program built with cgo: its runtime's threads */
    { "TBB_runtime_interface_version", "oneTBB" }, /* libtbb.so.12: its other exports are C++ */
    /* OpenBLAS built on pthreads (libopenblas0-pthread: numpy, R); its
     * OpenMP build's threads are libgomp's */
    { "openblas_set_num_threads", "OpenBLAS" },
    /* libvips runs its workers on a GThreadPool (8.14) or GLib threads of
     * its own set (8.15): the routine is GLib's, the entry libvips's */
    { "vips_concurrency_set", "libvips" },
    /* x265's thread pool and frame encoders, one start routine
     * (x265::Thread's), in x265 or in ffmpeg's libx265 encoder */
    { "x265_param_parse", "x265" },
    /* htslib's thread pool (samtools, bcftools, bgzip; libhts or built in) */
    { "hts_tpool_init", "htslib" },
};

/* The runtime the object holding routine implements, or NULL. */
static const char *runtime_of(void *routine)
{
    Dl_info info;
    struct link_map *lm = NULL;
    const char *rt = NULL;
    if (!dladdr1(routine, &info, (void **)&lm, RTLD_DL_LINKMAP) || !lm)
        return NULL;
    /* A handle from dlopen (a link map of a dependency is not one: dlsym on
     * it crashed). NOLOAD: only an object already there; the program's own
     * is the handle of dlopen(NULL), whose lookups start with it. */
    void *h = dlopen(NULL, RTLD_LAZY | RTLD_NOLOAD);
    if (h != (void *)lm) {
        if (h)
            dlclose(h);
        h = info.dli_fname && info.dli_fname[0] ? dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD) : NULL;
    }
    if (!h)
        return NULL;
    for (size_t k = 0; k < sizeof fixed_pools / sizeof fixed_pools[0] && !rt; k++) {
        Dl_info at;
        void *f = dlsym(h, fixed_pools[k].symbol);
        if (f && dladdr(f, &at) && at.dli_fbase == info.dli_fbase)
            rt = fixed_pools[k].runtime;
    }
    dlclose(h);
    return rt;
}

/* The runtime pool pi's routine (entry 0) or trampoline's entry (entry 1)
 * belongs to (runtime_of), looked up once per pool: the expansion allowlist,
 * the profile's knob and the sampler (each libgomp futex it catches) ask.
 * NULL: none, or a pool with no such function yet (a thread only found),
 * looked up again later. Agent thread, or at exit. */
static const char *pool_runtime_of(int pi, int entry)
{
    static signed char known[2][PS_MAX_POOLS];   /* 0 not looked up, 1 + fixed_pools index, -1 none */
    if (pi < 0 || pi >= PS_MAX_POOLS)
        return NULL;
    signed char *k = &known[entry][pi];
    if (!*k) {
        void *r = entry ? ps_pools[pi].entry : ps_pools[pi].routine;
        if (!r)
            return NULL;
        const char *rt = runtime_of(r);
        *k = -1;
        for (size_t i = 0; rt && i < sizeof fixed_pools / sizeof fixed_pools[0]; i++)
            if (fixed_pools[i].runtime == rt)
                *k = (signed char)(i + 1);
    }
    return *k > 0 ? fixed_pools[*k - 1].runtime : NULL;
}

static const char *pool_runtime(int pi)
{
    return pool_runtime_of(pi, 0);
}

static int runtime_is(int pi, const char *name)
{
    const char *rt = pool_runtime(pi);
    return rt && !strcmp(rt, name);
}

int ps_expand_is_gomp(int pi)
{
    return runtime_is(pi, "libgomp (OpenMP)");
}

int ps_expand_is_go(int pi)
{
    return runtime_is(pi, "Go");
}

int ps_expand_is_team(int pi)
{
    return runtime_is(pi, "libgomp (OpenMP)") || runtime_is(pi, "oneTBB") || runtime_is(pi, "OpenBLAS");
}

static int in_writable_segment_cb(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    uintptr_t a = *(uintptr_t *)data;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_W) && a >= lo && a < lo + ph->p_memsz)
            return 1;
    }
    return 0;
}

/* arg is a loaded object's global data (.data, .bss: memory that lives as
 * long as the object), as opposed to a stack or the heap. */
static int arg_is_global(void *arg)
{
    uintptr_t a = (uintptr_t)arg;
    return !arg || ps_modules_walk(in_writable_segment_cb, &a) == 1;
}

static int template_ok(const struct ps_thread *t)
{
    return !t->user_stack && arg_is_global(t->start_arg);
}

/* A live worker of pool pi started through our pthread_create; with `ok`,
 * one that may be started again. With `judge`, an exited one will do: its
 * record keeps how it was started (a short run may end before the controller
 * judged the pool). */
static struct ps_thread *template_of(int pi, int ok, int judge)
{
    int hwm = ps_thread_hwm();
    for (int i = 0; i < hwm; i++) {
        struct ps_thread *t = &ps_threads[i];
        int st = __atomic_load_n(&t->state, __ATOMIC_ACQUIRE);
        if ((st == PS_T_LIVE || (judge && st == PS_T_EXITED)) && t->pool == pi && t->via_create && !t->ignore &&
            t->routine == ps_pools[pi].routine && t->tid > 0 && (!ok || template_ok(t)))
            return t;
    }
    return NULL;
}

static int is_named(int pi)
{
    if (!named[pi]) {
        named[pi] = ps_cfg.expand[0] && ps_pools[pi].routine && ps_poolname_is(pi, ps_cfg.expand) ? 1 : -1;
    }
    return named[pi] > 0;
}

static void refuse(int pi, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void refuse(int pi, const char *fmt, ...)
{
    __builtin_va_list ap;
    __builtin_va_start(ap, fmt);
    ps_vfmt(refusal[pi], REFUSAL_LEN, fmt, ap);
    __builtin_va_end(ap);
    allowed[pi] = -1;
    for (int k = 0; k < PS_MAX_POOLS; k++)
        if (k != pi && allowed[k] < 0 && !strcmp(refusal[k], refusal[pi]))
            return;                     /* said already (threads of one routine under two names) */
    ps_log("POOLSHIM_EXPAND=%s: pool %d not grown: %s", ps_cfg.expand, pi, refusal[pi]);
}

int ps_expand_allowed(int pi)
{
    if (allowed[pi])
        return allowed[pi] > 0;
    if (!is_named(pi)) {
        allowed[pi] = -1;
        return 0;
    }
    struct ps_pool *p = &ps_pools[pi];
    struct ps_thread *t = template_of(pi, 0, 1);
    const char *rt;
    if (p->entry) {
        refuse(pi, "its start routine is a trampoline that runs %s from an argument it owns (and may free)",
               ps_poolname_function(pi));
    } else if (!t) {
        return 0;                       /* no worker of ours seen yet: judge it when there is (cheaply) */
    } else if ((rt = pool_runtime(pi))) {
        refuse(pi, "its start routine is part of %s, whose pools have a fixed size and whose workers take "
               "start-up state from their creator", rt);
    } else {
        if (t->user_stack)
            refuse(pi, "its workers run on stacks the program allocated");
        else if (!arg_is_global(t->start_arg))
            refuse(pi, "its start argument %p is not global data of a loaded object (it is on a stack or in "
                   "the heap, which its creator may reuse or free)", t->start_arg);
        else
            allowed[pi] = 1;
    }
    return allowed[pi] > 0;
}

const char *ps_expand_refusal(int pi)
{
    return allowed[pi] < 0 && refusal[pi][0] ? refusal[pi] : NULL;
}

void ps_expand_check_names(void)
{
    if (!ps_cfg.expand[0] || !ps_pools)
        return;
    int any = 0;
    for (int pi = 0; pi < PS_MAX_POOLS && __atomic_load_n(&ps_pools[pi].used, __ATOMIC_ACQUIRE) == 2; pi++)
        if (is_named(pi)) {
            ps_expand_allowed(pi);      /* a short run may end before the controller judged it */
            any = 1;
        }
    if (!any)
        ps_log_once(&none_logged, "POOLSHIM_EXPAND=%s: no thread ran a start routine of that name; no pool was grown",
                ps_cfg.expand);
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

__thread int ps_expand_into __attribute__((tls_model("initial-exec")));

int ps_expand_start(int pi, int n)
{
    static int fail_logged;
    if (n <= 0 || !ps_expand_allowed(pi))
        return 0;
    struct ps_thread *tp = template_of(pi, 1, 0);
    if (!tp)
        return 0;
    void *(*fn)(void *) = (void *(*)(void *))tp->routine;
    void *arg = tp->start_arg;
    size_t stack = tp->stack_size, guard = tp->guard_size;
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
    if ((stack && pthread_attr_setstacksize(&attr, stack)) || (guard && pthread_attr_setguardsize(&attr, guard))) {
        ps_log_once(&fail_logged, "cannot give a new worker of pool %d its stack (%zu bytes, guard %zu): "
                    "pool not grown", pi, stack, guard);
        pthread_attr_destroy(&attr);
        return 0;
    }
    prctl(PR_GET_NAME, mine, 0, 0, 0);
    prctl(PR_SET_NAME, name, 0, 0, 0);
    int started = 0;
    ps_expand_into = pi + 1;
    for (; started < n; started++) {
        pthread_t th;
        int r = pthread_create(&th, &attr, fn, arg);    /* our wrapper: the new worker gets a record */
        if (r) {
            ps_log_once(&fail_logged, "cannot start a worker for pool %d (error %d): pool not grown", pi, r);
            break;
        }
    }
    ps_expand_into = 0;
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

static int knob(int pi, int size, char *what, size_t wcap, char *line, size_t lcap, int named);

int ps_expand_runtime(int pi, char *buf, size_t cap)
{
    char line[320], exe[256] = "";
    ps_file_self_exe(exe, sizeof exe);
    knob(pi, 1, buf, cap, line, sizeof line, 0);
    return strcmp(buf, base(exe)) != 0;   /* the fallback names only the program */
}

/* named: the fallback line names the pool (poolname.c, which asks
 * ps_expand_runtime, which asks here without it) */
static int knob(int pi, int size, char *what, size_t wcap, char *line, size_t lcap, int named)
{
    struct ps_sym s;
    char exe[256] = "";
    ps_file_self_exe(exe, sizeof exe);
    const char *mod = "", *fn = "";
    if (ps_pools[pi].routine && !ps_symbolize(ps_pools[pi].routine, &s)) {
        mod = base(s.module);
        fn = s.name;
    }
    /* By the API the routine's object exports, as for expansion: node's
     * bundled libuv is libuv too, whatever its file is called. */
    const char *rt = pool_runtime(pi);
    /* node holds libuv and V8's own pools in one object: of its routines only
     * libuv's worker (threadpool.c's `worker`) is sized by UV_THREADPOOL_SIZE.
     * A libuv.so starts no threads of its own but its pool's. */
    if (rt && !strcmp(rt, "libuv") && !strstr(mod, "libuv") && strcmp(fn, "worker"))
        rt = NULL;
    if (rt && !strcmp(rt, "libgomp (OpenMP)")) {
        ps_fmt(what, wcap, "%s", rt);
        /* A team larger than OMP_NUM_THREADS asked for: the program sets its
         * own size (GraphicsMagick's -limit threads calls
         * omp_set_num_threads), and the variable would change nothing. */
        const char *env = getenv("OMP_NUM_THREADS");
        int asked = env ? atoi(env) : 0, team = __atomic_load_n(&ps_pools[pi].joined, __ATOMIC_RELAXED) + 1;
        if (asked > 0 && team > asked) {
            ps_fmt(line, lcap, "# OpenMP: the program sets its own team size (%d threads ran under "
                   "OMP_NUM_THREADS=%d): use its own option for %d threads", team, asked, size);
            return 0;
        }
        ps_fmt(line, lcap, "export OMP_NUM_THREADS=%d", size);
        return 1;
    }
    if (rt && !strcmp(rt, "oneTBB")) {
        /* The implicit arena's concurrency is the cores (cores - 1 workers
         * beside the caller): max_allowed_parallelism alone only lowers it,
         * and a larger arena needs the global limit raised too (tasks of 1 ms
         * CPU + 4 ms sleep on 2 cores: 390 tasks/s by default, 1880 in an
         * arena of 13). */
        ps_fmt(what, wcap, "oneTBB");
        ps_fmt(line, lcap, "# oneTBB: run the work in a tbb::task_arena(%d) under a "
               "tbb::global_control(max_allowed_parallelism, %d) (no environment variable sets it)", size, size);
        return 0;
    }
    if (rt && !strcmp(rt, "OpenBLAS")) {
        /* its workers and the caller share each call's work: the size is
         * the team's, the caller included, as OpenBLAS counts it */
        ps_fmt(what, wcap, "OpenBLAS");
        ps_fmt(line, lcap, "export OPENBLAS_NUM_THREADS=%d", size);
        return 1;
    }
    if (rt && !strcmp(rt, "x265")) {
        /* its pool's workers; the frame encoders beside them (frame-threads)
         * wait on the workers, and their number follows the cores */
        ps_fmt(what, wcap, "libx265");
        ps_fmt(line, lcap, "# x265: --pools %d (ffmpeg: -x265-params pools=%d; no environment variable sets it)",
               size, size);
        return 0;
    }
    /* Its pool's workers; bgzf's reader and writer threads, in the same
     * object, are each a thread of their own, sized by no option (samtools
     * -@ 1 runs a pool of one worker: unnamed, as they are). */
    if (rt && !strcmp(rt, "htslib") && ps_pool_lone(pi))
        rt = NULL;
    if (rt && !strcmp(rt, "htslib")) {
        ps_fmt(what, wcap, "htslib thread pool");
        ps_fmt(line, lcap, "# htslib: -@ %d (samtools, bcftools, bgzip: -@ or --threads; no environment variable "
               "sets it)", size);
        return 0;
    }
    if (rt && !strcmp(rt, "Go")) {
        ps_fmt(what, wcap, "Go runtime");
        ps_fmt(line, lcap, "export GOMAXPROCS=%d", size);
        return 1;
    }
    if (rt && !strcmp(rt, "libuv")) {
        ps_fmt(what, wcap, "libuv%s", strstr(mod, "libuv") ? "" : ", bundled");
        ps_fmt(line, lcap, "export UV_THREADPOOL_SIZE=%d", size);
        return 1;
    }
    /* a python3 without the API's export (a static build names no
     * routine): its own threads, not a library's it loaded (OpenBLAS's
     * workers in numpy read "ThreadPoolExecutor(max_workers=2)") */
    if ((rt && !strcmp(rt, "CPython")) || !strcmp(fn, "pythread_wrapper") ||
        (!strncmp(base(exe), "python", 6) && (!*mod || !strcmp(mod, base(exe)) || strstr(mod, "python")))) {
        ps_fmt(what, wcap, "CPython threads");
        ps_fmt(line, lcap, "# CPython: ThreadPoolExecutor(max_workers=%d) (no environment variable sets it)", size);
        return 0;
    }
    const char *ert = rt && !strcmp(rt, "GLib") ? pool_runtime_of(pi, 1) : NULL;
    if (ert && !strcmp(ert, "libvips")) {
        /* the variable counts its workers; each pipeline adds a thread or
         * two of its own (the write-behind of a sink) to the same pool */
        ps_fmt(what, wcap, "libvips");
        ps_fmt(line, lcap, "export VIPS_CONCURRENCY=%d", size);
        return 1;
    }
    if (rt && !strcmp(rt, "GLib")) {
        ps_fmt(what, wcap, "GLib GThreadPool");
        ps_fmt(line, lcap, "# GLib: g_thread_pool_new(..., max_threads=%d, ...) or g_thread_pool_set_max_threads "
               "(no environment variable sets it)", size);
        return 0;
    }
    if (!strcmp(base(exe), "node") && strstr(fn, "PlatformWorkerThread")) {
        ps_fmt(what, wcap, "node's V8 platform workers");
        ps_fmt(line, lcap, "# node: run it as node --v8-pool-size=%d", size);
        return 0;
    }
    if (!strcmp(base(exe), "pigz")) {
        ps_fmt(what, wcap, "pigz");
        ps_fmt(line, lcap, "# pigz: run it as pigz -p %d", size);
        return 0;
    }
    char name[160] = "";
    if (named)
        ps_poolname_label(pi, name, sizeof name);
    ps_fmt(what, wcap, "%s", base(exe));
    ps_fmt(line, lcap, "# %s, pool %s: %d threads (set it with the program's own option)", base(exe), name, size);
    return 0;
}

int ps_expand_knob(int pi, int size, char *what, size_t wcap, char *line, size_t lcap)
{
    return knob(pi, size, what, wcap, line, lcap, 1);
}
