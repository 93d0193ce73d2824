/* pigz -p N, a real program we cannot rebuild, compressing 8 MB of generated
 * text at -9: a CPU-bound pool of N.
 * What pigz really starts (found from the reports and pigz's yarn.c): every
 * thread goes through yarn's launch(), i.e. pthread_create with the same
 * static trampoline (ignition, shown as pigz+0x…) and a capsule whose first
 * word is the function to run. The shim keys pools by that entry too
 * (shim/record/entry.h), so the N compress threads are one pool and the write
 * thread another, of 1, which waits for the compressors: not serialized
 * (a lone thread queues behind no member of its pool). The truth for CPU is
 * the kernel's: the child's rusage. Tasks are pigz's blocks of 128 KiB: the
 * compressors, backlogged, take most without waiting, but broadcast the queue
 * count's condvar at each (shim/record/tally.h). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "harness.h"

#define N 2

Test(pigz, compress_threads_are_a_cpu_bound_pool_of_n, .timeout = 60)
{
    char dir[] = "/tmp/poolshim-pigz.XXXXXX", in[64];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(in, sizeof in, "%s/data", dir);
    long size = ps_make_text(in, 8 << 20);
    cr_assert(size > 0, "cannot write %s", in);
    long blocks = (size + 131071) / 131072;
    struct ps_run r;
    char *argv[] = { "pigz", "-9", "-p", "2", "-k", "-f", in, NULL };
    double cpu;
    cr_assert_eq(ps_run_cpu(&r, argv, NULL, &cpu), 0);
    ps_rmdir(dir);
    cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    cr_assert_not_null(r.report, "no report; stderr: %s", r.err);

    json_t *pools = json_object_get(r.report, "pools"), *p = NULL, *q;
    size_t i;
    json_array_foreach(pools, i, q)
        if (!p || ps_num(q, "cpu_s") > ps_num(p, "cpu_s"))
            p = q;
    cr_assert_not_null(p, "no pool");
    cr_expect_eq(ps_num(p, "threads"), N, "threads %f, want %d compressors", ps_num(p, "threads"), N);
    cr_expect(ps_str(p, "entry") != NULL, "no entry: the trampoline was not seen through");
    /* The pool is nearly all of the process's CPU (main only reads the input). */
    cr_expect(ps_near(ps_num(p, "cpu_s"), cpu, 0.15), "cpu %f vs rusage %f", ps_num(p, "cpu_s"), cpu);
    cr_expect(json_is_number(json_object_get(p, "tasks")) && ps_near(ps_num(p, "tasks"), blocks, 0.02),
              "tasks %f, want %ld blocks", ps_num(p, "tasks"), blocks);
    int busy = 0;
    double thread_tasks = 0;
    json_t *threads = json_object_get(r.report, "threads"), *t;
    json_array_foreach(threads, i, t) {
        if (!json_is_integer(json_object_get(t, "pool")) || ps_num(t, "pool") != ps_num(p, "id"))
            continue;
        busy += ps_num(t, "cpu_s") / ps_num(p, "cpu_s") > 0.25;
        thread_tasks += ps_num(t, "tasks");
    }
    cr_expect(busy == N, "%d compressing threads", busy);
    cr_expect_eq(thread_tasks, ps_num(p, "tasks"), "threads' tasks %f, the pool's %f", thread_tasks, ps_num(p, "tasks"));
    /* The writer: same start routine, its own entry, one thread, quiet. */
    json_t *wr = NULL;
    json_array_foreach(pools, i, q)
        if (q != p && ps_str(q, "start_routine") && !strcmp(ps_str(q, "start_routine"), ps_str(p, "start_routine")))
            wr = q;
    cr_assert_not_null(wr, "no writer pool beside the compressors");
    cr_expect_eq(ps_num(wr, "threads"), 1);
    cr_expect(strcmp(ps_str(wr, "entry"), ps_str(p, "entry")) != 0);
    cr_expect(ps_num(wr, "cpu_s") < 0.05 * ps_num(p, "cpu_s"), "writer cpu %f", ps_num(wr, "cpu_s"));
    cr_expect(strcmp(ps_str(wr, "classification"), "serialized") != 0, "writer: %s", ps_str(wr, "reason"));
    cr_expect(ps_num(p, "w_c") < 0.25, "w_c %f", ps_num(p, "w_c"));
    const char *cls = ps_str(p, "classification");
    cr_expect(cls && (!strcmp(cls, "cpu-bound") || !strcmp(cls, "cpu-starved")), "classification %s (%s)", cls,
              ps_str(p, "reason"));
    cr_expect_eq(ps_num(p, "recommended_threads"), ps_num(r.report, "cores"), "recommended %f: %s",
                 ps_num(p, "recommended_threads"), ps_str(p, "reason"));
    ps_run_free(&r);
}
