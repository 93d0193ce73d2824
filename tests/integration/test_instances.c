/* Instances of one pool code told apart by their start argument
 * (shim/record/instance.c), and threads whose arguments were alike only
 * because an address was reused. MariaDB starts every thread through its
 * performance schema's trampoline with a struct it frees at once, whose
 * first bytes are the same for every thread: its thread-pool group of 7
 * workers read as instances of 3, 2 and 2, and one of them dumped as "all 2
 * workers blocked". The fixture gives its first two workers one struct and
 * the rest another (spawn_arg.c). */
#include <criterion/criterion.h>
#include <string.h>
#include "pool_test.h"

/* Pools of this start routine in the report. */
static int pools_of(json_t *report, const char *routine)
{
    json_t *pools = json_object_get(report, "pools"), *p;
    size_t i;
    int n = 0;
    json_array_foreach(pools, i, p) {
        const char *r = json_string_value(json_object_get(p, "start_routine"));
        n += r && !strcmp(r, routine) && ps_num(p, "threads") > 0;
    }
    return n;
}

static void expect_one_pool(char *const argv[])
{
    struct ps_run r;
    json_t *p = pt_run_pool(&r, argv, "spawn_arg_tramp");
    cr_expect_eq(pools_of(r.report, "spawn_arg_tramp"), 1, "%s", r.err);
    cr_expect_eq(ps_num(p, "threads"), ps_num(r.truth, "threads"), "%s", r.err);
    cr_expect(ps_near(ps_num(p, "cpu_s"), ps_num(r.truth, "cpu_s"), 0.05), "cpu %f vs truth %f",
              ps_num(p, "cpu_s"), ps_num(r.truth, "cpu_s"));
    cr_expect(json_array_size(json_object_get(r.report, "dumps")) == 0, "a dump: %s", r.err);
    ps_run_free(&r);
}

/* All six wait for work on one condvar: old code, 2 + 4 and a dump for
 * "about 7 tasks queued for 2 workers, growing". */
Test(instances, workers_whose_arguments_match_by_reuse_waiting_on_one_condvar_are_one_pool, .timeout = 60)
{
    char *argv[] = { (char *)ps_build_path("fixtures/spawn_arg"), "--threads", "6", NULL };
    expect_one_pool(argv);
}

/* Each waits on a condvar of its own under the pool's mutex, as MariaDB's. */
Test(instances, workers_whose_arguments_match_by_reuse_waiting_under_one_mutex_are_one_pool, .timeout = 60)
{
    char *argv[] = { (char *)ps_build_path("fixtures/spawn_arg"), "--threads", "6", "--own-cond", "1", NULL };
    expect_one_pool(argv);
}
