/* Threads named once started are grouped by the names they work under: a
 * thread renamed before it did any of its pool's work moves to the pool of
 * its new name (HotSpot's threads all start as `java` in one routine and
 * were one pool of 21: GC, compilers and a 4-thread executor, "serialized");
 * a rename after work keeps the thread where it is, under an alias. */
#include "pool_test.h"
#include <string.h>

Test(renamed_pools, threads_named_as_they_start_are_grouped_by_their_names, .timeout = 60)
{
    struct ps_run r;
    char *argv[] = { (char *)ps_build_path("fixtures/renamed_pools"), NULL };
    cr_assert_eq(ps_run(&r, argv, NULL), 0);
    cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    cr_assert_not_null(r.report, "no report; stderr: %s", r.err);
    static const struct { const char *prefix; int threads; } want[] = { { "alpha", 3 }, { "beta", 2 }, { "gamma", 2 } };
    int found[3] = { 0 }, others = 0, late = 0;
    json_t *p;
    size_t i;
    json_array_foreach(json_object_get(r.report, "pools"), i, p) {
        const char *routine = ps_str(p, "start_routine"), *prefix = ps_str(p, "name_prefix");
        if (!strcmp(routine, "late_worker")) {
            late = 1;
            cr_expect_eq(ps_num(p, "threads"), 1);
            cr_expect_str_eq(ps_str(p, "renamed_prefix"), "delta", "a rename after work is an alias");
            continue;
        }
        if (strcmp(routine, "named_worker"))
            continue;
        int k = -1;
        for (int j = 0; j < 3; j++)
            if (!strcmp(prefix, want[j].prefix))
                k = j;
        if (k < 0) {
            others++;
            continue;
        }
        found[k]++;
        cr_expect_eq(ps_num(p, "threads"), want[k].threads, "%s: %f threads", prefix, ps_num(p, "threads"));
        /* every thread listed in this pool wears its name */
        json_t *t;
        size_t j;
        json_array_foreach(json_object_get(r.report, "threads"), j, t)
            if (json_is_integer(json_object_get(t, "pool")) && ps_num(t, "pool") == ps_num(p, "id"))
                cr_expect(!strncmp(ps_str(t, "name"), prefix, strlen(prefix)), "thread %s in pool %s",
                          ps_str(t, "name"), prefix);
    }
    for (int k = 0; k < 3; k++)
        cr_expect_eq(found[k], 1, "pools of prefix %s: %d", want[k].prefix, found[k]);
    cr_expect_eq(others, 0, "a pool of named_worker under another name (the creator's): %s", r.err);
    cr_expect(late, "no pool of late_worker");
    ps_run_free(&r);
}
