/* Pool names a user can read and type back (docs/format.md, pools[].name):
 *  - a pool whose routine is in a library dlopened after start and dlclosed
 *    before exit (dlopen_pool: 7z's codecs in 7z.so) is named by its
 *    function, or libdlpool.so+0xoff, in the report, the summary and
 *    `poolshim report`: never by the address, which ASLR moves every run
 *    (it was, when the routine was named only at exit);
 *  - C++ routines (cxx_pool) read demangled and short (`shop::till_worker`,
 *    `shop::Bakery::start()::{lambda}`), the report's start_routine keeps
 *    the symbol; two pools of one function read apart by their threads'
 *    prefix; HotSpot's generic thread_native_entry gives way to the threads'
 *    name; no two pools share a name;
 *  - POOLSHIM_POOL selects a pool by its shown name or its mangled symbol. */
#include <criterion/criterion.h>
#include <string.h>
#include "analyzer_kit.h"
#include "harness.h"

/* No pool name or start routine is a bare address; no two pools share a name. */
static void names_are_unique_and_no_address(json_t *report)
{
    json_t *p, *q;
    size_t i, j;
    json_array_foreach(json_object_get(report, "pools"), i, p) {
        const char *n = ps_str(p, "name"), *r = ps_str(p, "start_routine");
        cr_assert_not_null(n);
        cr_expect(strstr(n, "0x") == NULL || strstr(n, "+0x") != NULL, "pool named by an address: %s", n);
        cr_expect(!r || strncmp(r, "0x", 2), "start_routine is an address: %s", r);
        json_array_foreach(json_object_get(report, "pools"), j, q)
            if (j > i)
                cr_expect_str_neq(n, ps_str(q, "name"), "two pools named %s", n);
    }
}

Test(names, a_dlclosed_librarys_routine_is_named_not_an_address, .timeout = 60)
{
    struct ps_run r;
    char *argv[] = { (char *)ps_build_path("fixtures/dlopen_pool"), "--threads", "3", "--tasks", "30", NULL };
    cr_assert_eq(ps_run(&r, argv, NULL), 0);
    cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    cr_assert_not_null(r.report, "no report; stderr: %s", r.err);
    cr_assert_not_null(r.truth, "no truth: %s", r.out);
    char off_name[64];
    snprintf(off_name, sizeof off_name, "libdlpool.so+%s", ps_str(r.truth, "routine_offset"));
    json_t *p = ps_pool_with_threads(r.report, 3);
    cr_assert_not_null(p, "no pool of 3 threads: %s", r.err);
    const char *name = ps_str(p, "name"), *routine = ps_str(p, "start_routine");
    cr_expect(!strcmp(name, "dlpool_worker") || !strcmp(name, off_name), "pool named %s", name);
    cr_expect(!strcmp(routine, "dlpool_worker") || !strcmp(routine, off_name), "start_routine %s", routine);
    names_are_unique_and_no_address(r.report);
    /* the summary and the analyzer say the same */
    char line[200];
    snprintf(line, sizeof line, "  pool %s: 3 threads", name);
    cr_expect(strstr(r.err, line) != NULL, "summary without '%s': %s", line, r.err);
    char rep[600];
    snprintf(rep, sizeof rep, "%s/poolshim.%d.json", r.dir, r.pid);
    struct ps_run a;
    ak_poolshim(&a, (char *[]){ "report", rep, NULL });
    cr_expect_eq(a.status, 0, "poolshim report: %s", a.err);
    cr_expect(strstr(a.out, name) != NULL, "poolshim report does not name %s:\n%s", name, a.out);
    cr_expect(strstr(a.out, " 0x7f") == NULL && strstr(a.out, "(0x7f") == NULL, "an address in:\n%s", a.out);
    ps_run_free(&a);
    ps_run_free(&r);
}

Test(names, cxx_routines_read_demangled_short_and_apart, .timeout = 60)
{
    struct ps_run r;
    char *argv[] = { (char *)ps_build_path("fixtures/cxx_pool"), NULL };
    cr_assert_eq(ps_run(&r, argv, NULL), 0);
    cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    cr_assert_not_null(r.report, "no report; stderr: %s", r.err);
    static const struct { const char *name, *routine; int threads; } want[] = {
        { "shop::till_worker (till*)", "_ZN4shopL11till_workerEPv", 2 },
        { "shop::till_worker (oven*)", "_ZN4shopL11till_workerEPv", 2 },
        { "shop::Bakery::start()::{lambda}", "_ZZN4shop6Bakery5startEvENUlPvE_4_FUNES1_", 2 },
        { "VM Thread* (thread_native_entry)", "_ZL19thread_native_entryP6Thread", 1 },
        { "javac* (thread_native_entry)", "_ZL19thread_native_entryP6Thread", 1 },
    };
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        json_t *p = ps_pool_by_name(r.report, want[k].name);
        cr_expect_not_null(p, "no pool named %s; stderr: %s", want[k].name, r.err);
        if (!p)
            continue;
        cr_expect_str_eq(ps_str(p, "start_routine"), want[k].routine);
        cr_expect_eq(ps_num(p, "threads"), want[k].threads, "%s: %f threads", want[k].name, ps_num(p, "threads"));
        /* a single thread with nothing to size is folded into one line */
        if (ps_num(p, "threads") == 1 && ps_num(p, "recommended_threads") == 1)
            continue;
        char line[200];
        snprintf(line, sizeof line, "  pool %s: %d threads", want[k].name, want[k].threads);
        cr_expect(strstr(r.err, line) != NULL, "summary without '%s': %s", line, r.err);
    }
    cr_expect(strstr(r.err, "  and 2 single threads with nothing to size") != NULL, "summary: %s", r.err);
    names_are_unique_and_no_address(r.report);
    ps_run_free(&r);
}

/* POOLSHIM_POOL=value measures only shop::till_worker's two pools */
static void selects_till(const char *value)
{
    struct ps_run r;
    char env[200];
    snprintf(env, sizeof env, "POOLSHIM_POOL=%s", value);
    char *argv[] = { (char *)ps_build_path("fixtures/cxx_pool"), NULL };
    char *envv[] = { env, NULL };
    cr_assert_eq(ps_run(&r, argv, envv), 0);
    cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    cr_assert_not_null(r.report, "no report; stderr: %s", r.err);
    json_t *p;
    size_t i;
    int till = 0, other = 0;
    json_array_foreach(json_object_get(r.report, "pools"), i, p) {
        if (!strcmp(ps_str(p, "start_routine"), "_ZN4shopL11till_workerEPv"))
            till++;
        else
            other++;
    }
    cr_expect_eq(till, 2, "%s: %d pools of till_worker", value, till);
    cr_expect_eq(other, 0, "%s: %d other pools", value, other);
    cr_expect(strstr(r.err, "no pool was measured") == NULL, "%s", r.err);
    ps_run_free(&r);
}

/* std::thread (tests/fixtures/std_threads.cc): libstdc++ starts every one
 * at a routine of its own, so a program's workers, its ticker and its log
 * writer were one pool of 6, "std_threads* (libstdc++.so.6+0xd4490)", and
 * the pool's tasks mixed with the others' waits. Each kind is its own pool
 * now, named by what it runs: the lambda (its std::thread state's _M_run,
 * read from the vtable) or the function it was given. */
Test(names, std_threads_are_pools_by_what_they_run, .timeout = 60)
{
    struct ps_run r;
    char *argv[] = { (char *)ps_build_path("fixtures/std_threads"), "--threads", "4", "--tasks", "300", NULL };
    cr_assert_eq(ps_run(&r, argv, NULL), 0);
    cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    cr_assert_not_null(r.report, "no report; stderr: %s", r.err);
    names_are_unique_and_no_address(r.report);
    json_t *w = ps_pool_by_name(r.report, "Pool::start(...)::{lambda}");
    cr_assert_not_null(w, "no pool of the workers' lambda: %s", r.err);
    cr_expect_eq(ps_num(w, "threads"), 4);
    cr_expect(ps_near(ps_num(w, "tasks"), 300, 0.02), "tasks %f of 300", ps_num(w, "tasks"));
    json_t *t = ps_pool_by_name(r.report, "Ticker::start()::{lambda}");
    cr_expect(t && ps_num(t, "threads") == 1, "no pool of the ticker alone: %s", r.err);
    json_t *l = ps_pool_by_name(r.report, "log_writer");
    cr_expect(l && ps_num(l, "threads") == 1, "no pool of the log writer alone: %s", r.err);
    ps_run_free(&r);
}

Test(names, poolshim_pool_selects_by_shown_name_or_symbol, .timeout = 60)
{
    selects_till("shop::till_worker");
    selects_till("_ZN4shopL11till_workerEPv");
}

/* A forked child's pools are its own, and so are their names: its pool 0
 * was called after the parent's pool 0 (the names were kept across fork). */
Test(names, a_forked_childs_pool_is_named_by_its_own_routine, .timeout = 60)
{
    struct ps_run r;
    char *argv[] = { (char *)ps_build_path("fixtures/fork_pools"), NULL };
    cr_assert_eq(ps_run(&r, argv, NULL), 0);
    cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    cr_expect(strstr(r.err, "pool child_worker: 2 threads") != NULL, "the child's summary: %s", r.err);
    cr_expect(strstr(r.err, "pool parent_worker: 2 threads") != NULL, "the parent's summary: %s", r.err);
    const char *s = r.err;
    int parent_lines = 0;
    while ((s = strstr(s, "pool parent_worker")) != NULL) {
        parent_lines++;
        s++;
    }
    cr_expect_eq(parent_lines, 1, "parent_worker named in %d summaries: %s", parent_lines, r.err);
    ps_run_free(&r);
}
