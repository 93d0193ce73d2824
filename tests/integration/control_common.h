/* control_common.h: what the controller's acceptance tests share: running a
 * cpool fixture (tests/fixtures/cpool.h) with or without control, checking
 * that it lost no task, and reading the report's controller decisions.
 * Dumps are off in every run: the fixtures keep their queue full on purpose,
 * which is a saturation trigger, and a dump stops the program for a moment. */
#ifndef CONTROL_COMMON_H
#define CONTROL_COMMON_H
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "harness.h"

/* Runs fixture with "--threads N --duration-s D" plus extra args; env NULL-terminated.
 * Asserts a clean exit and the fixture's own "ok" (no task lost, repeated or changed).
 * Returns its throughput (tasks finished before the deadline / duration). */
static inline double cc_run(struct ps_run *r, const char *fixture, int threads, double dur,
                            const char *const *extra, char *const env[])
{
    char th[16], du[16];
    snprintf(th, sizeof th, "%d", threads);
    snprintf(du, sizeof du, "%.2f", dur);
    char *argv[24] = { (char *)ps_build_path(fixture), "--threads", th, "--duration-s", du };
    int k = 5;
    for (int i = 0; extra && extra[i] && k < 22; i++)
        argv[k++] = (char *)extra[i];
    argv[k] = NULL;
    cr_assert_eq(ps_run_ex(r, argv, env, 1, 60), 0, "cannot start %s", fixture);
    cr_assert_eq(r->status, 0, "%s exit %d: %s", fixture, r->status, r->err);
    cr_assert_not_null(r->truth, "%s: no truth line: %s", fixture, r->out);
    cr_assert(json_is_true(json_object_get(r->truth, "ok")), "%s lost, repeated or changed a task: %s",
              fixture, r->out);
    return ps_num(r->truth, "throughput");
}

static inline double cc_static(const char *fixture, int threads, double dur, const char *const *extra)
{
    struct ps_run r;
    char *env[] = { "POOLSHIM_CONTROL=off", "POOLSHIM_SUMMARY=off", "POOLSHIM_DUMP=off", NULL };
    double t = cc_run(&r, fixture, threads, dur, extra, env);
    ps_run_free(&r);
    return t;
}

static inline json_t *cc_decisions(struct ps_run *r)
{
    cr_assert_not_null(r->report, "no report: %s", r->err);
    json_t *d = json_object_get(json_object_get(r->report, "controller"), "decisions");
    cr_assert(json_is_array(d), "report has no controller.decisions");
    return d;
}

static inline void cc_print_decisions(struct ps_run *r)
{
    json_t *d = cc_decisions(r), *e;
    size_t i;
    json_array_foreach(d, i, e)
        fprintf(stderr, "  t=%.2f %d->%d %s: %s\n", ps_num(e, "t_s"), (int)ps_num(e, "from"),
                (int)ps_num(e, "to"), ps_str(e, "action"), ps_str(e, "reason"));
}

/* The controller's entry for the pool of routine, or NULL. */
static inline json_t *cc_ctl_pool(struct ps_run *r, const char *routine)
{
    json_t *pools = json_object_get(json_object_get(r->report, "controller"), "pools"), *p;
    size_t i;
    json_array_foreach(pools, i, p)
        if (ps_str(p, "start_routine") && !strcmp(ps_str(p, "start_routine"), routine))
            return p;
    return NULL;
}
#endif
