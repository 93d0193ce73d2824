/* `poolshim report` on a real condvar_pool report: every number it answers
 * equals the report file's (or is derived from it correctly), and the text
 * shows the recommendation with its evidence. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>
#include <unistd.h>
#include "analyzer_kit.h"

/* A task every 4 ms for 4 workers of 10 ms tasks: they wait for work
 * between tasks. At one every 1 ms the queue backlogs at once, and a fresh-
 * clone CI run read the count as unknown (text_shows_recommendation_and_
 * evidence: "no task count 'nan ('"): the rendering is what these tests check. */
static json_t *run_condvar(struct ps_run *r, char *path, size_t n)
{
    char *argv[] = { (char *)ps_build_path("fixtures/condvar_pool"), "--threads", "4", "--tasks", "200",
                     "--cpu-ms", "2", "--io-ms", "8", "--submit-us", "4000", NULL };
    cr_assert_eq(ps_run(r, argv, NULL), 0);
    cr_assert_eq(r->status, 0, "exit %d: %s", r->status, r->err);
    cr_assert_not_null(r->report, "no report; stderr: %s", r->err);
    snprintf(path, n, "%s/poolshim.%d.json", r->dir, r->pid);
    return r->report;
}

Test(analyzer_report, json_answer_matches_the_report_file, .timeout = 60)
{
    struct ps_run r, a;
    char path[512];
    json_t *rep = run_condvar(&r, path, sizeof path);
    ak_poolshim(&a, (char *[]){ "report", "--json", path, NULL });
    cr_assert_eq(a.status, 0, "exit %d: %s", a.status, a.err);
    json_error_t je;
    json_t *ans = json_loads(a.out, 0, &je);
    cr_assert_not_null(ans, "not JSON: %s", je.text);
    cr_expect_str_eq(ps_str(ans, "kind"), "report-analysis");
    json_t *file = json_array_get(json_object_get(ans, "files"), 0);
    cr_assert_not_null(file);
    cr_expect_eq(ps_num(file, "pid"), r.pid);
    cr_expect_eq(ps_num(file, "cores"), ps_num(rep, "cores"));
    json_t *p = ps_pool_by_routine(file, "condvar_worker"), *rp = ps_pool_by_routine(rep, "condvar_worker");
    cr_assert_not_null(p, "no pool in answer: %s", a.out);
    cr_assert_not_null(rp);
    static const char *const same[] = { "threads", "cpu_s", "wait_s", "w_c", "tasks", "task_latency_ms",
        "cpu_per_task_ms", "wait_by_cause.io", "wait_by_cause.sleep", "wait_by_cause.lock",
        "wait_by_cause.cond", "wait_by_cause.idle", "wait_by_cause.runqueue", "effective_parallelism" };
    /* unknown (null: nan here) in both is the same answer: a loaded machine
     * may leave the tasks unseen (the wait for work learned late) */
    for (size_t i = 0; i < sizeof same / sizeof *same; i++)
        cr_expect((isnan(ps_num(p, same[i])) && isnan(ps_num(rp, same[i]))) ||
                      fabs(ps_num(p, same[i]) - ps_num(rp, same[i])) <= 1e-9 * fabs(ps_num(rp, same[i])) + 1e-12,
                  "%s: answer %f, file %f", same[i], ps_num(p, same[i]), ps_num(rp, same[i]));
    cr_expect_eq(ps_num(p, "recommendation.threads"), ps_num(rp, "recommended_threads"));
    cr_expect_eq(ps_num(p, "recommendation.processes"), ps_num(rp, "recommended_processes"));
    cr_expect(ps_near(ps_num(p, "recommendation.goetz_threads"), ps_num(rp, "goetz_threads"), 1e-9));
    cr_expect_str_eq(ps_str(p, "recommendation.reason"), ps_str(rp, "reason"));
    cr_expect_str_eq(ps_str(p, "classification"), ps_str(rp, "classification"));
    /* Derived: throughput over the pool's wall time. */
    cr_expect((isnan(ps_num(p, "tasks_per_s")) && isnan(ps_num(rp, "tasks"))) ||
                  ps_near(ps_num(p, "tasks_per_s"), ps_num(rp, "tasks") / ps_num(rp, "wall_s"), 1e-6),
              "tasks_per_s %f", ps_num(p, "tasks_per_s"));
    /* Series: the per-interval rates integrate back to the history's task count. */
    json_t *hist = json_object_get(rp, "history"), *se = json_object_get(p, "series");
    json_t *tps = json_object_get(se, "tasks_per_s"), *ts = json_object_get(se, "t_s");
    size_t n = json_array_size(hist);
    cr_assert(n >= 3, "history has %zu ticks", n);
    cr_assert_eq(json_array_size(tps), n);
    double sum = 0;
    for (size_t i = 1; i < n; i++)
        sum += json_number_value(json_array_get(tps, i)) *
               (json_number_value(json_array_get(ts, i)) - json_number_value(json_array_get(ts, i - 1)));
    double want = ps_num(json_array_get(hist, n - 1), "tasks") - ps_num(json_array_get(hist, 0), "tasks");
    cr_expect(ps_near(sum, want, 1e-6), "integrated %f vs %f tasks", sum, want);
    /* The pool's locks are the report's locks whose waiters are in this pool. */
    json_t *l = json_array_get(json_object_get(p, "locks"), 0), *rl = NULL, *x;
    size_t k;
    json_array_foreach(json_object_get(rep, "locks"), k, x)
        if (!rl && json_is_integer(json_object_get(x, "waiter_pool")) &&
            json_integer_value(json_object_get(x, "waiter_pool")) == (json_int_t)ps_num(rp, "id"))
            rl = x;                      /* the first (most wait) lock this pool's workers waited on */
    if (rl)
        cr_expect_str_eq(ps_str(l, "addr"), ps_str(rl, "addr"));
    else
        cr_expect_null(l, "the answer lists a lock the file does not give this pool");
    json_decref(ans);
    ps_run_free(&a);
    ps_run_free(&r);
}

Test(analyzer_report, text_shows_recommendation_and_evidence, .timeout = 60)
{
    struct ps_run r, a;
    char path[512], want[256];
    json_t *rep = run_condvar(&r, path, sizeof path);
    json_t *rp = ps_pool_by_routine(rep, "condvar_worker");
    cr_assert_not_null(rp);
    ak_poolshim(&a, (char *[]){ "report", path, path, NULL });   /* two columns */
    cr_assert_eq(a.status, 0, "exit %d: %s", a.status, a.err);
    cr_expect_eq(a.err[0], 0, "stderr not empty: %s", a.err);
    cr_expect_null(strchr(a.out, '\033'), "colour when not a tty");
    snprintf(want, sizeof want, "%.0f threads", ps_num(rp, "recommended_threads"));
    cr_expect_not_null(strstr(a.out, want), "no '%s' in:\n%s", want, a.out);
    snprintf(want, sizeof want, "%.0f (", ps_num(rp, "tasks"));
    const char *why = ps_str(rp, "tasks_unknown_why");
    cr_expect_not_null(strstr(a.out, want), "no task count '%s' (unknown why: %s)", want, why ? why : "-");
    cr_expect_not_null(strstr(a.out, "goetz"));
    cr_expect_not_null(strstr(a.out, ps_str(rp, "classification")));
    /* 100 columns at most, and both columns present on the threads row. */
    cr_expect(ak_width(a.out) <= 100, "a line is %d columns wide: [%s]", ak_width(a.out), ak_widest(a.out));
    const char *row = strstr(a.out, "\n  threads");
    cr_assert_not_null(row);
    snprintf(want, sizeof want, "%.0f (%.0f live)", ps_num(rp, "threads"), ps_num(rp, "threads_live"));
    const char *first = strstr(row, want), *second = first ? strstr(first + 1, want) : NULL;
    cr_expect(second && second < strchr(row + 1, '\n'), "threads row not side by side: %.200s", row);
    ps_run_free(&a);
    ps_run_free(&r);
}

/* A report with the controller's section (tests/data/real_controlled.report.json,
 * written by the controller's shim on spin_oversub): every decision is printed
 * with its time, sizes, action and reason; a report without one prints none. */
Test(analyzer_report, prints_controller_decisions_when_present, .timeout = 30)
{
    struct ps_run a;
    const char *path = ak_data("real_controlled.report.json");
    json_t *rep = json_load_file(path, 0, NULL);
    cr_assert_not_null(rep);
    ak_poolshim(&a, (char *[]){ "report", (char *)path, NULL });
    cr_assert_eq(a.status, 0, "%s", a.err);
    const char *sec = strstr(a.out, "\ncontroller\n");
    cr_assert_not_null(sec, "no controller section:\n%s", a.out);
    json_t *d, *ds = json_object_get(json_object_get(rep, "controller"), "decisions");
    size_t i;
    cr_assert(json_array_size(ds) > 0);
    json_array_foreach(ds, i, d) {
        char want[128];
        snprintf(want, sizeof want, "pool %lld  %lld -> %lld  %s", (long long)ps_num(d, "pool"),
                 (long long)ps_num(d, "from"), (long long)ps_num(d, "to"), ps_str(d, "action"));
        cr_expect_not_null(strstr(sec, want), "decision %zu '%s' missing", i, want);
    }
    ps_run_free(&a);
    /* Without the key: no section, no error. */
    json_object_del(rep, "controller");
    char tmp[] = "/tmp/poolshim-noctl.XXXXXX";
    int fd = mkstemp(tmp);
    cr_assert(fd >= 0);
    close(fd);
    cr_assert_eq(json_dump_file(rep, tmp, 0), 0);
    ak_poolshim(&a, (char *[]){ "report", tmp, NULL });
    cr_expect_eq(a.status, 0, "%s", a.err);
    cr_expect_null(strstr(a.out, "\ncontroller\n"));
    ps_run_free(&a);
    unlink(tmp);
    json_decref(rep);
}
