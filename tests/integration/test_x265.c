/* x265 (Debian's x265 command, libx265 as ffmpeg loads it too) encoding
 * 20 frames of noise with --pools 4 on a machine of few cores. Its thread
 * pool and frame encoders share one start routine (x265::Thread's) in
 * libx265: the pool read "x* (libx265.so.199+0x484420)" and the profile
 * named no option, where `--pools` sets it. Sweep by hand (40 such frames,
 * 5 alternating runs a size, medians, 2 cores): 2: 1.89 s, 3: 1.95, 4: 1.76,
 * 8: 1.79; told 2 (cpu-starved), 0.93 of the best. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "pool_test.h"

static const char x265_exe[] = "/usr/bin/x265";

/* Writes n frames of 640x360 yuv420p whose luma is noise (hard to
 * predict: every frame costs the encoder's full search). */
static int write_noise(const char *path, int n)
{
    enum { W = 640, H = 360 };
    static unsigned char frame[W * H * 3 / 2];
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    unsigned x = 12345;
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < W * H; k++) {
            x = x * 1103515245u + 12345u;
            frame[k] = (unsigned char)(x >> 16);
        }
        memset(frame + W * H, 128, W * H / 2);
        if (fwrite(frame, sizeof frame, 1, f) != 1) {
            fclose(f);
            return -1;
        }
    }
    return fclose(f);
}

Test(x265, an_x265_pool_is_named_and_its_pools_option_given, .timeout = 120)
{
    if (access(x265_exe, X_OK))
        cr_skip_test("no %s (scripts/deps.sh installs x265)", x265_exe);
    char dir[] = "/tmp/ps_x265_XXXXXX", in[64];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(in, sizeof in, "%s/in.yuv", dir);
    cr_assert_eq(write_noise(in, 20), 0, "cannot write %s", in);
    struct ps_run r;
    char *argv[] = { (char *)x265_exe, "--input", in, "--input-res", "640x360", "--fps", "30", "--preset", "fast",
                     "--pools", "4", "--log-level", "none", "--no-progress", "-o", "/dev/null", NULL };
    double cpu = 0;
    cr_assert_eq(ps_run_cpu(&r, argv, NULL, &cpu), 0);
    unlink(in);
    rmdir(dir);
    json_t *p = pt_named_pool(&r, "libx265", cpu);
    cr_expect_geq(ps_num(p, "threads"), 4, "the four workers and the frame encoders");
    int told = (int)ps_num(p, "recommended_threads"), cores = (int)ps_num(r.report, "cores");
    /* CPU-bound encoding: never more than the cores */
    cr_expect(told >= 1 && told <= cores, "told %d on %d cores: %s", told, cores, ps_str(p, "reason"));
    char want[64];
    snprintf(want, sizeof want, "# x265: --pools %d ", told);
    pt_expect_profile(&r, want);
    ps_run_free(&r);
}
