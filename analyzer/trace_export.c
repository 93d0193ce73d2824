/* trace_export.c: `poolshim export trace FILE [-o OUT.json]`: the Chrome
 * trace-event JSON (the "JSON Object Format" that Perfetto's UI and
 * chrome://tracing open) of a run recorded with POOLSHIM_TRACE=on.
 * FILE is the report (its "trace" key names the trace file beside it) or the
 * trace file itself (then the report poolshim.<pid>.json beside it is read
 * for names, decisions and dumps when it is there).
 * Out: one process; per thread a track of complete ("X") slices from
 * timeline.c; per pool counters ("C": threads, busy, parked, limit, queue,
 * tasks/s) from the history the trace file keeps (the report's own history
 * holds only its last samples); controller decisions and dumps as instant
 * ("i") events. Times are microseconds since the shim started, with three
 * decimals (the nanosecond the shim read). Written with stdio as it is built:
 * a long trace never exists twice in memory. */
#include "cmd.h"
#include "jget.h"
#include "load.h"
#include "text.h"
#include "timeline.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void jstr(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
        else if (*p < 0x20) fprintf(f, "\\u%04x", *p);
        else fputc(*p, f);
    }
    fputc('"', f);
}

static void us(FILE *f, const char *key, int64_t ns)
{
    fprintf(f, ",\"%s\":%lld.%03lld", key, (long long)(ns / 1000), (long long)llabs(ns % 1000));
}

struct out { FILE *f; int first; };

static void ev_begin(struct out *o)
{
    fputs(o->first ? "\n" : ",\n", o->f);
    o->first = 0;
}

static void slices(struct out *o, const struct an_timeline *tl, const struct an_tthread *t, const json_t *report)
{
    for (size_t i = 0; i < t->n; i++) {
        const struct an_slice *s = &t->s[i];
        const char *state = an_slice_state(tl, s), *kind = an_slice_kind(tl, s);
        const char *obj = s->obj && report ? an_obj_name(report, s->obj) : NULL;
        char name[256];
        if (s->depth) snprintf(name, sizeof name, "runqueue (wake-up)");
        else if (obj && s->st == AN_ST_WAIT) snprintf(name, sizeof name, "%s %s", state, obj);
        else snprintf(name, sizeof name, "%s", state);
        ev_begin(o);
        fprintf(o->f, "{\"ph\":\"X\",\"pid\":%d,\"tid\":%d", tl->pid, t->tid);
        us(o->f, "ts", s->t0);
        us(o->f, "dur", s->t1 - s->t0);
        fputs(",\"name\":", o->f);
        jstr(o->f, name);
        fprintf(o->f, ",\"cat\":\"%s\"", s->st == AN_ST_RUN ? "cpu" : s->st == AN_ST_RUNQ ? "runqueue"
                                          : s->st == AN_ST_UNWRAPPED ? "unknown" : "wait");
        if (kind || s->obj) {
            fputs(",\"args\":{", o->f);
            if (kind) { fputs("\"kind\":", o->f); jstr(o->f, kind); }
            long fd = an_key_fd(s->obj);
            if (fd >= 0) {
                fprintf(o->f, "%s\"fd\":%ld", kind ? "," : "", fd);
            } else if (s->obj) {
                fprintf(o->f, "%s\"object\":\"0x%llx\"", kind ? "," : "", (unsigned long long)s->obj);
                if (obj) { fputs(",\"object_name\":", o->f); jstr(o->f, obj); }
            }
            fputc('}', o->f);
        }
        fputc('}', o->f);
    }
}

static void counter(struct out *o, int pid, const char *pool, const char *what, int64_t t, double v)
{
    char name[320];
    snprintf(name, sizeof name, "%s: %s", pool, what);
    ev_begin(o);
    fprintf(o->f, "{\"ph\":\"C\",\"pid\":%d,\"name\":", pid);
    jstr(o->f, name);
    us(o->f, "ts", t);
    fprintf(o->f, ",\"args\":{\"value\":%.6g}}", isfinite(v) ? v : 0);
}

/* [t_ns, threads, busy, idle, parked, limit, tasks, queue] per sample */
static void counters(struct out *o, int pid, const json_t *trace, const json_t *report)
{
    size_t i, k;
    json_t *p, *s;
    char lb[256];
    json_array_foreach(an_arr(trace, "pools"), i, p) {
        const char *label = an_pool_label(report, (int)an_int(p, "id", -1), lb, sizeof lb);
        int64_t pt = 0, ptasks = 0;
        json_array_foreach(an_arr(p, "history"), k, s) {
            if (json_array_size(s) < 8) continue;
            int64_t t = (int64_t)json_integer_value(json_array_get(s, 0));
            int64_t tasks = (int64_t)json_integer_value(json_array_get(s, 6));
            counter(o, pid, label, "threads", t, (double)json_integer_value(json_array_get(s, 1)));
            counter(o, pid, label, "busy", t, (double)json_integer_value(json_array_get(s, 2)));
            counter(o, pid, label, "parked", t, (double)json_integer_value(json_array_get(s, 4)));
            counter(o, pid, label, "limit", t, (double)json_integer_value(json_array_get(s, 5)));
            counter(o, pid, label, "queue", t, (double)json_integer_value(json_array_get(s, 7)));
            if (k && t > pt)
                counter(o, pid, label, "tasks/s", t, (double)(tasks - ptasks) * 1e9 / (double)(t - pt));
            pt = t;
            ptasks = tasks;
        }
    }
}

/* A process-wide instant at t_s seconds, with one or two string args. */
static void instant(struct out *o, int pid, const char *cat, const char *name, double t_s, const char *k1,
                    const char *v1, const char *k2, const char *v2)
{
    ev_begin(o);
    fprintf(o->f, "{\"ph\":\"i\",\"s\":\"p\",\"pid\":%d,\"tid\":0,\"cat\":\"%s\",\"name\":", pid, cat);
    jstr(o->f, name);
    us(o->f, "ts", (int64_t)llround(t_s * 1e9));
    fprintf(o->f, ",\"args\":{\"%s\":", k1);
    jstr(o->f, v1);
    if (k2) {
        fprintf(o->f, ",\"%s\":", k2);
        jstr(o->f, v2);
    }
    fputs("}}", o->f);
}

static void instants(struct out *o, int pid, const json_t *report)
{
    size_t i;
    json_t *d;
    char lb[256], name[400];
    json_array_foreach(an_arr(an_obj(report, "controller"), "decisions"), i, d) {
        double t = an_num(d, "t_s");
        if (!isfinite(t)) continue;
        snprintf(name, sizeof name, "controller: %s %s %lld -> %lld", an_str(d, "action") ? an_str(d, "action") : "?",
                 an_pool_label(report, (int)an_int(d, "pool", -1), lb, sizeof lb), an_int(d, "from", 0), an_int(d, "to", 0));
        instant(o, pid, "controller", name, t, "reason", an_str(d, "reason"), NULL, NULL);
    }
    json_array_foreach(an_arr(report, "dumps"), i, d) {
        double t = an_num(d, "t_s");
        if (!isfinite(t)) continue;
        snprintf(name, sizeof name, "dump: %s", an_str(d, "trigger") ? an_str(d, "trigger") : "?");
        instant(o, pid, "dump", name, t, "file", an_str(d, "file"), "detail", an_str(d, "detail"));
    }
}

static int write_trace(FILE *f, const struct an_timeline *tl, const json_t *trace, const json_t *report)
{
    struct out o = { f, 1 };
    char lb[256], name[400];
    fputs("{\"displayTimeUnit\":\"ms\",\"otherData\":{\"source\":\"poolshim export trace\",\"clock\":"
          "\"microseconds since the shim started\"},\"traceEvents\":[", f);
    const char *exe = report ? an_str(report, "exe") : NULL, *slash = exe ? strrchr(exe, '/') : NULL;
    snprintf(name, sizeof name, "%s (pid %d)", slash ? slash + 1 : exe ? exe : "process", tl->pid);
    ev_begin(&o);
    fprintf(f, "{\"ph\":\"M\",\"pid\":%d,\"name\":\"process_name\",\"args\":{\"name\":", tl->pid);
    jstr(f, name);
    fputs("}}", f);
    for (size_t i = 0; i < tl->nth; i++) {
        const struct an_tthread *t = &tl->th[i];
        if (t->pool >= 0) snprintf(name, sizeof name, "%s %d [%s]", t->name, t->tid, an_pool_label(report, t->pool, lb, sizeof lb));
        else snprintf(name, sizeof name, "%s %d", t->name, t->tid);
        ev_begin(&o);
        fprintf(f, "{\"ph\":\"M\",\"pid\":%d,\"tid\":%d,\"name\":\"thread_name\",\"args\":{\"name\":", tl->pid, t->tid);
        jstr(f, name);
        fputs("}}", f);
        ev_begin(&o);
        fprintf(f, "{\"ph\":\"M\",\"pid\":%d,\"tid\":%d,\"name\":\"thread_sort_index\",\"args\":{\"sort_index\":%d}}",
                tl->pid, t->tid, t->pool >= 0 ? t->pool * 100000 + (int)i : -1);
        slices(&o, tl, t, report);
    }
    counters(&o, tl->pid, trace, report);
    if (report) instants(&o, tl->pid, report);
    fputs("\n]}\n", f);
    return ferror(f) ? -1 : 0;
}

/* The report beside a trace file: poolshim.<pid>.json in its directory. */
static json_t *report_beside(const char *trace_path, int pid)
{
    const char *slash = strrchr(trace_path, '/');
    size_t dl = slash ? (size_t)(slash - trace_path + 1) : 0;
    char *p = malloc(dl + 64);
    if (!p) return NULL;
    memcpy(p, trace_path, dl);
    snprintf(p + dl, 64, "poolshim.%d.json", pid);
    struct an_doc d;
    char msg[200];
    json_t *r = NULL;
    if (!an_load(p, AN_REPORT, &d, msg, sizeof msg)) {
        r = json_incref(d.root);
        an_doc_free(&d);
    }
    free(p);
    return r;
}

int cmd_export_trace(int argc, char **argv)
{
    const char *in = NULL, *out = NULL;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if ((!strcmp(a, "-o") || !strcmp(a, "--output")) && i + 1 < argc) out = argv[++i];
        else if (!strncmp(a, "--output=", 9)) out = a + 9;
        else if (a[0] == '-' && strcmp(a, "-")) {
            fprintf(stderr, "poolshim: export: %s: unknown option (or missing value); see poolshim export --help\n", a);
            return 2;
        } else if (in) {
            fprintf(stderr, "poolshim: export: one file at a time (%s and %s)\n", in, a);
            return 2;
        } else in = a;
    }
    if (!in) {
        fprintf(stderr, "poolshim: export: give a report (recorded with POOLSHIM_TRACE=on) or its trace file\n");
        return 2;
    }
    char msg[400];
    json_t *report = NULL, *trace = NULL;
    struct an_doc d;
    if (!an_load(in, AN_REPORT, &d, msg, sizeof msg)) {
        report = json_incref(d.root);
        an_doc_free(&d);
        trace = an_trace_of_report(in, report, msg, sizeof msg);
        if (!trace) {
            json_decref(report);
            return an_fail_file(in, msg);
        }
    } else {
        char m2[200];
        trace = an_trace_file_load(in, m2, sizeof m2);
        if (!trace) return an_fail_file(in, msg);   /* the report's reason: the usual input */
        report = report_beside(in, (int)an_int(trace, "pid", 0));
    }
    struct an_timeline tl;
    if (an_timeline_build(trace, &tl, msg, sizeof msg)) {
        json_decref(trace);
        json_decref(report);
        return an_fail_file(in, msg);
    }
    char def[4096];
    if (!out) {
        size_t n = strlen(in);
        if (n > 11 && !strcmp(in + n - 11, ".trace.json")) n -= 11;
        else if (n > 5 && !strcmp(in + n - 5, ".json")) n -= 5;
        snprintf(def, sizeof def, "%.*s.perfetto.json", (int)(n < 4000 ? n : 4000), in);
        out = def;
    }
    FILE *f = !strcmp(out, "-") ? stdout : fopen(out, "w");
    int rc = f ? write_trace(f, &tl, trace, report) : -1;
    if (f && f != stdout && fclose(f)) rc = -1;
    if (f == stdout && fflush(stdout)) rc = -1;
    an_timeline_free(&tl);
    json_decref(trace);
    json_decref(report);
    if (rc) {
        fprintf(stderr, "poolshim: export: cannot write %s\n", out);
        return 1;
    }
    if (strcmp(out, "-")) fprintf(stderr, "poolshim: wrote %s\n", out);
    return 0;
}
