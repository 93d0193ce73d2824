/* Two threads taking two mutexes in opposite orders: the dump names the cycle. */
#include <criterion/criterion.h>
#include "dumpkit.h"

Test(dump_deadlock, dump_names_the_cycle, .timeout = 30)
{
    struct ps_run r;
    char *argv[] = { (char *)ps_build_path("fixtures/deadlock"), "--run-ms", "1000", NULL };
    cr_assert_eq(ps_run_ex(&r, argv, NULL, 1, 20), 0);
    cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    cr_assert_not_null(r.truth, "no truth: %s", r.out);
    int a = (int)json_integer_value(json_array_get(json_object_get(r.truth, "tids"), 0));
    int b = (int)json_integer_value(json_array_get(json_object_get(r.truth, "tids"), 1));
    json_t *d = dk_load_dump(r.dir, r.pid, 0);
    cr_assert_not_null(d, "no dump; stderr: %s", r.err);
    cr_expect_str_eq(ps_str(d, "trigger.reason"), "deadlock");
    json_t *cycles = json_object_get(json_object_get(d, "wait_for"), "cycles");
    cr_assert_eq(json_array_size(cycles), 1);
    json_t *c = json_array_get(cycles, 0);
    cr_assert_eq(json_array_size(c), 2);
    int x = (int)json_integer_value(json_array_get(c, 0)), y = (int)json_integer_value(json_array_get(c, 1));
    cr_expect((x == a && y == b) || (x == b && y == a), "cycle %d %d, truth %d %d", x, y, a, b);
    cr_expect_eq(ps_num(dk_thread(d, a), "blocked_on.owner"), b);
    cr_expect_eq(ps_num(dk_thread(d, b), "blocked_on.owner"), a);
    cr_expect(dk_stack_has(json_object_get(dk_thread(d, a), "stack"), "lock_ab_thread"));
    cr_expect(dk_stack_has(json_object_get(dk_thread(d, b), "stack"), "lock_ba_thread"));
    cr_expect_eq(dk_count_dumps(r.dir), 1, "a deadlock is dumped once");
    json_decref(d);
    ps_run_free(&r);
}
