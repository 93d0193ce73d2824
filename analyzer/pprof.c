/* pprof.c: a report or a dump as a profile.proto message (see pprof.h), the
 * format `go tool pprof`, Parca and Pyroscope read (message and field
 * numbers: github.com/google/pprof, proto/profile.proto).
 *
 * What becomes a sample, and why that way:
 * - contention (reports and dumps): per contended lock (`locks[]`), one
 *   sample per waiter call site with [contentions/count, delay/nanoseconds]
 *   as Go's mutex profile has them. The files keep sites, not stacks, so each
 *   sample has one location, the site (in a dump resolved to file:line
 *   through the dump's modules, symbolize.h); a lock's wait that its listed
 *   sites do not cover is one "(other call sites)" sample, so totals stay
 *   the file's.
 * - offcpu/nanoseconds: reports give it per thread and cause (a location for
 *   the cause on top of one for the thread's function, since the report keeps
 *   no stacks); dumps per blocked thread, its stack weighted by `since_s`.
 * - inuse_space/bytes, inuse_objects/count (dumps): the allocation snapshot's
 *   live sites, each with its stack. jemalloc's snapshot holds live memory
 *   only, so there are no alloc_* types.
 * Every sample carries labels (pool, thread, cause, lock, kind) for
 * `-tagfocus`. Tables (strings, functions, locations, mappings) are
 * deduplicated through jansson objects used as hash maps, and written after
 * the samples (protobuf allows repeated fields in any order). */
#include "pprof.h"
#include "jget.h"
#include "report.h"
#include "symbolize.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* profile.proto field numbers */
enum { P_SAMPLE_TYPE = 1, P_SAMPLE = 2, P_MAPPING = 3, P_LOCATION = 4, P_FUNCTION = 5, P_STRING = 6,
       P_TIME = 9, P_DURATION = 10, P_PERIOD_TYPE = 11, P_PERIOD = 12, P_COMMENT = 13, P_DEFAULT_TYPE = 14 };
enum { VT_TYPE = 1, VT_UNIT = 2 };
enum { S_LOCATION = 1, S_VALUE = 2, S_LABEL = 3 };
enum { L_KEY = 1, L_STR = 2, L_NUM = 3 };
enum { M_ID = 1, M_START = 2, M_LIMIT = 3, M_OFFSET = 4, M_FILE = 5, M_BUILD_ID = 6, M_HAS_FUNCTIONS = 7,
       M_HAS_FILENAMES = 8, M_HAS_LINES = 9, M_HAS_INLINE = 10 };
enum { LOC_ID = 1, LOC_MAPPING = 2, LOC_ADDRESS = 3, LOC_LINE = 4 };
enum { LN_FUNCTION = 1, LN_LINE = 2 };
enum { F_ID = 1, F_NAME = 2, F_SYSTEM_NAME = 3, F_FILENAME = 4 };

#define MAX_TYPES 5
#define MAX_LINES 16         /* a frame and the calls inlined into it */
#define MAX_STACK 256

struct line { uint64_t fn; int64_t line; };

struct prof {
    struct an_pb out;        /* the Profile message: samples first, tables at the end */
    struct an_pb tables;     /* mappings, locations, functions */
    struct an_pb strtab;     /* string_table: its own buffer, since a string is
                                first seen while another table entry is open */
    json_t *strings;         /* string -> index */
    uint64_t nstrings;
    json_t *funcs;           /* "name\1system\1file" -> id */
    json_t *locs;            /* location key -> id */
    uint64_t nfuncs, nlocs;
    int ntypes;
    int idx_count, idx_delay, idx_offcpu, idx_space, idx_objects;   /* value slot of each type */
    /* mappings from a dump's modules */
    struct map { uint64_t start, end, offset; const char *path, *build_id; int lines; } *maps;
    size_t nmaps;
    const json_t *root;
    struct an_sym *sym;      /* a dump's image, to give its lock sites file:line; NULL for reports */
};

/* A table key from up to three strings (C++ names run to kilobytes: no
 * fixed buffer, or two long names would share an entry). */
static char *table_key(const char *tag, const char *a, const char *b, const char *c)
{
    char *k;
    if (asprintf(&k, "%s\1%s\1%s\1%s", tag, a ? a : "", b ? b : "", c ? c : "") < 0) abort();
    return k;
}

static uint64_t str_index(struct prof *p, const char *s)
{
    if (!s) s = "";
    json_t *v = json_object_get(p->strings, s);
    if (v) return (uint64_t)json_integer_value(v);
    json_object_set_new_nocheck(p->strings, s, json_integer((json_int_t)p->nstrings));
    an_pb_str(&p->strtab, P_STRING, s);
    return p->nstrings++;
}

static uint64_t func_id(struct prof *p, const char *name, const char *system, const char *file)
{
    char *key = table_key("", name, system, file);
    json_t *v = json_object_get(p->funcs, key);
    if (v) {
        free(key);
        return (uint64_t)json_integer_value(v);
    }
    uint64_t id = ++p->nfuncs;
    json_object_set_new_nocheck(p->funcs, key, json_integer((json_int_t)id));
    free(key);
    size_t m = an_pb_begin(&p->tables, P_FUNCTION);
    an_pb_uint(&p->tables, F_ID, id);
    an_pb_uint(&p->tables, F_NAME, str_index(p, name));
    an_pb_uint(&p->tables, F_SYSTEM_NAME, str_index(p, system ? system : name));
    if (file) an_pb_uint(&p->tables, F_FILENAME, str_index(p, file));
    an_pb_end(&p->tables, m);
    return id;
}

/* A location: (mapping, address, lines) with lines innermost first, as pprof
 * wants inlined calls (the caller last). key makes it unique. */
static uint64_t loc_id(struct prof *p, const char *key, uint64_t mapping, uint64_t addr,
                       const struct line *lines, int nlines)
{
    json_t *v = json_object_get(p->locs, key);
    if (v) return (uint64_t)json_integer_value(v);
    uint64_t id = ++p->nlocs;
    json_object_set_new_nocheck(p->locs, key, json_integer((json_int_t)id));
    size_t m = an_pb_begin(&p->tables, P_LOCATION);
    an_pb_uint(&p->tables, LOC_ID, id);
    if (mapping) an_pb_uint(&p->tables, LOC_MAPPING, mapping);
    if (addr) an_pb_uint(&p->tables, LOC_ADDRESS, addr);
    for (int i = 0; i < nlines; i++) {
        size_t l = an_pb_begin(&p->tables, LOC_LINE);
        an_pb_uint(&p->tables, LN_FUNCTION, lines[i].fn);
        if (lines[i].line > 0) an_pb_int(&p->tables, LN_LINE, lines[i].line);
        an_pb_end(&p->tables, l);
    }
    an_pb_end(&p->tables, m);
    return id;
}

/* A location that is only a name: a call site string of a report, a cause,
 * a thread's function. */
static uint64_t named_loc(struct prof *p, const char *name, const char *system, const char *file)
{
    char *key = table_key("n", name, system, file);
    struct line ln = { func_id(p, name, system, file), 0 };
    uint64_t id = loc_id(p, key, 0, 0, &ln, 1);
    free(key);
    return id;
}

static uint64_t mapping_of(struct prof *p, uint64_t addr, int has_line);

/* A site the shim wrote as "sym+0xoff (module)" (also "module+0xoff" or
 * "0x…"). In a dump whose binaries are at hand it is resolved to its address
 * and named as a frame is, with file:line and inlined calls; else the
 * function is sym (or the whole site) and the file the module. */
static uint64_t site_loc(struct prof *p, const char *site)
{
    if (!site) return named_loc(p, "(unknown site)", NULL, NULL);
    uint64_t addr = an_sym_site_addr(p->sym, site);
    struct an_sym_frame r;
    if (addr && an_sym_frame(p->sym, addr, 1, &r) == 0 && r.symbol) {
        struct line lines[AN_SYM_MAX_INLINE + 1];
        int n = 0;
        for (int i = 0; i < r.ninlined && i < AN_SYM_MAX_INLINE; i++) {
            lines[n].fn = func_id(p, r.inlined[i].symbol ? r.inlined[i].symbol : "(inlined)", NULL, r.inlined[i].file);
            lines[n++].line = r.inlined[i].line;
        }
        lines[n].fn = func_id(p, r.symbol, NULL, r.file);
        lines[n++].line = r.line;
        char addr_s[24];
        snprintf(addr_s, sizeof addr_s, "%llx", (unsigned long long)(addr - 1));
        char *key = table_key("a", addr_s, r.symbol, r.file);
        uint64_t id = loc_id(p, key, mapping_of(p, addr - 1, r.file != NULL), addr - 1, lines, n);
        free(key);
        return id;
    }
    char name[512], mod[512] = "";
    snprintf(name, sizeof name, "%s", site);
    const char *paren = strstr(site, " (");
    if (paren && site[strlen(site) - 1] == ')') {
        snprintf(mod, sizeof mod, "%.*s", (int)(strlen(paren) - 3), paren + 2);
        if ((size_t)(paren - site) < sizeof name)   /* a site longer than name was cut already */
            name[paren - site] = 0;
        char *plus = strstr(name, "+0x");
        if (plus && plus != name) *plus = 0;
    }
    return named_loc(p, name, site, mod[0] ? mod : NULL);
}

static uint64_t hexval(const json_t *o, const char *key)
{
    const char *s = an_str(o, key);
    if (s) return strtoull(s, NULL, 16);
    long long v = an_int(o, key, 0);
    return v > 0 ? (uint64_t)v : 0;
}

static void load_mappings(struct prof *p)
{
    json_t *mods = an_arr(p->root, "modules"), *m;
    size_t i, n = mods ? json_array_size(mods) : 0;
    p->maps = calloc(n + 1, sizeof *p->maps);
    if (!p->maps) return;
    json_array_foreach(mods, i, m) {
        struct map *mp = &p->maps[p->nmaps];
        mp->start = hexval(m, "start");
        mp->end = hexval(m, "end");
        mp->offset = hexval(m, "file_offset");
        mp->path = an_str(m, "path");
        mp->build_id = an_str(m, "build_id");
        if (mp->end > mp->start) p->nmaps++;
    }
    /* A report has no module list: one mapping that only names the program,
     * which pprof shows as the profile's "File". */
    if (!p->nmaps && an_str(p->root, "exe")) {
        p->maps[0].path = an_str(p->root, "exe");
        p->nmaps = 1;
    }
}

static uint64_t mapping_of(struct prof *p, uint64_t addr, int has_line)
{
    for (size_t i = 0; i < p->nmaps; i++)
        if (addr >= p->maps[i].start && addr < p->maps[i].end) {
            if (has_line) p->maps[i].lines = 1;
            return i + 1;
        }
    return 0;
}

static void write_mappings(struct prof *p)
{
    for (size_t i = 0; i < p->nmaps; i++) {
        struct map *mp = &p->maps[i];
        size_t m = an_pb_begin(&p->tables, P_MAPPING);
        an_pb_uint(&p->tables, M_ID, i + 1);
        an_pb_uint(&p->tables, M_START, mp->start);
        an_pb_uint(&p->tables, M_LIMIT, mp->end);
        an_pb_uint(&p->tables, M_OFFSET, mp->offset);
        an_pb_uint(&p->tables, M_FILE, str_index(p, mp->path));
        if (mp->build_id) an_pb_uint(&p->tables, M_BUILD_ID, str_index(p, mp->build_id));
        /* Symbolized already: pprof must not look the binaries up again
         * (they may be gone, or another build on this machine). */
        an_pb_uint(&p->tables, M_HAS_FUNCTIONS, 1);
        an_pb_uint(&p->tables, M_HAS_FILENAMES, mp->lines);
        an_pb_uint(&p->tables, M_HAS_LINES, mp->lines);
        an_pb_uint(&p->tables, M_HAS_INLINE, mp->lines);
        an_pb_end(&p->tables, m);
    }
}

/* One dump frame: {addr, module, symbol, offset, file?, line?, inlined[]?}. */
static uint64_t frame_loc(struct prof *p, const json_t *f, int leaf)
{
    uint64_t addr = hexval(f, "addr");
    const char *sym = an_str(f, "symbol"), *file = an_str(f, "file");
    char name[512], addr_s[24];
    if (!sym) {
        const char *mod = an_str(f, "module"), *slash = mod ? strrchr(mod, '/') : NULL;
        const char *off = an_str(f, "offset");
        snprintf(name, sizeof name, "%s+%s", slash ? slash + 1 : mod ? mod : "?", off ? off : "?");
        sym = name;
    }
    struct line lines[MAX_LINES];
    int n = 0;
    json_t *inl = an_arr(f, "inlined"), *c;
    size_t i;
    json_array_foreach(inl, i, c) {
        if (n >= MAX_LINES - 1) break;
        const char *cs = an_str(c, "symbol");
        lines[n].fn = func_id(p, cs ? cs : "(inlined)", NULL, an_str(c, "file"));
        lines[n++].line = an_int(c, "line", 0);
    }
    lines[n].fn = func_id(p, sym, NULL, file);
    lines[n++].line = an_int(f, "line", 0);
    /* Return addresses point after the call: pprof shows the call's line if
     * given addr - 1, which is also what the shim symbolized. */
    uint64_t pc = addr && !leaf ? addr - 1 : addr;
    uint64_t mapping = pc ? mapping_of(p, pc, file != NULL) : 0;
    snprintf(addr_s, sizeof addr_s, "%llx", (unsigned long long)pc);
    char *key = table_key(pc ? "a" : "f", pc ? addr_s : "", sym, file);
    uint64_t id = loc_id(p, key, mapping, pc, lines, n);
    free(key);
    return id;
}

struct label { const char *key, *str; int64_t num; };

static void sample(struct prof *p, const uint64_t *locs, size_t nlocs, const double *vals,
                   const struct label *labels, int nlabels)
{
    uint64_t v[MAX_TYPES];
    int any = 0;
    for (int i = 0; i < p->ntypes; i++) {
        /* pprof values are int64: clamp what a file may hold beyond it */
        v[i] = !(vals[i] > 0) ? 0 : vals[i] >= 9e18 ? (uint64_t)INT64_MAX : (uint64_t)llround(vals[i]);
        any |= v[i] != 0;
    }
    if (!any) return;
    size_t m = an_pb_begin(&p->out, P_SAMPLE);
    an_pb_packed(&p->out, S_LOCATION, locs, nlocs);
    an_pb_packed(&p->out, S_VALUE, v, (size_t)p->ntypes);
    for (int i = 0; i < nlabels; i++) {
        if (!labels[i].str && !labels[i].num) continue;
        size_t l = an_pb_begin(&p->out, S_LABEL);
        an_pb_uint(&p->out, L_KEY, str_index(p, labels[i].key));
        if (labels[i].str) an_pb_uint(&p->out, L_STR, str_index(p, labels[i].str));
        else an_pb_int(&p->out, L_NUM, labels[i].num);
        an_pb_end(&p->out, l);
    }
    an_pb_end(&p->out, m);
}

static const char *pool_label(const json_t *root, const json_t *pool_id, char *buf, size_t n)
{
    if (!json_is_integer(pool_id)) return NULL;
    size_t i;
    json_t *pl;
    json_array_foreach(an_arr(root, "pools"), i, pl)
        if (an_int(pl, "id", -1) == json_integer_value(pool_id)) return an_pool_fn(pl);
    snprintf(buf, n, "pool %lld", (long long)json_integer_value(pool_id));
    return buf;
}

static void zero(double *v)
{
    for (int i = 0; i < MAX_TYPES; i++) v[i] = 0;
}

/* One sample per waiter site of every contended lock. Condvar, semaphore
 * and futex waits (a GIL's too) are in offcpu with their cause: "contention"
 * here means what Go's mutex profile means, time waiting for a lock. */
static void contention(struct prof *p)
{
    json_t *o;
    size_t i;
    json_array_foreach(an_arr(p->root, "locks"), i, o) {
        char pb[64];
        const char *name = an_str(o, "name");
        struct label lb[3] = { { "lock", name ? name : an_str(o, "addr"), 0 }, { "kind", an_str(o, "kind"), 0 },
                               { "pool", pool_label(p->root, json_object_get(o, "waiter_pool"), pb, sizeof pb), 0 } };
        double v[MAX_TYPES], wait_s = an_num(o, "wait_s"), count = an_num(o, "contended");
        double left_s = isfinite(wait_s) ? wait_s : 0, left_n = isfinite(count) ? count : 0;
        json_t *s;
        size_t k;
        json_array_foreach(an_arr(o, "sites"), k, s) {
            double sw = an_num(s, "wait_s"), sn = an_num(s, "count");
            if (!isfinite(sw)) sw = 0;
            if (!isfinite(sn)) sn = 0;
            zero(v);
            v[p->idx_count] = sn;
            v[p->idx_delay] = sw * 1e9;
            uint64_t loc = site_loc(p, an_str(s, "site"));
            sample(p, &loc, 1, v, lb, 3);
            left_s -= sw;
            left_n -= sn;
        }
        /* A lock keeps its few busiest sites: the rest is still its wait
         * (more than the files' rounding to 1 us of each number, or one
         * contention at least). */
        if (left_s > 0.5e-6 * (double)(k + 1) || left_n >= 1) {
            zero(v);
            v[p->idx_count] = left_n > 0 ? left_n : 0;
            v[p->idx_delay] = left_s > 0 ? left_s * 1e9 : 0;
            uint64_t loc = named_loc(p, "(other call sites)", NULL, NULL);
            sample(p, &loc, 1, v, lb, 3);
        }
    }
}

/* What a thread runs, for a location standing in for its stack: its pool's
 * function, else its start routine, else the main thread (tid = pid) or a
 * thread the shim did not see start, by name. */
static const char *thread_fn(const struct prof *p, const json_t *t, const char *pool, char *buf, size_t n)
{
    const char *sr = an_str(t, "start_routine"), *name = an_str(t, "name");
    if (pool) return pool;
    if (sr) return sr;
    if (an_int(t, "tid", 0) == an_int(p->root, "pid", -1)) return "(main thread)";
    snprintf(buf, n, "(thread %s)", name ? name : "?");
    return buf;
}

/* Reports: per thread and cause, [cause] on top of the thread's function. */
static void offcpu_report(struct prof *p)
{
    json_t *t;
    size_t i;
    json_array_foreach(an_arr(p->root, "threads"), i, t) {
        char pb[64], fn[300], tb[320], cause[64];
        const char *pool = pool_label(p->root, json_object_get(t, "pool"), pb, sizeof pb);
        const char *name = an_str(t, "name");
        long long tid = an_int(t, "tid", 0);
        snprintf(fn, sizeof fn, "%s", thread_fn(p, t, pool, tb, sizeof tb));
        snprintf(tb, sizeof tb, "%s %lld", name ? name : "?", tid);
        json_t *w = an_obj(t, "wait_by_cause");
        for (int c = 0; c < 6; c++) {
            double s = an_num(w, an_causes[c]);
            if (!isfinite(s) || s <= 0) continue;
            snprintf(cause, sizeof cause, "[%s]", an_causes[c]);
            uint64_t locs[2] = { named_loc(p, cause, NULL, NULL), named_loc(p, fn, NULL, NULL) };
            double v[MAX_TYPES];
            zero(v);
            v[p->idx_offcpu] = s * 1e9;
            struct label lb[4] = { { "cause", an_causes[c], 0 }, { "pool", pool, 0 }, { "thread", tb, 0 },
                                   { "tid", NULL, tid } };
            sample(p, locs, 2, v, lb, 4);
        }
    }
}

/* A dump's blocked_on kind as the report's cause; a thread waiting for work
 * is idle whatever it waits on. */
static const char *dump_cause(const json_t *t, const json_t *b)
{
    const char *state = an_str(t, "state"), *kind = an_str(b, "kind");
    if (state && !strcmp(state, "idle")) return "idle";
    if (state && !strcmp(state, "parked")) return "parked";
    if (!kind) return "unknown";
    static const char *const map[][2] = { { "mutex", "lock" }, { "rwlock", "lock" }, { "spin", "lock" },
        { "futex_lock", "lock" }, { "cond", "cond" }, { "sem", "cond" }, { "futex", "cond" }, { "join", "cond" },
        { "io", "io" }, { "poll", "io" }, { "sleep", "sleep" } };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (!strcmp(kind, map[i][0])) return map[i][1];
    return kind;
}

/* exact_leaf: frame 0 is the interrupted instruction (a thread's stack), not
 * a return address (an allocation's stack, whose allocator frames are gone). */
static size_t stack_locs(struct prof *p, const json_t *stack, uint64_t *locs, int exact_leaf)
{
    size_t n = 0, i;
    json_t *f;
    json_array_foreach(stack, i, f) {
        if (n >= MAX_STACK) break;
        if (json_is_object(f)) {
            locs[n] = frame_loc(p, f, exact_leaf && n == 0);
            n++;
        }
    }
    return n;
}

/* Dumps: each blocked thread's stack, weighted by how long it has been blocked. */
static void offcpu_dump(struct prof *p)
{
    json_t *t;
    size_t i;
    json_array_foreach(an_arr(p->root, "threads"), i, t) {
        json_t *b = an_obj(t, "blocked_on");
        double since = an_num(b, "since_s");
        if (!b || !isfinite(since) || since <= 0) continue;
        char pb[64], tb[320];
        const char *pool = pool_label(p->root, json_object_get(t, "pool"), pb, sizeof pb);
        const char *name = an_str(t, "name");
        long long tid = an_int(t, "tid", 0);
        snprintf(tb, sizeof tb, "%s %lld", name ? name : "?", tid);
        uint64_t locs[MAX_STACK];
        size_t n = stack_locs(p, an_arr(t, "stack"), locs, 1);
        if (!n) {   /* no stack captured: the wait and the thread's function stand for it */
            char cause[64];
            snprintf(cause, sizeof cause, "[%s]", dump_cause(t, b));
            char fb[320];
            locs[n++] = named_loc(p, cause, NULL, NULL);
            locs[n++] = named_loc(p, thread_fn(p, t, pool, fb, sizeof fb), NULL, NULL);
        }
        double v[MAX_TYPES];
        zero(v);
        v[p->idx_offcpu] = since * 1e9;
        struct label lb[6] = { { "cause", dump_cause(t, b), 0 }, { "kind", an_str(b, "kind"), 0 },
                               { "object", an_str(b, "object"), 0 }, { "pool", pool, 0 },
                               { "thread", tb, 0 }, { "tid", NULL, tid } };
        sample(p, locs, n, v, lb, 6);
    }
}

static void heap(struct prof *p)
{
    json_t *s;
    size_t i;
    json_array_foreach(an_arr(an_obj(p->root, "allocations"), "top_sites"), i, s) {
        uint64_t locs[MAX_STACK];
        size_t n = stack_locs(p, an_arr(s, "stack"), locs, 0);
        if (!n) locs[n++] = named_loc(p, "(no stack)", NULL, NULL);
        double v[MAX_TYPES];
        zero(v);
        v[p->idx_space] = an_num(s, "bytes");
        v[p->idx_objects] = an_num(s, "objects");
        sample(p, locs, n, v, NULL, 0);
    }
}

static int add_type(struct prof *p, struct an_pb *types, const char *type, const char *unit)
{
    size_t m = an_pb_begin(types, P_SAMPLE_TYPE);
    an_pb_uint(types, VT_TYPE, str_index(p, type));
    an_pb_uint(types, VT_UNIT, str_index(p, unit));
    an_pb_end(types, m);
    return p->ntypes++;
}

int an_pprof_build(const struct an_doc *doc, unsigned kinds, struct an_pb *result)
{
    struct prof p = { 0 };
    p.root = doc->root;
    p.strings = json_object();
    p.funcs = json_object();
    p.locs = json_object();
    /* A type absent from this profile gets the last slot, past ntypes, which
     * sample() never reads (5 types only when all are present). */
    p.idx_count = p.idx_delay = p.idx_offcpu = p.idx_space = p.idx_objects = MAX_TYPES - 1;
    str_index(&p, "");                       /* string_table[0] must be "" */
    struct an_pb types = { 0 };
    if (kinds & AN_PPROF_CONTENTION) {
        p.idx_count = add_type(&p, &types, "contentions", "count");
        p.idx_delay = add_type(&p, &types, "delay", "nanoseconds");
    }
    if (kinds & AN_PPROF_OFFCPU) p.idx_offcpu = add_type(&p, &types, "offcpu", "nanoseconds");
    if (kinds & AN_PPROF_HEAP) {
        p.idx_objects = add_type(&p, &types, "inuse_objects", "count");
        p.idx_space = add_type(&p, &types, "inuse_space", "bytes");
    }
    load_mappings(&p);
    if (doc->kind == AN_DUMP) p.sym = an_sym_open_json(an_arr(doc->root, "modules"));
    if (kinds & AN_PPROF_CONTENTION) contention(&p);
    if (kinds & AN_PPROF_OFFCPU) (doc->kind == AN_DUMP ? offcpu_dump : offcpu_report)(&p);
    if (kinds & AN_PPROF_HEAP) heap(&p);
    write_mappings(&p);                      /* has_line_numbers is known once every frame is seen */
    uint64_t ptype_i = str_index(&p, kinds & AN_PPROF_CONTENTION ? "contentions" : kinds & AN_PPROF_HEAP ? "space" : "offcpu");
    uint64_t punit_i = str_index(&p, kinds & AN_PPROF_CONTENTION ? "count" : kinds & AN_PPROF_HEAP ? "bytes" : "nanoseconds");
    uint64_t def_i = str_index(&p, doc->kind == AN_DUMP ? (kinds & AN_PPROF_OFFCPU ? "offcpu" : kinds & AN_PPROF_HEAP ? "inuse_space" : "delay")
                                                        : (kinds & AN_PPROF_CONTENTION ? "delay" : "offcpu"));
    char comment[300];
    snprintf(comment, sizeof comment, "poolshim %s %s (pid %lld)", doc->kind == AN_DUMP ? "dump" : "report",
             an_str(doc->root, "exe") ? an_str(doc->root, "exe") : "?", an_int(doc->root, "pid", 0));
    uint64_t comment_i = str_index(&p, comment);
    /* Profile: sample types, samples, tables, then the scalars. */
    struct an_pb all = { 0 };
    const struct an_pb *parts[] = { &types, &p.out, &p.tables, &p.strtab };
    size_t n = 64;
    for (size_t i = 0; i < 4; i++) n += parts[i]->len;
    all.buf = malloc(n);
    all.cap = all.buf ? n : 0;
    all.err = !all.buf;
    for (size_t i = 0; i < 4 && all.buf; i++) {
        if (parts[i]->len) memcpy(all.buf + all.len, parts[i]->buf, parts[i]->len);
        all.len += parts[i]->len;
    }
    double dur = an_num(doc->root, doc->kind == AN_DUMP ? "time_s" : "duration_s");
    if (dur > 0 && dur < 9e9) an_pb_int(&all, P_DURATION, (int64_t)(dur * 1e9));
    size_t m = an_pb_begin(&all, P_PERIOD_TYPE);
    an_pb_uint(&all, VT_TYPE, ptype_i);
    an_pb_uint(&all, VT_UNIT, punit_i);
    an_pb_end(&all, m);
    an_pb_int(&all, P_PERIOD, 1);
    an_pb_int(&all, P_COMMENT, (int64_t)comment_i);
    an_pb_int(&all, P_DEFAULT_TYPE, (int64_t)def_i);
    int rc = all.err || p.out.err || p.tables.err || p.strtab.err || types.err ? -1 : 0;
    if (rc) an_pb_free(&all);
    *result = all;
    an_pb_free(&types);
    an_pb_free(&p.out);
    an_pb_free(&p.tables);
    an_pb_free(&p.strtab);
    json_decref(p.strings);
    json_decref(p.funcs);
    json_decref(p.locs);
    free(p.maps);
    an_sym_close(p.sym);
    return rc;
}

