/* show.c: builds the answer of `poolshim show` from a checked dump (see
 * show.h), after the symbolizer has named its frames and objects. Groups are
 * keyed by state + the frames' text (function and line, show_frames.c), so
 * threads parked at the same line of the same code fold into one line,
 * largest group first. */
#include "show.h"
#include "graph.h"
#include "jget.h"
#include "timeline.h"
#include "report.h"
#include "symbolize.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void set(json_t *o, const char *k, json_t *v) { json_object_set_new(o, k, v); }

static const char *base(const char *path)
{
    const char *s = path ? strrchr(path, '/') : NULL;
    return s ? s + 1 : path;
}

const char *an_frame(char *buf, size_t n, const json_t *f)
{
    const char *sym = an_str(f, "symbol"), *mod = base(an_str(f, "module")), *addr = an_str(f, "addr");
    char off[40] = "";
    json_t *o = json_is_object(f) ? json_object_get(f, "offset") : NULL;
    if (json_is_integer(o)) snprintf(off, sizeof off, "+0x%llx", (unsigned long long)json_integer_value(o));
    else if (json_is_string(o)) snprintf(off, sizeof off, "+%.30s", json_string_value(o));
    if (sym) snprintf(buf, n, "%s%s%s%s%s", sym, off, mod ? " (" : "", mod ? mod : "", mod ? ")" : "");
    else if (mod) snprintf(buf, n, "%s%s", mod, off[0] ? off : addr ? "" : "+?");
    else snprintf(buf, n, "%s", addr ? addr : "?");
    if (!sym && mod && !off[0] && addr) snprintf(buf + strlen(buf), n - strlen(buf), " %s", addr);
    return buf;
}

static json_t *stack_strings(const json_t *thread, unsigned flags)
{
    json_t *frames = an_show_frames(an_arr(thread, "stack"), flags), *out = an_show_frame_texts(frames);
    json_decref(frames);
    return out;
}

/* Object address -> the name the symbolizer gave it (blocked_on, wait_for edges). */
static json_t *object_names(const json_t *dump)
{
    json_t *names = json_object(), *t;
    size_t i;
    json_array_foreach(an_arr(dump, "threads"), i, t) {
        const json_t *bo = an_obj(t, "blocked_on");
        if (an_str(bo, "object") && an_str(bo, "name")) json_object_set(names, an_str(bo, "object"), json_object_get(bo, "name"));
    }
    json_array_foreach(an_arr(an_obj(dump, "wait_for"), "edges"), i, t)
        if (an_str(t, "object") && an_str(t, "name")) json_object_set(names, an_str(t, "object"), json_object_get(t, "name"));
    return names;
}

static json_t *name_of(json_t *names, const char *obj)
{
    json_t *n = obj ? json_object_get(names, obj) : NULL;
    return n ? json_incref(n) : json_null();
}

/* A pool's start routine by id, for labels. */
static const char *pool_name(const json_t *dump, const json_t *pool_id)
{
    if (!json_is_integer(pool_id)) return NULL;
    size_t i;
    json_t *p;
    json_array_foreach(an_arr(dump, "pools"), i, p)
        if (an_int(p, "id", -1) == json_integer_value(pool_id)) return an_pool_fn(p);
    return NULL;
}

static int by_count_desc(const void *a, const void *b)
{
    long long x = an_int(*(json_t *const *)a, "count", 0), y = an_int(*(json_t *const *)b, "count", 0);
    return (x < y) - (x > y);
}

static void add_unique(json_t *arr, json_t *v, size_t max)
{
    size_t i;
    json_t *e;
    if (!v) return;
    json_array_foreach(arr, i, e) if (json_equal(e, v)) return;
    if (json_array_size(arr) < max) json_array_append(arr, v);
}

static json_t *groups(const json_t *dump, unsigned flags)
{
    json_t *by_key = json_object(), *t;
    size_t i;
    json_array_foreach(an_arr(dump, "threads"), i, t) {
        json_t *frames = an_show_frames(an_arr(t, "stack"), flags), *stack = an_show_frame_texts(frames);
        json_t *pool = json_object_get(t, "pool");
        const char *state = an_str(t, "state") ? an_str(t, "state") : "unknown";
        json_t *keyv = json_pack("[s, O?, O]", state, pool, stack);
        char *key = keyv ? json_dumps(keyv, JSON_COMPACT) : NULL;
        json_decref(keyv);
        if (!key) { json_decref(stack); json_decref(frames); continue; }
        json_t *g = json_object_get(by_key, key);
        if (!g) {
            g = json_object();
            set(g, "count", json_integer(0));
            set(g, "state", json_string(state));
            set(g, "pool", json_is_integer(pool) ? json_incref(pool) : json_null());
            const char *pn = pool_name(dump, pool);
            set(g, "pool_routine", pn ? json_string(pn) : json_null());
            set(g, "tids", json_array());
            set(g, "names", json_array());
            set(g, "blocked_on", json_array());
            set(g, "stack", json_incref(stack));
            set(g, "frames", an_show_dump_frames(an_arr(t, "stack"), flags));
            set(g, "capture", json_array());
            json_object_set_new(by_key, key, g);
        }
        free(key);
        json_decref(stack);
        json_decref(frames);
        set(g, "count", json_integer(an_int(g, "count", 0) + 1));
        json_t *tid = json_object_get(t, "tid");
        if (json_is_integer(tid)) json_array_append(json_object_get(g, "tids"), tid);
        add_unique(json_object_get(g, "names"), json_object_get(t, "name"), 5);
        add_unique(json_object_get(g, "capture"), json_object_get(t, "capture"), 5);
        json_t *bo = an_obj(t, "blocked_on");
        if (bo) {
            json_t *b = json_object();
            an_copy_scalar(b, bo, "kind");
            an_copy_scalar(b, bo, "object");
            an_copy_scalar(b, bo, "name");
            an_copy_scalar(b, bo, "ended_before_stack");
            add_unique(json_object_get(g, "blocked_on"), b, 5);
            json_decref(b);
        }
    }
    size_t n = json_object_size(by_key), k = 0;
    json_t **v = calloc(n + 1, sizeof *v), *g;
    const char *key;
    if (!v) {
        json_decref(by_key);
        return json_array();
    }
    json_object_foreach(by_key, key, g) v[k++] = g;
    qsort(v, k, sizeof *v, by_count_desc);
    json_t *out = json_array();
    for (i = 0; i < k; i++) json_array_append(out, v[i]);
    free(v);
    json_decref(by_key);
    return out;
}

/* {tid, name, state} of graph node n. */
static json_t *node_label(const struct an_graph *g, int n)
{
    json_t *t = g->thread[n], *o = json_object();
    set(o, "tid", json_integer(g->tid[n]));
    an_copy_scalar(o, t, "name");
    an_copy_scalar(o, t, "state");
    return o;
}

static int by_blocked_desc(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    long long cx = an_int(x, "in_cycle", 0) > 0, cy = an_int(y, "in_cycle", 0) > 0;
    if (cx != cy) return cx ? -1 : 1;
    long long bx = an_int(x, "blocks", 0), by = an_int(y, "blocks", 0);
    if (bx != by) return (bx < by) - (bx > by);
    return (an_int(x, "tid", 0) > an_int(y, "tid", 0)) - (an_int(x, "tid", 0) < an_int(y, "tid", 0));
}

/* Blockers (threads others wait for), locks with their holder's stack, and the graph. */
static void graph_answer(json_t *o, const json_t *dump, unsigned flags)
{
    struct an_graph g;
    if (an_graph_build(&g, dump)) {
        set(o, "cycles", json_array());
        set(o, "blockers", json_array());
        set(o, "locks", json_array());
        return;
    }
    json_t *known = object_names(dump);
    set(o, "cycles", json_incref(g.cycles));
    /* Cycles the file lists that our graph lacks (edges missing): keep them too. */
    json_t *c;
    size_t i;
    json_array_foreach(an_arr(an_obj(dump, "wait_for"), "cycles"), i, c) {
        if (!json_is_array(c) || !json_array_size(c)) continue;
        json_t *first = json_array_get(c, 0);
        int known = json_is_integer(first) && an_graph_node(&g, json_integer_value(first)) >= 0 &&
                    g.cycle[an_graph_node(&g, json_integer_value(first))];
        if (!known) json_array_append(json_object_get(o, "cycles"), c);
    }
    json_t *bl = json_array(), **v = calloc((size_t)g.n + 1, sizeof *v);
    int k = 0;
    for (int n = 0; n < g.n && v; n++) {
        if (!g.direct[n]) continue;
        json_t *b = node_label(&g, n);
        set(b, "blocks", json_integer(g.blocked[n]));
        set(b, "direct", json_integer(g.direct[n]));
        set(b, "in_cycle", json_integer(g.cycle[n]));
        json_t *w = json_array(), *objs = json_array(), *names = json_array();
        for (int e = 0; e < g.ne; e++)
            if (g.e[e].to == n) {
                json_array_append_new(w, json_integer(g.tid[g.e[e].from]));
                if (g.e[e].object) {
                    json_t *s = json_string(g.e[e].object);
                    size_t before = json_array_size(objs);
                    add_unique(objs, s, 8);
                    if (json_array_size(objs) > before) json_array_append_new(names, name_of(known, g.e[e].object));
                    json_decref(s);
                }
            }
        set(b, "waiters", w);
        set(b, "objects", objs);
        set(b, "object_names", names);
        json_t *t = g.thread[n];
        json_t *bo = an_obj(t, "blocked_on");
        if (bo) {
            json_t *x = json_object();
            an_copy_scalar(x, bo, "kind");
            an_copy_scalar(x, bo, "object");
            an_copy_scalar(x, bo, "name");
            an_copy_scalar(x, bo, "owner");
            set(b, "itself_blocked_on", x);
        }
        v[k++] = b;
    }
    if (v) qsort(v, (size_t)k, sizeof *v, by_blocked_desc);
    for (int j = 0; j < k; j++) json_array_append_new(bl, v[j]);
    free(v);
    set(o, "blockers", bl);

    /* One entry per (object, holder): the holder's stack says what it does while others wait. */
    json_t *locks = json_array();
    for (int e = 0; e < g.ne; e++) {
        int dup = 0;
        for (int f = 0; f < e; f++)
            if (g.e[f].to == g.e[e].to && g.e[f].object && g.e[e].object && !strcmp(g.e[f].object, g.e[e].object))
                dup = 1;
        if (dup) continue;
        int waiters = 0;
        double longest = NAN;
        for (int f = 0; f < g.ne; f++) {
            if (g.e[f].to != g.e[e].to) continue;
            if (!!g.e[f].object != !!g.e[e].object || (g.e[f].object && strcmp(g.e[f].object, g.e[e].object)))
                continue;
            waiters++;
            double s = an_num(an_obj(g.thread[g.e[f].from], "blocked_on"), "since_s");
            if (isfinite(s) && !(s <= longest)) longest = s;
        }
        json_t *l = json_object();
        set(l, "object", g.e[e].object ? json_string(g.e[e].object) : json_null());
        set(l, "name", name_of(known, g.e[e].object));
        set(l, "kind", g.e[e].kind ? json_string(g.e[e].kind) : json_null());
        set(l, "holder", node_label(&g, g.e[e].to));
        set(l, "waiters", json_integer(waiters));
        set(l, "longest_wait_s", an_jnum(longest));
        json_t *ht = g.thread[g.e[e].to];
        set(l, "holder_stack", stack_strings(ht, flags));
        set(l, "in_cycle", json_integer(g.cycle[g.e[e].to]));
        json_array_append_new(locks, l);
    }
    set(o, "locks", locks);

    json_t *nodes = json_array(), *edges = json_array();
    for (int n = 0; n < g.n; n++) {
        json_t *x = node_label(&g, n);
        set(x, "in_cycle", json_integer(g.cycle[n]));
        set(x, "blocks", json_integer(g.blocked[n]));
        json_array_append_new(nodes, x);
    }
    for (int e = 0; e < g.ne; e++) {
        json_t *x = json_pack("{s:I, s:I, s:s?, s:s?}", "from", (json_int_t)g.tid[g.e[e].from],
                              "to", (json_int_t)g.tid[g.e[e].to], "object", g.e[e].object, "kind", g.e[e].kind);
        set(x, "name", name_of(known, g.e[e].object));      /* the page labels edges with it */
        json_array_append_new(edges, x);
    }
    set(o, "graph", json_pack("{s:o, s:o}", "nodes", nodes, "edges", edges));
    json_decref(known);
    an_graph_free(&g);
}

static json_t *allocations(const json_t *dump, unsigned flags)
{
    json_t *a = an_obj(dump, "allocations"), *o = json_object();
    if (!a) {
        set(o, "error", json_string("no allocation data in this dump"));
        return o;
    }
    if (an_str(a, "error")) {
        an_copy_scalar(o, a, "error");
        return o;
    }
    json_t *st = an_obj(a, "stats"), *stats = json_object(), *v;
    const char *k;
    json_object_foreach(st, k, v) if (json_is_number(v)) json_object_set(stats, k, v);
    set(o, "stats", stats);
    static const char *const extra[] = { "allocator", "profile", "lg_sample", "prof_file",
                                         "sampled_live_bytes", "sampled_live_objects" };
    for (size_t e = 0; e < sizeof extra / sizeof *extra; e++) an_copy_scalar(o, a, extra[e]);
    json_t *sites = json_array(), *s;
    size_t i;
    json_array_foreach(an_arr(a, "top_sites"), i, s) {
        if (!json_is_object(s)) continue;
        if (json_array_size(sites) >= 20) break;
        json_t *x = json_object();
        set(x, "bytes", an_jnum(an_num(s, "bytes")));
        set(x, "objects", an_jnum(an_num(s, "objects")));
        set(x, "stack", stack_strings(s, flags));
        json_array_append_new(sites, x);
    }
    set(o, "top_sites", sites);
    return o;
}

json_t *an_show_answer(const struct an_doc *doc)
{
    return an_show_answer_ex(doc, 0);
}

json_t *an_show_answer_ex(const struct an_doc *doc, unsigned flags)
{
    an_sym_enrich_dump(doc->root);
    const json_t *d = doc->root;
    json_t *o = json_object();
    set(o, "file", json_string(doc->path ? doc->path : "-"));
    set(o, "kind", json_string("dump"));
    set(o, "version", json_integer(doc->version));
    an_copy_scalar(o, d, "pid");
    an_copy_scalar(o, d, "exe");
    set(o, "time_s", an_jnum(an_num(d, "time_s")));
    json_t *tr = an_obj(d, "trigger"), *trigger = json_object();
    an_copy_scalar(trigger, tr, "reason");
    an_copy_scalar(trigger, tr, "pool");
    an_copy_scalar(trigger, tr, "detail");
    set(o, "trigger", trigger);
    json_t *cap = an_obj(d, "capture");
    if (cap) {
        json_t *c = json_object();
        static const char *const keys[] = { "method", "signal", "threads", "signalled", "answered", "wall_ms",
                                            "max_thread_pause_us", "stopped", "pause_ms" };
        for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) an_copy_scalar(c, cap, keys[k]);
        set(o, "capture", c);
    }
    set(o, "threads", json_integer((json_int_t)json_array_size(an_arr(d, "threads"))));
    json_t *sy = an_obj(d, "symbols");
    if (sy) set(o, "symbols", json_deep_copy(sy));
    set(o, "all_frames", json_boolean(flags & AN_SHOW_ALL_FRAMES));
    graph_answer(o, d, flags);
    set(o, "groups", groups(d, flags));
    json_t *pools = json_array(), *p;
    size_t i;
    json_array_foreach(an_arr(d, "pools"), i, p)
        if (json_is_object(p)) json_array_append_new(pools, an_pool_answer(p, d));
    set(o, "pools", pools);
    set(o, "allocations", allocations(d, flags));
    char *tp = an_trace_path(doc->path, d);      /* the timeline up to this dump (POOLSHIM_TRACE=on) */
    if (tp) set(o, "trace_file", json_string(tp));
    free(tp);
    return o;
}
