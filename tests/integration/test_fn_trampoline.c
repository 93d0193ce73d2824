/* A start routine whose argument is the function its thread runs (lbzip2's
 * trampoline, tests/fixtures/fn_trampoline.c): the argument is the thread's
 * entry, and pools split by it: 3 workers of fn_work_a, 1 thread of
 * fn_work_b. Before entry.c took such an argument as the entry, it read the
 * function's machine code as a struct, found no entry, and split the four
 * threads by argument (instance.c) into pools named after the trampoline. */
#include <criterion/criterion.h>
#include <string.h>
#include "harness.h"

Test(fn_trampoline, an_argument_that_is_a_function_is_the_entry_and_pools_split_by_it, .timeout = 60)
{
    struct ps_run r;
    char *argv[] = { (char *)ps_build_path("fixtures/fn_trampoline"), "--threads", "3", "--tasks", "60",
                     "--cpu-ms", "5", NULL };
    cr_assert_eq(ps_run(&r, argv, NULL), 0);
    cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    cr_assert_not_null(r.report, "no report; stderr: %s", r.err);
    json_t *a = ps_pool_by_name(r.report, "fn_work_a"), *b = ps_pool_by_name(r.report, "fn_work_b");
    cr_assert_not_null(a, "no pool fn_work_a: %s", r.err);
    cr_assert_not_null(b, "no pool fn_work_b: %s", r.err);
    cr_expect_str_eq(ps_str(a, "start_routine"), "fn_tramp");
    cr_expect_str_eq(ps_str(a, "entry"), "fn_work_a");
    cr_expect_str_eq(ps_str(b, "entry"), "fn_work_b");
    cr_expect_eq(ps_num(a, "threads"), 3, "fn_work_a: %f threads", ps_num(a, "threads"));
    cr_expect_eq(ps_num(b, "threads"), 1, "fn_work_b: %f threads", ps_num(b, "threads"));
    /* no other pool started through the trampoline */
    json_t *p;
    size_t i;
    int tramp_pools = 0;
    json_array_foreach(json_object_get(r.report, "pools"), i, p) {
        const char *s = ps_str(p, "start_routine");
        tramp_pools += s && !strcmp(s, "fn_tramp");
    }
    cr_expect_eq(tramp_pools, 2, "%d pools start at fn_tramp", tramp_pools);
    ps_run_free(&r);
}
