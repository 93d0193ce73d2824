/* symbolize_dump.c: a loaded dump enriched in place with what the
 * symbolizer knows (an_sym_enrich_dump, see symbolize.h). Frames keep what
 * the shim wrote (addr, module, symbol, offset) and gain `file`, `line` and
 * `inlined`; a null `symbol` is filled in. Lock and wait objects gain `name`.
 * The dump gains `symbols` (how much got named, what was left out); a dump
 * that has it was done already. */
#include "symbolize.h"
#include "jget.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t addr_of(const json_t *v)
{
    const char *s = json_string_value(v);
    char *end;
    if (!s || strncmp(s, "0x", 2)) return 0;
    unsigned long long a = strtoull(s + 2, &end, 16);
    return *end ? 0 : a;
}

static json_t *str_or_null(const char *s) { return s ? json_string(s) : json_null(); }

/* What the symbolizer says about addr, as JSON, computed once per address:
 * threads of a pool share most of their frames. */
static json_t *lookup(struct an_sym *s, json_t *cache, uint64_t addr, int is_return)
{
    char key[40];
    snprintf(key, sizeof key, "%llx%c", (unsigned long long)addr, is_return ? 'r' : 'x');
    json_t *c = json_object_get(cache, key);
    if (c) return c;
    struct an_sym_frame r;
    c = json_object();
    if (an_sym_frame(s, addr, is_return, &r) == 0) {
        char off[32];
        snprintf(off, sizeof off, "0x%llx", (unsigned long long)r.offset);
        if (r.symbol) json_object_set_new(c, "symbol", json_string(r.symbol));
        if (r.symbol) json_object_set_new(c, "offset", json_string(off));
        json_object_set_new(c, "module", str_or_null(r.module));
        json_object_set_new(c, "file", str_or_null(r.file));
        json_object_set_new(c, "line", r.line > 0 ? json_integer(r.line) : json_null());
        json_t *in = json_array();
        for (int k = 0; k < r.ninlined; k++) {
            const struct an_sym_loc *l = &r.inlined[k];
            json_array_append_new(in, json_pack("{s:o, s:o, s:o}", "symbol", str_or_null(l->symbol), "file",
                                                str_or_null(l->file), "line",
                                                l->line > 0 ? json_integer(l->line) : json_null()));
        }
        json_object_set_new(c, "inlined", in);
    } else {
        json_object_set_new(c, "file", json_null());
        json_object_set_new(c, "line", json_null());
        json_object_set_new(c, "inlined", json_array());
    }
    json_object_set_new(cache, key, c);
    return c;
}

static void enrich_frame(struct an_sym *s, json_t *cache, json_t *f, int is_return)
{
    if (!json_is_object(f) || json_object_get(f, "inlined")) return;
    json_t *c = lookup(s, cache, addr_of(json_object_get(f, "addr")), is_return);
    /* Fill a missing symbol; replace a mangled C++ one the shim wrote by its
     * demangled form when both name the same function (same offset). */
    const char *had = an_str(f, "symbol"), *off = an_str(f, "offset");
    int mangled = had && !strncmp(had, "_Z", 2) && off && an_str(c, "offset") && !strcmp(off, an_str(c, "offset"));
    if ((!had || mangled) && json_object_get(c, "symbol")) {
        json_object_set(f, "symbol", json_object_get(c, "symbol"));
        json_object_set(f, "offset", json_object_get(c, "offset"));
    }
    if (!json_is_string(json_object_get(f, "module")) && json_object_get(c, "module"))
        json_object_set(f, "module", json_object_get(c, "module"));
    json_object_set(f, "file", json_object_get(c, "file"));
    json_object_set(f, "line", json_object_get(c, "line"));
    /* A copy: the array must not be shared with other frames a reader may edit. */
    json_object_set_new(f, "inlined", json_deep_copy(json_object_get(c, "inlined")));
}

/* first_exact: frame 0 is the interrupted instruction (threads' stacks); the
 * others, and every frame of an allocation stack, are return addresses. */
static void enrich_stack(struct an_sym *s, json_t *cache, json_t *stack, int first_exact)
{
    size_t i;
    json_t *f;
    json_array_foreach(stack, i, f) enrich_frame(s, cache, f, !(first_exact && i == 0));
}

/* A code site the shim wrote as "f+0x1c (module)" as "g (x.c:12)": the
 * function the code is (the innermost inlined call) and its line; the site
 * as written when it cannot be resolved. For naming heap locks. */
static void site_text(struct an_sym *s, const char *site, char *buf, size_t cap)
{
    uint64_t a = an_sym_site_addr(s, site);
    struct an_sym_frame r;
    buf[0] = 0;
    if (!a || an_sym_frame(s, a, 1, &r) || !r.symbol) {
        if (site) snprintf(buf, cap, "%s", site);
        return;
    }
    const char *fn = r.ninlined ? r.inlined[0].symbol : r.symbol;
    const char *file = r.ninlined ? r.inlined[0].file : r.file;
    int line = r.ninlined ? r.inlined[0].line : r.line;
    const char *base = file ? strrchr(file, '/') : NULL;
    base = base ? base + 1 : file;
    if (base && line > 0) snprintf(buf, cap, "%s (%s:%d)", fn ? fn : r.symbol, base, line);
    else snprintf(buf, cap, "%s", fn ? fn : r.symbol);
}

/* The name of the object at hex address v: its data symbol, else, for a lock
 * the dump lists outside every named module (the heap, most likely), where it
 * is taken (its waiters' site: "lock taken at f (x.c:12)") or, without one,
 * where its holder held it. NULL if unknown. */
static json_t *object_name(struct an_sym *s, json_t *cache, const json_t *dump, const json_t *v)
{
    const char *key = json_string_value(v);
    uint64_t a = addr_of(v);
    if (!a) return NULL;
    json_t *c = json_object_get(cache, key);
    if (c) return json_is_string(c) ? c : NULL;
    char buf[400] = "";
    struct an_sym_data d;
    if (an_sym_data(s, a, &d) == 0) {
        if (d.offset) snprintf(buf, sizeof buf, "%s+0x%llx", d.symbol, (unsigned long long)d.offset);
        else snprintf(buf, sizeof buf, "%s", d.symbol);
    } else if (!d.module) {
        size_t i;
        json_t *l;
        json_array_foreach(an_arr(dump, "locks"), i, l) {
            const char *site = an_str(l, "site"), *held = an_str(l, "owner_site");
            if (addr_of(json_object_get(l, "addr")) != a || (!site && !held)) continue;
            char st[300];
            site_text(s, site ? site : held, st, sizeof st);
            snprintf(buf, sizeof buf, "lock %s at %s", site ? "taken" : "held", st);
            break;
        }
    }
    json_object_set_new(cache, key, buf[0] ? json_string(buf) : json_null());
    return buf[0] ? json_object_get(cache, key) : NULL;
}

static void name_at(struct an_sym *s, json_t *cache, const json_t *dump, json_t *o, const char *key)
{
    if (!json_is_object(o) || json_object_get(o, "name")) return;
    json_t *n = object_name(s, cache, dump, json_object_get(o, key));
    json_object_set(o, "name", n ? n : json_null());
}

/* The summary a reader needs to trust the names: how many of the threads'
 * frames are named, how many have a line, and which objects were left out. */
static json_t *summary(struct an_sym *s, const json_t *dump)
{
    long frames = 0, named = 0, lines = 0;
    size_t i, k;
    json_t *t, *f;
    json_array_foreach(an_arr(dump, "threads"), i, t)
        json_array_foreach(an_arr(t, "stack"), k, f) {
            frames++;
            named += an_str(f, "symbol") != NULL;
            lines += an_int(f, "line", 0) > 0;
        }
    json_t *problems = json_array();
    const char *p = an_sym_problems(s);
    while (*p) {
        size_t n = strcspn(p, "\n");
        char line[600];
        snprintf(line, sizeof line, "%.*s", (int)n, p);
        json_array_append_new(problems, json_string(line));
        p += n + (p[n] == '\n');
    }
    return json_pack("{s:I, s:I, s:I, s:o}", "frames", (json_int_t)frames, "named", (json_int_t)named, "with_line",
                     (json_int_t)lines, "problems", problems);
}

int an_sym_enrich_dump(json_t *dump)
{
    if (!json_is_object(dump)) return 0;
    json_t *done = json_object_get(dump, "symbols");
    if (done) return (int)an_int(done, "named", 0);
    struct an_sym *s = an_sym_open_json(an_arr(dump, "modules"));
    if (!s) return 0;
    size_t i;
    json_t *t, *cache = json_object(), *frames = json_object();
    json_array_foreach(an_arr(dump, "threads"), i, t) {
        enrich_stack(s, frames, an_arr(t, "stack"), 1);
        json_t *bo = an_obj(t, "blocked_on");
        const char *kind = an_str(bo, "kind");
        if (kind && strcmp(kind, "join") && strcmp(kind, "io") && strcmp(kind, "poll") && strcmp(kind, "sleep") &&
            strcmp(kind, "syscall"))
            name_at(s, cache, dump, bo, "object");
    }
    json_array_foreach(an_arr(an_obj(dump, "allocations"), "top_sites"), i, t) enrich_stack(s, frames, an_arr(t, "stack"), 0);
    json_array_foreach(an_arr(an_obj(dump, "wait_for"), "edges"), i, t) {
        const char *kind = an_str(t, "kind");
        if (!kind || strcmp(kind, "join")) name_at(s, cache, dump, t, "object");
    }
    json_array_foreach(an_arr(dump, "locks"), i, t) name_at(s, cache, dump, t, "addr");
    json_array_foreach(an_arr(dump, "waits"), i, t)
        if (json_is_string(json_object_get(t, "addr"))) name_at(s, cache, dump, t, "addr");
    json_t *sum = summary(s, dump);
    json_object_set_new(dump, "symbols", sum);
    json_decref(cache);
    json_decref(frames);
    an_sym_close(s);
    return (int)an_int(sum, "named", 0);
}
