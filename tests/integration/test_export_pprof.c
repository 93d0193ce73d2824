/* `poolshim export pprof`, read back by the real reader, `go tool pprof -top`
 * (Debian's golang-go), and checked against known truth:
 * - two_sites: lock wait split 70/30 between two call sites, measured by
 *   the fixture itself: delay shares within 5 % of it, contentions exact,
 *   and from the dump it asks for at the end, both sites by file:line;
 * - convoy_io keeping 64 MiB live from allocate_cache(): that site holds the
 *   heap (>= 95 % of inuse_space, the total within sampling error of 64 MiB),
 *   and the off-CPU total is the dump's blocked time (sum of since_s);
 * - a dump whose frames carry file, line, inlined calls and build ids: the
 *   profile has them as pprof's Lines (inlined calls marked) and mappings.
 * Bad input exits 2 (1 when the output cannot be written), one line each. */
#include "analyzer_kit.h"
#include "dumpkit.h"
#include <math.h>

/* Runs `go tool pprof -top ARGS... FILE`; its output, malloc'ed. */
static char *pprof_top(const char *file, const char *a1, const char *a2)
{
    struct ps_run g;
    char *argv[] = { "go", "tool", "pprof", "-top", "-nodefraction=0", (char *)(a1 ? a1 : "-nodecount=500"),
                     (char *)(a2 ? a2 : "-nodecount=500"), (char *)file, NULL };
    cr_assert_eq(ps_run_ex(&g, argv, NULL, 0, 60), 0, "cannot run go tool pprof");
    cr_assert_eq(g.status, 0, "go tool pprof exit %d: %s", g.status, g.err);
    char *out = strdup(g.out);
    ps_run_free(&g);
    return out;
}

/* A pprof value with its unit (ms, s, MB, ...) in base units (s, bytes). */
static double unit_value(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    static const struct { const char *u; double k; } units[] = {
        { "ns", 1e-9 }, { "us", 1e-6 }, { "ms", 1e-3 }, { "s", 1 }, { "mins", 60 }, { "hrs", 3600 },
        { "B", 1 }, { "kB", 1024. }, { "MB", 1024. * 1024 }, { "GB", 1024. * 1024 * 1024 } };
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (!strncmp(end, units[i].u, strlen(units[i].u)) &&
            (end[strlen(units[i].u)] == 0 || end[strlen(units[i].u)] == ' '))
            return v * units[i].k;
    return v;
}

/* The flat (column 0) or cum (column 3) value of the -top row whose name
 * (the rest of the line) is name; NAN when there is no such row. */
static double top_value(const char *top, const char *name, int col)
{
    const char *rows = strstr(top, "flat  flat%");
    for (const char *l = rows ? strchr(rows, '\n') : NULL; l && *l; l = strchr(l, '\n')) {
        l++;
        char f[6][256];
        int used = 0;
        if (sscanf(l, "%255s %255s %255s %255s %255s %n", f[0], f[1], f[2], f[3], f[4], &used) < 5) continue;
        const char *e = strchr(l + used, '\n');
        size_t n = e ? (size_t)(e - (l + used)) : strlen(l + used);
        if (n == strlen(name) && !strncmp(l + used, name, n)) return unit_value(f[col]);
    }
    return NAN;
}

/* The flat value of the row whose name starts with fn and a space and ends
 * with suffix (a file:line whose directory depends on the build). */
static double top_value_at(const char *top, const char *fn, const char *suffix)
{
    const char *rows = strstr(top, "flat  flat%");
    for (const char *l = rows ? strchr(rows, '\n') : NULL; l && *l; l = strchr(l, '\n')) {
        l++;
        char f[5][256];
        int used = 0;
        if (sscanf(l, "%255s %255s %255s %255s %255s %n", f[0], f[1], f[2], f[3], f[4], &used) < 5) continue;
        const char *name = l + used, *e = strchr(name, '\n');
        size_t n = e ? (size_t)(e - name) : strlen(name), fl = strlen(fn), sl = strlen(suffix);
        if (n > fl + sl && !strncmp(name, fn, fl) && name[fl] == ' ' && !strncmp(name + n - sl, suffix, sl))
            return unit_value(f[0]);
    }
    return NAN;
}

/* "Total samples = X" in base units. */
static double top_total(const char *top)
{
    const char *t = strstr(top, "Total samples = ");
    return t ? unit_value(t + 16) : NAN;
}

static void export_ok(const char *in, const char *out)
{
    struct ps_run a;
    ak_poolshim(&a, (char *[]){ "export", "pprof", (char *)in, "-o", (char *)out, NULL });
    cr_assert_eq(a.status, 0, "export exit %d: %s", a.status, a.err);
    ps_run_free(&a);
}

Test(export_pprof, report_contention_shares_match_the_two_sites_truth, .timeout = 120)
{
    struct ps_run r;
    char *argv[] = { (char *)ps_build_path("fixtures/two_sites"), "--request-dump", "1", NULL };
    cr_assert_eq(ps_run_ex(&r, argv, NULL, 1, 60), 0);
    cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    cr_assert_not_null(r.truth, "no truth: %s", r.out);
    double wa = ps_num(r.truth, "wait_a_s"), wb = ps_num(r.truth, "wait_b_s");
    char rep[600], out[600];
    snprintf(rep, sizeof rep, "%s/poolshim.%d.json", r.dir, r.pid);
    snprintf(out, sizeof out, "%s/contention.pb.gz", r.dir);
    export_ok(rep, out);

    char *top = pprof_top(out, "-sample_index=delay", NULL);
    double a = top_value(top, "lock_at_site_a", 0), b = top_value(top, "lock_at_site_b", 0);
    cr_assert(isfinite(a) && isfinite(b), "both sites must be named:\n%s", top);
    double share = a / (a + b), truth = wa / (wa + wb);
    cr_expect(ps_near(share, truth, 0.05), "site a's share %.3f, truth %.3f:\n%s", share, truth, top);
    cr_expect(ps_near(1 - share, 1 - truth, 0.05), "site b's share %.3f, truth %.3f", 1 - share, 1 - truth);
    cr_expect(ps_near(a, wa, 0.05) && ps_near(b, wb, 0.05), "delay %g/%g s, truth %g/%g s", a, b, wa, wb);
    free(top);

    top = pprof_top(out, "-sample_index=contentions", NULL);
    cr_expect_eq(top_value(top, "lock_at_site_a", 0), ps_num(r.truth, "waits_a"), "contentions at a:\n%s", top);
    cr_expect_eq(top_value(top, "lock_at_site_b", 0), ps_num(r.truth, "waits_b"), "contentions at b:\n%s", top);
    free(top);

    /* off-CPU per thread and cause: the workers' lock wait is their cause "lock" */
    top = pprof_top(out, "-sample_index=offcpu", "-tagfocus=cause=lock");
    double lock = top_value(top, "[lock]", 0);
    cr_expect(ps_near(lock, wa + wb, 0.05), "offcpu cause=lock %g s, truth %g s:\n%s", lock, wa + wb, top);
    free(top);

    /* The dump taken at the end: the same split, each site named with the
     * file:line of its pthread_mutex_lock call (the fixture's __LINE__). */
    char dump[600], sa[32], sb[32];
    snprintf(dump, sizeof dump, "%s/poolshim.%d.dump.0.json", r.dir, r.pid);
    snprintf(out, sizeof out, "%s/dump.pb.gz", r.dir);
    export_ok(dump, out);
    snprintf(sa, sizeof sa, "two_sites.c:%d", (int)ps_num(r.truth, "line_a"));
    snprintf(sb, sizeof sb, "two_sites.c:%d", (int)ps_num(r.truth, "line_b"));
    top = pprof_top(out, "-sample_index=delay", "-lines");
    a = top_value_at(top, "lock_at_site_a", sa);
    b = top_value_at(top, "lock_at_site_b", sb);
    cr_expect(isfinite(a) && isfinite(b), "sites not named %s and %s:\n%s", sa, sb, top);
    cr_expect(ps_near(a / (a + b), truth, 0.05), "dump: site a's share %.3f, truth %.3f:\n%s", a / (a + b), truth, top);
    free(top);
    ps_run_free(&r);
}

Test(export_pprof, dump_heap_names_the_64_mib_site_and_offcpu_is_the_blocked_time, .timeout = 120)
{
    struct ps_run r;
    char *argv[] = { (char *)ps_build_path("fixtures/convoy_io"), "--workers", "4", "--hold-ms", "1500",
                     "--run-ms", "1600", "--alloc-mb", "64", NULL };
    /* a heap sample every 64 KiB on average: ~1000 samples of the 64 MiB */
    char *env[] = { "POOLSHIM_ALLOC_SAMPLE=16", NULL };
    json_t *d = dk_run_for_dump(&r, argv, env);
    char dump[600], out[600];
    snprintf(dump, sizeof dump, "%s/poolshim.%d.dump.0.json", r.dir, r.pid);
    snprintf(out, sizeof out, "%s/dump.pb.gz", r.dir);
    export_ok(dump, out);

    char *top = pprof_top(out, "-sample_index=inuse_space", NULL);
    double site = top_value(top, "allocate_cache", 0), total = top_total(top);
    cr_expect_geq(site / total, 0.95, "allocate_cache %g of %g bytes:\n%s", site, total, top);
    cr_expect(ps_near(site, 64.0 * 1024 * 1024, 0.15), "allocate_cache %g bytes, 64 MiB kept live", site);
    free(top);

    double since = 0;
    json_t *t;
    size_t i;
    json_array_foreach(json_object_get(d, "threads"), i, t) {
        double s = ps_num(t, "blocked_on.since_s");
        if (isfinite(s) && s > 0) since += s;
    }
    top = pprof_top(out, "-sample_index=offcpu", NULL);
    cr_expect(ps_near(top_total(top), since, 0.01), "offcpu total %g s, the dump's since_s add to %g s:\n%s",
              top_total(top), since, top);
    cr_expect(top_value(top, "hold_lock_during_io", 3) > 0, "the holder's function is missing:\n%s", top);
    cr_expect(top_value(top, "convoy_worker", 3) > 0, "the waiters' function is missing:\n%s", top);
    free(top);
    json_decref(d);
    ps_run_free(&r);
}

Test(export_pprof, frames_keep_file_line_inlined_calls_and_build_ids, .timeout = 60)
{
    char out[] = "/tmp/poolshim-pprof-lines.XXXXXX";
    cr_assert_not_null(mkdtemp(out));
    char file[600];
    snprintf(file, sizeof file, "%s/lines.pb.gz", out);
    export_ok(ak_data("pprof_lines.dump.json"), file);
    char *top = pprof_top(file, "-lines", NULL);
    cr_expect(strstr(top, "take_lock /src/app/lock.h:12 (inline)") != NULL, "no inlined line:\n%s", top);
    cr_expect_eq(top_value(top, "process_item /src/app/worker.c:88", 3), 0.75, "caller of the inlined call:\n%s", top);
    cr_expect_eq(top_value(top, "load_block /src/app/io.c:40", 3), 0.25, "io wait:\n%s", top);
    cr_expect(strstr(top, "Build ID: 0123456789abcdef0123456789abcdef01234567") != NULL, "no build id:\n%s", top);
    free(top);
    top = pprof_top(file, "-sample_index=inuse_space", "-lines");
    cr_expect_eq(top_value(top, "make_buffer /src/app/buf.c:7", 0), 3145728, "heap site:\n%s", top);
    free(top);
    /* the lock's wait not covered by its listed sites stays in the total */
    top = pprof_top(file, "-sample_index=delay", NULL);
    cr_expect_eq(top_total(top), 1.0, "the lock's 1 s of wait:\n%s", top);
    cr_expect_eq(top_value(top, "(other call sites)", 0), 0.2, "uncovered wait:\n%s", top);
    free(top);
    dk_rmdir(out);
}

static void expect_exit(char *const *args, int status, const char *what)
{
    struct ps_run a;
    ak_poolshim(&a, args);
    cr_expect_eq(a.status, status, "%s %s: exit %d (want %d): %s", args[0], args[2] ? args[2] : "", a.status, status,
                 a.err);
    cr_expect(strstr(a.err, what) != NULL, "expected '%s' in: %s", what, a.err);
    cr_expect_eq(dk_count(a.err, "\n"), 1, "one line on stderr: %s", a.err);
    ps_run_free(&a);
}

Test(export_pprof, bad_input_exits_2_and_an_unwritable_output_1, .timeout = 60)
{
    char *rep = (char *)ak_data("real_controlled.report.json");
    expect_exit((char *[]){ "export", "pprof", "/nonexistent.json", NULL }, 2, "no such file");
    expect_exit((char *[]){ "export", "pprof", NULL }, 2, "give a report or dump file");
    expect_exit((char *[]){ "export", "svg", rep, NULL }, 2, "unknown format");
    expect_exit((char *[]){ "export", "pprof", "--kind", "cpu", rep, NULL }, 2, "--kind cpu");
    expect_exit((char *[]){ "export", "pprof", "--kind", "heap", rep, NULL }, 2, "a report has no heap");
    expect_exit((char *[]){ "export", "pprof", "--bogus", rep, NULL }, 2, "unknown option");
    expect_exit((char *[]){ "export", "pprof", rep, "-o", "/nonexistent/dir/x.pb.gz", NULL }, 1, "cannot write");
}
