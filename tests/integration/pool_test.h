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
#endif
