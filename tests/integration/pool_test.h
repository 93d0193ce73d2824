/* pool_test.h: the opening every fixture-pool test shares: run the fixture
 * under the shim, require a clean exit, a report and the fixture's truth line,
 * and return the pool of the given start routine (Criterion asserts). */
#ifndef PS_POOL_TEST_H
#define PS_POOL_TEST_H
#include <criterion/criterion.h>
#include "harness.h"

static inline json_t *pt_run_pool(struct ps_run *r, char *const argv[], const char *routine)
{
    cr_assert_eq(ps_run(r, argv, NULL), 0);
    cr_assert_eq(r->status, 0, "exit %d: %s", r->status, r->err);
    cr_assert_not_null(r->report, "no report; stderr: %s", r->err);
    cr_assert_not_null(r->truth, "no truth line: %s", r->out);
    json_t *p = ps_pool_by_routine(r->report, routine);
    cr_assert_not_null(p, "no pool %s", routine);
    return p;
}
/* A real program's run (ps_run_cpu's: the kernel's CPU for it in cpu) whose
 * pool a runtime names: a clean exit, a report, the pool called `name`, and
 * the threads' CPU within 5 % of the kernel's. */
static inline json_t *pt_named_pool(struct ps_run *r, const char *name, double cpu)
{
    cr_assert_eq(r->status, 0, "exit %d: %s", r->status, r->err);
    cr_assert_not_null(r->report, "no report: %s", r->err);
    json_t *p = ps_pool_by_name(r->report, name);
    cr_assert_not_null(p, "no pool named %s: %s", name, r->err);
    double sum = ps_threads_cpu(r->report);
    cr_expect(ps_near(sum, cpu, 0.05), "threads' cpu %f, the kernel's %f", sum, cpu);
    return p;
}

/* The run's profile holds `want`. */
static inline void pt_expect_profile(struct ps_run *r, const char *want)
{
    char *text = ps_profile(r->report);
    cr_assert_not_null(text, "no profile");
    cr_expect(strstr(text, want) != NULL, "profile without '%s': %s", want, text);
    free(text);
}
#endif
