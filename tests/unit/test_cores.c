/* Unit tests for shim/base/cores.c: the CPUs a process can use. Criterion runs
 * each test in its own process, so narrowing the affinity here is safe. */
#include <criterion/criterion.h>
#include <sched.h>
#include <unistd.h>
#include "cores.h"

Test(cores, quota_texts)
{
    cr_expect_float_eq(ps_cores_parse_quota("150000", "100000"), 1.5, 1e-9);
    cr_expect_float_eq(ps_cores_parse_quota("max", "100000"), 0, 1e-9);
    cr_expect_float_eq(ps_cores_parse_quota("-1", "100000"), 0, 1e-9);
    cr_expect_float_eq(ps_cores_parse_quota("50000\n", "100000\n"), 0.5, 1e-9);
    cr_expect_float_eq(ps_cores_parse_quota("", "100000"), 0, 1e-9);
    cr_expect_float_eq(ps_cores_parse_quota("100", "0"), 0, 1e-9);
}

Test(cores, follows_the_affinity_mask)
{
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(sched_getcpu() >= 0 ? sched_getcpu() : 0, &one);
    cr_assert_eq(sched_setaffinity(0, sizeof one, &one), 0);
    cr_expect_float_eq(ps_cores_usable(), 1, 1e-9);
}

Test(cores, never_more_than_online)
{
    double n = ps_cores_usable();
    cr_expect_gt(n, 0);
    cr_expect_leq(n, (double)sysconf(_SC_NPROCESSORS_ONLN));
}
