/* libvips (Debian's libvips-tools), as its `vips` command runs it: a
 * Gaussian blur, CPU-bound, on a 4000 x 4000 image. libvips runs its workers
 * on a GThreadPool, so the pool read "GLib GThreadPool" and the profile said
 * "g_thread_pool_new(..., max_threads=N, ...) (no environment variable sets
 * it)", where VIPS_CONCURRENCY sets it: the profile must say so. The size
 * the variable takes counts libvips's workers (VIPS_CONCURRENCY=1 here, so
 * one), beside which its sink adds helper threads to the same pool: the
 * blur's time by hand, 3 runs a size on 2 cores: 1: 0.99-1.03 s, 2:
 * 0.53-0.57, 4: 0.54-0.57. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "pool_test.h"

static const char vips_exe[] = "/usr/bin/vips";

/* Runs one vips command without the shim; 0 when it succeeded. */
static int vips_plain(char *const argv[])
{
    struct ps_run r;
    int ok = ps_run_ex(&r, argv, NULL, 0, 60) == 0 && r.status == 0;
    ps_run_free(&r);
    return ok ? 0 : -1;
}

Test(vips, a_libvips_pool_is_sized_by_vips_concurrency, .timeout = 120)
{
    if (access(vips_exe, X_OK))
        cr_skip_test("no %s (scripts/deps.sh installs libvips-tools)", vips_exe);
    char dir[] = "/tmp/ps_vips_XXXXXX", noise[64], img[64], out[64];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(noise, sizeof noise, "%s/n.v", dir);
    snprintf(img, sizeof img, "%s/u.v", dir);
    snprintf(out, sizeof out, "%s/o.v", dir);
    char *make[] = { (char *)vips_exe, "gaussnoise", noise, "4000", "4000", NULL };
    char *cast[] = { (char *)vips_exe, "cast", noise, img, "uchar", NULL };
    cr_assert_eq(vips_plain(make), 0, "vips gaussnoise failed");
    cr_assert_eq(vips_plain(cast), 0, "vips cast failed");
    unlink(noise);

    struct ps_run r;
    char *argv[] = { (char *)vips_exe, "gaussblur", img, out, "20", NULL };
    char *env[] = { "VIPS_CONCURRENCY=1", NULL };
    double cpu = 0;
    cr_assert_eq(ps_run_cpu(&r, argv, env, &cpu), 0);
    unlink(img);
    unlink(out);
    rmdir(dir);
    json_t *p = pt_named_pool(&r, "libvips", cpu);
    cr_expect_geq(ps_num(p, "threads"), 2, "one worker and the sink's helpers");
    /* the blur is CPU: a CPU-bound pool is told the cores */
    const char *cls = ps_str(p, "classification");
    cr_expect(!strcmp(cls, "cpu-bound") || !strcmp(cls, "cpu-starved"), "%s: %s", cls, ps_str(p, "reason"));
    int told = (int)ps_num(p, "recommended_threads");
    cr_expect_eq(told, (int)ps_num(r.report, "cores"), "told %d: %s", told, ps_str(p, "reason"));
    char want[64];
    snprintf(want, sizeof want, "export VIPS_CONCURRENCY=%d", told);
    pt_expect_profile(&r, want);
    char *text = ps_profile(r.report);
    cr_expect(text && strstr(text, "g_thread_pool_new") == NULL, "GLib's knob: %s", text ? text : "(none)");
    free(text);
    ps_run_free(&r);
}
