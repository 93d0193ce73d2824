/* An OpenMP team (libgomp) whose workers wait in libgomp's own futex calls,
 * which no wrapper sees, so the sampler labels them from /proc: at the dock
 * while the main thread runs serial code, and in omp_set_lock. Both were
 * "lock" (an OpenMP program with serial phases read seconds of lock wait and
 * "no contended locks"); a lock waits for the futex value -1, the dock and
 * barriers for a generation count (sampler.c). The fixture measures each
 * wait itself; the sampler, every 10 ms here, moves at most a sample's worth
 * at each change of wait. */
#include "pool_test.h"
#include <math.h>

Test(omp_phases, libgomp_workers_waiting_for_a_region_are_idle_and_for_a_lock_lock, .timeout = 60)
{
    struct ps_run r;
    char *argv[] = { (char *)ps_build_path("fixtures/omp_phases"), "--rounds", "3", "--serial-ms", "200",
                     "--hold-ms", "200", "--io-ms", "20", NULL };
    char *env[] = { "OMP_NUM_THREADS=3", "OMP_WAIT_POLICY=passive", "POOLSHIM_INTERVAL_MS=10", NULL };
    cr_assert_eq(ps_run(&r, argv, env), 0);
    cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    cr_assert_not_null(r.report, "no report; stderr: %s", r.err);
    cr_assert_not_null(r.truth, "no truth line: %s", r.out);
    json_t *p = ps_pool_with_threads(r.report, 2);
    cr_assert_not_null(p, "no pool of the 2 workers: %s", r.err);
    double idle = ps_num(r.truth, "idle_s"), lock = ps_num(r.truth, "lock_s"), sleep = ps_num(r.truth, "sleep_s");
    double got_idle = ps_num(p, "wait_by_cause.idle"), got_lock = ps_num(p, "wait_by_cause.lock");
    cr_expect(fabs(got_idle - idle) <= fmax(0.15 * idle, 0.06), "idle %f vs the workers' own %f", got_idle, idle);
    cr_expect(fabs(got_lock - lock) <= fmax(0.15 * lock, 0.06), "lock %f vs the workers' own %f", got_lock, lock);
    cr_expect(fabs(ps_num(p, "wait_by_cause.sleep") - sleep) <= fmax(0.15 * sleep, 0.02), "sleep %f vs %f",
              ps_num(p, "wait_by_cause.sleep"), sleep);
    ps_run_free(&r);
}

/* A program that sets its own team size (GraphicsMagick's -limit threads
 * calls omp_set_num_threads): OMP_NUM_THREADS changes nothing there, and the
 * advice says to set the program's own option, not to apply the profile's
 * line. A team of the size the variable asked for gets the variable. */
Test(omp_phases, a_team_larger_than_omp_num_threads_gets_no_omp_num_threads_advice, .timeout = 60)
{
    for (int own = 0; own < 2; own++) {
        struct ps_run r;
        char *argv[] = { (char *)ps_build_path("fixtures/omp_phases"), "--team", "4", "--rounds", "2",
                         "--serial-ms", "50", "--hold-ms", "50", "--io-ms", "10", NULL };
        char *env[] = { own ? "OMP_NUM_THREADS=2" : "OMP_NUM_THREADS=4", "OMP_WAIT_POLICY=passive", NULL };
        cr_assert_eq(ps_run(&r, argv, env), 0);
        cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
        cr_assert_not_null(r.report, "no report; stderr: %s", r.err);
        json_t *c = json_object_get(json_object_get(r.report, "controller"), "pools");
        cr_assert_eq(json_array_size(c), 1, "%s", r.err);
        const char *why = ps_str(json_array_get(c, 0), "reason");
        cr_assert_not_null(why);
        cr_expect(strstr(why, own ? "set the program's option" : "apply the profile's line") != NULL, "%s", why);
        ps_run_free(&r);
    }
}

/* A team of two (OMP_NUM_THREADS=2, the default on 2 cores): one worker and
 * the master, which runs its share of the loop in no pool. The worker is
 * half the team, not a lone thread ("and 1 single thread with nothing to
 * size" for tasks of 1 ms of CPU and 4 ms asleep, which ran best at 13-24),
 * and the master's CPU is the team's, not other threads' (a CPU-bound team
 * of two read 1 core left and was told 1). */
static json_t *team_of_two(struct ps_run *r, const char *cpu_ms, const char *sleep_ms)
{
    char *argv[] = { (char *)ps_build_path("fixtures/omp_pool"), "2", "300", (char *)cpu_ms, (char *)sleep_ms, NULL };
    char *env[] = { "OMP_WAIT_POLICY=passive", NULL };
    cr_assert_eq(ps_run(r, argv, env), 0);
    cr_assert_eq(r->status, 0, "exit %d: %s", r->status, r->err);
    cr_assert_not_null(r->report, "no report: %s", r->err);
    json_t *p = ps_pool_by_name(r->report, "libgomp (OpenMP)");
    if (!p)
        p = ps_pool_with_threads(r->report, 1);
    cr_assert_not_null(p, "no pool of the team's worker: %s", r->err);
    return p;
}

Test(omp_phases, a_team_of_two_is_sized_as_a_team, .timeout = 60)
{
    struct ps_run r;
    json_t *p = team_of_two(&r, "1", "4");
    cr_expect_eq(ps_num(p, "threads"), 1);
    cr_expect_str_eq(ps_str(p, "classification"), "io-bound", "%s", ps_str(p, "reason"));
    cr_expect(ps_num(p, "recommended_threads") >= 8, "told %f: %s", ps_num(p, "recommended_threads"),
              ps_str(p, "reason"));
    ps_run_free(&r);
    p = team_of_two(&r, "2", "0");
    cr_expect_eq(ps_num(p, "recommended_threads"), ps_num(r.report, "cores"), "told %f on %f cores: %s",
                 ps_num(p, "recommended_threads"), ps_num(r.report, "cores"), ps_str(p, "reason"));
    ps_run_free(&r);
}
