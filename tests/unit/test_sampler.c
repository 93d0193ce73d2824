/* Unit tests for the pure parts of shim/sampler.c: schedstat text and the
 * blocked-syscall classifier. The schedstat test reads this thread's real
 * file and brackets it with CLOCK_THREAD_CPUTIME_ID (same kernel counter). */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "sampler.h"
#include "thread.h"

static uint64_t thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

Test(sampler, parses_this_threads_real_schedstat)
{
    volatile uint64_t x = 0;
    uint64_t start = thread_cpu_ns();
    while (thread_cpu_ns() - start < 20000000)       /* 20 ms of CPU */
        x++;
    char path[64], buf[128];
    snprintf(path, sizeof path, "/proc/self/task/%ld/schedstat", (long)syscall(SYS_gettid));
    int fd = open(path, O_RDONLY);
    cr_assert_geq(fd, 0);
    uint64_t before = thread_cpu_ns();
    ssize_t n = read(fd, buf, sizeof buf - 1);
    uint64_t after = thread_cpu_ns();
    close(fd);
    cr_assert_gt(n, 0);
    buf[n] = 0;
    uint64_t cpu = 0, runq = 0;
    cr_assert_eq(ps_sampler_parse_schedstat(buf, &cpu, &runq), 0, "%s", buf);
    cr_expect_geq(cpu, before, "schedstat %lu < clock before %lu", (unsigned long)cpu, (unsigned long)before);
    cr_expect_leq(cpu, after, "schedstat %lu > clock after %lu", (unsigned long)cpu, (unsigned long)after);
    unsigned long long a, b;
    cr_assert_eq(sscanf(buf, "%llu %llu", &a, &b), 2);
    cr_expect_eq(runq, b);
}

Test(sampler, parses_schedstat_text)
{
    uint64_t cpu = 1, runq = 1;
    cr_expect_eq(ps_sampler_parse_schedstat("123456789 987654 42\n", &cpu, &runq), 0);
    cr_expect_eq(cpu, 123456789u);
    cr_expect_eq(runq, 987654u);
    cr_expect_eq(ps_sampler_parse_schedstat("0 0 0\n", &cpu, &runq), 0);
    cr_expect_eq(cpu, 0);
    cr_expect_eq(runq, 0);
    cr_expect_eq(ps_sampler_parse_schedstat("18446744073709551615 7", &cpu, &runq), 0);
    cr_expect_eq(cpu, UINT64_MAX);
    cr_expect_eq(runq, 7);
}

Test(sampler, rejects_malformed_schedstat)
{
    const char *bad[] = { "", "\n", "abc 1 2", "123", "123\n", "123 ", "123 abc", "123\t456",
                          "-5 3 1", "5 -3 1", "99999999999999999999 1 1", "1 99999999999999999999 1",
                          " 1 2 3" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t cpu = 77, runq = 88;
        cr_expect_eq(ps_sampler_parse_schedstat(bad[i], &cpu, &runq), -1, "accepted \"%s\"", bad[i]);
        cr_expect(cpu == 77 && runq == 88, "\"%s\" wrote outputs", bad[i]);
    }
}

Test(sampler, classifies_blocking_syscalls)
{
    long io[] = { SYS_read, SYS_write, SYS_pread64, SYS_pwrite64, SYS_readv, SYS_writev, SYS_recvfrom,
                  SYS_sendto, SYS_recvmsg, SYS_sendmsg, SYS_accept, SYS_accept4, SYS_connect, SYS_fsync,
                  SYS_fdatasync, SYS_poll, SYS_ppoll, SYS_select, SYS_pselect6, SYS_epoll_wait,
                  SYS_epoll_pwait, SYS_epoll_pwait2, SYS_openat, SYS_io_uring_enter, SYS_recvmmsg,
                  SYS_sendmmsg, SYS_preadv2, SYS_pwritev2 };
    for (size_t i = 0; i < sizeof io / sizeof io[0]; i++)
        cr_expect_eq(ps_sampler_cause_of_syscall(io[i]), PS_IO, "syscall %ld", io[i]);
    cr_expect_eq(ps_sampler_cause_of_syscall(SYS_nanosleep), PS_SLEEP);
    cr_expect_eq(ps_sampler_cause_of_syscall(SYS_clock_nanosleep), PS_SLEEP);
    cr_expect_eq(ps_sampler_cause_of_syscall(SYS_pause), PS_SLEEP);
    cr_expect_eq(ps_sampler_cause_of_syscall(SYS_futex), PS_LOCK);
    cr_expect_eq(ps_sampler_cause_of_syscall(SYS_wait4), PS_COND);
    cr_expect_eq(ps_sampler_cause_of_syscall(SYS_waitid), PS_COND);
}

Test(sampler, non_blocking_syscalls_have_no_cause)
{
    long none[] = { SYS_getpid, SYS_mmap, SYS_close, SYS_sched_yield, SYS_exit_group, -1, 0x7fffffff };
    cr_expect_eq(SYS_read, 0);                    /* x86-64: read is 0, a valid number */
    for (size_t i = 0; i < sizeof none / sizeof none[0]; i++)
        cr_expect_eq(ps_sampler_cause_of_syscall(none[i]), -1, "syscall %ld", none[i]);
}
