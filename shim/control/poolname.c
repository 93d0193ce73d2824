/* poolname.c: what each pool is called (poolname.h), in one place, so that
 * the summary, the report, the profile and the controller's section print
 * the same name, and POOLSHIM_EXPAND matches what they print.
 *
 * A pool's functions are named by the agent at its first tick after the pool
 * appears, and kept: the object they are in may be gone by exit (7z dlopens
 * its codecs in 7z.so and dlcloses it before it exits), and an address no
 * object covers names nothing, a different number every run (ASLR). A pool
 * that came and went with its library between two ticks has no name of its
 * function: it is called by its threads' name prefix, never by an address.
 *
 * Names are demangled and shortened by symname.c; an entry every thread of a
 * runtime starts at (HotSpot's thread_native_entry) gives way to the threads'
 * name prefix, as a stripped library's module+0xoff does. Two pools may still
 * read the same (one routine, threads named apart): their name prefix, or
 * their id, is added, so that a name in one report is one pool (of those
 * the report lists: the pools with threads).
 *
 * Agent thread, or at exit and in a dump with the agent stopped or calling:
 * one thread at a time writes the table. */
#include "poolname.h"
#include "expand.h"
#include "instance.h"
#include "log.h"
#include "pool.h"
#include "symbol.h"
#include "symname.h"
#include "view.h"
#include <string.h>

struct fn_name {
    char sym[128];               /* as the symbol table says, or module+0xoff, or "" */
    char shown[128];             /* as a person reads it (symname.h) */
};

struct pool_name {
    int named;                   /* its functions were named (their objects loaded) */
    struct fn_name routine, entry;
    char runtime[64];            /* ps_expand_runtime's answer, or "" */
};

static struct pool_name names[PS_MAX_POOLS];

static int is_address(const char *s)
{
    return s[0] == '0' && s[1] == 'x';
}

/* 0 when fn was named; -1 when no loaded object covers it (yet, or any more). */
static int name_fn(void *fn, struct fn_name *f)
{
    if (!fn)
        return 0;
    /* demangled whole: cut to f->sym first, a long C++ symbol (a lambda's
     * handler, 200 characters and more) is no symbol and was shown raw */
    char sym[512];
    ps_symbol_func(fn, sym, sizeof sym);
    if (is_address(sym))
        return -1;
    ps_fmt(f->sym, sizeof f->sym, "%s", sym);
    ps_symname_show(sym, 1, f->shown, sizeof f->shown);
    return 0;
}

static struct pool_name *name_of(int pi)
{
    struct pool_name *n = &names[pi];
    const struct ps_pool *p = &ps_pools[pi];
    if (!n->named && __atomic_load_n(&p->used, __ATOMIC_ACQUIRE) == 2) {
        int a = name_fn(p->routine, &n->routine), b = name_fn(p->entry, &n->entry);
        if (!ps_expand_runtime(pi, n->runtime, sizeof n->runtime))
            n->runtime[0] = 0;
        n->named = !a && !b;
    }
    return n;
}

void ps_poolname_reset(void)
{
    memset(names, 0, sizeof names);
}

void ps_poolname_tick(void)
{
    for (int pi = 0; ps_pools && pi < PS_MAX_POOLS && __atomic_load_n(&ps_pools[pi].used, __ATOMIC_ACQUIRE) == 2; pi++)
        name_of(pi);
}

const char *ps_poolname_routine(int pi)
{
    const struct pool_name *n = name_of(pi);
    return n->routine.sym[0] ? n->routine.sym : "(unknown)";
}

const char *ps_poolname_entry(int pi)
{
    const struct pool_name *n = name_of(pi);
    return ps_pools[pi].entry ? (n->entry.sym[0] ? n->entry.sym : "(unknown)") : NULL;
}

const char *ps_poolname_function(int pi)
{
    const struct pool_name *n = name_of(pi);
    return ps_pools[pi].entry ? n->entry.shown : n->routine.shown;
}

static const char *prefix_of(int pi)
{
    const struct ps_pool *p = &ps_pools[pi];
    return p->alias[0] ? p->alias : p->prefix;
}

/* The name before it is made unique; *by_fn: it is the function's name. */
static void base_label(int pi, char *buf, size_t cap, int *by_fn)
{
    const struct pool_name *n = name_of(pi);
    const struct fn_name *f = ps_pools[pi].entry ? &n->entry : &n->routine;
    *by_fn = 0;
    if (f->shown[0] && !strstr(f->shown, "+0x") && !ps_symname_is_generic(f->sym, f->shown)) {
        ps_fmt(buf, cap, "%s", f->shown);
        *by_fn = 1;
    } else if (n->runtime[0]) {
        ps_fmt(buf, cap, "%s", n->runtime);
    } else {
        /* the threads' name, and where they start: two pools may share a name */
        ps_fmt(buf, cap, f->shown[0] ? "%s* (%s)" : "%s*", prefix_of(pi), f->shown);
    }
    int no = ps_pool_instance_no(pi);
    if (no > 1)
        ps_fmt_cat(buf, cap, " #%d", no);
}

/* base_label, then what tells it from the pools that share it (given by the caller) */
static void unique_label(int pi, const char *base, int by_fn, char *buf, size_t cap)
{
    if (by_fn && prefix_of(pi)[0])
        ps_fmt(buf, cap, "%s (%s*)", base, prefix_of(pi));
    else
        ps_fmt(buf, cap, "%s (pool %d)", base, pi);
}

void ps_poolname_label(int pi, char *buf, size_t cap)
{
    char mine[160], other[160], u[160];
    int by_fn, k_by_fn, clash = 0;
    base_label(pi, mine, sizeof mine, &by_fn);
    int same[PS_MAX_POOLS], nsame = 0;
    /* the pools a report lists: those with threads in the last view */
    for (int k = 0; k < ps_view_last()->npools; k++) {
        if (k == pi || !ps_view_last()->pool[k].ok)
            continue;
        base_label(k, other, sizeof other, &k_by_fn);
        if (!strcmp(other, mine))
            same[nsame++] = k;
    }
    if (!nsame) {
        ps_fmt(buf, cap, "%s", mine);
        return;
    }
    unique_label(pi, mine, by_fn, buf, cap);
    for (int i = 0; i < nsame && !clash; i++) {
        base_label(same[i], other, sizeof other, &k_by_fn);
        unique_label(same[i], other, k_by_fn, u, sizeof u);
        clash = !strcmp(u, buf);
    }
    if (clash)                  /* one routine, one prefix: renamed threads, or instances of one number */
        ps_fmt(buf, cap, "%s (pool %d)", mine, pi);
}

int ps_poolname_is(int pi, const char *want)
{
    const struct pool_name *n = name_of(pi);
    const struct fn_name *f[2] = { &n->routine, &n->entry };
    for (int k = 0; k < 2; k++)
        if (f[k]->sym[0] && (!strcmp(f[k]->sym, want) || !strcmp(f[k]->shown, want)))
            return 1;
    return 0;
}
