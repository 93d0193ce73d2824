/* html.c: the --html page (see html.h): a header, summary tables, and the
 * charts: pool size and limit, throughput and W/C over time (from history),
 * wait by cause per pool, flame graphs of wait time by cause and of
 * contention (flame.c), the threads' state timeline when the run was traced
 * (timeline.c), and for dumps the wait-for graph and the threads by stack.
 * A chart with no data is left out, with one line saying why: a flat zero
 * line or an empty box says nothing true. Self-contained: inline CSS, SVG and
 * script only, so the file can be mailed or attached to a ticket. */
#include "html.h"
#include "flame.h"
#include "jget.h"
#include "report.h"
#include "svg.h"
#include "text.h"
#include "timeline.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void head(FILE *f, const char *title)
{
    fprintf(f, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>");
    an_html_esc(f, title);
    fprintf(f, "</title>\n<style>\n"
        "body{font:14px/1.4 system-ui,sans-serif;margin:20px;color:#222;background:#fff}\n"
        "h1{font-size:20px}h2{font-size:16px;margin-top:28px;border-bottom:1px solid #ddd}\n"
        "table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ddd;padding:3px 6px;"
        "text-align:left;vertical-align:top}th{background:#f4f6f8}\n"
        "td.n{text-align:right;font-variant-numeric:tabular-nums}\n"
        ".chart{margin:6px 12px 6px 0;border:1px solid #eee}.title{font-weight:bold;font-size:13px}\n"
        ".tick{font-size:11px;fill:#444}.legend{font-size:11px;fill:#222}.note{color:#666;fill:#666;font-size:12px}\n"
        ".node{font-size:11px;font-family:monospace}.grid{stroke:#eee}.axis{stroke:#999}\n"
        ".edge-label{font-size:9px;font-family:monospace;fill:#933}p.left-out{color:#666;font-style:italic}\n"
        ".row{display:flex;flex-wrap:wrap}\n"
        ".bad{color:#c00;font-weight:bold}pre{background:#f7f7f7;padding:6px;font-size:12px;overflow:auto}\n"
        "</style></head><body>\n");
}

/* A chart left out: one line saying which and why. */
static void left_out(FILE *f, const char *what, const char *why)
{
    fprintf(f, "<p class=\"note left-out\">");
    an_html_esc(f, what);
    fprintf(f, ": no chart, ");
    an_html_esc(f, why);
    fprintf(f, ".</p>\n");
}

/* Any finite value other than zero in the series' y arrays. */
static int has_data(const struct an_series *s, int ns)
{
    for (int k = 0; k < ns; k++)
        for (size_t i = 0; i < json_array_size(s[k].y); i++) {
            json_t *v = json_array_get(s[k].y, i);
            if (json_is_number(v) && isfinite(json_number_value(v)) && json_number_value(v) != 0) return 1;
        }
    return 0;
}

static void td_num(FILE *f, double v)
{
    char b[64];
    fprintf(f, "<td class=\"n\">%s</td>", an_fmt_num(b, sizeof b, v));
}

static void td_str(FILE *f, const char *s)
{
    fprintf(f, "<td>");
    an_html_esc(f, s);
    fprintf(f, "</td>");
}

static const char *pool_label(const json_t *file, const json_t *p, int nfiles, char *buf, size_t n)
{
    const char *fn = an_str(file, "file"), *slash = fn ? strrchr(fn, '/') : NULL;
    const char *r = an_pool_fn(p);
    if (nfiles > 1) snprintf(buf, n, "%s: %s", slash ? slash + 1 : fn ? fn : "-", r ? r : "?");
    else snprintf(buf, n, "%s", r ? r : "?");
    return buf;
}

/* Pool table, then the three time charts and the wait-by-cause bars, over all files' pools. */
static void pools_section(FILE *f, const json_t *files)
{
    size_t i, j, nf = json_array_size(files);
    json_t *a, *p;
    char lb[256];
    fprintf(f, "<h2>Pools</h2>\n<table><tr><th>pool</th><th>threads</th><th>cpu s</th><th>io+sleep s</th>"
               "<th>lock+cond s</th><th>W/C</th><th>tasks</th><th>tasks/s</th><th>class</th><th>recommended</th>"
               "<th>goetz</th><th>bottleneck</th><th style=\"min-width:160px\">reason</th></tr>\n");
    int np = 0;
    json_array_foreach(files, i, a) json_array_foreach(an_arr(a, "pools"), j, p) {
        const json_t *w = an_obj(p, "wait_by_cause"), *r = an_obj(p, "recommendation");
        np++;
        fprintf(f, "<tr>");
        td_str(f, pool_label(a, p, (int)nf, lb, sizeof lb));
        td_num(f, an_num(p, "threads"));
        td_num(f, an_num(p, "cpu_s"));
        td_num(f, an_num(w, "io") + an_num(w, "sleep"));
        td_num(f, an_num(w, "lock") + an_num(w, "cond"));
        td_num(f, an_num(p, "w_c"));
        td_num(f, an_num(p, "tasks"));
        td_num(f, an_num(p, "tasks_per_s"));
        td_str(f, an_str(p, "classification"));
        char rb[96], nb[32], nb2[32];
        snprintf(rb, sizeof rb, "%s threads%s%s%s", an_fmt_num(nb, sizeof nb, an_num(r, "threads")),
                 an_num(r, "processes") > 0 ? ", " : "",
                 an_num(r, "processes") > 0 ? an_fmt_num(nb2, sizeof nb2, an_num(r, "processes")) : "",
                 an_num(r, "processes") > 0 ? " processes" : "");
        td_str(f, rb);
        td_num(f, an_num(r, "goetz_threads"));
        td_num(f, an_num(r, "bottleneck_threads"));
        td_str(f, an_str(r, "reason"));
        fprintf(f, "</tr>\n");
    }
    fprintf(f, "</table>\n");
    if (!np) {
        fprintf(f, "<p class=\"note\">No pools found.</p>\n");
        return;
    }
    struct an_series *s = calloc((size_t)np * 3 + 1, sizeof *s);
    char (*names)[128] = calloc((size_t)np * 2 + 1, sizeof *names);
    if (!s || !names) { free(s); free(names); return; }
    static const struct { const char *title, *ylabel, *key; } charts[] = {
        { "Pool size: threads (solid), busy (dashed)", "threads", NULL },
        { "Throughput", "tasks/s", "tasks_per_s" },
        { "W/C over time ((io + sleep) / cpu per interval, threads that took no task left out)", "W/C", "w_c" },
    };
    fprintf(f, "<h2>Over time</h2>\n<div class=\"row\">\n");
    for (int c = 0; c < 3; c++) {
        int k = 0, q = 0, any_limit = 0;
        json_array_foreach(files, i, a) json_array_foreach(an_arr(a, "pools"), j, p) {
            json_t *se = an_obj(p, "series");
            pool_label(a, p, (int)nf, names[2 * q], 128);
            if (c == 0) {
                snprintf(names[2 * q + 1], 128, "%.100s busy", names[2 * q]);
                s[k++] = (struct an_series){ names[2 * q], an_arr(se, "t_s"), an_arr(se, "threads"), 0 };
                s[k++] = (struct an_series){ names[2 * q + 1], an_arr(se, "t_s"), an_arr(se, "busy"), 1 };
                size_t m;
                json_t *v;
                json_array_foreach(an_arr(se, "limit"), m, v) if (json_number_value(v) > 0) any_limit = 1;
            } else {
                s[k++] = (struct an_series){ names[2 * q], an_arr(se, "t_s"), an_arr(se, charts[c].key), 0 };
            }
            q++;
        }
        if (c == 0 && any_limit)   /* the controller's limit, where it set one */
            json_array_foreach(files, i, a) json_array_foreach(an_arr(a, "pools"), j, p) {
                json_t *se = an_obj(p, "series");
                if (k < np * 3) s[k++] = (struct an_series){ "limit", an_arr(se, "t_s"), an_arr(se, "limit"), 1 };
            }
        static const char *const why[] = { "the history holds no thread counts",
            "no task boundary was seen in the history (the pool's wait for work is not known)",
            "no interval had both CPU and I/O or sleep time" };
        if (has_data(s, k)) an_svg_lines(f, charts[c].title, charts[c].ylabel, s, k);
        else left_out(f, charts[c].title, why[c]);
    }
    fprintf(f, "</div>\n");
    free(s);

    const char *cats[7] = { "cpu" };
    for (int c = 0; c < 6; c++)
        cats[1 + c] = an_causes[c];
    double *v = calloc((size_t)np * 7, sizeof *v);
    const char **labels = calloc((size_t)np, sizeof *labels);
    if (v && labels) {
        int b = 0;
        json_array_foreach(files, i, a) json_array_foreach(an_arr(a, "pools"), j, p) {
            const json_t *w = an_obj(p, "wait_by_cause");
            labels[b] = pool_label(a, p, (int)nf, names[b * 2], 128);
            v[b * 7] = an_num(p, "cpu_s");
            for (int c = 0; c < 6; c++) v[b * 7 + 1 + c] = an_num(w, an_causes[c]);
            b++;
        }
        fprintf(f, "<h2>Where the threads' time went</h2>\n");
        int any = 0;
        for (int k = 0; k < np * 7; k++) any |= v[k] > 0;
        if (any) an_svg_stacked(f, "CPU and wait by cause, summed over each pool's threads", "s", labels, np, cats, 7, v);
        else left_out(f, "CPU and wait by cause", "no pool's threads have measured time yet");
    }
    free(v);
    free(labels);
    free(names);
}

/* A table with one row per object of rows, one column per key. */
struct col { const char *head, *key; int num; };

static void json_table(FILE *f, const json_t *rows, const struct col *cols, int ncols)
{
    size_t i;
    json_t *r;
    fprintf(f, "<table><tr>");
    for (int c = 0; c < ncols; c++) fprintf(f, "<th>%s</th>", cols[c].head);
    fprintf(f, "</tr>\n");
    json_array_foreach(rows, i, r) {
        fprintf(f, "<tr>");
        for (int c = 0; c < ncols; c++) {
            if (cols[c].num) td_num(f, an_num(r, cols[c].key));
            else td_str(f, an_str(r, cols[c].key));
        }
        fprintf(f, "</tr>\n");
    }
    fprintf(f, "</table>\n");
}

/* Sites as lines: "site (count, wait s)". */
static void td_sites(FILE *f, const json_t *sites, const char *fallback)
{
    size_t i;
    json_t *s;
    char nb[32], wb[32];
    fprintf(f, "<td>");
    json_array_foreach(sites, i, s) {
        an_html_esc(f, an_str(s, "site"));
        fprintf(f, " <span class=\"note\">(%s&times;, %s s)</span><br>", an_fmt_num(nb, sizeof nb, an_num(s, "count")),
                an_fmt_num(wb, sizeof wb, an_num(s, "wait_s")));
    }
    if (!json_array_size(sites)) an_html_esc(f, fallback);
    fprintf(f, "</td>");
}

static const char *lock_label(const json_t *l)
{
    return an_str(l, "name") ? an_str(l, "name") : an_str(l, "addr");
}

/* Every contended lock: its name, waits, hold time, where it was waited for
 * and every site its holders held it at while others waited. */
static void locks_table(FILE *f, const json_t *locks)
{
    size_t i;
    json_t *l;
    if (!json_array_size(locks)) {
        fprintf(f, "<p class=\"note\">No contended locks.</p>\n");
        return;
    }
    fprintf(f, "<table class=\"locks\"><tr><th>lock</th><th>kind</th><th>wait s</th><th>contended</th><th>max wait ms</th>"
               "<th>hold s</th><th>acquisitions</th><th>waiters at</th><th>held at (every owner site)</th></tr>\n");
    json_array_foreach(locks, i, l) {
        fprintf(f, "<tr>");
        td_str(f, lock_label(l));
        td_str(f, an_str(l, "kind"));
        td_num(f, an_num(l, "wait_s"));
        td_num(f, an_num(l, "contended"));
        td_num(f, an_num(l, "max_wait_ms"));
        td_num(f, an_num(l, "hold_s"));
        td_num(f, an_num(l, "acquisitions"));
        td_sites(f, an_arr(l, "sites"), an_str(l, "site"));
        td_sites(f, an_arr(l, "owner_sites"), an_str(l, "owner_site"));
        fprintf(f, "</tr>\n");
    }
    fprintf(f, "</table>\n");
}

/* An object's scalars as a table of key and value (nested values left out). */
static void kv_table(FILE *f, const json_t *o)
{
    const char *k;
    json_t *v;
    char nb[64];
    fprintf(f, "<table>");
    json_object_foreach((json_t *)o, k, v) {
        if (json_is_object(v) || json_is_array(v)) continue;
        fprintf(f, "<tr><th>");
        an_html_esc(f, k);
        fprintf(f, "</th>");
        if (json_is_number(v)) td_num(f, json_number_value(v));
        else if (json_is_string(v)) td_str(f, json_string_value(v));
        else td_str(f, json_is_true(v) ? "yes" : json_is_false(v) ? "no" : "-");
        fprintf(f, "</tr>");
    }
    fprintf(f, "</table>\n");
    (void)nb;
}

/* Rows of objects as a table, one column per scalar key of the first row. */
static void rows_table(FILE *f, const json_t *rows)
{
    const json_t *first = json_array_get(rows, 0);
    const char *k;
    json_t *v, *r;
    size_t i;
    fprintf(f, "<table><tr>");
    json_object_foreach((json_t *)first, k, v) {
        if (json_is_object(v) || json_is_array(v)) continue;
        fprintf(f, "<th>");
        an_html_esc(f, k);
        fprintf(f, "</th>");
    }
    fprintf(f, "</tr>\n");
    json_array_foreach(rows, i, r) {
        fprintf(f, "<tr>");
        json_object_foreach((json_t *)first, k, v) {
            if (json_is_object(v) || json_is_array(v)) continue;
            json_t *x = json_object_get(r, k);
            if (json_is_number(x)) td_num(f, json_number_value(x));
            else if (json_is_string(x)) td_str(f, json_string_value(x));
            else td_str(f, json_is_true(x) ? "yes" : json_is_false(x) ? "no" : "-");
        }
        fprintf(f, "</tr>\n");
    }
    fprintf(f, "</table>\n");
}

/* The controller: its settings, its view of each pool, and every decision
 * with the inputs it was taken on, all as tables. */
static void controller_section(FILE *f, const json_t *c, const json_t *answer)
{
    size_t i;
    json_t *d;
    char lb[256];
    fprintf(f, "<h2>Controller</h2>\n");
    kv_table(f, c);
    if (json_array_size(an_arr(c, "pools"))) rows_table(f, an_arr(c, "pools"));
    json_t *ds = an_arr(c, "decisions");
    if (!json_array_size(ds)) {
        fprintf(f, "<p class=\"note\">No decisions.</p>\n");
        return;
    }
    fprintf(f, "<table class=\"decisions\"><tr><th>t s</th><th>pool</th><th>from</th><th>to</th><th>action</th>"
               "<th>reason</th><th>tasks/s</th><th>good tasks/s</th><th>W/C</th><th>threads (parked)</th>"
               "<th>queue</th><th>cpu cores</th><th>class</th></tr>\n");
    json_array_foreach(ds, i, d) {
        const json_t *in = an_obj(d, "inputs");
        fprintf(f, "<tr>");
        td_num(f, an_num(d, "t_s"));
        td_str(f, an_pool_label(answer, an_int(d, "pool", -1), lb, sizeof lb));
        td_num(f, an_num(d, "from"));
        td_num(f, an_num(d, "to"));
        td_str(f, an_str(d, "action"));
        td_str(f, an_str(d, "reason"));
        td_num(f, an_num(in, "tasks_per_s"));
        td_num(f, an_num(in, "good_tasks_per_s"));
        td_num(f, an_num(in, "w_c"));
        char tb[64], n1[32], n2[32];
        snprintf(tb, sizeof tb, "%s (%s)", an_fmt_num(n1, sizeof n1, an_num(in, "threads")),
                 an_fmt_num(n2, sizeof n2, an_num(in, "parked")));
        td_str(f, tb);
        td_num(f, an_num(in, "queue"));
        td_num(f, an_num(in, "cpu_cores"));
        td_str(f, an_str(in, "classification"));
        fprintf(f, "</tr>\n");
    }
    fprintf(f, "</table>\n");
}

/* Wait time by cause: cause, then pool, then thread. */
static void flame_waits(FILE *f, const json_t *a, int n)
{
    json_t *root = an_flame_new("all waits");
    size_t i;
    json_t *t;
    char pb[256], tb[96], id[32];
    json_array_foreach(an_arr(a, "threads"), i, t) {
        snprintf(tb, sizeof tb, "%lld %s", an_int(t, "tid", 0), an_str(t, "name") ? an_str(t, "name") : "");
        const char *path[3] = { NULL, an_pool_label(a, an_int(t, "pool", -1), pb, sizeof pb), tb };
        for (int c = 0; c < 6; c++) {
            path[0] = an_causes[c];
            an_flame_add(root, path, 3, an_num(an_obj(t, "wait_by_cause"), an_causes[c]));
        }
    }
    fprintf(f, "<h2>Wait time by cause</h2>\n<p class=\"note\">Each thread's waits: cause, then pool, then "
               "thread; width is seconds.</p>\n");
    snprintf(id, sizeof id, "fg-waits-%d", n);
    if (an_flame_total(root) > 0) an_flame_write(f, id, "s", root);
    else left_out(f, "Wait time by cause", "no thread of this file waited");
    json_decref(root);
}

/* Contention: lock, then where its waiters waited. */
static void flame_contention(FILE *f, const json_t *a, int n)
{
    json_t *root = an_flame_new("lock waits");
    size_t i, j;
    json_t *l, *s;
    char lb[256], sb[300], id[32];
    json_array_foreach(an_arr(a, "locks"), i, l) {
        snprintf(lb, sizeof lb, "%s %s", an_str(l, "kind") ? an_str(l, "kind") : "lock", lock_label(l) ? lock_label(l) : "?");
        double listed = 0;
        json_array_foreach(an_arr(l, "sites"), j, s) {
            snprintf(sb, sizeof sb, "waited at %s", an_str(s, "site") ? an_str(s, "site") : "?");
            const char *path[2] = { lb, sb };
            double w = an_num(s, "wait_s");
            if (w > 0) listed += w;
            an_flame_add(root, path, 2, w);
        }
        const char *other[2] = { lb, "(other call sites)" };
        an_flame_add(root, other, 2, an_num(l, "wait_s") - listed);
    }
    fprintf(f, "<h2>Contention</h2>\n<p class=\"note\">Time threads waited for each contended lock, by the "
               "waiters' call site.</p>\n");
    snprintf(id, sizeof id, "fg-locks-%d", n);
    if (an_flame_total(root) > 0) an_flame_write(f, id, "s", root);
    else left_out(f, "Contention", "no lock was waited for");
    json_decref(root);
}

/* The threads' state timeline of a traced run. */
static void timeline_section(FILE *f, const json_t *a)
{
    const char *tf = an_str(a, "trace_file");
    fprintf(f, "<h2>Thread states over time</h2>\n");
    if (!tf) {
        left_out(f, "Timeline", "the run was not recorded with POOLSHIM_TRACE=on");
        return;
    }
    char msg[300];
    json_t *tr = an_trace_file_load(tf, msg, sizeof msg);
    struct an_timeline tl;
    if (!tr || an_timeline_build(tr, &tl, msg, sizeof msg)) {
        char why[400];
        snprintf(why, sizeof why, "its trace %s cannot be read (%s)", tf, msg);
        left_out(f, "Timeline", why);
        json_decref(tr);
        return;
    }
    const int max_rows = 64;
    fprintf(f, "<p class=\"note\">From %s: waits as the shim timed them; running and run queue placed "
               "within each %d ms sampling interval (docs/format.md).", tf, tl.interval_ms);
    if ((int)tl.nth > max_rows)
        fprintf(f, " The first %d of %zu threads.", max_rows, tl.nth);
    fprintf(f, " <code>poolshim export trace</code> gives every slice, for Perfetto.");
    if (isfinite(an_num(a, "time_s")))
        fprintf(f, " The file is written again at each later dump and at exit, so it may reach past this "
                   "dump's %.3f s.", an_num(a, "time_s"));
    fprintf(f, "</p>\n");
    if (!an_svg_timeline(f, &tl, max_rows)) left_out(f, "Timeline", "no thread has a measured life in the trace");
    an_timeline_free(&tl);
    json_decref(tr);
}

static void dumps_table(FILE *f, const json_t *dumps)
{
    static const struct col cols[] = { { "t s", "t_s", 1 }, { "file", "file", 0 }, { "trigger", "trigger", 0 },
                                       { "detail", "detail", 0 } };
    if (!json_array_size(dumps)) return;
    fprintf(f, "<h2>Dumps</h2>\n");
    json_table(f, dumps, cols, (int)(sizeof cols / sizeof *cols));
}

void an_html_report(FILE *f, const json_t *answers)
{
    size_t i;
    json_t *a;
    head(f, "poolshim report");
    fprintf(f, "<h1>poolshim report</h1>\n<table><tr><th>file</th><th>program</th><th>pid</th><th>cores</th>"
               "<th>duration s</th><th>control</th></tr>\n");
    json_array_foreach(answers, i, a) {
        fprintf(f, "<tr>");
        td_str(f, an_str(a, "file"));
        td_str(f, an_str(a, "exe"));
        td_num(f, an_num(a, "pid"));
        td_num(f, an_num(a, "cores"));
        td_num(f, an_num(a, "duration_s"));
        td_str(f, an_str(a, "control"));
        fprintf(f, "</tr>\n");
    }
    fprintf(f, "</table>\n");
    pools_section(f, answers);
    json_array_foreach(answers, i, a) {
        if (json_array_size(answers) > 1) {
            fprintf(f, "<h2>");
            an_html_esc(f, an_str(a, "file"));
            fprintf(f, "</h2>\n");
        }
        flame_waits(f, a, (int)i);
        flame_contention(f, a, (int)i);
        timeline_section(f, a);
        fprintf(f, "<h2>Contended locks</h2>\n");
        locks_table(f, an_arr(a, "locks"));
        json_t *c = json_object_get(a, "controller");
        if (c) controller_section(f, c, a);
        dumps_table(f, an_arr(a, "dumps"));
    }
    an_flame_script(f);
    fprintf(f, "</body></html>\n");
}

static void stack_pre(FILE *f, const json_t *frames, size_t max)
{
    size_t i;
    json_t *fr;
    fprintf(f, "<pre>");
    json_array_foreach(frames, i, fr) {
        if (i == max) { fprintf(f, "... %zu more\n", json_array_size(frames) - max); break; }
        fprintf(f, "#%-2zu ", i);
        an_html_esc(f, json_string_value(fr));
        fputc('\n', f);
    }
    if (!json_array_size(frames)) fprintf(f, "(no stack captured)");
    fprintf(f, "</pre>\n");
}

/* A dump's threads by stack: pool, state, then frames outermost first;
 * width is the number of threads. */
static void flame_stacks(FILE *f, const json_t *a)
{
    json_t *root = an_flame_new("all threads");
    size_t i, j;
    json_t *g;
    json_array_foreach(an_arr(a, "groups"), i, g) {
        const json_t *st = an_arr(g, "stack");
        size_t n = json_array_size(st);
        const char **path = calloc(n + 2, sizeof *path);
        if (!path) break;
        path[0] = an_str(g, "pool_routine") ? an_str(g, "pool_routine") : "not in a pool";
        path[1] = an_str(g, "state") ? an_str(g, "state") : "?";
        for (j = 0; j < n; j++) path[2 + j] = json_string_value(json_array_get(st, n - 1 - j));
        an_flame_add(root, path, (int)n + 2, an_num(g, "count"));
        free(path);
    }
    fprintf(f, "<h2>Threads by stack</h2>\n<p class=\"note\">Pool, state, then the stack from its outermost "
               "frame; width is threads.</p>\n");
    if (an_flame_total(root) > 0) an_flame_write(f, "fg-stacks", "threads", root);
    else left_out(f, "Threads by stack", "the dump holds no thread");
    json_decref(root);
}

void an_html_show(FILE *f, const json_t *a)
{
    size_t i, j;
    json_t *e, *x;
    char nb[64];
    const json_t *tr = an_obj(a, "trigger");
    head(f, "poolshim dump");
    fprintf(f, "<h1>poolshim dump ");
    an_html_esc(f, an_str(a, "file"));
    fprintf(f, "</h1>\n<p>pid %s, %lld threads, at %s s. Trigger: <b>", an_fmt_num(nb, sizeof nb, an_num(a, "pid")),
            an_int(a, "threads", 0), an_fmt_num(nb + 32, 32, an_num(a, "time_s")));
    an_html_esc(f, an_str(tr, "reason"));
    fprintf(f, "</b> ");
    an_html_esc(f, an_str(tr, "detail") ? an_str(tr, "detail") : "");
    fprintf(f, "</p>\n");
    json_array_foreach(an_arr(a, "cycles"), i, e) {
        fprintf(f, "<p class=\"bad\">Deadlock: cycle");
        json_array_foreach(e, j, x) fprintf(f, "%s%lld", j ? " &rarr; " : " ", (long long)json_integer_value(x));
        if (json_array_size(e)) fprintf(f, " &rarr; %lld", (long long)json_integer_value(json_array_get(e, 0)));
        fprintf(f, "</p>\n");
    }
    fprintf(f, "<h2>Wait-for graph</h2>\n");
    if (json_array_size(an_arr(an_obj(a, "graph"), "edges"))) {
        fprintf(f, "<p class=\"note\">An arrow goes from a waiting thread to the thread it waits for, labelled "
                   "with what it waits on; (n): threads it holds up; red: a cycle.</p>\n");
        an_svg_waitfor(f, an_obj(a, "graph"));
    } else {
        left_out(f, "Wait-for graph", "no thread waits for another thread's lock or exit in this dump");
    }
    flame_stacks(f, a);
    fprintf(f, "<h2>Waited for (locks, joins): what the holder is doing</h2>\n");
    if (!json_array_size(an_arr(a, "locks"))) fprintf(f, "<p class=\"note\">none</p>\n");
    json_array_foreach(an_arr(a, "locks"), i, e) {
        const json_t *h = an_obj(e, "holder");
        fprintf(f, "<p>");
        an_html_esc(f, an_str(e, "kind"));
        fprintf(f, " ");
        an_html_esc(f, an_str(e, "object"));
        fprintf(f, ": %lld waiter%s; held by %lld ", an_int(e, "waiters", 0), an_int(e, "waiters", 0) == 1 ? "" : "s",
                an_int(h, "tid", -1));
        an_html_esc(f, an_str(h, "name"));
        fprintf(f, "</p>\n");
        stack_pre(f, an_arr(e, "holder_stack"), 16);
    }
    fprintf(f, "<h2>Threads by stack and state</h2>\n<table><tr><th>threads</th><th>state</th><th>pool</th>"
               "<th>blocked on</th><th>stack</th></tr>\n");
    json_array_foreach(an_arr(a, "groups"), i, e) {
        fprintf(f, "<tr>");
        td_num(f, an_num(e, "count"));
        td_str(f, an_str(e, "state"));
        td_str(f, an_str(e, "pool_routine"));
        fprintf(f, "<td>");
        json_array_foreach(an_arr(e, "blocked_on"), j, x) {
            an_html_esc(f, an_str(x, "kind"));
            fprintf(f, " ");
            an_html_esc(f, an_str(x, "object"));
            fprintf(f, "<br>");
        }
        fprintf(f, "</td><td>");
        stack_pre(f, an_arr(e, "stack"), 12);
        fprintf(f, "</td></tr>\n");
    }
    fprintf(f, "</table>\n");
    json_t *one = json_array();
    json_array_append(one, (json_t *)a);
    pools_section(f, one);
    json_decref(one);
    if (an_str(a, "trace_file")) timeline_section(f, a);
    const json_t *al = an_obj(a, "allocations");
    fprintf(f, "<h2>Allocations</h2>\n");
    if (an_str(al, "error")) {
        fprintf(f, "<p class=\"note\">");
        an_html_esc(f, an_str(al, "error"));
        fprintf(f, "</p>\n");
    } else {
        const char *k;
        json_t *v;
        fprintf(f, "<table><tr>");
        json_object_foreach(an_obj(al, "stats"), k, v) {
            fprintf(f, "<th>");
            an_html_esc(f, k);
            fprintf(f, "</th>");
        }
        fprintf(f, "</tr><tr>");
        json_object_foreach(an_obj(al, "stats"), k, v) td_str(f, an_fmt_bytes(nb, sizeof nb, json_number_value(v)));
        fprintf(f, "</tr></table>\n<table><tr><th>bytes</th><th>objects</th><th>stack</th></tr>\n");
        json_array_foreach(an_arr(al, "top_sites"), i, e) {
            fprintf(f, "<tr>");
            td_str(f, an_fmt_bytes(nb, sizeof nb, an_num(e, "bytes")));
            td_num(f, an_num(e, "objects"));
            fprintf(f, "<td>");
            stack_pre(f, an_arr(e, "stack"), 8);
            fprintf(f, "</td></tr>\n");
        }
        fprintf(f, "</table>\n");
    }
    an_flame_script(f);
    fprintf(f, "</body></html>\n");
}
