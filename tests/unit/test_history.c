/* Unit tests for shim/control/history.c's file format: the command's key
 * (runs of digits read as one) and the parser of a line (docs/format.md). */
#include <criterion/criterion.h>
#include "history.h"
#include <string.h>

static uint64_t key_of(const char *const *argv)
{
    char buf[512];
    size_t n = 0;
    for (int i = 0; argv[i]; i++) {
        size_t k = strlen(argv[i]) + 1;
        memcpy(buf + n, argv[i], k);
        n += k;
    }
    return ps_history_key(buf, n);
}

Test(history, a_command_is_the_same_whatever_its_numbers)
{
    const char *a[] = { "rg", "--threads", "4", "-c", "the", "/usr/share/doc", NULL };
    const char *b[] = { "rg", "--threads", "16", "-c", "the", "/usr/share/doc", NULL };
    const char *c[] = { "rg", "--threads", "4", "-c", "the", "/usr/share/man", NULL };
    const char *d[] = { "rg", "--threads", "4", "-c", "the", "/usr/share/doc", "x", NULL };
    const char *e[] = { "rg", "--threads4", "-c", "the", "/usr/share/doc", NULL };
    cr_expect_eq(key_of(a), key_of(b));
    cr_expect_neq(key_of(a), key_of(c));
    cr_expect_neq(key_of(a), key_of(d));
    cr_expect_neq(key_of(a), key_of(e), "argument boundaries count");
    cr_expect_neq(key_of(a), 0);
}

Test(history, parses_the_line_it_writes)
{
    const char *l = "1\t91049617b6330c0d\t10\t5.7454\t1.0299\tc\trg* (rg+0x2ce630)";
    uint64_t k;
    struct ps_rec_point p;
    char pool[64];
    cr_assert_eq(ps_history_parse_line(l, strlen(l), &k, &p, pool, sizeof pool), 0);
    cr_expect_eq(k, 0x91049617b6330c0dull);
    cr_expect_eq(p.threads, 10);
    cr_expect_float_eq(p.w_c, 5.7454, 1e-12);
    cr_expect_float_eq(p.tput, 1.0299, 1e-12);
    cr_expect_eq(p.by_tasks, 0);
    cr_expect_str_eq(pool, "rg* (rg+0x2ce630)");
    const char *t = "1\t0000000000000001\t4\t2\t1500\tt\tio_worker";
    cr_assert_eq(ps_history_parse_line(t, strlen(t), &k, &p, pool, sizeof pool), 0);
    cr_expect_eq(p.by_tasks, 1);
    cr_expect_float_eq(p.tput, 1500, 1e-12);
    /* a long name is cut to what fits */
    cr_assert_eq(ps_history_parse_line(l, strlen(l), &k, &p, pool, 4), 0);
    cr_expect_str_eq(pool, "rg*");
}

Test(history, rejects_what_it_did_not_write)
{
    const char *bad[] = {
        "2\t91049617b6330c0d\t10\t5.7\t1.0\tc\tp",          /* another version */
        "1\t91049617b6330c0\t10\t5.7\t1.0\tc\tp",           /* a short key */
        "1\t91049617B6330C0D\t10\t5.7\t1.0\tc\tp",          /* not as written */
        "1\t91049617b6330c0d\t0\t5.7\t1.0\tc\tp",           /* no threads */
        "1\t91049617b6330c0d\t10\t5,7\t1.0\tc\tp",          /* a decimal comma */
        "1\t91049617b6330c0d\t10\t-5.7\t1.0\tc\tp",         /* negative */
        "1\t91049617b6330c0d\t10\t5.7\t1.0\tx\tp",          /* unit */
        "1\t91049617b6330c0d\t10\t5.7\t1.0\tc",             /* no pool */
        "1\t91049617b6330c0d\t10\t\t1.0\tc\tp",             /* a field empty */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t k;
        struct ps_rec_point p;
        char pool[64];
        cr_expect_eq(ps_history_parse_line(bad[i], strlen(bad[i]), &k, &p, pool, sizeof pool), -1, "%s", bad[i]);
    }
}
