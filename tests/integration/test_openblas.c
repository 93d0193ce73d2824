/* OpenBLAS built on pthreads (Debian's libopenblas0-pthread), as numpy
 * loads it: matrix products in a loop on a team of two, OpenBLAS's one
 * worker and the caller, which takes its share of each product. Its worker
 * read "pool CPython threads" and the profile said
 * "ThreadPoolExecutor(max_workers=2)" (the program is python3), where the
 * size is OpenBLAS's own variable. Now the pool is OpenBLAS's (known by the
 * API its object exports), sized as a team, as libgomp's. */
#include <criterion/criterion.h>
#include <string.h>
#include <unistd.h>
#include "harness.h"

/* Prints whether numpy runs on the pthreads OpenBLAS (its object among the
 * process's maps) and the CPU the process used, then multiplies. */
static const char script[] =
    "import json, sys, time\n"
    "try:\n"
    "    import numpy as np\n"
    "except ImportError:\n"
    "    print(json.dumps({'openblas': False})); sys.exit(0)\n"
    "maps = open('/proc/self/maps').read()\n"
    "if 'openblas-pthread' not in maps:\n"
    "    print(json.dumps({'openblas': False})); sys.exit(0)\n"
    "a = np.random.rand(300, 300)\n"
    "end = time.time() + 1.5\n"
    "n = 0\n"
    "while time.time() < end:\n"
    "    b = a @ a\n"
    "    n += 1\n"
    "print(json.dumps({'openblas': True, 'products': n}))\n";

Test(openblas, numpys_openblas_workers_are_openblas_sized_as_a_team, .timeout = 60)
{
    if (access("/usr/bin/python3", X_OK))
        cr_skip_test("no /usr/bin/python3");
    if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
        cr_skip_test("one core: OpenBLAS starts no worker");
    struct ps_run r;
    char *argv[] = { "/usr/bin/python3", "-c", (char *)script, NULL };
    char *env[] = { "OPENBLAS_NUM_THREADS=2", NULL };
    double cpu = 0;
    cr_assert_eq(ps_run_cpu(&r, argv, env, &cpu), 0);
    cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    cr_assert_not_null(r.truth, "no truth line: %s %s", r.out, r.err);
    if (!json_is_true(json_object_get(r.truth, "openblas")))
        cr_skip_test("numpy on the pthreads OpenBLAS not installed (scripts/deps.sh installs python3-numpy, "
                     "libopenblas0-pthread)");
    cr_assert_not_null(r.report, "no report: %s", r.err);
    json_t *p = ps_pool_by_name(r.report, "OpenBLAS");
    cr_assert_not_null(p, "no pool named OpenBLAS: %s", r.err);
    cr_expect_eq(ps_num(p, "threads"), 1, "one worker beside the caller");
    /* CPU-bound products: the caller's CPU is the team's, so the team is told the cores */
    cr_expect_str_eq(ps_str(p, "classification"), "cpu-bound", "%s", ps_str(p, "reason"));
    int told = (int)ps_num(p, "recommended_threads");
    cr_expect_eq(told, (int)ps_num(r.report, "cores"), "told %d: %s", told, ps_str(p, "reason"));
    /* every thread's CPU, as the kernel counted the whole process's */
    double sum = ps_threads_cpu(r.report);
    cr_expect(ps_near(sum, cpu, 0.05), "threads' cpu %f, the kernel's %f", sum, cpu);
    char *text = ps_profile(r.report), want[64];
    cr_assert_not_null(text, "no profile");
    snprintf(want, sizeof want, "export OPENBLAS_NUM_THREADS=%d", told);
    cr_expect(strstr(text, want) != NULL, "profile without %s: %s", want, text);
    cr_expect(strstr(text, "ThreadPoolExecutor") == NULL, "a CPython knob: %s", text);
    free(text);
    ps_run_free(&r);
}
