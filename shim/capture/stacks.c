/* stacks.c: the dump signal's handler and the capture protocol (stacks.h).
 * Threads: the handler runs on any host thread; ps_stacks_capture runs on the
 * agent only (one capture at a time), which blocks every signal itself.
 * Why this shape: the handler must be async-signal-safe, so it only unwinds
 * with libgcc's _Unwind_Backtrace (no malloc, no locks on glibc >= 2.35 where
 * libgcc finds FDEs with _dl_find_object; primed once at start) into a slot of
 * a table mapped once and never freed. A slot's state word carries the capture
 * generation, so a handler that runs late (signal blocked for a while, thread
 * descheduled past the deadline) fails its compare-and-swap and writes nothing.
 * libunwind is deliberately not used: libunwind.so exports backtrace and
 * _Unwind_* and would capture other code's unwinding if linked into a preload. */
#include "table.h"
#include "stacks.h"
#include "cores.h"
#include "kick.h"
#include "clock.h"
#include "file.h"
#include "log.h"
#include "real.h"
#include "thread.h"
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <linux/futex.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>
#include "stackwalk.h"

const char *const ps_capture_name[] = { "none", "ok", "timeout", "blocked_signal", "exited", "self",
                                        "disabled", "error" };

enum { SLOT_IDLE, SLOT_ARMED, SLOT_BUSY, SLOT_DONE };

struct slot {
    uint64_t word;                 /* gen << 2 | state */
    int tid;
    int n;
    uint64_t handler_ns;
    uintptr_t ip[PS_STACK_FRAMES];
};

static struct slot *slots;         /* PS_MAX_THREADS, mapped at init */
static int the_sig;
static int enabled;                /* handler installed and still ours */
static uint64_t gen;               /* capture generation (agent writes) */
static int done_word;              /* futex: answers in the current capture */
static uint64_t requests;          /* dump requests from outside */
static uint64_t pictures;          /* picture requests (poolshim dump by ptrace) */

/* Raw futex: the exported syscall() is our own wrapper. */
static long futex(int *w, int op, int val, const struct timespec *to)
{
    return ps_real_syscall ? ps_real_syscall(SYS_futex, w, op, val, to, 0, 0)
                           : syscall(SYS_futex, w, op, val, to, 0, 0);
}

struct unwind_state {
    uintptr_t buf[PS_STACK_FRAMES + 8];
    int n;
};

static void capture_into(struct slot *sl, uint64_t want, ucontext_t *uc, uint64_t t0)
{
    struct unwind_state st;
    st.n = ps_unwind(st.buf, (int)(sizeof st.buf / sizeof st.buf[0]));
    /* The first frames are this handler and the kernel's signal trampoline:
     * start at the interrupted PC when the unwinder went through it. */
    uintptr_t pc = uc ? (uintptr_t)uc->uc_mcontext.gregs[REG_RIP] : 0;
    int from = 0;
    for (int i = 0; pc && i < st.n; i++)
        if (st.buf[i] == pc) {
            from = i;
            break;
        }
    int n = 0;
    if (pc && (!st.n || st.buf[from] != pc))
        sl->ip[n++] = pc;                  /* unwinding failed: at least the PC */
    for (int i = from; i < st.n && n < PS_STACK_FRAMES; i++)
        sl->ip[n++] = st.buf[i];
    sl->n = n;
    sl->handler_ns = ps_now_ns() - t0;
    __atomic_store_n(&sl->word, want | SLOT_DONE, __ATOMIC_RELEASE);
    __atomic_fetch_add(&done_word, 1, __ATOMIC_RELEASE);
    futex(&done_word, FUTEX_WAKE_PRIVATE, 1, NULL);
}

static int requester;          /* the thread that last took a dump request's signal */

static void on_signal(int sig, siginfo_t *si, void *ucv)
{
    int saved = errno;
    uint64_t t0 = ps_now_ns();
    /* The call this thread was blocked in may fail with EINTR because of us:
     * the wrapper restarts it (restart.h). ps_self: a TLS pointer, safe here. */
    struct ps_thread *self = ps_self;
    if (self)
        __atomic_fetch_add(&self->dump_sigs, 1, __ATOMIC_RELAXED);
    /* getpid, not a cached pid: right in a forked child from its first instant. */
    if (si && si->si_code == SI_QUEUE && si->si_pid == (pid_t)syscall(SYS_getpid)) {
        /* Ours: a capture. Anything stale or malformed does nothing. */
        uint64_t cookie = (uint64_t)(uintptr_t)si->si_value.sival_ptr;
        uint32_t idx = (uint32_t)(cookie & 0xffff);
        uint64_t g = cookie >> 16;
        if (slots && idx < PS_MAX_THREADS) {
            struct slot *sl = &slots[idx];
            uint64_t armed = g << 2 | SLOT_ARMED;
            if (__atomic_load_n(&sl->tid, __ATOMIC_RELAXED) == (int)syscall(SYS_gettid) &&
                __atomic_compare_exchange_n(&sl->word, &armed, g << 2 | SLOT_BUSY, 0, __ATOMIC_ACQ_REL,
                                            __ATOMIC_RELAXED))
                capture_into(sl, g << 2, ucv, t0);
        }
    } else if (si && si->si_code == SI_QUEUE &&
               (uintptr_t)si->si_value.sival_ptr == PS_DUMP_PICTURE_COOKIE) {
        /* poolshim dump has the stacks already (ptrace): the picture only. */
        __atomic_fetch_add(&pictures, 1, __ATOMIC_RELEASE);
        ps_kick();
    } else {
        __atomic_store_n(&requester, (int)syscall(SYS_gettid), __ATOMIC_RELAXED);
        __atomic_fetch_add(&requests, 1, __ATOMIC_RELEASE);
        ps_kick();
        /* a process of one thread has no agent yet (agent.c): said, not
         * silent (ps_log: getpid, fstat and write, all async-signal-safe) */
        static int held_said;
        if (!__atomic_load_n(&ps_agent_up, __ATOMIC_ACQUIRE))
            ps_log_once(&held_said, "dump request held: the shim's thread starts with the program's second, and "
                                    "this process has run one; `poolshim dump %d` takes its stack now",
                        (int)syscall(SYS_getpid));
    }
    errno = saved;
}

/* The handler runs on the thread's alternate signal stack where it has one
 * (SA_ONSTACK): goroutines run on stacks of a few KiB, which a signal frame
 * and an unwind would overflow, and Go asks it of every handler in a cgo
 * program. But varnish gives all its threads one alternate stack (its
 * SIGSEGV handler panics and never returns): the dump signal, sent to a
 * batch of threads at once, ran several handlers on the same memory, each
 * writing over the others' frames, and varnish's child died at its first
 * dump (SIGSEGV at address 0, 4 children in 6 s). Once two live threads are
 * seen to share one, the handler runs on each thread's own stack, for good. */
static int own_stacks;

static int handler_flags(void)
{
    return SA_SIGINFO | SA_RESTART | (__atomic_load_n(&own_stacks, __ATOMIC_ACQUIRE) ? 0 : SA_ONSTACK);
}

static int install(int sig)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_signal;
    sa.sa_flags = handler_flags();
    sigfillset(&sa.sa_mask);
    return sigaction(sig, &sa, NULL);
}

void ps_stacks_note_altstack(uintptr_t sp)
{
    struct ps_thread *self = ps_self;
    if (!self)
        return;
    __atomic_store_n(&self->altstack, sp, __ATOMIC_SEQ_CST);
    if (!sp || __atomic_load_n(&own_stacks, __ATOMIC_ACQUIRE))
        return;
    /* Each of two threads setting one stack at once stores, then looks:
     * one of them sees the other. */
    int hwm = ps_thread_hwm();
    for (int i = 0; i < hwm; i++) {
        const struct ps_thread *t = &ps_threads[i];
        if (t == self || __atomic_load_n(&t->state, __ATOMIC_ACQUIRE) != PS_T_LIVE ||
            __atomic_load_n(&t->altstack, __ATOMIC_SEQ_CST) != sp)
            continue;
        __atomic_store_n(&own_stacks, 1, __ATOMIC_RELEASE);
        if (__atomic_load_n(&enabled, __ATOMIC_ACQUIRE))
            install(the_sig);
        return;
    }
}

void ps_stacks_prime(void)
{
    struct unwind_state st;
    st.n = ps_unwind(st.buf, (int)(sizeof st.buf / sizeof st.buf[0]));
}

int ps_stacks_init(int sig)
{
    static int logged;
    if (!slots) {
        void *p = ps_table_map(sizeof(struct slot) * PS_MAX_THREADS);
        if (!p)
            return -errno;
        slots = p;
    }
    ps_stacks_prime();
    struct sigaction old;
    if (sigaction(sig, NULL, &old) != 0) {
        ps_log_once(&logged, "POOLSHIM_DUMP_SIGNAL=%d cannot be used (errno %d): no stacks, no dump requests",
                    sig, errno);
        return -EINVAL;
    }
    if ((old.sa_flags & SA_SIGINFO) ? old.sa_sigaction != NULL
                                    : (old.sa_handler != SIG_DFL && old.sa_handler != SIG_IGN)) {
        ps_log_once(&logged, "signal %d already has a handler: dumps carry no stacks and cannot be requested "
                    "(set POOLSHIM_DUMP_SIGNAL to a free signal)", sig);
        return -EBUSY;
    }
    if (install(sig) != 0) {
        ps_log_once(&logged, "cannot install the handler of signal %d (errno %d): no stacks, no dump requests",
                    sig, errno);
        return -errno;
    }
    the_sig = sig;
    __atomic_store_n(&enabled, 1, __ATOMIC_RELEASE);
    return 0;
}

/* One warning when the program takes our signal over, whoever sees it first:
 * the sigaction wrapper as it happens, or a dump that finds it done (a raw
 * rt_sigaction the wrapper never saw). */
static int takeover_logged;

static void say_taken(const char *did, const char *to)
{
    ps_log_once(&takeover_logged, "the program %s signal %d (POOLSHIM_DUMP_SIGNAL)%s: "
                "dumps carry no stacks and cannot be requested by signal from now on; "
                "set POOLSHIM_DUMP_SIGNAL to another real-time signal", did, the_sig, to);
}

static void taken_over(void)
{
    say_taken("installed its own handler for", "");
    __atomic_store_n(&enabled, 0, __ATOMIC_RELEASE);
}

/* Set back to SIG_DFL or SIG_IGN: mostly a forked child about to exec (git's
 * run-command resets every caught signal), where the new image installs our
 * handler again, so a warning then would be false; it is said at the first
 * dump that finds it, if the process lives on without exec. */
static int reset_quietly;

void ps_stacks_note_sigaction(const struct sigaction *act)
{
    if (!act || !__atomic_load_n(&enabled, __ATOMIC_ACQUIRE))
        return;
    if ((act->sa_flags & SA_SIGINFO) && act->sa_sigaction == on_signal)
        return;
    if (!(act->sa_flags & SA_SIGINFO) && (act->sa_handler == SIG_DFL || act->sa_handler == SIG_IGN)) {
        __atomic_store_n(&reset_quietly, 1, __ATOMIC_RELAXED);
        __atomic_store_n(&enabled, 0, __ATOMIC_RELEASE);
        return;
    }
    taken_over();
}

int ps_stacks_enabled(void)
{
    if (!__atomic_load_n(&enabled, __ATOMIC_ACQUIRE)) {
        if (__atomic_load_n(&reset_quietly, __ATOMIC_RELAXED))
            say_taken("set", " back to its default");
        return 0;
    }
    struct sigaction cur;
    if (sigaction(the_sig, NULL, &cur) == 0 && (cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == on_signal)
        return 1;
    taken_over();
    return 0;
}

int ps_stacks_requester(void)
{
    return __atomic_load_n(&requester, __ATOMIC_RELAXED);
}

uint64_t ps_stacks_requests(void)
{
    return __atomic_load_n(&requests, __ATOMIC_ACQUIRE);
}

uint64_t ps_stacks_pictures(void)
{
    return __atomic_load_n(&pictures, __ATOMIC_ACQUIRE);
}

static int agent_has_pending(void)
{
    char path[64], buf[2048];
    int tid = ps_agent_rec.tid;
    if (!tid || !the_sig)
        return 0;
    ps_fmt(path, sizeof path, "/proc/self/task/%d/status", tid);
    if (ps_file_read_small(path, buf, sizeof buf) <= 0)
        return 0;
    char *p = strstr(buf, "\nSigPnd:");
    return p && ((strtoull(p + 8, NULL, 16) >> (the_sig - 1)) & 1);
}

int ps_stacks_ptrace_stop_since(uint64_t pictures0)
{
    if (ps_stacks_pictures() != pictures0)
        return 1;
    int saved = errno;
    int pending = agent_has_pending();
    /* Taken off the queue but not yet counted by the handler: look once more. */
    if (!pending && ps_stacks_pictures() == pictures0)
        sched_yield();
    errno = saved;
    return pending || ps_stacks_pictures() != pictures0;
}

void ps_stacks_accept_requests(void)
{
    if (!__atomic_load_n(&enabled, __ATOMIC_ACQUIRE))
        return;
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, the_sig);
    pthread_sigmask(SIG_UNBLOCK, &one, NULL);
}

static int send_one(int tid, uint64_t cookie)
{
    siginfo_t si;
    memset(&si, 0, sizeof si);
    si.si_signo = the_sig;
    si.si_code = SI_QUEUE;
    si.si_pid = getpid();
    si.si_uid = getuid();
    si.si_value.sival_ptr = (void *)(uintptr_t)cookie;
    long r = syscall(SYS_rt_tgsigqueueinfo, si.si_pid, tid, the_sig, &si);
    return r == 0 ? 0 : -errno;
}

uint64_t ps_stacks_capture(struct ps_stack_req *reqs, int n, int timeout_ms)
{
    uint64_t t0 = ps_now_ns();
    if (n > PS_MAX_THREADS)
        n = PS_MAX_THREADS;
    int on = slots && ps_stacks_enabled();
    uint64_t g = ++gen & ((1ull << 46) - 1);
    __atomic_store_n(&done_word, 0, __ATOMIC_RELEASE);
    int me = ps_gettid();
    /* Arm every slot first: a fast thread may answer before the next is sent. */
    for (int i = 0; i < n; i++) {
        struct ps_stack_req *r = &reqs[i];
        r->n = 0;
        r->handler_ns = 0;
        r->status = !on ? PS_CAP_DISABLED : r->tid == me ? PS_CAP_SELF
                  : r->blocked_signal ? PS_CAP_BLOCKED : PS_CAP_NONE;
        struct slot *sl = &slots[i];
        if (r->status != PS_CAP_NONE) {
            if (slots)
                __atomic_store_n(&sl->word, g << 2 | SLOT_IDLE, __ATOMIC_RELEASE);
            continue;
        }
        sl->tid = r->tid;
        sl->n = 0;
        __atomic_store_n(&sl->word, g << 2 | SLOT_ARMED, __ATOMIC_RELEASE);
    }
    uint64_t deadline = t0 + (uint64_t)timeout_ms * 1000000ull;
    int sent = 0, next = 0, batch = 8 * ps_ncores;
    while (next < n) {
        struct ps_stack_req *r = &reqs[next];
        if (r->status != PS_CAP_NONE) {
            next++;
            continue;
        }
        /* A few threads at a time: all of them woken at once would queue on
         * the cores and each would stall for the others' unwinds. */
        int seen = __atomic_load_n(&done_word, __ATOMIC_ACQUIRE);
        if (sent - seen >= batch && ps_now_ns() < deadline) {
            struct timespec to = { 0, 2000000 };
            futex(&done_word, FUTEX_WAIT_PRIVATE, seen, &to);
            continue;
        }
        int e = send_one(r->tid, g << 16 | (uint64_t)next);
        if (e == -EAGAIN && ps_now_ns() < deadline) {
            /* The queue of pending real-time signals is full: let some answer. */
            struct timespec to = { 0, 1000000 };
            futex(&done_word, FUTEX_WAIT_PRIVATE, seen, &to);
            continue;
        }
        if (e) {
            r->status = e == -ESRCH ? PS_CAP_EXITED : PS_CAP_ERROR;
            __atomic_store_n(&slots[next].word, g << 2 | SLOT_IDLE, __ATOMIC_RELEASE);
        } else {
            sent++;
        }
        next++;
    }
    /* Wait for the answers, with one deadline for all. */
    for (;;) {
        int seen = __atomic_load_n(&done_word, __ATOMIC_ACQUIRE);
        if (seen >= sent)
            break;
        uint64_t now = ps_now_ns();
        if (now >= deadline)
            break;
        uint64_t left = deadline - now;
        struct timespec to = { (time_t)(left / 1000000000ull), (long)(left % 1000000000ull) };
        futex(&done_word, FUTEX_WAIT_PRIVATE, seen, &to);
    }
    for (int i = 0; i < n; i++) {
        struct ps_stack_req *r = &reqs[i];
        if (r->status != PS_CAP_NONE)
            continue;
        struct slot *sl = &slots[i];
        uint64_t armed = g << 2 | SLOT_ARMED;
        /* Withdraw unanswered slots; a handler already unwinding gets a moment. */
        if (__atomic_compare_exchange_n(&sl->word, &armed, g << 2 | SLOT_IDLE, 0, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE)) {
            r->status = PS_CAP_TIMEOUT;
            continue;
        }
        uint64_t until = ps_now_ns() + 50000000ull;
        while ((__atomic_load_n(&sl->word, __ATOMIC_ACQUIRE) & 3) == SLOT_BUSY && ps_now_ns() < until)
            sched_yield();
        if ((__atomic_load_n(&sl->word, __ATOMIC_ACQUIRE) & 3) != SLOT_DONE) {
            r->status = PS_CAP_TIMEOUT;
            continue;
        }
        r->status = PS_CAP_OK;
        r->n = sl->n;
        r->handler_ns = sl->handler_ns;
        memcpy(r->ip, sl->ip, sizeof(uintptr_t) * (size_t)r->n);
    }
    return ps_now_ns() - t0;
}
