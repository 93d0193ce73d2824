/* zstd -T4, a real program we cannot rebuild (Debian's zstd 1.5), compressing
 * generated text in jobs of 1 MiB (-B1MiB).
 * What zstd starts: a reader and a writer for its asynchronous I/O, then four
 * compressors, all with one start routine (its POOL_thread), each pool's
 * workers given that pool's context. Taken as one pool of six, the
 * hand-offs between the stages read as a GIL and the pool as serialized; the
 * shim tells the instances apart by their shared argument (shim/record/pool.c),
 * so there are three pools here: 1, 1 and 4 threads. The compressors take
 * each job under the queue mutex and take it again after the job only to
 * count themselves idle: each job is one task, not two. The truth for the
 * jobs is the input's size; for CPU, the kernel's (the child's rusage). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include "harness.h"

Test(zstd, reader_writer_and_compressors_are_three_pools_and_each_job_one_task, .timeout = 90)
{
    if (system("command -v zstd >/dev/null 2>&1") != 0)
        cr_skip_test("zstd is not installed (scripts/deps.sh installs it)");
    char dir[] = "/tmp/poolshim-zstd.XXXXXX", in[64], out[80];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(in, sizeof in, "%s/data", dir);
    snprintf(out, sizeof out, "%s/data.zst", dir);
    long size = ps_make_text(in, 40 << 20);
    cr_assert(size > 0, "cannot write %s", in);
    long jobs = (size + (1 << 20) - 1) >> 20;
    struct ps_run r;
    char *argv[] = { "zstd", "-q", "-T4", "-6", "-B1MiB", "-f", in, "-o", out, NULL };
    double cpu;
    cr_assert_eq(ps_run_cpu(&r, argv, NULL, &cpu), 0);
    ps_rmdir(dir);
    cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    cr_assert_not_null(r.report, "no report; stderr: %s", r.err);

    json_t *pools = json_object_get(r.report, "pools"), *p = ps_pool_with_threads(r.report, 4), *q;
    size_t i;
    int ones = 0, of_routine = 0;
    cr_assert_not_null(p, "no pool of the 4 compressors: %s", r.err);
    const char *routine = ps_str(p, "start_routine");
    cr_assert_not_null(routine);
    json_array_foreach(pools, i, q) {
        const char *rq = ps_str(q, "start_routine");
        if (!rq || strcmp(rq, routine))
            continue;
        of_routine++;
        ones += ps_num(q, "threads") == 1;
    }
    cr_expect_eq(of_routine, 3, "%d pools of %s, want 3 (reader, writer, compressors): %s", of_routine, routine,
                 r.err);
    cr_expect_eq(ones, 2, "%d pools of 1 thread, want the reader and the writer", ones);
    cr_expect_str_neq(ps_str(p, "name"), "", "unnamed");
    /* The compressors are most of the process's CPU (the reader and writer
     * copy, the main thread hands out jobs). */
    cr_expect(ps_num(p, "cpu_s") > 0.7 * cpu && ps_num(p, "cpu_s") <= cpu * 1.02, "cpu %f of the process's %f",
              ps_num(p, "cpu_s"), cpu);
    /* Each job once, within one: the first may be taken before the new
     * instance has learned where its workers wait for work (it is formed as
     * its second worker starts), and make truth has seen one more (79 for
     * 78) once in four runs. Counted twice, they would read 80. */
    double tasks = ps_num(p, "tasks");
    cr_expect(json_is_number(json_object_get(p, "tasks")) && tasks <= jobs + 1 && tasks >= jobs - 1,
              "tasks %f, want %ld jobs", tasks, jobs);
    const char *cls = ps_str(p, "classification");
    cr_expect(cls && strcmp(cls, "serialized") && strcmp(cls, "idle"), "class %s", cls ? cls : "(none)");
    ps_run_free(&r);
}
