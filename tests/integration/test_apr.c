/* APR's trampoline (tests/fixtures/apr_pool.c): every thread starts in
 * libapr's dummy_worker, which runs the function in the 4th word of its
 * apr_thread_t. The workers form their own pool, named by their function,
 * without the listener (an event loop that posts the tasks); its tasks are
 * the workers' tasks, and their wait for work on the queue's condvar is not
 * contention. Before entry.c read past the first word, Apache's listener and
 * its 8 workers were one pool of 10 whose tasks were the listener's epoll
 * wake-ups, judged "serialized"; this fixture read as one pool of 5, tasks
 * null, lock+cond 0.78 s of the workers' idle wait. With --lib 1 the
 * workers' function lives in a library dlopened after the shim's
 * constructor (Apache's LoadModule: mod_mpm_event.so) and dlclosed before
 * exit, so the pool must still carry its name. With --nest 1 threads start
 * as httpd 2.4.58+ starts them (ap_thread_create: a second trampoline). */
#include "pool_test.h"
#include <string.h>

/* A task every 5 ms, each 10 ms of work, for 4 workers: half the pool's
 * capacity, so that its wait for work is learned even when the suite runs
 * two of these at once on a loaded machine (at a task every 3 ms the
 * workers were idle 2 % of the time, and one run in 12 read the few waits
 * for work as contention, or the tasks as unseen). 900 tasks: the wait for
 * work is learned at the agent's first or second tick, 10-60 ms in, and a
 * count that starts after 2 % of the pool's CPU is a part ("learned late",
 * unknown). At 300 tasks (13 ms of 0.65 s) a second tick at 39-44 ms, the
 * pool at 24 ms of CPU, made it so in about 1 run of 15, before this stop's
 * changes as after them. */
static void expect_worker_pool(const char *lib, const char *nest, const char *fn)
{
    struct ps_run r;
    char *argv[] = { (char *)ps_build_path("fixtures/apr_pool"), "--lib", (char *)lib, "--nest", (char *)nest, "--threads", "4",
                     "--tasks", "900", "--cpu-ms", "2", "--io-ms", "8", "--submit-us", "5000", NULL };
    cr_assert_eq(ps_run(&r, argv, NULL), 0);
    cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    cr_assert_not_null(r.report, "no report; stderr: %s", r.err);
    cr_assert_not_null(r.truth, "no truth line: %s", r.out);
    json_t *p = ps_pool_by_name(r.report, fn);
    cr_assert_not_null(p, "no pool named %s; stderr: %s", fn, r.err);
    cr_expect_str_eq(ps_str(p, "entry"), fn);
    cr_expect(strstr(ps_str(p, "start_routine"), "libapr-1.so") != NULL, "start routine %s",
              ps_str(p, "start_routine"));
    cr_expect_eq(ps_num(p, "threads"), 4, "%f threads: the listener joined the workers?", ps_num(p, "threads"));
    json_t *l = ps_pool_by_name(r.report, "apr_listener");
    cr_expect(l && ps_num(l, "threads") == 1, "the listener is not a pool of its own");
    double tasks = ps_num(r.truth, "tasks"), cpu = ps_num(r.truth, "cpu_s"), wait = ps_num(r.truth, "wait_s");
    cr_expect(ps_near(ps_num(p, "tasks"), tasks, 0.02), "tasks %f vs truth %f", ps_num(p, "tasks"), tasks);
    cr_expect(ps_near(ps_num(p, "w_c"), wait / cpu, 0.2), "w_c %f vs truth %f", ps_num(p, "w_c"), wait / cpu);
    double contention = ps_num(p, "wait_by_cause.lock") + ps_num(p, "wait_by_cause.cond");
    cr_expect(contention < 0.1 * wait, "lock+cond %f s: the wait for work read as contention", contention);
    if (!strcmp(lib, "1")) {
        /* the workers' wait for work is a site in the library, dlclosed
         * before the report: named by it, not by a bare address */
        json_t *w;
        size_t i;
        const char *site = NULL;
        json_array_foreach(json_object_get(r.report, "waits"), i, w)
            if (!strcmp(ps_str(w, "kind"), "cond") && ps_str(w, "site") && strstr(ps_str(w, "site"), "libaprwork.so"))
                site = ps_str(w, "site");
        cr_expect(site != NULL, "no cond wait site named in libaprwork.so; stderr: %s", r.err);
    }
    ps_run_free(&r);
}

Test(apr, workers_form_their_own_pool_named_by_their_function, .timeout = 60)
{
    expect_worker_pool("0", "0", "apr_worker");
}

Test(apr, workers_whose_function_is_in_a_dlopened_library_form_their_own_pool, .timeout = 60)
{
    expect_worker_pool("1", "0", "aprwork_worker");
}

/* httpd 2.4.58+ starts its threads through ap_thread_create: APR's trampoline
 * runs httpd's static thread_start, which runs the {func, data} it is handed.
 * The first fix named Apache's listener and workers one pool of 10 again,
 * "apache2+0x3d6b0" (thread_start). */
Test(apr, workers_started_through_a_second_trampoline_form_their_own_pool, .timeout = 60)
{
    expect_worker_pool("0", "1", "apr_worker");
}

Test(apr, workers_in_a_dlopened_library_started_through_a_second_trampoline_form_their_own_pool, .timeout = 60)
{
    expect_worker_pool("1", "1", "aprwork_worker");
}
