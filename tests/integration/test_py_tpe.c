/* CPython's ThreadPoolExecutor, the article's own setting (tests/fixtures/py_tpe.py).
 * sleep mode: tasks time.sleep: the pool reads as I/O-bound and the
 * recommendation is large (far more threads than cores).
 * cpu mode: pure-Python loops under the GIL: the workers take turns on the
 * GIL's condvar (3.11: pthread_cond_timedwait, handed from worker to worker),
 * so the pool reads as serialized on a condvar, W/C ~ 0, at most 1-2 threads,
 * and processes instead.
 * CPython's worker threads start from a static routine (pythread_wrapper) that
 * shows as python3.11+0x…; the pool is the one with the executor's threads.
 * Tasks are not checked: SimpleQueue.get takes an item without touching any
 * lock while the queue is non-empty, so no wait marks those task boundaries. */
#include <criterion/criterion.h>
#include <string.h>
#include <unistd.h>
#include "harness.h"

static const char *python(void)
{
    return access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
}

static const char *script(void)
{
    const char *p = ps_build_path("../tests/fixtures/py_tpe.py");
    return access(p, R_OK) == 0 ? p : "tests/fixtures/py_tpe.py";
}

/* The executor's pool: the pool with the most CPU among those of n threads. */
static json_t *pool_of_threads(json_t *report, int n)
{
    json_t *pools = json_object_get(report, "pools"), *p, *best = NULL;
    size_t i;
    json_array_foreach(pools, i, p)
        if (ps_num(p, "threads") == n && (!best || ps_num(p, "cpu_s") > ps_num(best, "cpu_s")))
            best = p;
    return best;
}

static json_t *run_mode(struct ps_run *r, const char *mode, const char *threads, const char *tasks,
                        const char *ms)
{
    char *argv[] = { (char *)python(), (char *)script(), "--mode", (char *)mode, "--threads", (char *)threads,
                     "--tasks", (char *)tasks, "--ms", (char *)ms, NULL };
    cr_assert_eq(ps_run(r, argv, NULL), 0);
    cr_assert_eq(r->status, 0, "exit %d: %s", r->status, r->err);
    cr_assert_not_null(r->report, "no report; stderr: %s", r->err);
    cr_assert_not_null(r->truth, "no truth line: %s", r->out);
    json_t *p = pool_of_threads(r->report, atoi(threads));
    cr_assert_not_null(p, "no pool of %s threads", threads);
    return p;
}

/* Its tasks, counted from the executor's idle semaphore (shim/record/tally.h):
 * the workload's own count, and the threads' counts add up to it. */
static void expect_tasks(const struct ps_run *r, json_t *p)
{
    json_t *tasks = json_object_get(p, "tasks");
    double want = ps_num(r->truth, "tasks");
    cr_expect(json_is_integer(tasks), "tasks not counted");
    cr_expect(ps_near(ps_num(p, "tasks"), want, 0.02), "tasks %f, truth %f", ps_num(p, "tasks"), want);
    cr_expect(json_is_null(json_object_get(p, "task_latency_ms")), "a latency with no task start seen");
    double sum = 0;
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(r->report, "threads"), i, t)
        if (json_integer_value(json_object_get(t, "pool")) == json_integer_value(json_object_get(p, "id")) &&
            json_is_integer(json_object_get(t, "pool")))
            sum += (double)json_integer_value(json_object_get(t, "tasks"));
    cr_expect_eq(sum, ps_num(p, "tasks"), "threads' tasks %f, pool's %f", sum, ps_num(p, "tasks"));
}

Test(py_tpe, sleeping_tasks_read_as_io_bound, .timeout = 60)
{
    struct ps_run r;
    json_t *p = run_mode(&r, "sleep", "8", "400", "20");   /* enough CPU (> 5 ms) to size from */
    double wait = ps_num(r.truth, "wait_s");
    double cores = ps_num(r.report, "cores");
    double w = ps_num(p, "wait_by_cause.io") + ps_num(p, "wait_by_cause.sleep");
    cr_expect(ps_near(w, wait, 0.15), "io+sleep %f vs truth %f", w, wait);
    /* The tasks' CPU is a few ms in all: W/C is in the hundreds, too sensitive
     * to interpreter start-up to compare within 15 %; its order is the point. */
    cr_expect(ps_num(p, "w_c") > 10, "w_c %f, truth %f", ps_num(p, "w_c"), wait / ps_num(r.truth, "cpu_s"));
    cr_expect_str_eq(ps_str(p, "classification"), "io-bound");
    cr_expect(ps_num(p, "recommended_threads") > 4 * cores, "recommended %f threads on %f cores",
              ps_num(p, "recommended_threads"), cores);
    cr_expect_eq(ps_num(p, "recommended_processes"), 0);
    expect_tasks(&r, p);
    ps_run_free(&r);
}

Test(py_tpe, cpu_tasks_read_as_serialized_on_the_gil, .timeout = 60)
{
    struct ps_run r;
    json_t *p = run_mode(&r, "cpu", "4", "100", "10");
    double cpu = ps_num(r.truth, "cpu_s");
    cr_expect(ps_near(ps_num(p, "cpu_s"), cpu, 0.15), "cpu %f vs truth %f", ps_num(p, "cpu_s"), cpu);
    cr_expect(ps_num(p, "w_c") < 0.05, "w_c %f, truth 0", ps_num(p, "w_c"));
    cr_expect_str_eq(ps_str(p, "top_contention.kind"), "cond");
    cr_expect(ps_num(p, "wait_by_cause.cond") > cpu, "GIL wait %f vs cpu %f", ps_num(p, "wait_by_cause.cond"), cpu);
    cr_expect_str_eq(ps_str(p, "classification"), "serialized");
    cr_expect(ps_num(p, "recommended_threads") >= 1 && ps_num(p, "recommended_threads") <= 2,
              "recommended %f threads", ps_num(p, "recommended_threads"));
    cr_expect(ps_num(p, "recommended_processes") > 0, "recommended_processes %f",
              ps_num(p, "recommended_processes"));
    expect_tasks(&r, p);
    ps_run_free(&r);
}

/* The program's own heartbeat thread, asleep in 50 ms sleeps for the whole
 * run, is in the executor's pool (every CPython thread starts at one
 * routine). It takes no task, so its sleep is none of the tasks' waits: W/C
 * stays ~0 (it read 0.98 for CPU tasks with it counted), and the report says
 * what it left out. */
Test(py_tpe, a_heartbeat_threads_sleep_is_not_the_tasks_wait, .timeout = 60)
{
    struct ps_run r;
    char *argv[] = { (char *)python(), (char *)script(), "--mode", "cpu", "--threads", "4", "--tasks", "100",
                     "--ms", "10", "--heartbeat-ms", "50", NULL };
    cr_assert_eq(ps_run(&r, argv, NULL), 0);
    cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    cr_assert_not_null(r.report, "no report; stderr: %s", r.err);
    json_t *p = pool_of_threads(r.report, 5);
    cr_assert_not_null(p, "no pool of the 4 workers and the heartbeat");
    double sleep = ps_num(p, "wait_by_cause.sleep"), cpu = ps_num(p, "cpu_s");
    cr_expect(sleep > 0.5 * cpu, "the heartbeat's sleep %f is in the pool's causes (cpu %f)", sleep, cpu);
    cr_expect_eq(ps_num(p, "taskless_threads"), 1);
    cr_expect(ps_near(ps_num(p, "taskless_wait_s"), sleep, 0.05), "left out %f of sleep %f",
              ps_num(p, "taskless_wait_s"), sleep);
    cr_expect(ps_num(p, "w_c") < 0.05, "w_c %f, truth 0 (with the heartbeat: %f)", ps_num(p, "w_c"), sleep / cpu);
    cr_expect_str_eq(ps_str(p, "classification"), "serialized");
    expect_tasks(&r, p);
    ps_run_free(&r);
}

/* A ProcessPoolExecutor: the parent's two executor threads, both started in
 * thread_run, do different jobs (a manager polls the workers' result pipe, a
 * feeder waits on its queue's condition). They are no pool to size and their
 * wake-ups are no tasks: `compileall -j4` read "1,460 items, 3,394-11,063
 * tasks" and "cpu-bound -> 3" or "serialized, use 2 processes". */
Test(py_tpe, a_process_pools_bookkeeping_threads_are_no_pool_to_size, .timeout = 60)
{
    struct ps_run r;
    char *argv[] = { (char *)python(), (char *)script(), "--mode", "cpu", "--threads", "2", "--tasks", "300",
                     "--ms", "2", "--processes", NULL };
    cr_assert_eq(ps_run(&r, argv, NULL), 0);
    cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    cr_assert_not_null(r.report, "no report; stderr: %s", r.err);
    cr_assert_eq(ps_num(r.truth, "tasks"), 300);
    json_t *p = ps_pool_with_threads(r.report, 2);
    cr_assert_not_null(p, "no pool of the executor's 2 threads: %s", r.err);
    cr_expect(json_is_null(json_object_get(p, "tasks")), "tasks %f for the bookkeeping threads",
              ps_num(p, "tasks"));
    cr_expect_str_eq(ps_str(p, "classification"), "single", "%s", ps_str(p, "reason"));
    cr_expect_eq(ps_num(p, "recommended_threads"), 2, "%s", ps_str(p, "reason"));
    ps_run_free(&r);
}
