/* backoff.c: see backoff.h. Spinning alone, a waiter burned its whole time
 * slice whenever the holder was preempted: std::thread workers started
 * beside two CPU hogs ran 4 ms of CPU each (the scheduler's tick) before
 * their first line of code, and their pool's tasks read as unknown ("its
 * wait for work was learned late": the 4 ms counted as CPU before the count
 * began) once in about 40 runs. So: a few spins, then yields, then sleeps of
 * 50 us, made as the system call itself (the program's nanosleep is ours,
 * and would be timed as its sleep), errno kept. */
#include "backoff.h"
#include "real.h"
#include <errno.h>
#include <sched.h>
#include <sys/syscall.h>
#include <time.h>

#define SPINS 64
#define YIELDS 64

void ps_backoff(unsigned *rounds)
{
    unsigned n = (*rounds)++;
    if (n < SPINS) {
        __builtin_ia32_pause();
        return;
    }
    int saved = errno;
    struct timespec ts = { 0, 50000 };
    if (n < SPINS + YIELDS || !ps_real_syscall)
        sched_yield();
    else
        ps_real_syscall(SYS_nanosleep, &ts, NULL);
    errno = saved;
}
