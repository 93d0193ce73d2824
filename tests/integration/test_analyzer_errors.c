/* Bad input to `poolshim report` / `show`: every case exits 2 with exactly
 * one line on stderr naming the file and what is wrong, and prints nothing
 * on stdout. Never a crash (a signal would give status 128+n). */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "analyzer_kit.h"

static char dir[] = "/tmp/poolshim-badinput.XXXXXX";

static const char *put(const char *name, const void *data, size_t len)
{
    static char path[32][512];
    static int k;
    char *p = path[k++ % 32];
    snprintf(p, 512, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    cr_assert_not_null(f);
    fwrite(data, 1, len, f);
    fclose(f);
    return p;
}
#define PUTS(name, s) put(name, s, strlen(s))

static void expect_bad(const char *cmd, const char *path, const char *what)
{
    struct ps_run a;
    ak_poolshim(&a, (char *[]){ (char *)cmd, (char *)path, NULL });
    cr_expect_eq(a.status, 2, "%s: exit %d, stderr: %s", path, a.status, a.err);
    size_t lines = 0;
    for (const char *c = a.err; *c; c++) lines += *c == '\n';
    cr_expect_eq(lines, 1, "%s: %zu lines on stderr: %s", path, lines, a.err);
    char prefix[600];
    snprintf(prefix, sizeof prefix, "poolshim: %s: ", path);
    cr_expect_eq(strncmp(a.err, prefix, strlen(prefix)), 0, "stderr does not start with '%s': %s", prefix, a.err);
    cr_expect_not_null(strstr(a.err, what), "%s: expected '%s' in: %s", path, what, a.err);
    cr_expect_eq(a.out[0], 0, "%s: stdout not empty: %s", path, a.out);
    ps_run_free(&a);
}

Test(analyzer_errors, each_bad_input_is_one_line_and_exit_2, .timeout = 60)
{
    cr_assert_not_null(mkdtemp(dir));
    const char *good = "{\"version\":1,\"kind\":\"report\",\"pools\":[{\"id\":0,\"start_routine\":\"w\",\"threads\":2}]}";
    char garbage[512];
    srand(7);
    for (size_t i = 0; i < sizeof garbage; i++) garbage[i] = (char)(rand() & 0xff);
    garbage[0] = 0x7f;
    char fifo[600];
    snprintf(fifo, sizeof fifo, "%s/fifo.json", dir);
    cr_assert_eq(mkfifo(fifo, 0600), 0);   /* opening it must not wait for a writer */
    char trunc[40];
    memcpy(trunc, good, sizeof trunc);
    struct { const char *cmd, *path, *what; } cases[] = {
        { "report", PUTS("empty.json", ""), "empty file" },
        { "report", PUTS("spaces.json", "  \n\t "), "whitespace" },
        { "report", put("truncated.json", trunc, sizeof trunc), "truncated" },
        { "report", put("garbage.bin", garbage, sizeof garbage), "not JSON" },
        { "report", PUTS("text.txt", "hello world\n"), "not JSON" },
        { "report", PUTS("broken.json", "{\"version\":1,,}"), "invalid JSON at line 1" },
        { "report", PUTS("array.json", "[1,2]"), "not a poolshim file" },
        { "report", PUTS("other.json", "{\"name\":\"x\"}"), "not a poolshim file" },
        { "report", PUTS("newer.json", "{\"version\":99,\"kind\":\"report\",\"pools\":[]}"), "version 99 is newer" },
        { "report", PUTS("older.json", "{\"version\":0,\"kind\":\"report\",\"pools\":[]}"), "unknown format version 0" },
        { "report", PUTS("strver.json", "{\"version\":\"1\",\"kind\":\"report\",\"pools\":[]}"), "not an integer" },
        { "report", PUTS("nokind.json", "{\"version\":1,\"pools\":[]}"), "no \"kind\"" },
        { "report", PUTS("kind.json", "{\"version\":1,\"kind\":\"banana\"}"), "unknown kind" },
        { "report", PUTS("nopools.json", "{\"version\":1,\"kind\":\"report\"}"), "no \"pools\"" },
        { "report", PUTS("badpools.json", "{\"version\":1,\"kind\":\"report\",\"pools\":{}}"), "not an array" },
        { "report", PUTS("badpool.json", "{\"version\":1,\"kind\":\"report\",\"pools\":[1]}"), "pools[0] is not an object" },
        { "show", PUTS("report.json", good), "is a report, not a dump" },
        { "show", PUTS("dumpnothreads.json", "{\"version\":1,\"kind\":\"dump\"}"), "no \"threads\"" },
        { "report", "/nonexistent/poolshim.1.json", "no such file" },
        { "report", dir, "is a directory" },
        { "show", "/dev/null", "not a regular file" },
        { "report", fifo, "not a regular file" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) expect_bad(cases[i].cmd, cases[i].path, cases[i].what);
    /* The good file passes, so the failures above are about the content. */
    struct ps_run a;
    ak_poolshim(&a, (char *[]){ "report", (char *)PUTS("good.json", good), NULL });
    cr_expect_eq(a.status, 0, "good file: exit %d: %s", a.status, a.err);
    ps_run_free(&a);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_expect_eq(system(cmd), 0);
}

Test(analyzer_errors, usage_errors_exit_2, .timeout = 30)
{
    static const char *const cases[][5] = {
        { "report", NULL }, { "show", NULL }, { "frobnicate", NULL }, { "report", "--bogus", "x.json", NULL },
        { "dump", NULL }, { "dump", "notapid", NULL }, { "run", NULL }, { "run", "--nosuch", "1", NULL },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct ps_run a;
        ak_poolshim(&a, (char *const *)cases[i]);
        cr_expect_eq(a.status, 2, "%s %s: exit %d", cases[i][0], cases[i][1] ? cases[i][1] : "", a.status);
        cr_expect(strncmp(a.err, "poolshim: ", 10) == 0, "%s: stderr: %s", cases[i][0], a.err);
        ps_run_free(&a);
    }
}
