/* Unit tests for shim/base/log.c: ps_fmt's conversions against snprintf's output,
 * truncation (the result is the longest prefix that fits, always
 * NUL-terminated, and the return value is the bytes written), ps_write_all. */
#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include "capture.h"
#include "log.h"

Test(log, fmt_every_conversion)
{
    char b[256];
    size_t n;
    n = ps_fmt(b, sizeof b, "%s|%d|%d|%u|%ld|%lu|%zu|%x|%lx|%c|%%", "str", -42, INT_MIN, UINT_MAX,
               LONG_MAX, ULONG_MAX, (size_t)12345, 0xbeefu, 0xdeadbeefcafeUL, 'Z');
    char want[256];
    int wn = snprintf(want, sizeof want, "%s|%d|%d|%u|%ld|%lu|%zu|%x|%lx|%c|%%", "str", -42, INT_MIN,
                      UINT_MAX, LONG_MAX, ULONG_MAX, (size_t)12345, 0xbeefu, 0xdeadbeefcafeUL, 'Z');
    cr_expect_str_eq(b, want);
    cr_expect_eq(n, (size_t)wn);
}

Test(log, fmt_zero_and_extremes)
{
    char b[64];
    ps_fmt(b, sizeof b, "%d %u %x %lu", 0, 0u, 0u, 0UL);
    cr_expect_str_eq(b, "0 0 0 0");
    ps_fmt(b, sizeof b, "%ld", LONG_MIN);
    cr_expect_str_eq(b, "-9223372036854775808");
    ps_fmt(b, sizeof b, "%d", INT_MAX);
    cr_expect_str_eq(b, "2147483647");
}

Test(log, fmt_pointer_and_null_string)
{
    char b[64], want[64];
    int x;
    ps_fmt(b, sizeof b, "%p", (void *)&x);
    snprintf(want, sizeof want, "0x%lx", (unsigned long)(uintptr_t)&x);
    cr_expect_str_eq(b, want);
    ps_fmt(b, sizeof b, "%p", (void *)0);
    cr_expect_str_eq(b, "0x0");
    const char *volatile nul = NULL;     /* hidden from -Wformat-overflow */
    ps_fmt(b, sizeof b, "[%s]", nul);
    cr_expect_str_eq(b, "[(null)]");
}

/* For every capacity, the output is the first cap-1 bytes of the full text. */
static void expect_prefixes(const char *full, size_t (*f)(char *, size_t))
{
    size_t len = strlen(full);
    for (size_t cap = 1; cap <= len + 2; cap++) {
        char b[128];
        memset(b, 'Q', sizeof b);
        size_t n = f(b, cap);
        size_t want = cap - 1 < len ? cap - 1 : len;
        cr_expect_eq(n, want, "cap %zu: returned %zu", cap, n);
        cr_expect_eq(b[want], 0, "cap %zu: not NUL-terminated at %zu", cap, want);
        cr_expect_eq(memcmp(b, full, want), 0, "cap %zu: \"%s\" is not a prefix of \"%s\"", cap, b, full);
        cr_expect_eq(b[want + 1], 'Q', "cap %zu: wrote past the terminator", cap);
    }
}

static size_t fmt_mixed(char *b, size_t cap)
{
    return ps_fmt(b, cap, "a%sb%dc%uz%lx%c%%%p.", "xyz", -123, 456u, 0xabcUL, '!', (void *)0x1234);
}
static size_t fmt_ptr(char *b, size_t cap) { return ps_fmt(b, cap, "%p", (void *)0xfeedUL); }
static size_t fmt_neg(char *b, size_t cap) { return ps_fmt(b, cap, "%d", -98765); }

Test(log, fmt_truncates_to_a_prefix_at_every_size)
{
    expect_prefixes("axyzb-123c456zabc!%0x1234.", fmt_mixed);
    expect_prefixes("0xfeed", fmt_ptr);
    expect_prefixes("-98765", fmt_neg);
}

Test(log, fmt_zero_capacity_writes_nothing)
{
    char b[4] = "QQQ";
    cr_expect_eq(ps_fmt(b, 0, "hello"), 0);
    cr_expect_str_eq(b, "QQQ");
    cr_expect_eq(ps_fmt(b, 1, "hello"), 0);
    cr_expect_eq(b[0], 0);
}

Test(log, fmt_lone_percent_at_end)
{
    char b[16];
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat"
    cr_expect_eq(ps_fmt(b, sizeof b, "ab%"), 2);
#pragma GCC diagnostic pop
    cr_expect_str_eq(b, "ab");
}

Test(log, log_writes_one_prefixed_line)
{
    struct ps_cap cap;
    char want[64];
    ps_cap_begin(&cap);
    errno = ENOTSOCK;
    ps_log("value %d of %s", 7, "x");
    cr_expect_eq(errno, ENOTSOCK);
    ps_cap_end(&cap);
    snprintf(want, sizeof want, "poolshim[%d]: value 7 of x\n", (int)getpid());
    cr_expect_str_eq(cap.text, want);
}

Test(log, log_of_a_huge_message_is_still_one_line)
{
    struct ps_cap cap;
    char big[2000];
    memset(big, 'm', sizeof big - 1);
    big[sizeof big - 1] = 0;
    ps_cap_begin(&cap);
    ps_log("%s", big);
    ps_cap_end(&cap);
    cr_expect_eq(ps_count_lines(cap.text), 1);
    /* the 512-byte line buffer: 510 bytes of text, the newline, no NUL written */
    cr_expect_eq(strlen(cap.text), 511, "%zu", strlen(cap.text));
    cr_expect_eq(cap.text[510], '\n');
}

Test(log, log_once_logs_once)
{
    struct ps_cap cap;
    static int once;
    ps_cap_begin(&cap);
    for (int i = 0; i < 3; i++)
        ps_log_once(&once, "only once %d", i);
    ps_cap_end(&cap);
    cr_expect_eq(ps_count_lines(cap.text), 1);
    cr_expect_not_null(strstr(cap.text, "only once 0"));
}

Test(log, write_all_reports_errors_and_keeps_errno)
{
    int p[2];
    cr_assert_eq(pipe(p), 0);
    errno = EDOM;
    cr_expect_eq(ps_write_all(p[1], "abc", 3), 0);
    cr_expect_eq(errno, EDOM);
    char b[4] = { 0 };
    cr_expect_eq(read(p[0], b, 3), 3);
    cr_expect_str_eq(b, "abc");
    close(p[0]);
    close(p[1]);
    cr_expect_eq(ps_write_all(p[1], "abc", 3), -EBADF);
    cr_expect_eq(errno, EDOM);
}

/* A recommendation's reason grows clause by clause; a full buffer keeps its
 * text and stays terminated. */
Test(log, fmt_cat_appends_what_fits)
{
    char b[16] = "size 4";
    ps_fmt_cat(b, sizeof b, "; but %d", 2);
    cr_expect_str_eq(b, "size 4; but 2");
    ps_fmt_cat(b, sizeof b, " threads %s", "always");
    cr_expect_str_eq(b, "size 4; but 2 t");
    ps_fmt_cat(b, sizeof b, "x");
    cr_expect_str_eq(b, "size 4; but 2 t");
    char full[4] = { 'a', 'b', 'c', 'd' };     /* not terminated: nothing appended, nothing read past */
    ps_fmt_cat(full, sizeof full, "e");
    cr_expect_eq(full[3], 'd');
}
