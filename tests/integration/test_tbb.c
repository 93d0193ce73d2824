/* oneTBB (tests/truth/pools/tbb_pool.cc, Debian's libtbb12): a task_group in
 * an arena of two, which is TBB's default on 2 cores: one worker beside the
 * thread that waits on the group and runs tasks too. Its worker read "and 1
 * single thread with nothing to size" for tasks of 1 ms of CPU and 4 ms
 * asleep, which ran 4.8 times as fast in an arena of 13 (390 against 1880
 * tasks/s), and TBB has no variable to set. Now the pool is oneTBB's, sized
 * as a team (as libgomp's), and the profile names the code to change. */
#include <criterion/criterion.h>
#include <string.h>
#include <unistd.h>
#include "harness.h"

static json_t *arena_of_two(struct ps_run *r, const char *cpu_ms, const char *sleep_ms)
{
    if (access(ps_build_path("fixtures/tbb_pool"), X_OK))
        cr_skip_test("no oneTBB headers: fixtures/tbb_pool not built (scripts/deps.sh installs libtbb-dev)");
    char *argv[] = { (char *)ps_build_path("fixtures/tbb_pool"), "2", "300", (char *)cpu_ms, (char *)sleep_ms, NULL };
    cr_assert_eq(ps_run(r, argv, NULL), 0);
    cr_assert_eq(r->status, 0, "exit %d: %s", r->status, r->err);
    cr_assert_not_null(r->report, "no report: %s", r->err);
    json_t *p = ps_pool_by_name(r->report, "oneTBB");
    cr_assert_not_null(p, "no pool named oneTBB: %s", r->err);
    cr_expect_eq(ps_num(p, "threads"), 1, "one worker in an arena of two");
    return p;
}

Test(tbb, an_arena_of_two_is_sized_as_a_team_and_the_profile_names_the_arena, .timeout = 60)
{
    struct ps_run r;
    json_t *p = arena_of_two(&r, "1", "4");
    cr_expect_str_eq(ps_str(p, "classification"), "io-bound", "%s", ps_str(p, "reason"));
    int told = (int)ps_num(p, "recommended_threads");
    cr_expect(told >= 8, "told %d: %s", told, ps_str(p, "reason"));
    char *text = ps_profile(r.report), want[64];
    cr_assert_not_null(text, "no profile");
    snprintf(want, sizeof want, "tbb::task_arena(%d)", told);
    cr_expect(strstr(text, want) != NULL, "profile without %s: %s", want, text);
    free(text);
    ps_run_free(&r);
}

/* The waiting thread's CPU is the team's, not other threads': a CPU-bound
 * arena of two is told the cores, not the one core its worker had. */
Test(tbb, a_cpu_bound_arena_is_told_the_cores, .timeout = 60)
{
    struct ps_run r;
    json_t *p = arena_of_two(&r, "2", "0");
    cr_expect_eq(ps_num(p, "recommended_threads"), ps_num(r.report, "cores"), "told %f on %f cores: %s",
                 ps_num(p, "recommended_threads"), ps_num(r.report, "cores"), ps_str(p, "reason"));
    ps_run_free(&r);
}
