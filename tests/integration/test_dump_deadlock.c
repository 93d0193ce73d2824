/* Two threads taking two mutexes in opposite orders: the dump names the cycle. */
#include <criterion/criterion.h>
#include "dumpkit.h"
#include <stdio.h>
#include <string.h>

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

/* The exit report of the same run says what its dump found: the cycle with
 * both locks by name, the dump's file, and both locks among the contended
 * ones although neither wait ever ended. */
Test(dump_deadlock, report_names_the_deadlock_and_lists_its_dump, .timeout = 30)
{
    struct ps_run r;
    char *argv[] = { (char *)ps_build_path("fixtures/deadlock"), "--run-ms", "1000", NULL };
    cr_assert_eq(ps_run_ex(&r, argv, NULL, 1, 20), 0);
    cr_assert_not_null(r.report, "no report; stderr: %s", r.err);
    json_t *cyc = json_object_get(json_object_get(r.report, "deadlock"), "cycle");
    cr_assert_eq(json_array_size(cyc), 2, "deadlock: %s", r.err);
    const char *n0 = ps_str(json_array_get(cyc, 0), "name"), *n1 = ps_str(json_array_get(cyc, 1), "name");
    cr_assert(n0 && n1, "lock names missing");
    cr_expect((!strcmp(n0, "lock_a") && !strcmp(n1, "lock_b")) || (!strcmp(n0, "lock_b") && !strcmp(n1, "lock_a")),
              "locks %s, %s", n0, n1);
    char want[64];
    snprintf(want, sizeof want, "poolshim.%d.dump.0.json", (int)r.pid);
    cr_expect_str_eq(ps_str(json_object_get(r.report, "deadlock"), "dump"), want);
    json_t *dumps = json_object_get(r.report, "dumps");
    cr_expect_eq(json_array_size(dumps), 1);
    cr_expect_str_eq(ps_str(json_array_get(dumps, 0), "file"), want);
    cr_expect_str_eq(ps_str(json_array_get(dumps, 0), "trigger"), "deadlock");
    json_t *locks = json_object_get(r.report, "locks");
    int named = 0;
    for (size_t i = 0; i < json_array_size(locks); i++) {
        json_t *l = json_array_get(locks, i);
        const char *nm = ps_str(l, "name");
        if (nm && (!strcmp(nm, "lock_a") || !strcmp(nm, "lock_b"))) {
            named++;
            cr_expect_eq(ps_num(l, "waiting_now"), 1);
            cr_expect(ps_num(l, "wait_s") > 0.5, "%s waited %f s", nm, ps_num(l, "wait_s"));
        }
    }
    cr_expect_eq(named, 2, "both locks among the contended: %d", named);
    cr_expect(strstr(r.err, "deadlock:") != NULL, "summary: %s", r.err);
    ps_run_free(&r);
}
