/* htslib's thread pool (Debian's bgzip, from tabix; samtools and bcftools
 * load it from libhts): bgzip -@ 4 compressing 24 MB of text. Its workers
 * read "bgzip* (bgzip+0x40680)" and the profile named no option, where -@ sets
 * it; bgzf's writer thread, in the same object, is a thread of its own. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "pool_test.h"

static const char bgzip_exe[] = "/usr/bin/bgzip";

/* n lines of text that compress about 3:1 */
static int write_text(const char *path, int n)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    unsigned x = 1;
    for (int i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        fprintf(f, "read%d\tchr%u\t%u\t60\tACGTTGCA%08x\n", i, (x >> 16) % 23, x % 100000000u, x);
    }
    return fclose(f);
}

Test(htslib, an_htslib_pool_is_named_and_its_option_given, .timeout = 120)
{
    if (access(bgzip_exe, X_OK))
        cr_skip_test("no %s (scripts/deps.sh installs tabix)", bgzip_exe);
    char dir[] = "/tmp/ps_hts_XXXXXX", in[64], out[64];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(in, sizeof in, "%s/in.txt", dir);
    snprintf(out, sizeof out, "%s/in.txt.gz", dir);
    cr_assert_eq(write_text(in, 500000), 0, "cannot write %s", in);
    struct ps_run r;
    char *argv[] = { (char *)bgzip_exe, "-@", "4", "-f", in, NULL };
    double cpu = 0;
    cr_assert_eq(ps_run_cpu(&r, argv, NULL, &cpu), 0);
    unlink(in);
    unlink(out);
    rmdir(dir);
    json_t *p = pt_named_pool(&r, "htslib thread pool", cpu);
    cr_expect_eq(ps_num(p, "threads"), 4, "-@ 4: four workers");
    int told = (int)ps_num(p, "recommended_threads"), cores = (int)ps_num(r.report, "cores");
    cr_expect(told >= 1 && told <= cores, "told %d on %d cores: %s", told, cores, ps_str(p, "reason"));
    char want[64];
    snprintf(want, sizeof want, "# htslib: -@ %d ", told);
    pt_expect_profile(&r, want);
    ps_run_free(&r);
}
