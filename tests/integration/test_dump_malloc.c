/* The shim makes jemalloc the process allocator; the program must not be able
 * to tell (glibc's contract holds, fork with allocating threads works), and
 * POOLSHIM_ALLOC_SAMPLE=-1 leaves profiling off while stats remain. */
#include <criterion/criterion.h>
#include "dumpkit.h"

Test(dump_malloc, glibc_contract_holds_under_the_shim, .timeout = 60)
{
    struct ps_run r;
    char *argv[] = { (char *)ps_build_path("fixtures/malloc_semantics"), NULL };
    /* the same program without the shim: the checks are glibc's own behaviour */
    cr_assert_eq(ps_run_ex(&r, argv, NULL, 0, 30), 0);
    cr_expect_eq(r.status, 0, "without the shim: %s", r.err);
    ps_run_free(&r);
    cr_assert_eq(ps_run_ex(&r, argv, NULL, 1, 30), 0);
    cr_expect_eq(r.status, 0, "under the shim: %s", r.err);
    cr_expect(ps_num(r.truth, "checks") > 30 && ps_num(r.truth, "failed") == 0, "%s", r.out);
    ps_run_free(&r);
}

Test(dump_malloc, sample_minus_one_keeps_stats_without_profile, .timeout = 30)
{
    struct ps_run r;
    char *argv[] = { (char *)ps_build_path("fixtures/convoy_io"), "--workers", "3", "--hold-ms", "800",
                     "--run-ms", "900", "--alloc-mb", "8", NULL };
    char *env[] = { "POOLSHIM_ALLOC_SAMPLE=-1", NULL };
    json_t *d = dk_run_for_dump(&r, argv, env);
    cr_expect_str_eq(ps_str(d, "allocations.profile"), "off");
    cr_expect(ps_num(d, "allocations.stats.allocated") >= 8 << 20);
    cr_expect_eq(json_array_size(json_object_get(json_object_get(d, "allocations"), "top_sites")), 0);
    json_decref(d);
    ps_run_free(&r);
}

Test(dump_malloc, malloc_libc_forwards_to_glibc_and_dumps_say_so, .timeout = 60)
{
    struct ps_run r;
    char *env[] = { "POOLSHIM_MALLOC=libc", NULL };
    char *sem[] = { (char *)ps_build_path("fixtures/malloc_semantics"), NULL };
    cr_assert_eq(ps_run_ex(&r, sem, env, 1, 30), 0);
    cr_expect_eq(r.status, 0, "%s", r.err);
    ps_run_free(&r);
    char *argv[] = { (char *)ps_build_path("fixtures/convoy_io"), "--workers", "3", "--hold-ms", "800",
                     "--run-ms", "900", "--alloc-mb", "1", NULL };
    json_t *d = dk_run_for_dump(&r, argv, env);
    const char *e = ps_str(d, "allocations.error");
    cr_expect(e && strstr(e, "POOLSHIM_MALLOC=libc"), "allocations.error %s", e ? e : "(null)");
    cr_expect_str_eq(ps_str(d, "trigger.reason"), "convoy", "the rest of the dump is unchanged");
    json_decref(d);
    ps_run_free(&r);
}
