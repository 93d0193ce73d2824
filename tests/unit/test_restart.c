/* restart: a wait cut short by the dump signal is called again with the time
 * left, rounded so that it never ends before the program asked; and only when
 * no handler of the program ran on the thread. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include "restart.h"

Test(restart, poll_timeout_left_rounds_up_and_never_goes_negative)
{
    uint64_t t0 = 1000000000ull;
    cr_expect_eq(ps_restart_left_ms(50, t0, t0 + 20000000ull), 30);
    cr_expect_eq(ps_restart_left_ms(50, t0, t0 + 20000001ull), 30, "29.999999 ms left waits 30");
    cr_expect_eq(ps_restart_left_ms(50, t0, t0 + 49999999ull), 1, "a nanosecond left still waits 1 ms");
    cr_expect_eq(ps_restart_left_ms(50, t0, t0 + 50000000ull), 0);
    cr_expect_eq(ps_restart_left_ms(50, t0, t0 + 90000000ull), 0, "past the deadline: 0, not negative");
    cr_expect_eq(ps_restart_left_ms(-1, t0, t0 + 90000000ull), -1, "no timeout stays no timeout");
    cr_expect_eq(ps_restart_left_ms(50, t0, t0 - 5), 50, "a clock read before t0 counts nothing spent");
}

Test(restart, timespec_left_is_exact_and_null_stays_null)
{
    struct timespec to = { 1, 500000000 }, left;
    uint64_t t0 = 7;
    const struct timespec *l = ps_restart_left_ts(&to, &left, t0, t0 + 600000000ull);
    cr_assert_eq(l, &left);
    cr_expect_eq(left.tv_sec, 0);
    cr_expect_eq(left.tv_nsec, 900000000);
    ps_restart_left_ts(&to, &left, t0, t0 + 2000000000ull);
    cr_expect(left.tv_sec == 0 && left.tv_nsec == 0);
    cr_expect_null(ps_restart_left_ts(NULL, &left, t0, t0 + 1));
}

Test(restart, only_an_eintr_of_our_signal_alone_is_restarted)
{
    struct ps_thread t;
    memset(&t, 0, sizeof t);
    struct ps_restart r;
    ps_restart_begin(&r, &t);
    cr_expect_not(ps_restart_again(&r, 0, EINTR), "the call succeeded");
    cr_expect_not(ps_restart_again(&r, 1, EAGAIN), "another error");
    t.dump_sigs++;
    cr_expect(ps_restart_again(&r, 1, EINTR), "our handler alone ran");
    cr_expect_not(ps_restart_again(&r, 1, EINTR), "counted once: a second EINTR needs a second signal");
    t.dump_sigs++;
    t.prog_sigs++;
    cr_expect_not(ps_restart_again(&r, 1, EINTR), "the program's handler ran too: its EINTR");
    ps_restart_begin(&r, NULL);
    cr_expect_not(ps_restart_again(&r, 1, EINTR), "a thread without a record forwards");
}
