/* A pool that takes a pthread_spinlock_t for part of each task's CPU work:
 * thread count exact; the time spent spinning is CPU (spin_s, inside cpu_s,
 * measured as CPU even when spinners are preempted: four spinners on two
 * cores); the spinlock is listed in locks[] with its contention and sites. */
#include <string.h>
#include "pool_test.h"

Test(spin_pool, spin_is_cpu_and_the_spinlock_is_listed, .timeout = 60)
{
    struct ps_run r;
    char *argv[] = { (char *)ps_build_path("fixtures/spin_pool"), "--threads", "4", "--tasks", "400",
                     "--cpu-ms", "2", "--hold-ms", "0.5", NULL };
    json_t *p = pt_run_pool(&r, argv, "spin_worker");
    double cpu = ps_num(r.truth, "cpu_s"), spin = ps_num(r.truth, "spin_cpu_s");
    cr_expect_eq(ps_num(p, "threads"), 4);
    cr_expect(ps_near(ps_num(p, "cpu_s"), cpu, 0.15), "cpu %f vs truth %f", ps_num(p, "cpu_s"), cpu);
    cr_expect(ps_num(p, "w_c") < 0.05, "w_c %f, truth 0", ps_num(p, "w_c"));
    cr_expect(ps_num(p, "wait_by_cause.lock") < 0.05 * cpu, "spinning counted as lock wait: %f",
              ps_num(p, "wait_by_cause.lock"));
    /* The truth spins only when it must: it is the fixture's CPU clock around
     * pthread_spin_lock, a few ms when the lock was free. */
    cr_expect(spin > 0.05 * cpu, "fixture barely spun (%f s): no contention to measure", spin);
    cr_expect(ps_near(ps_num(p, "spin_s"), spin, 0.25), "spin %f vs truth %f (cpu)", ps_num(p, "spin_s"), spin);
    cr_expect(ps_num(p, "spin_s") <= ps_num(p, "cpu_s"), "spin %f > cpu %f", ps_num(p, "spin_s"),
              ps_num(p, "cpu_s"));

    json_t *locks = json_object_get(r.report, "locks"), *l, *found = NULL;
    size_t i;
    json_array_foreach(locks, i, l)
        if (!strcmp(ps_str(l, "kind"), "spin"))
            found = l;
    cr_assert_not_null(found, "no spinlock in locks[]");
    cr_expect(ps_num(found, "contended") > 20, "contended %f", ps_num(found, "contended"));
    cr_expect(strstr(ps_str(found, "site"), "spin_critical"), "site %s", ps_str(found, "site"));
    cr_expect(ps_num(found, "waiter_pool") == ps_num(p, "id"));
    ps_run_free(&r);
}
