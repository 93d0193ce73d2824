/* A convoy behind a lock holder stuck in I/O dumps by itself, and the dump
 * names the holder as every waiter's owner, shows the holder's function in its
 * stack, and names the fixture's allocating function among the heap's top sites. */
#include <criterion/criterion.h>
#include <math.h>
#include "dumpkit.h"

static int any_site_names(json_t *dump, const char *sym)
{
    json_t *s;
    size_t i;
    json_array_foreach(json_object_get(json_object_get(dump, "allocations"), "top_sites"), i, s)
        if (dk_stack_has(json_object_get(s, "stack"), sym))
            return 1;
    return 0;
}

Test(dump_convoy, saturation_dump_names_holder_waiters_and_allocator, .timeout = 30)
{
    struct ps_run r;
    char *argv[] = { (char *)ps_build_path("fixtures/convoy_io"), "--workers", "4", "--hold-ms", "1500",
                     "--run-ms", "1600", "--alloc-mb", "32", NULL };
    json_t *d = dk_run_for_dump(&r, argv, NULL);
    cr_assert_not_null(r.truth, "no truth: %s", r.out);
    cr_expect_str_eq(ps_str(d, "kind"), "dump");
    cr_expect_eq(ps_num(d, "version"), 1);
    cr_expect_str_eq(ps_str(d, "trigger.reason"), "convoy", "trigger %s", ps_str(d, "trigger.detail"));

    int holder = (int)json_integer_value(json_object_get(r.truth, "holder_tid"));
    json_t *w;
    size_t i;
    int long_waiters = 0;
    json_array_foreach(json_object_get(r.truth, "worker_tids"), i, w) {
        int tid = (int)json_integer_value(w);
        json_t *t = dk_thread(d, tid);
        cr_assert_not_null(t, "worker %d missing", tid);
        cr_expect_str_eq(ps_str(t, "state"), "blocked", "worker %d", tid);
        cr_expect_str_eq(ps_str(t, "blocked_on.kind"), "mutex", "worker %d", tid);
        cr_expect_eq(ps_num(t, "blocked_on.owner"), holder, "worker %d owner %f, holder %d", tid,
                     ps_num(t, "blocked_on.owner"), holder);
        double since = ps_num(t, "blocked_on.since_s");
        cr_expect(since > 0 && since < 1.6, "worker %d since %f", tid, since);
        long_waiters += since >= 0.1;
        cr_expect(dk_stack_has(json_object_get(t, "stack"), "convoy_worker"), "worker %d stack", tid);
    }
    cr_expect(long_waiters >= 3, "the convoy trigger needs 3 waiters of >= 100 ms, saw %d", long_waiters);
    json_t *h = dk_thread(d, holder);
    cr_assert_not_null(h, "holder %d missing", holder);
    cr_expect_str_eq(ps_str(h, "capture"), "ok");
    cr_expect(dk_stack_has(json_object_get(h, "stack"), "hold_lock_during_io"), "holder stack lacks the function");
    cr_expect_str_eq(ps_str(h, "blocked_on.kind"), "io");
    const char *tgt = ps_str(h, "blocked_on.fd_target");
    cr_expect(tgt && !strncmp(tgt, "pipe:[", 6), "fd_target %s", tgt ? tgt : "(null)");

    /* the wait-for graph: every worker -> holder, no cycle */
    cr_expect_eq(json_array_size(json_object_get(json_object_get(d, "wait_for"), "edges")), 4);
    cr_expect_eq(json_array_size(json_object_get(json_object_get(d, "wait_for"), "cycles")), 0);

    /* allocations: 32 MiB live in allocate_cache (stats are exact; sampled sizes within 2x) */
    cr_expect(ps_num(d, "allocations.stats.allocated") >= 32 << 20, "allocated %f",
              ps_num(d, "allocations.stats.allocated"));
    cr_expect(any_site_names(d, "allocate_cache"), "allocate_cache not in top sites");
    json_t *top = json_array_get(json_object_get(json_object_get(d, "allocations"), "top_sites"), 0);
    double b = ps_num(top, "bytes");
    cr_expect(b > 16 << 20 && b < 64 << 20, "top site bytes %f for 32 MiB", b);
    cr_expect_str_eq(ps_str(d, "allocations.allocator"), "glibc", "the program's own allocator by default");

    cr_expect(json_array_size(json_object_get(d, "modules")) > 2);
    cr_expect(json_array_size(json_object_get(d, "pools")) >= 1);
    cr_expect_eq(dk_count_dumps(r.dir), 1, "one saturation dump (interval 10 s)");
    json_decref(d);
    ps_run_free(&r);
}
