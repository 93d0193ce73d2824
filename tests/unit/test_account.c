/* test_account.c: account.c, which files a long io span by whether the
 * thread switched out of its own accord since its last long wait. The
 * switches are the kernel's (getrusage): a sleep makes one, a loop none. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "account.h"

#define US 1000ull

static struct ps_thread reader(int fd)
{
    struct ps_thread t;
    memset(&t, 0, sizeof t);
    t.cur_kind = PS_K_IO;
    t.cur_obj = (uintptr_t)fd;
    return t;
}

/* A reader of fd that has read its switches once (a first long read). */
static struct ps_thread reading(int fd)
{
    struct ps_thread t = reader(fd);
    ps_span_long_end(&t, PS_IO, 50 * US);
    return t;
}

/* Each test's reader reads p[0], a pipe: a blocking fd that is no file. */
static int p[2];
static void open_pipe(void)
{
    cr_assert_eq(pipe(p), 0);
}
static void close_pipe(void)
{
    close(p[0]);
    close(p[1]);
}
TestSuite(account, .init = open_pipe, .fini = close_pipe);

static void nap(void)
{
    struct timespec ts = { 0, 2000000 };          /* 2 ms: a voluntary switch */
    nanosleep(&ts, NULL);
}

Test(account, a_read_is_filed_by_whether_the_thread_switched_out)
{
    struct ps_thread t = reader(p[0]);
    ps_span_long_end(&t, PS_IO, 50 * US);          /* no reading before: by length, short */
    cr_expect_eq(t.vsw_read, 1);
    cr_expect_eq(t.io_long_n + t.io_nb_n, 0);
    nap();
    ps_span_long_end(&t, PS_IO, 50 * US);          /* blocked, though short */
    cr_expect_eq(t.io_long_n, 1);
    cr_expect_eq(t.io_long_ns, 50 * US);
    cr_expect_eq(t.io_nb_n, 0);
    ps_span_long_end(&t, PS_IO, 300 * US);         /* long, but no switch: preempted or CPU */
    cr_expect_eq(t.io_long_n, 1);
    cr_expect_eq(t.io_nb_n, 1);
    cr_expect_eq(t.io_nb_ns, 300 * US);
    cr_expect_eq(t.io_file_n, 0);                  /* the partition need not guess */
}

Test(account, another_waits_switch_is_not_the_reads)
{
    struct ps_thread t = reading(p[0]);
    nap();
    t.cur_kind = PS_K_COND;
    ps_span_long_end(&t, PS_IDLE, 2000 * US);      /* the wait for work that slept */
    t.cur_kind = PS_K_IO;
    ps_span_long_end(&t, PS_IO, 50 * US);
    cr_expect_eq(t.io_long_n, 0);
    cr_expect_eq(t.io_nb_n, 1);
}

Test(account, switches_are_counted_as_wake_ups_and_a_file_read_unread_by_length)
{
    struct ps_thread t = reading(p[0]);
    nap();
    nap();
    ps_span_long_end(&t, PS_IO, 4000 * US);        /* two switches: two wake-ups to cut */
    cr_expect_eq(t.io_long_n, 1);
    cr_expect_eq(t.io_long_wakes, 1 + (uint64_t)t.ivsw_span, "and a preemption on a loaded machine");
    /* without a reading (a thread that has not read its switches): by
     * length, and a long one on a file may have been preempted */
    int f = open("/proc/self/exe", O_RDONLY);
    cr_assert(f >= 0);
    struct ps_thread u = reader(f);
    ps_span_long_io(&u, 300 * US, -1);
    ps_span_long_io(&u, 50 * US, -1);
    cr_expect_eq(u.io_long_n, 1);
    cr_expect_eq(u.io_file_n, 1);
    cr_expect_eq(u.io_nb_n, 0);
    close(f);
}

Test(account, a_non_blocking_fd_never_blocked)
{
    cr_assert_eq(fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
    struct ps_thread t = reading(p[0]);
    nap();
    ps_span_long_end(&t, PS_IO, 50 * US);          /* short: short io, whatever the switches */
    ps_span_long_end(&t, PS_IO, 300 * US);         /* long: preempted inside */
    cr_expect_eq(t.io_long_n, 0);
    cr_expect_eq(t.io_nb_n, 1);
    cr_expect_eq(t.io_nb_ns, 300 * US);
}

/* A read that blocked and was also switched out while it could run (here a
 * yield to a thread spinning on the same core, which the kernel counts as
 * involuntary, as it does a preemption) waited for a core once more for
 * each such switch: one more wake-up each for the partition to cut (node's
 * fs workers, four on two cores, are preempted in and around their reads). */
static volatile int spinning;
static void *spinner(void *arg)
{
    (void)arg;
    while (spinning)
        ;
    return NULL;
}

Test(account, a_preemption_in_a_blocked_read_is_one_more_wait_for_a_core)
{
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(sched_getcpu(), &one);
    cr_assert_eq(sched_setaffinity(0, sizeof one, &one), 0);
    struct ps_thread t = reading(p[0]);
    spinning = 1;
    pthread_t th;
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setaffinity_np(&a, sizeof one, &one);
    cr_assert_eq(pthread_create(&th, &a, spinner, NULL), 0);
    pthread_attr_destroy(&a);
    struct rusage r0, r1;
    getrusage(RUSAGE_THREAD, &r0);
    nap();                                         /* blocked: one voluntary switch */
    for (int i = 0; i < 1000; i++) {               /* a yield that switched to the spinner */
        sched_yield();                             /* (not every one does) is involuntary */
        getrusage(RUSAGE_THREAD, &r1);
        if (r1.ru_nivcsw - r0.ru_nivcsw >= 2)
            break;
    }
    ps_span_long_end(&t, PS_IO, 9000 * US);
    spinning = 0;
    pthread_join(th, NULL);
    long vol = r1.ru_nvcsw - r0.ru_nvcsw, invol = r1.ru_nivcsw - r0.ru_nivcsw;
    cr_assert_geq(invol, 2, "the yields switched %ld times", invol);
    cr_expect_eq(t.io_long_n, 1);
    cr_expect_geq(t.ivsw_span, invol);
    cr_expect_eq(t.io_long_wakes, (uint64_t)(vol - 1 + t.ivsw_span), "wakes %lu: %ld voluntary, %ld involuntary",
                 (unsigned long)t.io_long_wakes, vol, t.ivsw_span);
}
