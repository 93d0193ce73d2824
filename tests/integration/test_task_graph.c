/* A pool whose work makes its own work (dav1d's task threads): the workers
 * wait for a ready task on a condvar under the pool's lock that they post
 * for each other as each stage done readies the next. dav1d --threads 8 and
 * the fixture read "never idle", their wait for work as condvar contention
 * (5.99 s of the fixture's 6.05 s), "serialized on one lock ... shorten the
 * critical section", and 500 tasks for 640; and once its wait was learned, a
 * floor from its waits for work ("no fewer than 5") where no more than the
 * cores can run (dav1d: 2 ran best, 4-8 0.75 as fast). Its waits before the
 * producer's side is seen (the main thread's third wait for a frame, at the
 * next tick) stay condvar waits: about 0.1 s of each worker's, so the run is
 * long enough (100 frames, about 3.4 s) for that to be a few per cent. */
#include <math.h>
#include "pool_test.h"

Test(task_graph, a_pool_whose_work_readies_its_work_waits_for_work_there, .timeout = 60)
{
    struct ps_run r;
    char *argv[] = { (char *)ps_build_path("fixtures/task_graph"), "--threads", "8", "--tasks", "100",
                     "--cpu-ms", "2", NULL };
    json_t *p = pt_run_pool(&r, argv, "tg_worker");
    const char *cls = ps_str(p, "classification"), *kind = ps_str(p, "idle_wait.kind");
    cr_expect(cls && strcmp(cls, "serialized"), "class %s: %s", cls, ps_str(p, "reason"));
    cr_expect(kind && !strcmp(kind, "cond"), "idle wait %s", kind ? kind : "none");
    double idle = ps_num(p, "wait_by_cause.idle"), truth = ps_num(r.truth, "wait_s");
    cr_expect(ps_near(idle, truth, 0.15), "idle %f s, truth (blocked waiting for a ready task) %f s", idle, truth);
    /* the waits before the producer's side is seen: 3-6 % of them beside
     * two CPU hogs, 10.6 % once */
    double cond = ps_num(p, "wait_by_cause.cond");
    cr_expect(cond <= 0.15 * truth, "cond %f s of the %f s waiting for a ready task", cond, truth);
    /* tasks whose boundaries it cannot see are unknown, never a wrong count */
    json_t *tasks = json_object_get(p, "tasks");
    cr_expect(json_is_null(tasks) || ps_near(json_number_value(tasks), ps_num(r.truth, "tasks"), 0.02),
              "tasks %f, truth %f", json_number_value(tasks), ps_num(r.truth, "tasks"));
    /* at most 2 tasks are ready at once: no more threads than the cores the
     * model gives, not a floor from its waits for work */
    double rec = ps_num(p, "recommended_threads"), cores = ps_num(r.report, "cores");
    cr_expect(rec >= 1 && rec <= (cores > 2 ? cores : 2), "told %g threads (%g cores): %s", rec, cores,
              ps_str(p, "reason"));
    ps_run_free(&r);
}
