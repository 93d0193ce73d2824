/* The command line's manners: `--version` names the release the man pages
 * carry; `help CMD` and `CMD --help` print the same text, with the synopsis,
 * every option and the exit status; every option they list is in poolshim(1)
 * and every POOLSHIM_* variable of the shim's table (shim/base/config.c) is a
 * `run` option and in libpoolshim(7); both pages render without a groff
 * warning; unknown commands exit 2 with one line. */
#include "analyzer_kit.h"
#include "dumpkit.h"

static const char *const cmds[] = { "run", "report", "show", "dump", "export" };

/* A page rendered as plain text (no overstrike), its groff warnings in *warn. */
static char *render(const char *page, char **warn)
{
    char cmd[800], out[600];
    snprintf(out, sizeof out, "%s", ps_build_path("../docs"));
    snprintf(cmd, sizeof cmd, "groff -man -Tascii -ww -P-cbu '%s/%s'", out, page);
    struct ps_run r;
    cr_assert_eq(ps_run_ex(&r, (char *[]){ "sh", "-c", cmd, NULL }, NULL, 0, 30), 0);
    cr_assert_eq(r.status, 0, "groff exit %d: %s", r.status, r.err);
    char *text = strdup(r.out);
    *warn = strdup(r.err);
    ps_run_free(&r);
    return text;
}

static char *poolshim_out(char *const *args, int want_status)
{
    struct ps_run a;
    ak_poolshim(&a, args);
    cr_assert_eq(a.status, want_status, "poolshim %s %s: exit %d: %s", args[0], args[1] ? args[1] : "", a.status,
                 a.err);
    char *s = strdup(a.out);
    ps_run_free(&a);
    return s;
}

Test(cli, version_names_the_release_of_the_man_pages, .timeout = 30)
{
    char *v = poolshim_out((char *[]){ "--version", NULL }, 0);
    char release[64] = "";
    cr_assert_eq(sscanf(v, "poolshim %63s", release), 1, "--version: %s", v);
    cr_expect(strstr(v, "format versions 1..") != NULL, "no format versions: %s", v);
    const char *pages[] = { "poolshim.1", "libpoolshim.7" };
    for (int i = 0; i < 2; i++) {
        char path[600], want[100];
        snprintf(path, sizeof path, "%s/%s", ps_build_path("../docs"), pages[i]);
        char *src = ps_slurp(path);
        snprintf(want, sizeof want, "\"poolshim %s\"", release);
        cr_expect(strstr(src, want) != NULL, "%s does not say %s", pages[i], want);
        free(src);
    }
    free(v);
}

Test(cli, help_cmd_and_cmd_help_list_every_option_of_the_man_page, .timeout = 60)
{
    char *warn, *page = render("poolshim.1", &warn);
    cr_expect_eq(warn[0], 0, "groff warnings on poolshim.1: %s", warn);
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        char *h1 = poolshim_out((char *[]){ "help", (char *)cmds[i], NULL }, 0);
        char *h2 = poolshim_out((char *[]){ (char *)cmds[i], "--help", NULL }, 0);
        cr_expect_str_eq(h1, h2, "help %s and %s --help differ", cmds[i], cmds[i]);
        char head[64];
        snprintf(head, sizeof head, "usage: poolshim %s", cmds[i]);
        cr_expect_eq(strncmp(h1, head, strlen(head)), 0, "%s", h1);
        cr_expect(strstr(h1, "\nexit status: ") != NULL, "no exit status in help %s:\n%s", cmds[i], h1);
        /* each option line: "  -x, --long ARG  text" or "  --long V  sets VAR" */
        const char *opts = strstr(h1, "\noptions:\n");
        cr_assert_not_null(opts, "no options in help %s", cmds[i]);
        int n = 0;
        for (const char *l = opts + 10; *l == ' '; l = strchr(l, '\n') + 1) {
            char word[64];
            const char *w = l + strspn(l, " ");
            for (int k = 0; k < 2 && *w == '-'; k++) {
                size_t len = strcspn(w, " ,\n");
                snprintf(word, sizeof word, "%.*s", (int)len, w);
                cr_expect(strstr(page, word) != NULL, "%s %s is not in poolshim(1)", cmds[i], word);
                n++;
                w += len;
                if (w[0] != ',') break;
                w += 2;
            }
            if (!strchr(l, '\n')) break;
        }
        cr_expect_geq(n, 2, "help %s lists %d options:\n%s", cmds[i], n, h1);
        free(h1);
        free(h2);
    }
    free(page);
    free(warn);
}

Test(cli, every_shim_variable_is_a_run_option_and_in_libpoolshim_7, .timeout = 60)
{
    char *warn, *page = render("libpoolshim.7", &warn);
    cr_expect_eq(warn[0], 0, "groff warnings on libpoolshim.7: %s", warn);
    char *run = poolshim_out((char *[]){ "help", "run", NULL }, 0);
    char path[600];
    snprintf(path, sizeof path, "%s", ps_build_path("../shim/base/config.c"));
    char *src = ps_slurp(path);
    int n = 0;
    for (const char *p = src; (p = strstr(p, "{ \"POOLSHIM_")); p++) {
        char var[64], opt[64];
        if (sscanf(p + 3, "%63[A-Z_]", var) != 1) continue;
        n++;
        cr_expect(strstr(page, var) != NULL, "%s is not in libpoolshim(7)", var);
        /* an integer's range in the table is the page's: "{ NAME, K_INT, OFF(f), min, max," */
        long lo, hi;
        const char *off = strstr(p, "OFF(");
        const char *eol = strchr(p, '\n');
        if (strstr(p, "K_INT") && strstr(p, "K_INT") < eol && off && off < eol &&
            sscanf(strchr(off, ')') + 1, " , %ld , %ld", &lo, &hi) == 2) {
            char range[64], head[80];
            snprintf(range, sizeof range, "%ld..%ld", lo, hi);
            snprintf(head, sizeof head, "\n       %s\n", var);
            const char *sec = strstr(page, head), *next = sec ? strstr(sec + strlen(head), "\n       POOLSHIM_") : NULL;
            size_t len = sec ? (next ? (size_t)(next - sec) : strlen(sec)) : 0;
            char *body = strndup(sec ? sec : "", len);
            cr_expect(strstr(body, range) != NULL, "libpoolshim(7) on %s does not say %s:\n%s", var, range, body);
            free(body);
        }
        /* POOLSHIM_DUMP_INTERVAL_S -> --dump-interval-s */
        size_t k = 0;
        opt[k++] = '-';
        opt[k++] = '-';
        for (const char *c = var + 9; *c && k < sizeof opt - 1; c++) opt[k++] = *c == '_' ? '-' : (char)(*c | 0x20);
        opt[k] = 0;
        char line[160];
        snprintf(line, sizeof line, "sets %s\n", var);
        const char *at = strstr(run, line);
        cr_expect(at != NULL, "`poolshim run` has no option for %s:\n%s", var, run);
        if (at) {
            const char *bol = at;
            while (bol > run && bol[-1] != '\n') bol--;
            cr_expect(strncmp(bol + strspn(bol, " "), opt, strlen(opt)) == 0, "%s is not set by %s", var, opt);
        }
    }
    cr_expect_geq(n, 18, "only %d variables found in shim/base/config.c", n);
    free(src);
    free(run);
    free(page);
    free(warn);
}

Test(cli, unknown_commands_and_help_topics_exit_2_with_one_line, .timeout = 30)
{
    char *const cases[][3] = { { "help", "frobnicate", NULL }, { "frobnicate", NULL }, { "export", NULL } };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ps_run a;
        ak_poolshim(&a, cases[i]);
        cr_expect_eq(a.status, 2, "%s %s: exit %d", cases[i][0], cases[i][1] ? cases[i][1] : "", a.status);
        cr_expect_eq(dk_count(a.err, "\n"), 1, "one line: %s", a.err);
        cr_expect_eq(a.out[0], 0, "stdout: %s", a.out);
        ps_run_free(&a);
    }
    struct ps_run a;
    ak_poolshim(&a, (char *[]){ NULL });
    cr_expect_eq(a.status, 2, "no command: exit %d", a.status);
    cr_expect(strstr(a.err, "usage:") != NULL, "no usage on stderr: %s", a.err);
    ps_run_free(&a);
    char *h = poolshim_out((char *[]){ "--help", NULL }, 0);
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        char s[64];
        snprintf(s, sizeof s, "poolshim %s", cmds[i]);
        cr_expect(strstr(h, s) != NULL, "--help does not list %s", cmds[i]);
    }
    free(h);
}

/* Each exit status the help and poolshim(1) document, made to happen. */
Test(cli, documented_exit_statuses_happen, .timeout = 60)
{
    char dir[] = "/tmp/poolshim-cli.XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char noexec[600];
    snprintf(noexec, sizeof noexec, "%s/not-executable", dir);
    FILE *f = fopen(noexec, "w");
    cr_assert_not_null(f);
    fputs("#!/bin/sh\n", f);
    fclose(f);
    char *rep = (char *)ak_data("real_controlled.report.json"), *dump = (char *)ak_data("real_request.dump.json");
    struct { char *args[8]; int status; } cases[] = {
        { { "run", "--", "sh", "-c", "exit 3", NULL }, 3 },
        { { "run", "--", "sh", "-c", "kill -TERM $$", NULL }, 128 + 15 },
        { { "run", "--", "/nonexistent/program", NULL }, 127 },
        { { "run", "--", noexec, NULL }, 126 },
        { { "run", "--bogus", "1", "--", "true", NULL }, 2 },
        { { "report", rep, NULL }, 0 },
        { { "report", "--html", "/nonexistent/dir/page.html", rep, NULL }, 1 },
        { { "report", "/nonexistent.json", NULL }, 2 },
        { { "show", "--html", "/nonexistent/dir/page.html", dump, NULL }, 1 },
        { { "show", rep, NULL }, 2 },
        { { "dump", "notapid", NULL }, 2 },
        { { "dump", "2147483000", NULL }, 2 },          /* no such process */
        { { "export", "pprof", rep, "-o", "/nonexistent/dir/x.pb.gz", NULL }, 1 },
        { { "help", "show", NULL }, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ps_run a;
        ak_poolshim(&a, cases[i].args);
        cr_expect_eq(a.status, cases[i].status, "poolshim %s %s %s: exit %d, documented %d: %s", cases[i].args[0],
                     cases[i].args[1], cases[i].args[2] ? cases[i].args[2] : "", a.status, cases[i].status, a.err);
        ps_run_free(&a);
    }
    dk_rmdir(dir);
}
