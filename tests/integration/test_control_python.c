/* CPython's ThreadPoolExecutor running CPU-bound Python: the GIL serializes
 * the pool. Even with expansion allowed the controller adds no thread, the
 * decision log says why, and the program's output is unchanged. */
#include "control_common.h"
#include <stdlib.h>

static const char script[] =
    "from concurrent.futures import ThreadPoolExecutor\n"
    "def f(n):\n"
    "    s = 0\n"
    "    for i in range(n): s += i * i\n"
    "    return s\n"
    "with ThreadPoolExecutor(max_workers=8) as ex:\n"
    "    print(sum(ex.map(f, [30000] * 600)))\n";

Test(control, python_gil_pool_gets_no_threads_and_says_why, .timeout = 60)
{
    struct ps_run r;
    char *argv[] = { "python3", "-c", (char *)script, NULL };
    char *env[] = { "POOLSHIM_CONTROL=on", "POOLSHIM_EXPAND=pythread_wrapper", "POOLSHIM_SUMMARY=off", "POOLSHIM_DUMP=off", NULL };
    cr_assert_eq(ps_run_ex(&r, argv, env, 1, 60), 0);
    cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    long long n = 30000, one = (n - 1) * n * (2 * n - 1) / 6;
    cr_expect_eq(atoll(r.out), one * 600, "output %s", r.out);
    cc_print_decisions(&r);
    json_t *c = cc_ctl_pool(&r, "pythread_wrapper");
    cr_assert_not_null(c, "no controller entry for the Python pool");
    cr_expect_eq(ps_num(c, "threads_added"), 0);
    json_t *p = ps_pool_by_routine(r.report, "pythread_wrapper");
    cr_expect(ps_num(p, "threads") <= 8, "pool has %g threads", ps_num(p, "threads"));
    json_t *d = cc_decisions(&r), *e;
    size_t i;
    int why = 0;
    json_array_foreach(d, i, e) {
        const char *s = ps_str(e, "reason");
        why |= s && strstr(s, "GIL") && strstr(s, "more threads will not help");
    }
    cr_expect(why, "no decision says the GIL serializes the pool");
    ps_run_free(&r);
}
