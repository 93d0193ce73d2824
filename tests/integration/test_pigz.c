/* pigz -p N, a real program we cannot rebuild, compressing 8 MB of generated
 * text at -9: a CPU-bound pool.
 * What pigz really starts (found from the reports and pigz's yarn.c): every
 * thread goes through yarn's launch(), i.e. pthread_create with the same
 * static trampoline (ignition, shown as pigz+0x…), so the pool holds the N
 * compress threads *and* the one write thread: N + 1 threads. The writer
 * mostly waits on a condvar posted by the compressors (a hand-off inside the
 * pool, not a serializing lock: the compressors never queue on it), so the
 * pool must read CPU-bound (or CPU-starved when other load takes the cores),
 * never serialized. The truth for CPU is the kernel's: the child's rusage. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include "harness.h"

#define N 2

static void make_input(const char *path, long bytes)
{
    static const char *const words[] = { "alpha", "beta", "gamma", "delta", "pool", "thread", "lock",
                                         "wait", "cpu", "io" };
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    unsigned long x = 1;
    for (long n = 0; n < bytes;) {
        x = x * 6364136223846793005ul + 1442695040888963407ul;
        n += fprintf(f, "%s%lu%c", words[(x >> 33) % 10], (x >> 40) % 1000, (x >> 20) % 12 ? ' ' : '\n');
    }
    fclose(f);
}

static double children_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6;
}

Test(pigz, compress_threads_plus_writer_read_cpu_bound, .timeout = 60)
{
    char dir[] = "/tmp/poolshim-pigz.XXXXXX", in[64], cmd[128];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(in, sizeof in, "%s/data", dir);
    make_input(in, 8 << 20);
    struct ps_run r;
    char *argv[] = { "pigz", "-9", "-p", "2", "-k", "-f", in, NULL };
    double cpu0 = children_cpu_s();
    cr_assert_eq(ps_run(&r, argv, NULL), 0);
    double cpu = children_cpu_s() - cpu0;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd)) {}
    cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    cr_assert_not_null(r.report, "no report; stderr: %s", r.err);

    json_t *pools = json_object_get(r.report, "pools"), *p = NULL, *q;
    size_t i;
    json_array_foreach(pools, i, q)
        if (!p || ps_num(q, "cpu_s") > ps_num(p, "cpu_s"))
            p = q;
    cr_assert_not_null(p, "no pool");
    cr_expect_eq(ps_num(p, "threads"), N + 1, "threads %f, want %d compressors + 1 writer", ps_num(p, "threads"), N);
    /* The pool is nearly all of the process's CPU (main only reads the input). */
    cr_expect(ps_near(ps_num(p, "cpu_s"), cpu, 0.15), "cpu %f vs rusage %f", ps_num(p, "cpu_s"), cpu);
    int busy = 0, quiet = 0;
    json_t *threads = json_object_get(r.report, "threads"), *t;
    json_array_foreach(threads, i, t) {
        if (!json_is_integer(json_object_get(t, "pool")) || ps_num(t, "pool") != ps_num(p, "id"))
            continue;
        double share = ps_num(t, "cpu_s") / ps_num(p, "cpu_s");
        busy += share > 0.25;
        quiet += share < 0.05;
    }
    cr_expect(busy == N && quiet == 1, "%d compressing threads, %d quiet (the writer)", busy, quiet);
    cr_expect(ps_num(p, "w_c") < 0.25, "w_c %f", ps_num(p, "w_c"));
    const char *cls = ps_str(p, "classification");
    cr_expect(cls && (!strcmp(cls, "cpu-bound") || !strcmp(cls, "cpu-starved")), "classification %s (%s)", cls,
              ps_str(p, "reason"));
    cr_expect_eq(ps_num(p, "recommended_threads"), ps_num(r.report, "cores"), "recommended %f: %s",
                 ps_num(p, "recommended_threads"), ps_str(p, "reason"));
    ps_run_free(&r);
}
