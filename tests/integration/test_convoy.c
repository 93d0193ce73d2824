/* A lock convoy: six workers each hold one global mutex for 2 ms of CPU per
 * task (in convoy_critical) around 1 ms of CPU and 1 ms of sleep outside it.
 * The report names the mutex with waiter and owner sites in convoy_critical,
 * measures its hold time, classifies the pool `serialized`, and recommends no
 * more threads than the bottleneck law allows: (cpu + io + sleep) / hold. */
#include <math.h>
#include <string.h>
#include "pool_test.h"

static json_t *lock_at(json_t *report, const char *addr)
{
    json_t *locks = json_object_get(report, "locks"), *l;
    size_t i;
    json_array_foreach(locks, i, l)
        if (!strcmp(json_string_value(json_object_get(l, "addr")), addr))
            return l;
    return NULL;
}

Test(convoy, names_the_lock_and_recommends_the_bottleneck, .timeout = 60)
{
    struct ps_run r;
    char *argv[] = { (char *)ps_build_path("fixtures/convoy"), "--threads", "6", "--tasks", "400",
                     "--cpu-ms", "1", "--hold-ms", "2", "--io-ms", "1", NULL };
    json_t *p = pt_run_pool(&r, argv, "convoy_worker");
    double cpu = ps_num(r.truth, "cpu_s"), wait = ps_num(r.truth, "wait_s"), hold = ps_num(r.truth, "hold_s");
    cr_expect_eq(ps_num(p, "threads"), 6);
    cr_expect(ps_near(ps_num(p, "cpu_s"), cpu, 0.15), "cpu %f vs truth %f", ps_num(p, "cpu_s"), cpu);
    /* within the ±20 % issue 10 asks of W/C: a fresh-clone CI run read 0.483 for 0.417 (+16 %),
     * and in one batch of 24 runs on a busy host the stop-21 library and this one both read
     * up to +20-27 %, while 54 runs after it read -2 % to +2 % (no cause found; see the
     * stop-22 note) */
    cr_expect(ps_near(ps_num(p, "w_c"), wait / cpu, 0.20), "w_c %f vs truth %f (sleep %f, cpu %f)",
              ps_num(p, "w_c"), wait / cpu, ps_num(p, "wait_by_cause.sleep"), ps_num(p, "cpu_s"));
    cr_expect(ps_near(ps_num(p, "wait_by_cause.lock"), ps_num(r.truth, "lock_wait_s"), 0.15),
              "lock wait %f vs truth %f", ps_num(p, "wait_by_cause.lock"), ps_num(r.truth, "lock_wait_s"));

    cr_assert_str_eq(ps_str(p, "top_contention.kind"), "mutex");
    const char *site = ps_str(p, "top_contention.site");
    cr_expect(site && strstr(site, "convoy_critical"), "top contention site %s", site);
    json_t *l = lock_at(r.report, ps_str(p, "top_contention.addr"));
    cr_assert_not_null(l, "top contention not in locks[]");
    cr_expect(strstr(ps_str(l, "site"), "convoy_critical"), "waiter site %s", ps_str(l, "site"));
    const char *owner = ps_str(l, "owner_site");
    cr_expect(owner && strstr(owner, "convoy_critical"), "owner site %s", owner);
    cr_expect(ps_num(l, "contended") > 100, "contended %f", ps_num(l, "contended"));
    cr_expect(ps_near(ps_num(l, "hold_s"), hold, 0.15), "hold %f vs truth %f", ps_num(l, "hold_s"), hold);

    cr_expect_str_eq(ps_str(p, "classification"), "serialized");
    /* The hold is wall time: on a loaded machine holders are preempted inside
     * the critical section and the law can fall below one thread (the shim
     * reports at least 1). */
    double bottleneck = fmax(1, (cpu + wait) / hold);
    cr_expect(ps_near(ps_num(p, "bottleneck_threads"), bottleneck, 0.15), "bottleneck %f vs truth %f",
              ps_num(p, "bottleneck_threads"), bottleneck);
    cr_expect(ps_num(p, "recommended_threads") >= 1 &&
              ps_num(p, "recommended_threads") <= fmax(1, floor(bottleneck * 1.15 + 0.5)),
              "recommended %f threads, bottleneck allows %f", ps_num(p, "recommended_threads"), bottleneck);
    ps_run_free(&r);
}
