/* test_backoff.c: the wait for the shim's spin locks (backoff.c) counts
 * its rounds, leaves errno alone, and stops spinning: past its spins and
 * yields it sleeps, so a holder preempted for a time slice does not cost a
 * waiter that slice of CPU. */
#include <criterion/criterion.h>
#include <errno.h>
#include <time.h>
#include "backoff.h"
#include "real.h"

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

Test(backoff, counts_its_rounds_and_keeps_errno)
{
    unsigned r = 0;
    errno = EDOM;
    for (int i = 0; i < 200; i++)
        ps_backoff(&r);
    cr_expect_eq(r, 200);
    cr_expect_eq(errno, EDOM);
}

Test(backoff, a_long_wait_sleeps_instead_of_burning_the_cpu)
{
    ps_real_init();
    cr_assert_not_null(ps_real_syscall);
    unsigned r = 0;
    for (int i = 0; i < 128; i++)                 /* past the spins and yields */
        ps_backoff(&r);
    double c0 = cpu_s(), w0 = wall_s();
    for (int i = 0; i < 100; i++)
        ps_backoff(&r);
    double cpu = cpu_s() - c0, wall = wall_s() - w0;
    cr_expect(wall >= 100 * 50e-6, "100 rounds in %.6f s: no sleep", wall);
    cr_expect(cpu < wall / 4, "%.6f s of CPU in %.6f s", cpu, wall);
}
