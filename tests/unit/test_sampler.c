/* Unit tests for the pure parts of shim/control/sampler.c: schedstat text and the
 * blocked-syscall classifier. The schedstat test reads this thread's real
 * file and brackets it with CLOCK_THREAD_CPUTIME_ID (same kernel counter). */
#include <criterion/criterion.h>
#include <string.h>
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
    cr_assert_eq(ps_sampler_parse_schedstat(buf, &cpu, &runq, NULL), 0, "%s", buf);
    cr_expect_geq(cpu, before, "schedstat %lu < clock before %lu", (unsigned long)cpu, (unsigned long)before);
    cr_expect_leq(cpu, after, "schedstat %lu > clock after %lu", (unsigned long)cpu, (unsigned long)after);
    unsigned long long a, b;
    cr_assert_eq(sscanf(buf, "%llu %llu", &a, &b), 2);
    cr_expect_eq(runq, b);
}

Test(sampler, parses_schedstat_text)
{
    uint64_t cpu = 1, runq = 1;
    cr_expect_eq(ps_sampler_parse_schedstat("123456789 987654 42\n", &cpu, &runq, NULL), 0);
    cr_expect_eq(cpu, 123456789u);
    cr_expect_eq(runq, 987654u);
    cr_expect_eq(ps_sampler_parse_schedstat("0 0 0\n", &cpu, &runq, NULL), 0);
    cr_expect_eq(cpu, 0);
    cr_expect_eq(runq, 0);
    cr_expect_eq(ps_sampler_parse_schedstat("18446744073709551615 7", &cpu, &runq, NULL), 0);
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
        cr_expect_eq(ps_sampler_parse_schedstat(bad[i], &cpu, &runq, NULL), -1, "accepted \"%s\"", bad[i]);
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

/* An unwrapped futex wait, from /proc/.../syscall's arguments: glibc's
 * contended mutex waits for 2 (FUTEX_WAIT_PRIVATE), Rust's too with
 * FUTEX_WAIT_BITSET; a condvar wait (Free Pascal's TThread.WaitFor through
 * dlsym'd pthreads: op 0x189, value 0) and a semaphore's are cond. */
Test(sampler, an_unwrapped_futex_wait_is_a_lock_only_by_its_value)
{
    cr_expect_eq(ps_sampler_futex_cause("0x55d0c0a1b040 0x80 0x2 0x0 0x0 0x0"), PS_LOCK);
    cr_expect_eq(ps_sampler_futex_cause("0x7f0c0a1b040 0x89 0x2 0x0 0x0 0xffffffff"), PS_LOCK);
    cr_expect_eq(ps_sampler_futex_cause("0x7f0c0a1b040 0x86 0x0 0x0 0x0 0x0"), PS_LOCK);
    cr_expect_eq(ps_sampler_futex_cause("0x7ffd2a6b1f48 0x189 0x0 0x7ffd2a6b1e80 0x0 0xffffffff"), PS_COND);
    cr_expect_eq(ps_sampler_futex_cause("0x7ffd2a6b1f48 0x80 0x0 0x0 0x0 0x0"), PS_COND);
    cr_expect_eq(ps_sampler_futex_cause("0x7ffd2a6b1f48 0x89 0x7 0x0 0x0 0xffffffff"), PS_COND);
}

Test(sampler, non_blocking_syscalls_have_no_cause)
{
    long none[] = { SYS_getpid, SYS_mmap, SYS_close, SYS_sched_yield, SYS_exit_group, -1, 0x7fffffff };
    cr_expect_eq(SYS_read, 0);                    /* x86-64: read is 0, a valid number */
    for (size_t i = 0; i < sizeof none / sizeof none[0]; i++)
        cr_expect_eq(ps_sampler_cause_of_syscall(none[i]), -1, "syscall %ld", none[i]);
}

/* The partition (ps_sampler_partition): wall = cpu + runq + blocked, and the
 * raw wrapped spans only label the blocked part. Times in ms for reading. */
#define MS 1000000ull
static struct ps_thread part_thread(void)
{
    struct ps_thread t = { 0 };
    t.born_ns = 1000 * MS;
    return t;
}
static uint64_t part_ended[PS_NCAUSE];   /* spans ended so far, by cause (0: by time) */
static uint64_t part_lag;                /* how far the CPU reading may trail */
static uint64_t part_runs;               /* times on a CPU so far (0: unknown) */
static uint64_t part_io_long_ms, part_io_long_n;   /* io spans long enough to have blocked */
static uint64_t part_io_long_wakes;                /* their wake-ups beyond one each */
static uint64_t part_io_file_ms, part_io_file_n;   /* of them, on a file */
static int64_t part_preempts = -1;       /* involuntary switches in the interval (-1: unknown) */
static int64_t part_vswitches = -1;      /* voluntary switches so far (-1: unknown) */
static uint64_t part_open_io_ms;         /* of io, the open span's time so far */
static uint64_t part_switched;           /* waits (not io) long enough to have switched, so far */
static uint64_t part_exact;              /* sleeps that ran their course, so far */
static uint64_t part_over_ms;            /* of them, the time past their caps */
static uint64_t part_ran_out_ms;         /* timed waits that ended as sleeps, their length, so far */
static int part_vswitches_of(struct ps_thread *t, uint64_t now, uint64_t *count)
{
    (void)t, (void)now;
    *count = part_vswitches > 0 ? (uint64_t)part_vswitches : 0;
    return part_vswitches >= 0 ? 0 : -1;
}
static void partition(struct ps_thread *t, uint64_t at_ms, uint64_t cpu_ms, uint64_t runq_ms,
                      uint64_t io, uint64_t sleep, uint64_t lock, uint64_t cond, uint64_t idle)
{
    struct ps_partition_in in = { .end = t->born_ns + at_ms * MS, .cpu = cpu_ms * MS, .runq = runq_ms * MS,
                                  .runs = part_runs, .io_long_ns = part_io_long_ms * MS,
                                  .io_long_n = part_io_long_n, .io_long_wakes = part_io_long_wakes,
                                  .io_file_ns = part_io_file_ms * MS,
                                  .io_file_n = part_io_file_n,
                                  .preempts = part_preempts > 0 ? (uint64_t)part_preempts : 0,
                                  .preempts_known = part_preempts >= 0,
                                  .lag = part_lag, .vswitches = part_vswitches_of,
                                  .open_io = part_open_io_ms * MS, .switched = part_switched,
                                  .exact = part_exact, .sleep_over_ns = part_over_ms * MS,
                                  .ran_out_ns = part_ran_out_ms * MS,
                                  .raw = { io * MS, sleep * MS, lock * MS, cond * MS, idle * MS, 0 } };
    memcpy(in.ended, part_ended, sizeof in.ended);
    ps_sampler_partition(t, &in);
}
static uint64_t labelled_ms(const struct ps_thread *t)
{
    uint64_t s = t->unattributed_ns;
    for (int c = 0; c < PS_NCAUSE; c++)
        s += t->blocked_ns[c];
    return s / MS;
}

Test(partition, wake_up_wait_for_a_core_is_runqueue_not_lock)
{
    /* 100 ms: 20 on CPU, 30 waiting for a core after lock hand-offs, 50
     * blocked; the lock spans (wall clock) saw 80 */
    struct ps_thread t = part_thread();
    partition(&t, 100, 20, 30, 0, 0, 80, 0, 0);
    cr_expect_eq(t.blocked_ns[PS_LOCK], 50 * MS);
    cr_expect_eq(t.unattributed_ns, 0);
    cr_expect_eq(20 + 30 + labelled_ms(&t), 100);
}

Test(partition, cpu_inside_a_read_is_not_io)
{
    /* reads from the page cache: 60 ms of CPU inside read(); 40 ms idle */
    struct ps_thread t = part_thread();
    partition(&t, 100, 60, 0, 60, 0, 0, 0, 40);
    cr_expect_eq(t.blocked_ns[PS_IDLE], 40 * MS);
    cr_expect_eq(t.blocked_ns[PS_IO], 0);
}

Test(partition, a_read_that_blocks_is_io)
{
    struct ps_thread t = part_thread();
    partition(&t, 100, 10, 0, 90, 0, 0, 0, 0);
    cr_expect_eq(t.blocked_ns[PS_IO], 90 * MS);
    partition(&t, 200, 15, 5, 170, 0, 0, 0, 0);       /* next interval: io 80, blocked 90 */
    cr_expect_eq(t.blocked_ns[PS_IO], 170 * MS);
    cr_expect_eq(t.unattributed_ns, 10 * MS);
    cr_expect_eq(15 + 5 + labelled_ms(&t), 200);
}

Test(partition, sure_waits_share_a_short_budget_in_proportion)
{
    struct ps_thread t = part_thread();
    partition(&t, 100, 40, 0, 0, 45, 0, 0, 15);      /* 60 raw for 60 blocked: as is */
    cr_expect_eq(t.blocked_ns[PS_SLEEP], 45 * MS);
    cr_expect_eq(t.blocked_ns[PS_IDLE], 15 * MS);
    partition(&t, 200, 80, 30, 0, 90, 0, 0, 30);     /* +60 raw, 30 blocked: halves */
    cr_expect_eq(t.blocked_ns[PS_SLEEP], 67500000);
    cr_expect_eq(t.blocked_ns[PS_IDLE], 22500000);
}

Test(partition, unwrapped_blocked_time_stays_unattributed)
{
    struct ps_thread t = part_thread();
    partition(&t, 100, 10, 5, 0, 0, 0, 0, 0);
    cr_expect_eq(t.unattributed_ns, 85 * MS);
    cr_expect_eq(labelled_ms(&t), 85);
}

Test(partition, a_lagging_cpu_reading_is_made_good_next_time)
{
    /* The CPU of a running thread is updated at scheduler ticks: read 4 ms
     * short, the sleep is labelled in full and the 4 ms wait unattributed;
     * the next reading catches up and the total is exact. */
    struct ps_thread t = part_thread();
    partition(&t, 100, 46, 0, 0, 50, 0, 0, 0);
    cr_expect_eq(t.blocked_ns[PS_SLEEP], 50 * MS);
    cr_expect_eq(t.unattributed_ns, 4 * MS);
    partition(&t, 200, 100, 0, 0, 100, 0, 0, 0);
    cr_expect_eq(t.blocked_ns[PS_SLEEP], 100 * MS);
    cr_expect_eq(t.unattributed_ns, 0);
}

Test(partition, a_wait_seen_open_as_cond_that_ends_idle_moves_to_idle)
{
    /* At 100 a 60 ms wait is open as cond (the idle wait not learned yet);
     * at 200 it ended, as idle, 150 ms long: its labels go with it. */
    struct ps_thread t = part_thread();
    partition(&t, 100, 40, 0, 0, 0, 0, 60, 0);
    cr_expect_eq(t.blocked_ns[PS_COND], 60 * MS);
    partition(&t, 200, 50, 0, 0, 0, 0, 0, 150);
    cr_expect_eq(t.blocked_ns[PS_COND], 0);
    cr_expect_eq(t.blocked_ns[PS_IDLE], 150 * MS);
    cr_expect_eq(50 + labelled_ms(&t), 200);
}

Test(partition, a_wait_that_ends_between_the_reads_keeps_its_cause)
{
    /* At 100 a lock wait is open (60 ms); at 150 it has ended, but the read
     * of the ended waits came first: it is in neither (lock reads 0). Its
     * labels stay lock, and at 200 it is counted once, whole. */
    struct ps_thread t = part_thread();
    partition(&t, 100, 40, 0, 0, 0, 60, 0, 0);
    partition(&t, 150, 45, 0, 0, 0, 0, 0, 0);
    cr_expect_eq(t.blocked_ns[PS_LOCK], 60 * MS);
    cr_expect_eq(t.blocked_ns[PS_IDLE], 0);
    partition(&t, 200, 50, 0, 0, 0, 150, 0, 0);
    cr_expect_eq(t.blocked_ns[PS_LOCK], 150 * MS);
    cr_expect_eq(50 + labelled_ms(&t), 200);
}

Test(partition, a_cpu_reading_that_catches_up_corrects_the_labels)
{
    /* At 100 the CPU read 50 but was 52 (a tick behind): the sleep got 50;
     * at 110 the CPU reads 62, so only 48 were ever blocked. */
    struct ps_thread t = part_thread();
    partition(&t, 100, 50, 0, 0, 50, 0, 0, 0);
    partition(&t, 110, 62, 0, 0, 55, 0, 0, 0);
    cr_expect_eq(t.blocked_ns[PS_SLEEP], 48 * MS);
    cr_expect_eq(t.unattributed_ns, 0);
}

Test(partition, the_wait_for_a_core_is_taken_per_wake_up)
{
    /* 100 ms: 10 CPU, 40 waiting for cores after wake-ups, 50 blocked: 40
     * sleeps of 1 ms (each waited 1 ms for a core: raw 80) and one lock wait
     * of 10 ms (waited 0 after it: raw 10). By time the sleep would get
     * 80/90 of 50; by wake-ups it loses 40 * 40/41 and the lock 40/41. */
    struct ps_thread t = part_thread();
    part_ended[PS_SLEEP] = 40;
    part_ended[PS_LOCK] = 1;
    partition(&t, 100, 10, 40, 0, 80, 10, 0, 0);
    memset(part_ended, 0, sizeof part_ended);
    cr_expect(t.blocked_ns[PS_SLEEP] > 40 * MS && t.blocked_ns[PS_SLEEP] < 41 * MS, "sleep %lu",
              (unsigned long)t.blocked_ns[PS_SLEEP]);
    cr_expect(t.blocked_ns[PS_LOCK] > 9 * MS && t.blocked_ns[PS_LOCK] < 10 * MS, "lock %lu",
              (unsigned long)t.blocked_ns[PS_LOCK]);
    cr_expect_eq(10 + 40 + labelled_ms(&t), 100);
}

Test(partition, a_cause_never_gives_more_than_it_has)
{
    /* 10 wake-ups of cond with 1 ms raw, 1 long sleep of 60 raw: excess 20
     * by count would take 18 from cond (it has 10) */
    struct ps_thread t = part_thread();
    part_ended[PS_COND] = 10;
    part_ended[PS_SLEEP] = 1;
    partition(&t, 100, 30, 20, 0, 60, 0, 10, 0);
    memset(part_ended, 0, sizeof part_ended);
    cr_expect_eq(t.blocked_ns[PS_SLEEP] + t.blocked_ns[PS_COND], 50 * MS);
    cr_expect_leq(t.blocked_ns[PS_COND], 10 * MS);
    cr_expect_eq(t.unattributed_ns, 0);
}

Test(partition, io_leaves_room_for_a_lagging_cpu_reading)
{
    /* CPU inside reads: the reading trails by 4 ms, so 4 ms look blocked; the
     * io span (all CPU) must not take them, and the next exact reading
     * shows they were CPU. */
    struct ps_thread t = part_thread();
    part_lag = 10 * MS;
    partition(&t, 100, 66, 0, 70, 0, 0, 0, 30);
    cr_expect_eq(t.blocked_ns[PS_IDLE], 30 * MS);
    cr_expect_eq(t.blocked_ns[PS_IO], 0);
    cr_expect_eq(t.unattributed_ns, 4 * MS);
    part_lag = 0;
    partition(&t, 100, 70, 0, 70, 0, 0, 0, 30);
    cr_expect_eq(t.blocked_ns[PS_IO], 0);
    cr_expect_eq(t.unattributed_ns, 0);
}

Test(partition, an_open_span_gives_back_its_wait_for_a_core)
{
    /* A 100 ms sleep began at 0; at 100 the thread is awake but waits for a
     * core (schedstat does not show it yet): the sample labels all 100 as
     * sleep. It runs at 130; the reading then shows 30 ms of run queue:
     * they come back from the sleep. */
    struct ps_thread t = part_thread();
    partition(&t, 120, 0, 0, 0, 119, 0, 0, 0);       /* open since 1 ms */
    cr_expect_eq(t.blocked_ns[PS_SLEEP], 119 * MS);
    partition(&t, 140, 10, 30, 0, 129, 0, 0, 0);       /* ran at 130: woke at 100 */
    cr_expect_eq(t.blocked_ns[PS_SLEEP], 100 * MS);
    cr_expect_eq(10 + 30 + labelled_ms(&t), 140);
}

Test(partition, a_preempted_threads_pending_wait_is_given_back)
{
    /* Slept 0-50, waited for a core 50-60, ran 60-80, preempted at 80 and
     * still waiting at the 100 ms sample (schedstat shows 10 ms of run queue,
     * not yet the 20 pending): the sleep span (raw 60) is labelled in full.
     * It runs at 110 until 200: the reading shows 40 ms of run queue, and the
     * sleep gives back the 10 ms that were the wake-up's wait for a core. */
    struct ps_thread t = part_thread();
    partition(&t, 100, 20, 10, 0, 60, 0, 0, 0);
    cr_expect_eq(t.blocked_ns[PS_SLEEP], 60 * MS);
    partition(&t, 200, 110, 40, 0, 60, 0, 0, 0);
    cr_expect_eq(t.blocked_ns[PS_SLEEP], 50 * MS);
    cr_expect_eq(t.unattributed_ns, 0);
    cr_expect_eq(110 + 40 + labelled_ms(&t), 200);
}

Test(partition, an_unwrapped_wait_is_not_taken_by_the_sleeps_wake_ups)
{
    /* 10 tasks in 200 ms: 2 ms CPU, a 5 ms sleep (then 5 ms for a core), a
     * 10 ms read no wrapper sees (then nothing: the core was free). Raw
     * sleep 100 = 50 blocked + 50 run queue; blocked in all 150. Without the
     * per-wake-up estimate the sleeps would take the reads' 100 ms. The
     * thread got a CPU 20 times (after each sleep, after each read): 50 ms
     * of run queue over 20 runs is 2.5 per wake-up, so the sleeps give
     * back 25 and keep 75; the rest (75) waits, unattributed, for the
     * sampler to catch the read. */
    struct ps_thread t = part_thread();
    t.last_unwrapped_cause = PS_IO + 1;              /* reads were caught lately */
    t.unwrapped_ticks = 5;
    part_ended[PS_SLEEP] = 10;
    part_runs = 20;
    partition(&t, 200, 0, 50, 0, 100, 0, 0, 0);
    part_runs = 0;
    memset(part_ended, 0, sizeof part_ended);
    cr_expect_eq(t.blocked_ns[PS_SLEEP], 75 * MS);
    cr_expect_eq(t.unattributed_ns, 75 * MS);
}

Test(partition, a_thread_without_unwrapped_waits_keeps_its_spans)
{
    /* The same estimate on a thread that only sleeps: what it took off too
     * much comes back. 10 sleeps, raw 100 = 90 blocked + 10 run queue, and
     * 20 runs (10 preemptions) make the estimate 0.5 per wake-up. */
    struct ps_thread t = part_thread();
    part_ended[PS_SLEEP] = 10;
    part_runs = 20;
    partition(&t, 200, 100, 10, 0, 100, 0, 0, 0);
    part_runs = 0;
    memset(part_ended, 0, sizeof part_ended);
    cr_expect_eq(t.blocked_ns[PS_SLEEP], 90 * MS);
    cr_expect_eq(t.unattributed_ns, 0);
}

Test(partition, io_that_blocked_shares_the_excess_with_the_other_waits)
{
    /* 200 ms: 20 CPU, 40 waiting for a core after 12 wake-ups, 140 blocked:
     * 8 timer reads of 10 ms (raw 100, all long) and 4 waits for work of
     * 15 ms (raw 80). The 40 ms excess is taken per wake-up (3.3 each):
     * io keeps ~73, idle ~67. Were io last, idle would keep all 80. */
    struct ps_thread t = part_thread();
    part_ended[PS_IO] = 8;
    part_ended[PS_IDLE] = 4;
    part_io_long_ms = 100;
    part_io_long_n = 8;
    partition(&t, 200, 20, 40, 100, 0, 0, 0, 80);
    memset(part_ended, 0, sizeof part_ended);
    part_io_long_ms = part_io_long_n = 0;
    cr_expect(t.blocked_ns[PS_IO] > 70 * MS && t.blocked_ns[PS_IO] < 76 * MS, "io %lu", (unsigned long)t.blocked_ns[PS_IO]);
    cr_expect(t.blocked_ns[PS_IDLE] > 64 * MS && t.blocked_ns[PS_IDLE] < 70 * MS, "idle %lu",
              (unsigned long)t.blocked_ns[PS_IDLE]);
    cr_expect_eq(20 + 40 + labelled_ms(&t), 200);
}

Test(partition, a_read_that_blocked_twice_holds_two_waits_for_a_core)
{
    /* 100 ms: 18 CPU, 32 waiting for a core after 8 wake-ups (4 each), 50
     * blocked: 3 reads that blocked twice each (30 ms blocked, raw 54: six
     * wake-ups) and 2 waits for work (20 blocked, raw 28). Cut once a read,
     * io would keep 35 and idle 15. */
    struct ps_thread t = part_thread();
    part_ended[PS_IO] = 3;
    part_ended[PS_IDLE] = 2;
    part_io_long_ms = 54;
    part_io_long_n = 3;
    part_io_long_wakes = 3;
    part_runs = 8;
    partition(&t, 100, 18, 32, 54, 0, 0, 0, 28);
    memset(part_ended, 0, sizeof part_ended);
    part_io_long_ms = part_io_long_n = part_io_long_wakes = part_runs = 0;
    cr_expect_eq(t.blocked_ns[PS_IO], 30 * MS, "io %lu", (unsigned long)t.blocked_ns[PS_IO]);
    cr_expect_eq(t.blocked_ns[PS_IDLE], 20 * MS, "idle %lu", (unsigned long)t.blocked_ns[PS_IDLE]);
    cr_expect_eq(18 + 32 + labelled_ms(&t), 100);
}

/* The same interval as above, io's spans now made long by preemption
 * (reads served from the page cache, the thread preempted inside them):
 * 200 ms, 20 CPU, 40 run queue, 140 blocked; 8 long reads (raw 100) and 4
 * waits for work (raw 80). file: the reads were of a file (else of a pipe,
 * a socket or a timerfd, which block from their start). */
static void long_reads(struct ps_thread *t, int64_t preempts, int file)
{
    part_ended[PS_IO] = 8;
    part_ended[PS_IDLE] = 4;
    part_io_long_ms = 100;
    part_io_long_n = 8;
    part_io_file_ms = file ? 100 : 0;
    part_io_file_n = file ? 8 : 0;
    part_preempts = preempts;
    partition(t, 200, 20, 40, 100, 0, 0, 0, 80);
    memset(part_ended, 0, sizeof part_ended);
    part_io_long_ms = part_io_long_n = part_io_file_ms = part_io_file_n = 0;
    part_preempts = -1;
}
static void preempted_reads(struct ps_thread *t, int64_t preempts)
{
    long_reads(t, preempts, 1);
}

Test(partition, a_read_preempted_inside_gives_its_length_back_first)
{
    /* 8 preemptions for 8 long reads: the excess (40) is their run queue,
     * taken from io alone; the waits for work keep all their 80. */
    struct ps_thread t = part_thread();
    preempted_reads(&t, 8);
    cr_expect_eq(t.blocked_ns[PS_IO], 60 * MS);
    cr_expect_eq(t.blocked_ns[PS_IDLE], 80 * MS);
    cr_expect_eq(20 + 40 + labelled_ms(&t), 200);
}

Test(partition, fewer_preemptions_than_long_reads_give_back_their_share)
{
    /* 2 preemptions for 8 long reads: at most 2/8 of io's 100 comes off
     * first (25, below the 40 excess), the other 15 by wake-ups as before */
    struct ps_thread t = part_thread();
    preempted_reads(&t, 2);
    cr_expect(t.blocked_ns[PS_IO] > 60 * MS && t.blocked_ns[PS_IO] < 66 * MS, "io %lu", (unsigned long)t.blocked_ns[PS_IO]);
    cr_expect(t.blocked_ns[PS_IDLE] > 74 * MS && t.blocked_ns[PS_IDLE] < 80 * MS, "idle %lu",
              (unsigned long)t.blocked_ns[PS_IDLE]);
    cr_expect_eq(20 + 40 + labelled_ms(&t), 200);
}

Test(partition, a_long_read_of_a_pipe_or_timer_blocked_whatever_the_preemptions)
{
    /* 8 preemptions, but the long reads were of a timerfd (epoll_pool
     * beside CPU hogs: io read 1.33 s against 1.60 when they gave first):
     * the excess is the wake-ups' wait for a core, split as with no
     * preemption (io ~73, idle ~67) */
    struct ps_thread t = part_thread();
    long_reads(&t, 8, 0);
    cr_expect(t.blocked_ns[PS_IO] > 70 * MS && t.blocked_ns[PS_IO] < 76 * MS, "io %lu", (unsigned long)t.blocked_ns[PS_IO]);
    cr_expect(t.blocked_ns[PS_IDLE] > 64 * MS && t.blocked_ns[PS_IDLE] < 70 * MS, "idle %lu",
              (unsigned long)t.blocked_ns[PS_IDLE]);
    cr_expect_eq(20 + 40 + labelled_ms(&t), 200);
}

Test(partition, no_preemption_leaves_the_split_by_wake_ups)
{
    /* known and zero, or unknown: the split of the test above (io ~73) */
    for (int64_t p = -1; p <= 0; p++) {
        struct ps_thread t = part_thread();
        preempted_reads(&t, p);
        cr_expect(t.blocked_ns[PS_IO] > 70 * MS && t.blocked_ns[PS_IO] < 76 * MS, "io %lu with %ld",
                  (unsigned long)t.blocked_ns[PS_IO], (long)p);
    }
}

/* Short io spans that the voluntary switches say did not block (sampler.c,
 * short_io_by_switches). 100 ms of a reader we started: 50 on CPU, 40 of
 * them inside 200 reads from the page cache; one wait for work of 20, and 30
 * in ten waits on a futex no wrapper saw (glibc's malloc arena lock), which
 * the sampler catches the thread in. 11 voluntary switches: one for the
 * wait for work (20 ms: long enough to have switched), ten for the futex,
 * so at most 10 of the 200 reads blocked. */
static void reader_with_unwrapped_futex(struct ps_thread *t, int64_t vswitches)
{
    *t = part_thread();
    t->via_create = 1;
    part_ended[PS_IO] = 200;
    part_ended[PS_IDLE] = 1;
    part_switched = 1;
    part_vswitches = vswitches;
    partition(t, 100, 50, 0, 40, 0, 0, 0, 20);
    part_vswitches = -1;
    part_switched = 0;
    memset(part_ended, 0, sizeof part_ended);
}

Test(partition, an_unwrapped_futex_wait_beside_file_reads_is_not_io)
{
    struct ps_thread t;
    reader_with_unwrapped_futex(&t, 11);
    cr_expect_eq(t.blocked_ns[PS_IDLE], 20 * MS);
    cr_expect(t.blocked_ns[PS_IO] <= 2 * MS, "io %lu", (unsigned long)t.blocked_ns[PS_IO]);
    /* left for the sampler's catch to label as the futex wait it is */
    cr_expect(t.unattributed_ns >= 28 * MS, "unattributed %lu", (unsigned long)t.unattributed_ns);
    cr_expect_eq(50 + labelled_ms(&t), 100);
}

Test(partition, short_io_that_blocked_in_every_span_keeps_what_is_left)
{
    /* the same thread with a switch per read (a pipe read by a quick
     * producer): the reads may have blocked, as before */
    struct ps_thread t;
    reader_with_unwrapped_futex(&t, 201);
    cr_expect_eq(t.blocked_ns[PS_IO], 30 * MS);
    /* unknown switches (a thread found in /proc, before its second sample) */
    reader_with_unwrapped_futex(&t, -1);
    cr_expect_eq(t.blocked_ns[PS_IO], 30 * MS);
}

/* A thread we started blocked in one epoll_wait from 10 ms on (node's
 * DelayedTaskScheduler): it switched once, when it blocked, and then no
 * more. The open span's time in each interval is io whatever the switches
 * say: the second interval's 100 ms read as 0 (0.39 s of io where the
 * observer saw 0.90 s). */
Test(partition, a_call_still_blocked_at_the_sample_keeps_its_time_whatever_the_switches)
{
    struct ps_thread t = part_thread();
    t.via_create = 1;
    part_vswitches = 1;
    part_open_io_ms = 90;
    partition(&t, 100, 10, 0, 90, 0, 0, 0, 0);
    t.last_sample_ns = t.born_ns + 100 * MS;   /* as the sampler sets it after each sample */
    part_open_io_ms = 190;
    partition(&t, 200, 10, 0, 190, 0, 0, 0, 0);
    part_vswitches = -1;
    part_open_io_ms = 0;
    cr_expect(t.blocked_ns[PS_IO] >= 185 * MS, "io %lu of 190 ms blocked", (unsigned long)t.blocked_ns[PS_IO]);
    cr_expect_eq(10 + labelled_ms(&t), 200);
}

/* pigz's writer: 100 ms, 20 of CPU, 60 waiting on a condvar for the next
 * block in 30 waits that switched it out, 20 in two waits no wrapper saw,
 * and 30 writes to a file (30 ms of spans, CPU in the kernel) that never
 * blocked: 32 voluntary switches, 30 of them the condvar's. The writes may
 * claim 2 of 30 (it kept 0.023 s of io where the observer saw none when
 * the condvar's switches were counted as theirs). */
Test(partition, switches_of_waits_that_blocked_are_not_short_ios)
{
    struct ps_thread t = part_thread();
    t.via_create = 1;
    part_ended[PS_IO] = 30;
    part_ended[PS_COND] = 30;
    part_switched = 30;
    part_vswitches = 32;
    partition(&t, 100, 20, 0, 30, 0, 0, 60, 0);
    part_vswitches = -1;
    part_switched = 0;
    memset(part_ended, 0, sizeof part_ended);
    cr_expect_eq(t.blocked_ns[PS_COND], 60 * MS);
    cr_expect(t.blocked_ns[PS_IO] <= 3 * MS, "io %lu", (unsigned long)t.blocked_ns[PS_IO]);
    cr_expect(t.unattributed_ns >= 17 * MS, "unattributed %lu", (unsigned long)t.unattributed_ns);
}

Test(partition, a_sleep_whose_timer_fired_late_keeps_its_lateness)
{
    /* 100 ms: 10 sleeps of 5 ms that ran their course, each cut at its cap
     * (50 ms exact), and each 2 ms past it; 20 on CPU, 10 waiting for a core
     * after preemptions elsewhere. The timers fired late (a busy host): the
     * kernel counts the 20 ms as blocked, not run queue, and so do we. */
    struct ps_thread t = part_thread();
    part_exact = 10;
    part_ended[PS_SLEEP] = 10;
    part_over_ms = 20;
    partition(&t, 100, 20, 10, 0, 50, 0, 0, 0);
    cr_expect_eq(t.blocked_ns[PS_SLEEP], 70 * MS);
    cr_expect_eq(t.unattributed_ns, 0);
    /* ... and where the time past the caps was the wait for a core, it
     * stays run queue, and the sleeps keep their exact 50 ms. */
    struct ps_thread u = part_thread();
    partition(&u, 100, 20, 30, 0, 50, 0, 0, 0);
    cr_expect_eq(u.blocked_ns[PS_SLEEP], 50 * MS);
    cr_expect_eq(20 + 30 + labelled_ms(&u), 100);
    /* ... also beside a lock whose hand-offs waited for a core as well:
     * each wake-up's wait comes off its own wait */
    struct ps_thread v = part_thread();
    part_ended[PS_LOCK] = 10;
    partition(&v, 150, 20, 50, 0, 50, 50, 0, 0);   /* lock: 30 blocked + 20 waiting for a core */
    cr_expect_eq(v.blocked_ns[PS_SLEEP], 50 * MS);
    cr_expect_eq(v.blocked_ns[PS_LOCK], 30 * MS);
    part_exact = part_over_ms = 0;
    memset(part_ended, 0, sizeof part_ended);
}

Test(partition, a_wait_seen_open_as_cond_that_ran_out_as_a_sleep_moves_to_sleep)
{
    /* HotSpot's service threads sleep in timed waits on a condvar of their
     * own: open, such a wait is cond; once it ran out it is a sleep
     * (ps_objwait_timed_out). At 100 it is open for 60 ms; at 300 it has
     * ended, 250 ms long: all of it is sleep, none left unattributed. */
    struct ps_thread t = part_thread();
    partition(&t, 100, 40, 0, 0, 0, 0, 60, 0);
    cr_expect_eq(t.blocked_ns[PS_COND], 60 * MS);
    part_ran_out_ms = 250;
    partition(&t, 300, 50, 0, 0, 250, 0, 0, 0);
    cr_expect_eq(t.blocked_ns[PS_COND], 0);
    cr_expect_eq(t.blocked_ns[PS_SLEEP], 250 * MS);
    cr_expect_eq(t.unattributed_ns, 0);
    cr_expect_eq(50 + labelled_ms(&t), 300);
}

Test(partition, a_cond_wait_that_ends_between_the_reads_beside_a_sleep_stays_cond)
{
    /* At 100 a cond wait is open (60 ms); at 150 it has ended between the
     * reads (cond reads 0) while a 40 ms nanosleep ended: no timed wait ran
     * out, so nothing moves to sleep; at 200 the cond wait is whole, 100 ms. */
    struct ps_thread t = part_thread();
    partition(&t, 100, 40, 0, 0, 0, 0, 60, 0);
    partition(&t, 150, 45, 0, 0, 40, 0, 0, 0);
    cr_expect_eq(t.blocked_ns[PS_COND], 60 * MS);
    cr_expect_eq(t.blocked_ns[PS_SLEEP], 40 * MS);
    partition(&t, 200, 50, 0, 0, 40, 0, 100, 0);
    cr_expect_eq(t.blocked_ns[PS_COND], 100 * MS);
    cr_expect_eq(t.blocked_ns[PS_SLEEP], 40 * MS);
    cr_expect_eq(50 + labelled_ms(&t), 200);
}
