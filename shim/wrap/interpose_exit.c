/* interpose_exit.c: _exit and _Exit (glibc's alias, exported as a symbol of
 * its own). A process that ends through them runs no destructor, so init.c's
 * exit report was never written (lbzip2 ends with _exit). It is written here,
 * by ps_finish_exit_now(), on whichever thread calls: only by a process that
 * ran a thread besides its main one since its last fork, once (init.c). A
 * forked child that ran none and calls _exit is a fork helper or a shell's
 * child whose exec failed: a report from each would litter the directory.
 * exit() reaches glibc's _exit internally, past this wrapper, after the
 * destructor wrote the report. A vfork child shares our memory and calls here
 * too: it is told by its pid and only forwards. The raw exit_group system
 * call (syscall(SYS_exit_group), or inline assembly) is not seen, and a
 * handler of the program that calls _exit writes no report (before_exit). */
#include "export.h"
#include "init.h"
#include "real.h"
#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

/* interpose_signal.c: program signal handlers running on this thread. */
extern __thread int ps_prog_handler_depth __attribute__((tls_model("initial-exec")));

/* Not from inside a signal handler of the program (a SIGTERM handler that
 * calls _exit is common): the thread it interrupted may hold a lock the
 * writer needs (the loader's, for symbols), and nothing there may wait.
 * Nor from a child that shares our memory (vfork, clone(CLONE_VM)), told by
 * its pid before anything thread-local is touched: it may run on a TLS
 * block of its own. Chromium's zygote chroots through a
 * clone(CLONE_VM | CLONE_VFORK | CLONE_SETTLS) child on a zeroed one, whose
 * _exit read errno through a null thread pointer here and faulted: the
 * zygote gave up, and the browser with it. */
static void before_exit(void)
{
    if (!ps_real_syscall || ps_real_syscall(SYS_getpid) != ps_pid || ps_prog_handler_depth > 0)
        return;
    int saved = errno;
    ps_finish_exit_now();
    errno = saved;
}

/* libc always has it; if the pointer were missing, the process still ends. */
static _Noreturn void forward(__typeof__(_exit) *real, int status)
{
    if (real)
        real(status);
    for (;;)
        syscall(SYS_exit_group, status);
}

PS_EXPORT void _exit(int status)
{
    before_exit();
    forward(PS_REAL(_exit), status);
}

PS_EXPORT void _Exit(int status)
{
    before_exit();
    forward(PS_REAL(_Exit), status);
}
