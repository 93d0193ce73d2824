/* timeline.c: a trace file's threads as slices (timeline.h says what each
 * slice's time means). Input is untrusted: every number is read through a
 * typed getter, slices are clipped to the thread's life and to each other,
 * so a hand-edited or truncated file gives a smaller picture, never a wrong
 * nesting. */
#include "timeline.h"
#include "jget.h"
#include "text.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PARKED_BIT (1u << 16)          /* shim/record/trace.h: PS_TRACE_PARKED */

static int push(struct an_tthread *t, struct an_slice s)
{
    if (s.t1 <= s.t0) return 0;
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 256;
        struct an_slice *p = realloc(t->s, cap * sizeof *p);
        if (!p) return -1;
        t->s = p;
        t->cap = cap;
    }
    t->s[t->n++] = s;
    return 0;
}

/* An object key as the shim wrote it (int64: an fd's key has bit 63 set). */
static uint64_t uval(const json_t *a, size_t i)
{
    const json_t *v = json_array_get(a, i);
    return json_is_integer(v) ? (uint64_t)json_integer_value(v) : 0;
}

/* Times and amounts are kept within +-2^62 ns (146 years), so no difference
 * of two of them overflows, whatever the file says. */
#define LIM ((int64_t)1 << 62)

static int64_t clamp(long long v)
{
    return v > LIM ? LIM : v < -LIM ? -LIM : (int64_t)v;
}

static int64_t ival(const json_t *a, size_t i)
{
    const json_t *v = json_array_get(a, i);
    if (json_is_integer(v)) return clamp(json_integer_value(v));
    if (json_is_real(v) && isfinite(json_real_value(v)))
        return fabs(json_real_value(v)) < (double)LIM ? (int64_t)json_real_value(v) : json_real_value(v) > 0 ? LIM : -LIM;
    return 0;
}

struct pt { int64_t t, cpu, runq; };

static int by_t0(const void *a, const void *b)
{
    const struct an_slice *x = a, *y = b;
    if (x->t0 != y->t0) return x->t0 < y->t0 ? -1 : 1;
    return x->depth - y->depth;
}

/* The waits, clipped to [born, end], sorted, without overlaps. */
static int waits_of(const json_t *jt, struct an_tthread *t, struct an_tthread *w)
{
    size_t i;
    json_t *e;
    json_array_foreach(an_arr(jt, "ev"), i, e) {
        if (json_array_size(e) < 4) continue;
        uint32_t what = (uint32_t)ival(e, 2);
        struct an_slice s = { ival(e, 0), ival(e, 1), what & PARKED_BIT ? AN_ST_PARKED : AN_ST_WAIT,
                              (int)(what & 0xff), (int)((what >> 8) & 0xff), 0, uval(e, 3) };
        if (s.t0 < t->born) s.t0 = t->born;
        if (s.t1 > t->end) s.t1 = t->end;
        if (push(w, s)) return -1;
    }
    const json_t *o = an_arr(jt, "open");
    if (json_array_size(o) >= 3) {
        uint32_t what = (uint32_t)ival(o, 1);
        struct an_slice s = { ival(o, 0), t->end, what & PARKED_BIT ? AN_ST_PARKED : AN_ST_WAIT,
                              (int)(what & 0xff), (int)((what >> 8) & 0xff), 0, uval(o, 2) };
        if (s.t0 < t->born) s.t0 = t->born;
        if (push(w, s)) return -1;
    }
    if (w->n) qsort(w->s, w->n, sizeof *w->s, by_t0);
    size_t k = 0;
    for (size_t j = 0; j < w->n; j++) {
        struct an_slice s = w->s[j];
        if (k && s.t0 < w->s[k - 1].t1) s.t0 = w->s[k - 1].t1;
        if (s.t1 > s.t0) w->s[k++] = s;
    }
    w->n = k;
    return 0;
}

/* Cumulative CPU and run queue at the thread's birth, each sample and its end. */
static struct pt *points_of(const json_t *jt, const struct an_tthread *t, size_t *np)
{
    const json_t *smp = an_arr(jt, "smp");
    size_t n = json_array_size(smp), k = 0, i;
    struct pt *p = calloc(n + 2, sizeof *p);
    if (!p) return NULL;
    p[k++] = (struct pt){ t->born, 0, 0 };
    json_t *e;
    json_array_foreach(smp, i, e) {
        struct pt q = { ival(e, 0), ival(e, 1) < 0 ? 0 : ival(e, 1), ival(e, 2) < 0 ? 0 : ival(e, 2) };
        if (q.t <= p[k - 1].t || q.t >= t->end) continue;
        p[k++] = q;
    }
    p[k++] = (struct pt){ t->end, t->cpu_ns, t->runq_ns };
    for (size_t j = 1; j < k; j++) {      /* cumulative: never down */
        if (p[j].cpu < p[j - 1].cpu) p[j].cpu = p[j - 1].cpu;
        if (p[j].runq < p[j - 1].runq) p[j].runq = p[j - 1].runq;
    }
    *np = k;
    return p;
}

static int64_t part(int64_t len, int64_t num, int64_t den)
{
    return den > 0 ? (int64_t)((__int128)len * num / den) : 0;
}

/* A gap slice, merged with the previous one when it continues it. */
static int push_gap(struct an_tthread *t, int64_t t0, int64_t t1, int st, size_t *last)
{
    if (t1 <= t0) return 0;
    if (*last != (size_t)-1 && t->s[*last].st == st && t->s[*last].t1 == t0) {
        t->s[*last].t1 = t1;
        return 0;
    }
    if (push(t, (struct an_slice){ t0, t1, st, 0, 0, 0, 0 })) return -1;
    *last = t->n - 1;
    return 0;
}

static int thread_build(const json_t *jt, struct an_tthread *t)
{
    struct an_tthread w = { 0 };
    size_t np = 0;
    struct pt *p = NULL;
    int rc = -1;
    if (waits_of(jt, t, &w) || !(p = points_of(jt, t, &np))) goto out;
    /* Overwritten by a full ring: the start of the thread's life is unknown. */
    int64_t from = t->born;
    if (t->events_lost && w.n) {
        from = w.s[0].t0;
        if (push(t, (struct an_slice){ t->born, from, AN_ST_UNWRAPPED, -1, 0, 0, 0 })) goto out;
    }
    for (size_t j = 0; j < w.n; j++)
        if (push(t, w.s[j])) goto out;
    /* Per interval: its gaps G, CPU c and run queue r placed in them, and the
     * run queue n left for the waits' wake-ups. */
    struct iv { int64_t a, b, G, inwait, c, r, n; size_t wi; } *iv = calloc(np, sizeof *iv);
    if (!iv) goto out;
    size_t ni = 0, wi = 0, last = (size_t)-1;
    for (size_t k = 1; k < np; k++) {
        int64_t a = p[k - 1].t, b = p[k].t, C = p[k].cpu - p[k - 1].cpu, R = p[k].runq - p[k - 1].runq;
        if (b <= from) continue;
        if (a < from) a = from;
        while (wi < w.n && w.s[wi].t1 <= a) wi++;
        int64_t G = 0, inwait = 0, cur = a;
        for (size_t j = wi; j < w.n && w.s[j].t0 < b; j++) {
            if (w.s[j].t0 > cur) G += w.s[j].t0 - cur;
            if (w.s[j].t1 > cur) cur = w.s[j].t1;
            inwait += (w.s[j].t1 < b ? w.s[j].t1 : b) - (w.s[j].t0 > a ? w.s[j].t0 : a);
        }
        if (cur < b) G += b - cur;
        /* CPU first: a thread runs between its waits */
        int64_t c = C < G ? C : G, r = R < G - c ? R : G - c, excess = R - r;
        /* The kernel counts a wait for a core when the thread gets one: run
         * queue beyond this interval's room was waited before, back to the
         * thread's last run (a sleep's span ends at its timer, so its late
         * return is a gap). Fill earlier intervals' unexplained gap time,
         * nearest first, stopping at one where the thread ran. */
        for (size_t j = ni; excess > 0 && j-- > 0;) {
            int64_t spare = iv[j].G - iv[j].c - iv[j].r, m = spare < excess ? spare : excess;
            iv[j].r += m;
            excess -= m;
            if (iv[j].c > 0) break;
        }
        iv[ni++] = (struct iv){ a, b, G, inwait, c, r, excess, wi };
    }
    for (size_t k = 0; k < ni; k++) {
        int64_t a = iv[k].a, b = iv[k].b, G = iv[k].G, c = iv[k].c, r = iv[k].r, u = G - r - c, cur = a;
        wi = iv[k].wi;
        for (size_t j = wi; ; j++) {
            int64_t g0 = cur, g1 = j < w.n && w.s[j].t0 < b ? w.s[j].t0 : b;
            if (g1 > g0) {
                /* running takes the rounding: no 1 ns slices of the others */
                int64_t L = g1 - g0, lr = part(L, r, G), lc = L - lr - part(L, u, G);
                if (push_gap(t, g0, g0 + lr, AN_ST_RUNQ, &last) ||
                    push_gap(t, g0 + lr, g0 + lr + lc, AN_ST_RUN, &last) ||
                    push_gap(t, g0 + lr + lc, g1, AN_ST_UNWRAPPED, &last)) goto out_iv;
            }
            if (!(j < w.n && w.s[j].t0 < b)) break;
            if (w.s[j].t1 > cur) cur = w.s[j].t1;
            if (cur >= b) break;
        }
        /* the rest of the run queue: wake-ups, at the end of each wait's part
         * of the interval, in proportion to that part */
        int64_t left = iv[k].n;
        for (size_t j = wi; left > 0 && iv[k].inwait > 0 && j < w.n && w.s[j].t0 < b; j++) {
            int64_t e = w.s[j].t1 < b ? w.s[j].t1 : b, len = e - (w.s[j].t0 > a ? w.s[j].t0 : a);
            int64_t q = part(len, iv[k].n, iv[k].inwait);
            if (q > len) q = len;
            if (q > left) q = left;
            left -= q;
            struct an_slice s = { e - q, e, AN_ST_RUNQ, 0, 0, 1, 0 };
            if (push(t, s)) goto out_iv;
        }
    }
    free(iv);
    iv = NULL;
    if (t->n) qsort(t->s, t->n, sizeof *t->s, by_t0);
    rc = 0;
out_iv:
    free(iv);
out:
    free(w.s);
    free(p);
    return rc;
}

int an_timeline_build(const json_t *trace, struct an_timeline *tl, char *msg, size_t msglen)
{
    memset(tl, 0, sizeof *tl);
    if (!json_is_object(trace) || !an_str(trace, "kind") || strcmp(an_str(trace, "kind"), "trace"))
        return an_errmsg(msg, msglen, "not a poolshim trace file (kind \"trace\")");
    long long v = an_int(trace, "version", 0);
    if (v != 1) return an_errmsg(msg, msglen, "trace file version %lld: this poolshim reads version 1", v);
    tl->pid = (int)an_int(trace, "pid", 0);
    tl->interval_ms = (int)an_int(trace, "interval_ms", 0);
    size_t i;
    json_t *e;
    json_array_foreach(an_arr(trace, "causes"), i, e)
        if (i < 8 && json_is_string(e)) snprintf(tl->causes[tl->ncauses++], 16, "%s", json_string_value(e));
    json_array_foreach(an_arr(trace, "kinds"), i, e)
        if (i < 16 && json_is_string(e)) snprintf(tl->kinds[tl->nkinds++], 16, "%s", json_string_value(e));
    const json_t *ths = an_arr(trace, "threads");
    tl->th = calloc(json_array_size(ths) + 1, sizeof *tl->th);
    if (!tl->th) return an_errmsg(msg, msglen, "out of memory");
    json_array_foreach(ths, i, e) {
        struct an_tthread *t = &tl->th[tl->nth];
        t->tid = (int)an_int(e, "tid", 0);
        t->pool = (int)an_int(e, "pool", -1);
        t->exited = json_is_true(json_object_get(e, "exited"));
        snprintf(t->name, sizeof t->name, "%s", an_str(e, "name") ? an_str(e, "name") : "");
        t->born = clamp(an_int(e, "born_ns", 0));
        t->end = clamp(an_int(e, "end_ns", 0));
        t->cpu_ns = clamp(an_int(e, "cpu_ns", 0));
        t->runq_ns = clamp(an_int(e, "runq_ns", 0));
        if (t->cpu_ns < 0) t->cpu_ns = 0;
        if (t->runq_ns < 0) t->runq_ns = 0;
        t->events_lost = (uint64_t)an_int(e, "events_lost", 0);
        if (t->tid <= 0 || t->end <= t->born) continue;   /* never sampled: no measured life */
        if (thread_build(e, t)) {
            an_timeline_free(tl);
            return an_errmsg(msg, msglen, "out of memory");
        }
        tl->nth++;
    }
    return 0;
}

void an_timeline_free(struct an_timeline *tl)
{
    for (size_t i = 0; tl->th && i < tl->nth; i++) free(tl->th[i].s);
    free(tl->th);
    memset(tl, 0, sizeof *tl);
}

const char *an_slice_state(const struct an_timeline *tl, const struct an_slice *s)
{
    switch (s->st) {
    case AN_ST_RUN: return "running";
    case AN_ST_RUNQ: return "runqueue";
    case AN_ST_PARKED: return "parked";
    case AN_ST_UNWRAPPED: return s->cause == -1 ? "not recorded (ring overwritten)" : "blocked (unwrapped)";
    default: return s->cause >= 0 && s->cause < tl->ncauses ? tl->causes[s->cause] : "wait";
    }
}

const char *an_slice_kind(const struct an_timeline *tl, const struct an_slice *s)
{
    if (s->st != AN_ST_WAIT && s->st != AN_ST_PARKED) return NULL;
    return s->kind > 0 && s->kind < tl->nkinds ? tl->kinds[s->kind] : NULL;
}

json_t *an_trace_file_load(const char *path, char *msg, size_t msglen)
{
    json_error_t err;
    json_t *t = json_load_file(path, 0, &err);
    if (!t) {
        an_errmsg(msg, msglen, "%s (line %d)", err.text, err.line);
        return NULL;
    }
    const char *k = an_str(t, "kind");
    if (!k || strcmp(k, "trace")) {
        json_decref(t);
        an_errmsg(msg, msglen, "not a poolshim trace file (kind \"trace\")");
        return NULL;
    }
    return t;
}

char *an_trace_path(const char *doc_path, const json_t *doc)
{
    const char *name = an_str(doc, "trace");
    if (!name || !*name || strchr(name, '/') || !doc_path) return NULL;   /* a file name beside it, nothing else */
    const char *slash = strrchr(doc_path, '/');
    size_t dl = slash ? (size_t)(slash - doc_path + 1) : 0;
    char *path = malloc(dl + strlen(name) + 1);
    if (!path) return NULL;
    memcpy(path, doc_path, dl);
    strcpy(path + dl, name);
    return path;
}

json_t *an_trace_of_report(const char *report_path, const json_t *report, char *msg, size_t msglen)
{
    if (!an_str(report, "trace")) {
        an_errmsg(msg, msglen, "no trace was recorded (run the program with POOLSHIM_TRACE=on)");
        return NULL;
    }
    char *path = an_trace_path(report_path, report);
    if (!path) {
        an_errmsg(msg, msglen, "the report's trace name is not a file name");
        return NULL;
    }
    char m[200];
    json_t *t = an_trace_file_load(path, m, sizeof m);
    if (!t) an_errmsg(msg, msglen, "its trace %s: %s", path, m);
    free(path);
    return t;
}

const char *an_obj_name(const json_t *report, uint64_t obj)
{
    static const char *const lists[] = { "locks", "waits" };
    char hex[32];
    snprintf(hex, sizeof hex, "0x%llx", (unsigned long long)obj);
    for (int l = 0; l < 2; l++) {
        size_t i;
        json_t *e;
        json_array_foreach(an_arr(report, lists[l]), i, e) {
            const char *a = an_str(e, "addr");
            if (!a || strcmp(a, hex)) continue;
            return an_str(e, "name") ? an_str(e, "name") : an_str(e, "site");
        }
    }
    return NULL;
}
