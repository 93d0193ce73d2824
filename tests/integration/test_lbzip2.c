/* lbzip2 -n2, a real program we cannot rebuild (Debian's lbzip2 2.5), on 8
 * MB of generated text. lbzip2 ends with _exit(), so no destructor runs:
 * the shim wrote no report at all ("poolshim run" said "no report") until
 * its _exit wrapper wrote it (shim/wrap/interpose_exit.c).
 * What the report says: lbzip2 starts every thread (its reader, its muxer and
 * its -n2 workers) through one trampoline (lbzip2+0x11470, stripped) that
 * calls its argument, the thread's function itself, not a struct holding it
 * (entry.h's case), so all four are one pool "lbzip*". The two workers do the
 * compressing: each has far more CPU than the other three threads together. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include "harness.h"

Test(lbzip2, a_program_that_ends_with__exit_writes_its_report_with_its_two_compressors, .timeout = 60)
{
    if (system("command -v lbzip2 >/dev/null 2>&1") != 0)
        cr_skip_test("lbzip2 is not installed (scripts/deps.sh installs it)");
    char dir[] = "/tmp/poolshim-lbzip2.XXXXXX", in[64];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(in, sizeof in, "%s/data", dir);
    cr_assert(ps_make_text(in, 8 << 20) > 0, "cannot write %s", in);
    struct ps_run r;
    char *argv[] = { "lbzip2", "-n2", "-k", "-f", in, NULL };
    double cpu;
    cr_assert_eq(ps_run_cpu(&r, argv, &cpu), 0);
    ps_rmdir(dir);
    cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    cr_assert_not_null(r.report, "no report; stderr: %s", r.err);
    cr_expect_str_eq(ps_str(r.report, "why"), "_exit");
    /* the two threads with the most CPU: the compressors, in one pool */
    json_t *threads = json_object_get(r.report, "threads"), *t, *top[2] = { NULL, NULL };
    size_t i;
    json_array_foreach(threads, i, t) {
        if (!top[0] || ps_num(t, "cpu_s") > ps_num(top[0], "cpu_s")) {
            top[1] = top[0];
            top[0] = t;
        } else if (!top[1] || ps_num(t, "cpu_s") > ps_num(top[1], "cpu_s")) {
            top[1] = t;
        }
    }
    cr_assert_not_null(top[1], "fewer than 2 threads in the report: %s", r.err);
    for (int k = 0; k < 2; k++)
        cr_expect(ps_num(top[k], "cpu_s") > 0.3 * cpu, "thread %d: cpu %f of the process's %f: not a compressor",
                  (int)ps_num(top[k], "tid"), ps_num(top[k], "cpu_s"), cpu);
    json_t *pool = json_object_get(top[0], "pool");
    cr_assert(json_is_integer(pool) && json_equal(pool, json_object_get(top[1], "pool")),
              "the 2 compressors are not in one pool: %s", r.err);
    json_t *p = NULL, *q;
    json_array_foreach(json_object_get(r.report, "pools"), i, q)
        if (ps_num(q, "id") == json_integer_value(pool))
            p = q;
    cr_assert_not_null(p, "no pool %d in the report", (int)json_integer_value(pool));
    cr_expect(ps_num(p, "threads") >= 2, "pool of %f threads", ps_num(p, "threads"));
    cr_expect(ps_num(p, "cpu_s") > 0.7 * cpu && ps_num(p, "cpu_s") <= cpu * 1.02, "pool cpu %f of the process's %f",
              ps_num(p, "cpu_s"), cpu);
    ps_run_free(&r);
}
