/* interpose_signal.c: sigaction, signal, bsd_signal, sysv_signal, so that the
 * wrappers know whether a handler of the program ran during a call (restart.h).
 * A program handler is installed behind a trampoline that counts it on the
 * running thread (prog_sigs) and calls it exactly as the program asked
 * (SA_SIGINFO or not, same mask and flags); every query answers with the
 * program's own handler and flags, so the program cannot tell. Handlers that
 * exist before the shim's constructor (set by libraries' constructors) are
 * adopted at start the same way. Our dump signal is never wrapped: stacks.c
 * owns it; the program's own action on it is passed on as asked, and stacks.c
 * is told, to warn once (and when the kernel is changed by other means, a
 * dump notices). sigaltstack too: where each thread's handlers run, for the
 * dump signal's (stacks.c: threads that share one alternate stack).
 * Not seen: handlers installed with the raw rt_sigaction system call (Go's
 * runtime, some JITs): for those a restarted call is possible, which is why
 * restarting also requires our own handler to have run on the thread.
 * Threads: any; the table is written under sigaction calls of the program
 * (which the program serialises per signal, as the kernel's answer would be
 * racy for it too) and read by the trampoline. */
#include "export.h"
#include "real.h"
#include "config.h"
#include "stacks.h"
#include "thread.h"
#include <errno.h>
#include <string.h>

#define NSIG_MAX 65
#ifndef SA_RESTORER
#define SA_RESTORER 0x04000000       /* the kernel's flag; glibc sets it and reports it */
#endif

static struct {
    void *fn;                     /* the program's handler (sa_handler or sa_sigaction) */
    int flags;                    /* the program's sa_flags */
} prog[NSIG_MAX];

static int dump_sig;              /* set by ps_signal_init; 0 until then */

__thread int ps_prog_handler_depth __attribute__((tls_model("initial-exec")));

static void trampoline(int sig, siginfo_t *si, void *uc)
{
    struct ps_thread *t = ps_self;
    if (t)
        __atomic_fetch_add(&t->prog_sigs, 1, __ATOMIC_RELAXED);
    void *fn = __atomic_load_n(&prog[sig].fn, __ATOMIC_ACQUIRE);
    int flags = prog[sig].flags;
    if (flags & SA_RESETHAND)             /* the kernel reset it to SIG_DFL on delivery */
        __atomic_store_n(&prog[sig].fn, (void *)SIG_DFL, __ATOMIC_RELEASE);
    if (fn == (void *)SIG_DFL || fn == (void *)SIG_IGN)
        return;
    /* A handler that never returns (siglongjmp, _exit) leaves it raised:
     * only the _exit wrapper reads it, and then the process ends. */
    ps_prog_handler_depth++;
    if (flags & SA_SIGINFO)
        ((void (*)(int, siginfo_t *, void *))fn)(sig, si, uc);
    else
        ((void (*)(int))fn)(sig);
    ps_prog_handler_depth--;
}

static int wrapped(int sig)
{
    return sig > 0 && sig < NSIG_MAX && sig != dump_sig && sig != SIGKILL && sig != SIGSTOP;
}

static void *handler_of(const struct sigaction *a)
{
    return (a->sa_flags & SA_SIGINFO) ? (void *)a->sa_sigaction : (void *)a->sa_handler;
}

/* The action as the program set it (fn, flags: the table's entry when it
 * was installed), from what the kernel holds. */
static void as_program_sees(struct sigaction *k, void *fn, int flags)
{
    if (!((k->sa_flags & SA_SIGINFO) && k->sa_sigaction == trampoline))
        return;
    k->sa_flags = flags | (k->sa_flags & SA_RESTORER);
    if (flags & SA_SIGINFO)
        k->sa_sigaction = (void (*)(int, siginfo_t *, void *))fn;
    else
        k->sa_handler = (void (*)(int))fn;
}

PS_EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
    if (!PS_REAL(sigaction)) {
        errno = ENOSYS;
        return -1;
    }
    if (sig == dump_sig && dump_sig)
        ps_stacks_note_sigaction(act);   /* the program takes our signal: warned once */
    if (!wrapped(sig))
        return ps_real_sigaction(sig, act, old);
    struct sigaction cur, mine;
    const struct sigaction *use = act;
    int saved = errno;
    void *fn = act ? handler_of(act) : NULL;
    void *prev_fn = __atomic_load_n(&prog[sig].fn, __ATOMIC_ACQUIRE);
    int prev_flags = prog[sig].flags;
    if (act && fn != (void *)SIG_DFL && fn != (void *)SIG_IGN) {
        /* The program's handler goes in the table first: a signal that comes
         * as soon as the trampoline is installed finds it. */
        mine = *act;
        prog[sig].flags = act->sa_flags;
        __atomic_store_n(&prog[sig].fn, fn, __ATOMIC_RELEASE);
        mine.sa_flags = act->sa_flags | SA_SIGINFO;
        mine.sa_sigaction = trampoline;
        use = &mine;
    }
    int r = ps_real_sigaction(sig, use, &cur);
    if (r != 0)
        return r;
    if (old) {
        as_program_sees(&cur, prev_fn, prev_flags);
        *old = cur;
    }
    errno = saved;
    return 0;
}

/* Which alternate stack each thread runs its handlers on: the dump signal's
 * handler leaves alternate stacks where threads share one (stacks.c). */
PS_EXPORT int sigaltstack(const stack_t *ss, stack_t *old)
{
    if (!PS_REAL(sigaltstack)) {
        errno = ENOSYS;
        return -1;
    }
    int r = ps_real_sigaltstack(ss, old);
    if (r == 0 && ss) {
        int saved = errno;
        ps_stacks_note_altstack((ss->ss_flags & SS_DISABLE) ? 0 : (uintptr_t)ss->ss_sp);
        errno = saved;
    }
    return r;
}

/* glibc's BSD semantics for signal(): SA_RESTART, the signal blocked in its handler. */
static __sighandler_t set_handler(int sig, __sighandler_t h, int flags, int mask_self)
{
    struct sigaction act, old;
    memset(&act, 0, sizeof act);
    act.sa_handler = h;
    act.sa_flags = flags;
    sigemptyset(&act.sa_mask);
    if (mask_self && sig > 0 && sig < NSIG_MAX)
        sigaddset(&act.sa_mask, sig);
    if (sigaction(sig, &act, &old) != 0)
        return SIG_ERR;
    return old.sa_handler;
}

PS_EXPORT __sighandler_t signal(int sig, __sighandler_t h)
{
    return set_handler(sig, h, SA_RESTART, 1);
}

PS_EXPORT __sighandler_t bsd_signal(int sig, __sighandler_t h)
{
    return set_handler(sig, h, SA_RESTART, 1);
}

/* System V semantics: reset on delivery, not blocked in its handler. */
PS_EXPORT __sighandler_t sysv_signal(int sig, __sighandler_t h)
{
    return set_handler(sig, h, SA_RESETHAND | SA_NODEFER, 0);
}

/* After init.c's constructor (101), before dump.c's (103) installs the dump signal. */
__attribute__((constructor(102))) static void signal_init(void)
{
    if (!__atomic_load_n(&ps_ready, __ATOMIC_ACQUIRE))
        return;
    int saved = errno;
    dump_sig = ps_cfg.dump_signal;
    if (!PS_REAL(sigaction))
        return;
    /* Handlers installed before us: put them behind the trampoline too. */
    for (int s = 1; s < NSIG_MAX; s++) {
        struct sigaction cur;
        if (!wrapped(s) || ps_real_sigaction(s, NULL, &cur) != 0)
            continue;
        void *fn = handler_of(&cur);
        if (fn != (void *)SIG_DFL && fn != (void *)SIG_IGN && fn != (void *)trampoline)
            sigaction(s, &cur, NULL);
    }
    errno = saved;
}
