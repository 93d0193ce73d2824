/* agent.c: the "poolshim" thread and its loop.
 * Started with the process's second thread (the first pthread_create, also
 * in a forked child), not by the constructor: a process of one thread may
 * need to stay one. unshare(CLONE_NEWUSER) fails with EINVAL in a process
 * of two (`unshare -U`, bubblewrap, rootless podman), and Chromium's zygote
 * checks it is single-threaded and traps (the browser then gave up: "GPU
 * process isn't usable"). Such a process has no pool to measure; its last
 * sample is taken at exit, as everyone's. Started with every signal
 * blocked, so the host's signals never land on it. It sleeps on a futex word
 * so ps_agent_stop can wake it at once. Its record is marked `ignore`: its own
 * reads of /proc go through our wrappers untouched. To bound its cost it
 * measures each pass (its own CPU time) and stretches the interval so sampling stays under ~2 %
 * of one core (thousands of threads make a pass expensive). */
#include "agent.h"
#include "cores.h"
#include "clock.h"
#include "confine.h"
#include "config.h"
#include "controller.h"
#include "dump.h"
#include "kick.h"
#include "log.h"
#include "metrics.h"
#include "pool.h"
#include "poolname.h"
#include "real.h"
#include "report.h"
#include "sampler.h"
#include "symbol.h"
#include "view.h"
#include <errno.h>
#include <linux/futex.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>


struct ps_thread ps_agent_rec = { .ignore = 1, .pool = -1 };

static int stop_word;          /* futex: 1 = stop requested */
static int done_word;          /* futex: 1 = agent finished */
enum { AGENT_OFF, AGENT_WANTED, AGENT_RUNNING };
static int state;              /* AGENT_*: wanted from the constructor to the second thread */
static pthread_t agent_thread;

static long futex(int *w, int op, int val, const struct timespec *to)
{
    return ps_real_syscall ? ps_real_syscall(SYS_futex, w, op, val, to, 0, 0)
                           : syscall(SYS_futex, w, op, val, to, 0, 0);
}

/* Returns the time spent writing dumps and interim reports: rare, and not
 * part of sampling cost. */
static uint64_t tick(uint64_t now, int final)
{
    ps_sampler_tick(now, final);
    ps_symbol_note_modules();    /* sites in libraries unloaded before the report */
    ps_poolname_tick();          /* while the pools' libraries are loaded */
    const struct ps_view *view = ps_view_tick(now);
    ps_metrics_tick(final);
    if (final)
        return 0;
    ps_controller_tick(view, now);
    uint64_t spent = ps_dump_tick(now);
    return spent + ps_report_interim_tick(now, &stop_word);
}

static uint64_t agent_cpu_ns(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts))
        return 0;
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void *agent_main(void *arg)
{
    ps_self = &ps_agent_rec;
    ps_agent_rec.tid = ps_gettid();
    prctl(PR_SET_NAME, "poolshim", 0, 0, 0);
    /* Start fast (10 ms, doubling) so pools and their idle waits are learned
     * before most of a short program's tasks have run. */
    uint64_t base = (uint64_t)ps_cfg.interval_ms * 1000000ull;
    uint64_t interval = base < 10000000ull ? base : 10000000ull;
    int clock_done = 0, first = 1;
    int kicks = __atomic_load_n(&ps_kick_word, __ATOMIC_ACQUIRE);
    while (!__atomic_load_n(&stop_word, __ATOMIC_ACQUIRE)) {
        struct timespec to = { (time_t)(interval / 1000000000ull), (long)(interval % 1000000000ull) };
        /* A kick that came during the last tick skips the sleep. */
        if (__atomic_load_n(&ps_kick_word, __ATOMIC_ACQUIRE) == kicks && !__atomic_load_n(&stop_word, __ATOMIC_ACQUIRE))
            futex(&ps_kick_word, FUTEX_WAIT_PRIVATE, kicks, &to);
        kicks = __atomic_load_n(&ps_kick_word, __ATOMIC_ACQUIRE);
        if (__atomic_load_n(&stop_word, __ATOMIC_ACQUIRE))
            break;
        if (!clock_done)
            clock_done = ps_clock_calibrate();
        /* The budget is the agent's CPU, not the wall time of a pass: on a
         * loaded machine a pass is preempted for tens of ms, and a wall-time
         * cost stretched the interval to seconds, leaving too few samples
         * (unwrapped waits, CPU of short-lived threads) for the run. Time
         * spent writing a dump is not sampling. */
        uint64_t c0 = agent_cpu_ns();
        uint64_t dump_ns = tick(ps_now_ns(), 0);
        uint64_t cost = ps_ns_since(c0 + dump_ns, agent_cpu_ns());
        /* The first pass's one-time work (naming every thread, reading the
         * modules, symbolizing the start routines: 0.6-0.85 ms for a pool of
         * 4) is no measure of a pass: at 50 times it put the second tick at
         * 28-42 ms instead of 20, and a pool whose wait for work is learned
         * only there had run 2 % of a short run's CPU uncounted (its tasks
         * unknown: apr_pool at 300 tasks, 2 runs in 51). */
        if (first) {
            first = 0;
            cost = 0;
        }
        uint64_t next = interval * 2 < base ? interval * 2 : base;
        interval = cost * 50 > next ? cost * 50 : next;
    }
    __atomic_store_n(&done_word, 1, __ATOMIC_RELEASE);
    futex(&done_word, FUTEX_WAKE_PRIVATE, 1, NULL);
    return NULL;
}

int ps_agent_prev_tid;

static int start(void)
{
    /* A restart (after a failed exec): the stopped agent may still be listed
     * in /proc/self/task for a moment; discover() must not take it for ours. */
    ps_agent_prev_tid = ps_agent_rec.tid;
    stop_word = 0;
    done_word = 0;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    int r = PS_REAL(pthread_create)(&agent_thread, &attr, agent_main, NULL);
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r) {
        ps_log("cannot start the agent thread (%s): no CPU sampling, control or dumps", strerror(r));
        return -r;
    }
    pthread_detach(agent_thread);
    __atomic_store_n(&ps_agent_up, 1, __ATOMIC_RELEASE);
    return 0;
}

void ps_agent_want(void)
{
    if (ps_is_confined())
        return;                  /* a fork of a confined process is confined */
    ps_cores = ps_cores_usable();
    ps_ncores = (int)ps_cores < ps_cores ? (int)ps_cores + 1 : (int)ps_cores;
    __atomic_store_n(&state, AGENT_WANTED, __ATOMIC_RELEASE);
}

void ps_agent_ensure(void)
{
    if (__atomic_load_n(&state, __ATOMIC_ACQUIRE) != AGENT_WANTED)
        return;
    int want = AGENT_WANTED;      /* two threads creating their first at once: one starts it */
    if (!__atomic_compare_exchange_n(&state, &want, AGENT_RUNNING, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        return;
    int saved = errno;
    if (start())
        __atomic_store_n(&state, AGENT_OFF, __ATOMIC_RELEASE);   /* said once; not tried again */
    errno = saved;
}

/* Asks the running agent to end and waits for it, bounded: a wedged agent
 * must not keep the host from going on. */
static void end_thread(void)
{
    __atomic_store_n(&ps_agent_up, 0, __ATOMIC_RELEASE);
    __atomic_store_n(&stop_word, 1, __ATOMIC_RELEASE);
    ps_kick();
    uint64_t deadline = ps_now_ns() + 2000000000ull;
    while (!__atomic_load_n(&done_word, __ATOMIC_ACQUIRE) && ps_now_ns() < deadline) {
        struct timespec to = { 0, 50000000 };
        futex(&done_word, FUTEX_WAIT_PRIVATE, 0, &to);
    }
}

void ps_agent_confine(void)
{
    if (!__atomic_load_n(&ps_ready, __ATOMIC_ACQUIRE) || ps_is_confined())
        return;
    int saved = errno;           /* said while it still can be (fstat, write) */
    ps_log("the program confines its system calls (seccomp): measuring stops, and no report is written");
    errno = saved;
    __atomic_store_n(&ps_confined, 1, __ATOMIC_RELEASE);
    if (__atomic_exchange_n(&state, AGENT_OFF, __ATOMIC_ACQ_REL) == AGENT_RUNNING)
        end_thread();
}

void ps_agent_stop(void)
{
    if (ps_is_confined())
        return;                  /* no last sample: it reads /proc (confine.h) */
    if (__atomic_exchange_n(&state, AGENT_OFF, __ATOMIC_ACQ_REL) == AGENT_RUNNING)
        end_thread();
    tick(ps_now_ns(), 1);
}

void ps_agent_after_fork_child(void)
{
    __atomic_store_n(&ps_agent_up, 0, __ATOMIC_RELEASE);
    ps_agent_want();             /* the child has one thread: started with its second */
}
