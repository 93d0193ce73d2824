/* lbzip2, a real program we cannot rebuild (Debian's lbzip2 2.5), on
 * generated text. lbzip2 ends with _exit(), so no destructor runs: the shim
 * wrote no report at all ("poolshim run" said "no report") until its _exit
 * wrapper wrote it (shim/wrap/interpose_exit.c).
 * How it starts its threads (gdb, a break at pthread_create): its main thread
 * starts one thread running main_thread_proc, which starts the reader, the
 * muxer (writer) and -n minus 1 workers and then runs a worker itself. All go
 * through one trampoline (lbzip2+0x11470, stripped) that calls its argument,
 * the thread's function itself, not a struct holding it; the spawned workers
 * share that argument's value. The shim read the argument as a struct, found
 * machine code, no entry, and put them all in one pool split by argument as
 * timing let it (-n2: one pool of 4 in 8 runs of 8; -n4: four pools, a worker
 * alone). Now the argument is the entry (entry.h) and pools split by what
 * their threads run: the workers, the reader, the muxer, main_thread_proc. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"

static void run_lbzip2(struct ps_run *r, const char *workers, long bytes, double *cpu)
{
    if (system("command -v lbzip2 >/dev/null 2>&1") != 0)
        cr_skip_test("lbzip2 is not installed (scripts/deps.sh installs it)");
    char dir[] = "/tmp/poolshim-lbzip2.XXXXXX", in[64];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(in, sizeof in, "%s/data", dir);
    cr_assert(ps_make_text(in, bytes) > 0, "cannot write %s", in);
    char *argv[] = { "lbzip2", (char *)workers, "-k", "-f", in, NULL };
    cr_assert_eq(ps_run_cpu(r, argv, NULL, cpu), 0);
    ps_rmdir(dir);
    cr_assert_eq(r->status, 0, "exit %d: %s", r->status, r->err);
    cr_assert_not_null(r->report, "no report; stderr: %s", r->err);
}

static json_t *pool_by_id(json_t *report, json_t *id)
{
    json_t *q;
    size_t i;
    json_array_foreach(json_object_get(report, "pools"), i, q)
        if (json_is_integer(id) && ps_num(q, "id") == json_integer_value(id))
            return q;
    return NULL;
}

/* The threads lbzip2 started (those with a start routine), by CPU, most first. */
static int started_by_cpu(json_t *report, json_t **out, int cap)
{
    json_t *t;
    size_t i;
    int n = 0;
    json_array_foreach(json_object_get(report, "threads"), i, t) {
        if (!ps_str(t, "start_routine") || n == cap)
            continue;
        int k = n++;
        for (; k > 0 && ps_num(out[k - 1], "cpu_s") < ps_num(t, "cpu_s"); k--)
            out[k] = out[k - 1];
        out[k] = t;
    }
    return n;
}

Test(lbzip2, a_program_that_ends_with__exit_writes_its_report_with_its_two_compressors, .timeout = 60)
{
    struct ps_run r;
    double cpu;
    run_lbzip2(&r, "-n2", 8 << 20, &cpu);
    cr_expect_str_eq(ps_str(r.report, "why"), "_exit");
    /* the two threads with the most CPU: the compressors, the spawned worker
     * and main_thread_proc's thread, each in a pool named by what it runs, or
     * one pool once main_thread_proc's thread waited for work with the
     * worker (pool.c: join_lone_waiters); each pool counted once */
    json_t *top[8];
    int n = started_by_cpu(r.report, top, 8);
    cr_assert(n >= 2, "fewer than 2 started threads in the report: %s", r.err);
    double pools_cpu = 0;
    for (int k = 0; k < 2; k++) {
        cr_expect(ps_num(top[k], "cpu_s") > 0.3 * cpu, "thread %d: cpu %f of the process's %f: not a compressor",
                  (int)ps_num(top[k], "tid"), ps_num(top[k], "cpu_s"), cpu);
        json_t *p = pool_by_id(r.report, json_object_get(top[k], "pool"));
        cr_assert_not_null(p, "compressor %d is in no pool: %s", k, r.err);
        cr_expect_not_null(ps_str(p, "entry"), "pool %s has no entry", ps_str(p, "name"));
        if (k == 0 || !json_equal(json_object_get(top[0], "pool"), json_object_get(top[1], "pool")))
            pools_cpu += ps_num(p, "cpu_s");
    }
    cr_expect(pools_cpu > 0.7 * cpu && pools_cpu <= cpu * 1.02, "the compressors' pools: cpu %f of the process's %f",
              pools_cpu, cpu);
    ps_run_free(&r);
}

/* -n3: main_thread_proc's thread and 2 spawned workers compress, the reader
 * and the muxer do next to nothing. The spawned workers are one pool, named
 * by their function (an address: lbzip2 is stripped), and neither the reader
 * nor the muxer is in it. main_thread_proc's thread runs the workers' code
 * once it has started them: it joins them once it waits for work on their
 * condvar (pool.c: join_lone_waiters), which it may never do in a short run. */
Test(lbzip2, its_spawned_workers_are_one_pool_by_their_function_without_the_reader_and_muxer, .timeout = 90)
{
    struct ps_run r;
    double cpu;
    run_lbzip2(&r, "-n3", 20 << 20, &cpu);
    json_t *th[8];
    int n = started_by_cpu(r.report, th, 8);
    cr_assert_eq(n, 5, "%d started threads, not main_thread_proc's, 2 workers, reader and muxer: %s", n, r.err);
    /* the workers' pool: the one of 2 or 3 threads among the 3 that compress */
    json_t *workers = NULL;
    for (int k = 0; k < 3 && !workers; k++) {
        json_t *p = pool_by_id(r.report, json_object_get(th[k], "pool"));
        if (p && (ps_num(p, "threads") == 2 || ps_num(p, "threads") == 3))
            workers = p;
    }
    cr_assert_not_null(workers, "no pool of 2 or 3 among the 3 compressing threads: %s", r.err);
    const char *entry = ps_str(workers, "entry");
    cr_assert_not_null(entry, "the workers' pool %s has no entry", ps_str(workers, "name"));
    cr_expect(strstr(ps_str(workers, "name"), entry) != NULL, "pool named %s, not by its entry %s",
              ps_str(workers, "name"), entry);
    int in = 0;
    for (int k = 0; k < 3; k++)
        in += json_equal(json_object_get(th[k], "pool"), json_object_get(workers, "id"));
    cr_expect_eq(in, ps_num(workers, "threads"), "%d of the 3 compressing threads in the workers' pool of %g", in,
                 ps_num(workers, "threads"));
    /* the reader and the muxer: each in a pool of its own, with an entry */
    for (int k = 3; k < 5; k++) {
        json_t *p = pool_by_id(r.report, json_object_get(th[k], "pool"));
        cr_assert_not_null(p, "thread %d is in no pool", (int)ps_num(th[k], "tid"));
        cr_expect(!json_equal(json_object_get(p, "id"), json_object_get(workers, "id")),
                  "thread %d (cpu %f) is in the workers' pool", (int)ps_num(th[k], "tid"), ps_num(th[k], "cpu_s"));
        cr_expect_eq(ps_num(p, "threads"), 1, "the reader's or muxer's pool %s: %f threads", ps_str(p, "name"),
                     ps_num(p, "threads"));
        cr_expect_not_null(ps_str(p, "entry"), "pool %s has no entry", ps_str(p, "name"));
    }
    ps_run_free(&r);
}
