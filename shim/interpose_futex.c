/* interpose_futex.c: libc's syscall(), for the futex waits and wakes that C++
 * std::counting_semaphore, atomic::wait and hand-rolled pools make directly.
 * Every other system call number is forwarded untouched (six register-sized
 * arguments, exactly as glibc's own syscall() reads them). */
#include "export.h"
#include "real.h"
#include "waitobj.h"
#include <linux/futex.h>
#include <stdarg.h>
#include <sys/syscall.h>

static int futex_is_wait(int op)
{
    switch (op & FUTEX_CMD_MASK) {
    case FUTEX_WAIT: case FUTEX_WAIT_BITSET: case FUTEX_WAIT_REQUEUE_PI: case FUTEX_LOCK_PI:
        return 1;
    }
    return 0;
}

static int futex_is_wake(int op)
{
    switch (op & FUTEX_CMD_MASK) {
    case FUTEX_WAKE: case FUTEX_WAKE_BITSET: case FUTEX_WAKE_OP: case FUTEX_REQUEUE:
    case FUTEX_CMP_REQUEUE: case FUTEX_UNLOCK_PI:
        return 1;
    }
    return 0;
}

PS_EXPORT long syscall(long nr, ...)
{
    va_list ap;
    va_start(ap, nr);
    long a1 = va_arg(ap, long), a2 = va_arg(ap, long), a3 = va_arg(ap, long);
    long a4 = va_arg(ap, long), a5 = va_arg(ap, long), a6 = va_arg(ap, long);
    va_end(ap);
    if (nr == SYS_futex) {
        int op = (int)a2;
        if (futex_is_wake(op)) {
            ps_obj_note_post((uintptr_t)a1);
        } else if (futex_is_wait(op)) {
            struct ps_objwait w;
            int lock = (op & FUTEX_CMD_MASK) == FUTEX_LOCK_PI;
            if (ps_objwait_begin(&w, lock ? PS_LOCK : PS_COND, lock ? PS_K_MUTEX : PS_K_FUTEX,
                                 (uintptr_t)a1, PS_CALLER())) {
                long r = PS_REAL(syscall)(nr, a1, a2, a3, a4, a5, a6);
                /* 0: woken; EAGAIN: the word changed before we slept. Both mean go look. */
                ps_objwait_end(&w, r == 0 || errno == EAGAIN);
                return r;
            }
        }
    }
    return PS_REAL(syscall)(nr, a1, a2, a3, a4, a5, a6);
}
