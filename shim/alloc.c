/* alloc.c: the allocation snapshot (alloc.h). Runs on the agent while the host
 * keeps running: prof.dump takes jemalloc's profiling locks briefly, which is
 * safe because no thread is stopped. The heap_v2 file is parsed in place (mapped
 * read-only), keeping only the 10 largest sites; sampled counts are unbiased
 * with jeprof's own formula (scale = 1 / (1 - exp(-(bytes/objs) / 2^lg))), which
 * jemalloc 5.3 pre-transforms its output for. Allocator frames (jemalloc and
 * our malloc wrappers) are dropped from the top of each stack. */
#include "alloc.h"
#include "config.h"
#include "file.h"
#include "log.h"
#include "symbol.h"
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen);

#define TOP_SITES 10
#define SITE_FRAMES 24

static int profiling;          /* prof.active set by us */
static int lg_rate;
static const char *not_ours;   /* why jemalloc is not the allocator, or NULL */

void ps_alloc_init(int lg_sample)
{
    static int logged;
    /* config.c parses POOLSHIM_MALLOC as interpose_malloc.c decided it
     * (anything but "libc" is jemalloc there, and the default here). */
    if (ps_cfg.malloc_libc) {
        not_ours = "POOLSHIM_MALLOC=libc: the program allocates from glibc, no allocation snapshot";
        return;
    }
    /* Is the malloc the program calls ours (and so jemalloc)? An executable
     * that defines its own malloc comes first in the scope and wins. */
    void *m = dlsym(RTLD_DEFAULT, "malloc");
    Dl_info a, b;
    if (!m || !dladdr(m, &a) || !dladdr((void *)ps_alloc_init, &b) || a.dli_fbase != b.dli_fbase) {
        not_ours = "the program's malloc is not jemalloc (it brings its own allocator)";
        return;
    }
    if (lg_sample < 0)
        return;
    bool prof = false;
    size_t sz = sizeof prof;
    if (mallctl("opt.prof", &prof, &sz, NULL, 0) || !prof) {
        ps_log_once(&logged, "jemalloc has no heap profiling (opt.prof off): dumps carry allocation stats only");
        return;
    }
    size_t lg = (size_t)lg_sample;
    bool on = true;
    if (mallctl("prof.reset", NULL, NULL, &lg, sizeof lg) || mallctl("prof.active", NULL, NULL, &on, sizeof on)) {
        ps_log_once(&logged, "cannot switch jemalloc's heap profiling on: dumps carry allocation stats only");
        return;
    }
    lg_rate = lg_sample;
    profiling = 1;
}

/* exp(-x) for x >= 0 without libm: halve into [0, 0.5], Taylor, square back. */
static double exp_neg(double x)
{
    if (x > 700)
        return 0;
    int k = 0;
    while (x > 0.5) {
        x /= 2;
        k++;
    }
    double term = 1, sum = 1;
    for (int i = 1; i < 14; i++) {
        term *= -x / i;
        sum += term;
    }
    while (k--)
        sum *= sum;
    return sum;
}

struct site { double bytes, objs; const char *at; };

static const char *line_end(const char *p, const char *end)
{
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    return nl ? nl : end;
}

/* "  t*: <objs>: <bytes> [...]" */
static int parse_counts(const char *p, const char *e, double *objs, double *bytes)
{
    while (p < e && *p == ' ')
        p++;
    if (e - p < 4 || memcmp(p, "t*:", 3))
        return -1;
    char *end;
    unsigned long long o = strtoull(p + 3, &end, 10);
    if (end >= e || *end != ':')
        return -1;
    unsigned long long b = strtoull(end + 1, &end, 10);
    *objs = (double)o;
    *bytes = (double)b;
    return 0;
}

static int is_allocator_frame(const struct ps_sym *s, const char *self_path)
{
    const char *base = strrchr(s->module, '/');
    base = base ? base + 1 : s->module;
    return !strncmp(base, "libjemalloc", 11) || !strcmp(s->module, self_path);
}

static void site_stack_json(struct ps_jw *w, const char *p, const char *e, const char *self_path)
{
    ps_jw_arr(w, "stack");
    int n = 0, skipping = 1, idx = 0;
    p++;                                      /* the '@' */
    while (p < e && n < SITE_FRAMES) {
        while (p < e && *p == ' ')
            p++;
        if (p >= e)
            break;
        char *end;
        uintptr_t addr = (uintptr_t)strtoull(p, &end, 16);
        if (end == p)
            break;
        p = end;
        struct ps_sym s;
        /* Return addresses (all but the first) point after the call. */
        uintptr_t look = idx++ ? addr - 1 : addr;
        if (ps_symbolize((void *)look, &s) == 0 && skipping && is_allocator_frame(&s, self_path))
            continue;
        skipping = 0;
        ps_jw_obj(w, NULL);
        ps_jw_hex(w, "addr", addr);
        ps_jw_str(w, "module", s.module[0] ? s.module : NULL);
        ps_jw_str(w, "symbol", s.name[0] ? s.name : NULL);
        ps_jw_hex(w, "offset", s.name[0] ? s.offset + (addr - look) : s.module_offset + (addr - look));
        ps_jw_end(w);
        n++;
    }
    ps_jw_end(w);
}

/* Parses the heap_v2 file and writes top_sites[]; -errno on failure. */
static int top_sites_json(struct ps_jw *w, const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) || st.st_size <= 0) {
        close(fd);
        return -EIO;
    }
    size_t len = (size_t)st.st_size;
    const char *m = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED)
        return -ENOMEM;
    const char *end = m + len;
    double rate = 0;
    if (len > 8 && !memcmp(m, "heap_v2/", 8))
        rate = (double)strtoull(m + 8, NULL, 10);
    struct site top[TOP_SITES];
    int ntop = 0;
    double total_bytes = 0, total_objs = 0;
    for (const char *p = m; p < end;) {
        const char *e = line_end(p, end);
        if (e - p >= 17 && !memcmp(p, "MAPPED_LIBRARIES:", 17))
            break;
        if (*p == '@' && e < end) {
            const char *c = e + 1, *ce = line_end(c, end);
            double objs, bytes;
            if (!parse_counts(c, ce, &objs, &bytes) && objs > 0 && bytes > 0) {
                if (rate > 0) {
                    double scale = 1.0 / (1.0 - exp_neg(bytes / objs / rate));
                    objs *= scale;
                    bytes *= scale;
                }
                total_bytes += bytes;
                total_objs += objs;
                int at = -1;
                if (ntop < TOP_SITES)
                    at = ntop++;
                else if (bytes > top[TOP_SITES - 1].bytes)
                    at = TOP_SITES - 1;
                if (at >= 0) {
                    top[at] = (struct site){ bytes, objs, p };
                    for (int i = at; i > 0 && top[i].bytes > top[i - 1].bytes; i--) {
                        struct site t = top[i];
                        top[i] = top[i - 1];
                        top[i - 1] = t;
                    }
                }
            }
        }
        p = e + 1;
    }
    Dl_info self;
    const char *self_path = dladdr((void *)top_sites_json, &self) && self.dli_fname ? self.dli_fname : "";
    ps_jw_u64(w, "sampled_live_bytes", (uint64_t)total_bytes);
    ps_jw_u64(w, "sampled_live_objects", (uint64_t)total_objs);
    ps_jw_arr(w, "top_sites");
    for (int i = 0; i < ntop; i++) {
        ps_jw_obj(w, NULL);
        ps_jw_u64(w, "bytes", (uint64_t)top[i].bytes);
        ps_jw_u64(w, "objects", (uint64_t)(top[i].objs + 0.5));
        site_stack_json(w, top[i].at, line_end(top[i].at, end), self_path);
        ps_jw_end(w);
    }
    ps_jw_end(w);
    munmap((void *)m, len);
    return 0;
}

static void stat_json(struct ps_jw *w, const char *name)
{
    size_t v = 0, sz = sizeof v;
    char key[64];
    ps_fmt(key, sizeof key, "stats.%s", name);
    if (mallctl(key, &v, &sz, NULL, 0) == 0)
        ps_jw_u64(w, name, v);
    else
        ps_jw_null(w, name);
}

void ps_alloc_json(struct ps_jw *w, const char *dir, const char *heap_name)
{
    ps_jw_obj(w, "allocations");
    if (not_ours) {
        ps_jw_str(w, "error", not_ours);
        ps_jw_end(w);
        return;
    }
    uint64_t epoch = 1;
    size_t sz = sizeof epoch;
    mallctl("epoch", &epoch, &sz, &epoch, sz);
    ps_jw_str(w, "allocator", "jemalloc");
    ps_jw_obj(w, "stats");
    static const char *const names[] = { "allocated", "active", "metadata", "resident", "mapped", "retained" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        stat_json(w, names[i]);
    ps_jw_end(w);
    if (!profiling) {
        ps_jw_str(w, "profile", "off");
        ps_jw_null(w, "prof_file");
        ps_jw_arr(w, "top_sites");
        ps_jw_end(w);
        ps_jw_end(w);
        return;
    }
    ps_jw_str(w, "profile", "sampled");
    ps_jw_i64(w, "lg_sample", lg_rate);
    /* jemalloc writes the file itself: to a temporary name, then renamed. */
    char tmp[640], dst[640];
    ps_fmt(tmp, sizeof tmp, "%s/.%s.tmp", dir, heap_name);
    ps_fmt(dst, sizeof dst, "%s/%s", dir, heap_name);
    const char *fn = tmp;
    int r = mallctl("prof.dump", NULL, NULL, (void *)&fn, sizeof fn);
    if (r == 0 && rename(tmp, dst) != 0)
        r = errno;
    if (r) {
        unlink(tmp);
        char msg[96];
        ps_fmt(msg, sizeof msg, "prof.dump failed (error %d)", r);
        ps_jw_null(w, "prof_file");
        ps_jw_str(w, "error", msg);
        ps_jw_arr(w, "top_sites");
        ps_jw_end(w);
        ps_jw_end(w);
        return;
    }
    ps_jw_str(w, "prof_file", heap_name);
    if ((r = top_sites_json(w, dst)) != 0) {
        ps_jw_arr(w, "top_sites");
        ps_jw_end(w);
    }
    ps_jw_end(w);
}
