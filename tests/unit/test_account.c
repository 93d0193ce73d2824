/* test_account.c: account.c, which files a long io span by whether the
 * thread switched out of its own accord since its last long wait. The
 * switches are the kernel's (getrusage): a sleep makes one, a loop none. */
#include <criterion/criterion.h>
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
    cr_expect_eq(t.io_long_wakes, 1);
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
