/* html.c: the --html page (see html.h): a header, summary tables, and the
 * charts: pool size and limit, throughput and W/C over time (from history),
 * wait by cause per pool, and for dumps the wait-for graph. Self-contained:
 * inline CSS and SVG only, so the file can be mailed or attached to a ticket. */
#include "html.h"
#include "jget.h"
#include "report.h"
#include "svg.h"
#include "text.h"
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
        ".row{display:flex;flex-wrap:wrap}\n"
        ".bad{color:#c00;font-weight:bold}pre{background:#f7f7f7;padding:6px;font-size:12px;overflow:auto}\n"
        "</style></head><body>\n");
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
        { "W/C over time ((io + sleep) / cpu per interval)", "W/C", "w_c" },
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
        an_svg_lines(f, charts[c].title, charts[c].ylabel, s, k);
    }
    fprintf(f, "</div>\n");
    free(s);

    const char *cats[7] = { "cpu", "io", "sleep", "lock", "cond", "idle", "runqueue" };
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
        an_svg_stacked(f, "CPU and wait by cause, summed over each pool's threads", "s", labels, np, cats, 7, v);
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

static void locks_table(FILE *f, const json_t *locks)
{
    static const struct col cols[] = { { "lock", "addr", 0 }, { "kind", "kind", 0 }, { "wait s", "wait_s", 1 },
        { "contended", "contended", 1 }, { "max ms", "max_wait_ms", 1 }, { "waiters at", "site", 0 },
        { "owner took it at", "owner_site", 0 } };
    if (!json_array_size(locks)) fprintf(f, "<p class=\"note\">No contended locks.</p>\n");
    else json_table(f, locks, cols, (int)(sizeof cols / sizeof *cols));
}

/* Decisions as a table, the rest of the controller's section as JSON text. */
static void controller_section(FILE *f, const json_t *c)
{
    static const struct col cols[] = { { "t s", "t_s", 1 }, { "pool", "pool", 1 }, { "from", "from", 1 },
        { "to", "to", 1 }, { "action", "action", 0 }, { "reason", "reason", 0 } };
    json_t *d = an_arr(c, "decisions");
    fprintf(f, "<h2>Controller</h2>\n");
    if (json_array_size(d)) json_table(f, d, cols, (int)(sizeof cols / sizeof *cols));
    json_t *rest = json_is_object(c) ? json_deep_copy(c) : json_incref((json_t *)c);
    if (json_is_object(rest)) json_object_del(rest, "decisions");
    char *s = json_dumps(rest, JSON_INDENT(1) | JSON_ENCODE_ANY);
    fprintf(f, "<pre>");
    an_html_esc(f, s);
    fprintf(f, "</pre>\n");
    free(s);
    json_decref(rest);
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
        fprintf(f, "<h2>Contended locks: ");
        an_html_esc(f, an_str(a, "file"));
        fprintf(f, "</h2>\n");
        locks_table(f, an_arr(a, "locks"));
        json_t *c = json_object_get(a, "controller");
        if (c) controller_section(f, c);
    }
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
    fprintf(f, "<h2>Wait-for graph</h2>\n<p class=\"note\">An arrow goes from a waiting thread to the thread it "
               "waits for; (n): threads it holds up; red: a cycle.</p>\n");
    an_svg_waitfor(f, an_obj(a, "graph"));
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
    fprintf(f, "</body></html>\n");
}
