/* interpose_futex.c: libc's syscall(), for the futex waits and wakes that C++
 * std::counting_semaphore, atomic::wait and hand-rolled pools make directly.
 * Every other system call number is forwarded untouched (six register-sized
 * arguments, exactly as glibc's own syscall() reads them). */
#include "confine.h"
#include "agent.h"
#include "export.h"
#include "real.h"
#include "waitobj.h"
#include <linux/futex.h>
#include <linux/seccomp.h>
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

/* Hold times of a futex lock, which no unlock wrapper sees: a waiter that
 * got the lock after sleeping set the word to 2 ("waiters"), so its release
 * enters the kernel to wake the next one. The time between is a hold of a
 * contended acquisition, the kind a serialized pool's lock is made of;
 * acquisitions counts these samples (report.c scales them by contended). */
static void flock_waited(struct ps_thread *t, struct ps_obj *o, uintptr_t word)
{
    if (!t || !o)
        return;
    t->flock_obj = word;
    t->flock_t0 = ps_now_ns();
}

static void flock_released(struct ps_thread *t)
{
    struct ps_obj *o = ps_obj_find(t->flock_obj);
    uint64_t held = ps_ns_since(t->flock_t0, ps_now_ns());
    t->flock_obj = 0;
    if (o && o->kind == PS_K_FUTEX_LOCK) {
        __atomic_fetch_add(&o->hold_ns, held, __ATOMIC_RELAXED);
        __atomic_fetch_add(&o->acquisitions, 1, __ATOMIC_RELAXED);
    }
}

PS_EXPORT long syscall(long nr, ...)
{
    va_list ap;
    va_start(ap, nr);
    long a1 = va_arg(ap, long), a2 = va_arg(ap, long), a3 = va_arg(ap, long);
    long a4 = va_arg(ap, long), a5 = va_arg(ap, long), a6 = va_arg(ap, long);
    va_end(ap);
    /* before a filter goes in (confine.h): strict mode, or a filter given;
     * not a query, nor Chromium's probe for TSYNC (a null filter: EFAULT) */
    if (nr == SYS_seccomp && (a1 == SECCOMP_SET_MODE_STRICT || (a1 == SECCOMP_SET_MODE_FILTER && a3)))
        ps_agent_confine();
    if (nr == SYS_futex) {
        int op = (int)a2, cmd = op & FUTEX_CMD_MASK;
        if (futex_is_wake(op)) {
            struct ps_thread *t = ps_self;
            if (t && t->flock_obj == (uintptr_t)a1)
                flock_released(t);
            ps_obj_note_post((uintptr_t)a1);
            if (a3 > 1 && (cmd == FUTEX_WAKE || cmd == FUTEX_WAKE_BITSET))
                ps_obj_note_wake_all((uintptr_t)a1);
        } else if (futex_is_wait(op)) {
            struct ps_objwait w;
            int lock = cmd == FUTEX_LOCK_PI;
            /* The mutex protocol nearly every futex lock follows (Drepper's
             * "Futexes are tricky", mutex 2: GLib's GMutex, glibc's lowlevellock,
             * most hand-rolled ones): 0 free, 1 locked, 2 locked with waiters,
             * and a waiter sleeps only while the word is 2. A condvar or event
             * sleeps on a sequence number instead, which is 2 only at its
             * second signal: a lock wait, taken as one. Rust's std Mutex
             * follows it with FUTEX_WAIT_BITSET (its 2.65 s of lock wait read
             * as condvar wait, with no lock in the report). */
            int word_lock = !lock && (cmd == FUTEX_WAIT || cmd == FUTEX_WAIT_BITSET) && (int)a3 == 2;
            if (ps_objwait_begin(&w, lock || word_lock ? PS_LOCK : PS_COND,
                                 lock ? PS_K_MUTEX : word_lock ? PS_K_FUTEX_LOCK : PS_K_FUTEX,
                                 (uintptr_t)a1, PS_CALLER())) {
                long r = PS_REAL(syscall)(nr, a1, a2, a3, a4, a5, a6);
                /* 0: woken; EAGAIN: the word changed before we slept. Both mean go look. */
                ps_objwait_end(&w, r == 0 || errno == EAGAIN);
                if (word_lock)
                    flock_waited(w.span.t, w.o, (uintptr_t)a1);
                return r;
            }
        }
    }
    return PS_REAL(syscall)(nr, a1, a2, a3, a4, a5, a6);
}
