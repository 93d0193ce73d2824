/* The convoy acceptance of the analyzer: on the report and the dump of a pool
 * convoyed on a mutex whose holder is blocked in I/O inside
 * hold_lock_during_io(), `report` names the pool, calls it serialized on that
 * lock (holder's site in hold_lock_during_io) and says more threads will not
 * help; `show` puts the holder first, with that function on its stack. */
#include "analyzer_kit.h"
#include "dumpkit.h"
#include <string.h>

Test(analyzer_convoy, report_and_show_name_the_serializing_lock_and_its_holder, .timeout = 60)
{
    struct ps_run r;
    char *argv[] = { (char *)ps_build_path("fixtures/convoy_io"), "--workers", "4", "--hold-ms", "1500",
                     "--run-ms", "1600", "--alloc-mb", "1", NULL };
    json_t *d = dk_run_for_dump(&r, argv, NULL);
    cr_assert_not_null(r.report, "no report: %s", r.err);
    cr_assert_not_null(r.truth, "no truth: %s", r.out);
    char holder[16];
    snprintf(holder, sizeof holder, "%d", (int)json_integer_value(json_object_get(r.truth, "holder_tid")));

    /* the report file itself */
    json_t *p = ps_pool_by_routine(r.report, "convoy_worker");
    cr_assert_not_null(p, "no convoy_worker pool");
    cr_expect_str_eq(ps_str(p, "classification"), "serialized");
    cr_expect_leq(ps_num(p, "recommended_threads"), 1, "recommended %g", ps_num(p, "recommended_threads"));
    json_t *lock = json_array_get(json_object_get(r.report, "locks"), 0);
    cr_assert_not_null(lock, "no contended lock");
    cr_expect(strstr(ps_str(lock, "owner_site") ? ps_str(lock, "owner_site") : "", "hold_lock_during_io"),
              "owner_site %s", ps_str(lock, "owner_site"));
    cr_expect_geq(ps_num(lock, "hold_s"), 1.0, "hold %g s of a 1.5 s hold", ps_num(lock, "hold_s"));

    /* poolshim report: text */
    char rep[600];
    snprintf(rep, sizeof rep, "%s/poolshim.%d.json", r.dir, r.pid);
    struct ps_run a;
    char *ra[] = { "report", rep, NULL };
    ak_poolshim(&a, ra);
    cr_assert_eq(a.status, 0, "report exit %d: %s", a.status, a.err);
    const char *pool = strstr(a.out, "pool convoy_worker");
    cr_assert_not_null(pool, "report does not name the pool:\n%s", a.out);
    cr_expect(strstr(pool, "serialized") != NULL, "not called serialized:\n%s", pool);
    cr_expect(strstr(pool, "more threads will not help") != NULL, "no 'more threads will not help':\n%s", pool);
    cr_expect(strstr(a.out, "hold_lock_during_io") != NULL, "the holder's function is not named:\n%s", a.out);
    ps_run_free(&a);

    /* poolshim show: the holder first, with the function on its stack */
    char dump[600];
    snprintf(dump, sizeof dump, "%s/poolshim.%d.dump.0.json", r.dir, r.pid);
    char *sa[] = { "show", dump, NULL };
    ak_poolshim(&a, sa);
    cr_assert_eq(a.status, 0, "show exit %d: %s", a.status, a.err);
    const char *who = strstr(a.out, "who blocks whom");
    cr_assert_not_null(who, "no wait-for section:\n%s", a.out);
    const char *first = strchr(who, '\n');
    cr_assert_not_null(first);
    cr_expect(strncmp(first + 1 + strspn(first + 1, " "), holder, strlen(holder)) == 0,
              "holder %s is not first:\n%.400s", holder, who);
    const char *holders = strstr(a.out, "what the holders are doing");
    cr_assert_not_null(holders, "no holder stacks:\n%s", a.out);
    cr_expect(strstr(holders, "hold_lock_during_io") != NULL, "holder's stack lacks the function:\n%s", holders);
    ps_run_free(&a);
    json_decref(d);
    ps_run_free(&r);
}
