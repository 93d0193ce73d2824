/* alloc.c: the allocation snapshot (alloc.h), for whichever allocator serves
 * the program. Runs on the agent while the host keeps running.
 *
 * glibc (the default): statistics from mallinfo2 (every arena, under each
 * arena's lock, briefly) and the top live sites from heap_sample.c's table of
 * sampled allocations, each weighted 1 / (1 - exp(-size / mean)).
 *
 * jemalloc (POOLSHIM_MALLOC=jemalloc): its stats after an epoch refresh, and a
 * prof.dump (jemalloc's profiling locks, briefly: safe, no thread is stopped)
 * to a heap_v2 file beside the dump, parsed in place (mapped read-only) for the
 * 10 largest sites with the same weights (jeprof's formula; jemalloc 5.3
 * pre-transforms its output for it).
 *
 * Allocator frames (jemalloc and our malloc wrappers) are dropped from the top
 * of each stack. */
#include "alloc.h"
#include "config.h"
#include "heap_sample.h"
#include "file.h"
#include "log.h"
#include "modules.h"
#include "symbol.h"
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <malloc.h>
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

static int profiling;          /* prof.active set by us, or heap_sample.c started */
static int lg_rate;
static int on_glibc;           /* the program allocates from glibc through us */
static const char *not_ours;   /* why we cannot see the program's allocations, or NULL */

struct span_check { uintptr_t code, slot; int code_in, slot_in; };

/* Are both addresses inside the loaded segments of one object? */
static int same_object(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    struct span_check *c = arg;
    int code_in = 0, slot_in = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD)
            continue;
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
        code_in |= c->code >= lo && c->code + 16 <= hi;
        slot_in |= c->slot >= lo && c->slot + sizeof(void *) <= hi;
    }
    if (!code_in)
        return 0;
    c->code_in = 1;
    c->slot_in = slot_in;
    return 1;
}

/* The GOT slot a PLT stub jumps through ("endbr64; bnd jmp *slot(%rip)" or
 * "jmp *slot(%rip)"), or NULL when code is not such a stub of a loaded object
 * whose slot lies in the same object (so reading it cannot fault). */
static void **plt_slot(const unsigned char *code)
{
    struct span_check c = { (uintptr_t)code, 0, 0, 0 };
    if (!ps_modules_walk(same_object, &c) || !c.code_in)
        return NULL;
    if (code[0] == 0xf3 && code[1] == 0x0f && code[2] == 0x1e && code[3] == 0xfa)
        code += 4;
    if (code[0] == 0xf2)
        code++;
    if (code[0] != 0xff || code[1] != 0x25)
        return NULL;
    int32_t disp;
    memcpy(&disp, code + 2, sizeof disp);
    c.slot = (uintptr_t)(code + 6 + disp);
    c.code_in = 0;
    if (!ps_modules_walk(same_object, &c) || !c.slot_in)
        return NULL;
    return (void **)c.slot;
}

/* Is the malloc the program calls ours? An executable that defines its own
 * malloc comes first in the scope and wins. A non-PIE executable that takes
 * malloc's address (node) makes its own PLT stub the canonical "malloc" that
 * dlsym returns: then what counts is where the stub jumps, once bound (one
 * allocation through it, freed through the program's free, binds it). */
static int malloc_is_ours(void)
{
    void *m = dlsym(RTLD_DEFAULT, "malloc");
    Dl_info a, b;
    if (!m || !dladdr((void *)malloc_is_ours, &b))
        return 0;
    if (dladdr(m, &a) && a.dli_fbase == b.dli_fbase)
        return 1;
    void **slot = plt_slot(m);
    if (!slot)
        return 0;
    void (*program_free)(void *) = (void (*)(void *))dlsym(RTLD_DEFAULT, "free");
    if (!program_free)
        return 0;
    void *p = ((void *(*)(size_t))m)(16);
    program_free(p);
    void *target = __atomic_load_n(slot, __ATOMIC_RELAXED);
    return target && dladdr(target, &a) && a.dli_fbase == b.dli_fbase;
}

void ps_alloc_init(int lg_sample)
{
    static int logged;
    /* config.c parses POOLSHIM_MALLOC as interpose_malloc.c decided it
     * (anything but "jemalloc" is glibc there, and the default here). */
    if (ps_cfg.malloc_libc) {
        on_glibc = 1;
        int ours = malloc_is_ours();
        if (ps_heap_start(ours ? lg_sample : -1) != 0) {
            ps_log_once(&logged, "cannot map the heap sample table: dumps carry allocation stats only");
            return;
        }
        if (!ours)
            not_ours = "the program brings its own malloc: no allocation snapshot";
        else if (lg_sample >= 0) {
            lg_rate = lg_sample;
            profiling = 1;
        }
        return;
    }
    if (!malloc_is_ours()) {
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

static void stack_json(struct ps_jw *w, const uintptr_t *ip, int nip, const char *self_path)
{
    ps_jw_arr(w, "stack");
    int n = 0, skipping = 1;
    for (int idx = 0; idx < nip && n < SITE_FRAMES; idx++) {
        uintptr_t addr = ip[idx];
        struct ps_sym s;
        /* Return addresses (all but the first) point after the call. */
        uintptr_t look = idx ? addr - 1 : addr;
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

/* "@ 0x... 0x... ..." of a heap_v2 site */
static void site_stack_json(struct ps_jw *w, const char *p, const char *e, const char *self_path)
{
    uintptr_t ip[SITE_FRAMES + 8];
    int n = 0;
    p++;                                      /* the '@' */
    while (p < e && n < (int)(sizeof ip / sizeof ip[0])) {
        while (p < e && *p == ' ')
            p++;
        if (p >= e)
            break;
        char *end;
        uintptr_t addr = (uintptr_t)strtoull(p, &end, 16);
        if (end == p)
            break;
        p = end;
        ip[n++] = addr;
    }
    stack_json(w, ip, n, self_path);
}

static const char *self_path(void)
{
    Dl_info self;
    return dladdr((void *)self_path, &self) && self.dli_fname ? self.dli_fname : "";
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
                    double scale = ps_heap_sample_weight(bytes / objs, rate);
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
    const char *me = self_path();
    ps_jw_u64(w, "sampled_live_bytes", (uint64_t)total_bytes);
    ps_jw_u64(w, "sampled_live_objects", (uint64_t)total_objs);
    ps_jw_arr(w, "top_sites");
    for (int i = 0; i < ntop; i++) {
        ps_jw_obj(w, NULL);
        ps_jw_u64(w, "bytes", (uint64_t)top[i].bytes);
        ps_jw_u64(w, "objects", (uint64_t)(top[i].objs + 0.5));
        site_stack_json(w, top[i].at, line_end(top[i].at, end), me);
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

/* glibc: mallinfo2's sums over all arenas, and the sampler's top sites. */
/* The keys of a snapshot without a heap profile (POOLSHIM_ALLOC_SAMPLE=-1). */
static void profile_off_json(struct ps_jw *w)
{
    ps_jw_str(w, "profile", "off");
    ps_jw_null(w, "prof_file");
    ps_jw_arr(w, "top_sites");
    ps_jw_end(w);
}

static void glibc_json(struct ps_jw *w)
{
    ps_jw_str(w, "allocator", "glibc");
    struct mallinfo2 mi = mallinfo2();
    /* glibc has no counterpart of jemalloc's active, metadata, resident and
     * retained: the keys are absent, not null (no value exists to be known). */
    ps_jw_obj(w, "stats");
    ps_jw_u64(w, "allocated", mi.uordblks + mi.hblkhd);   /* in use: heap chunks and mmapped ones */
    ps_jw_u64(w, "mapped", mi.arena + mi.hblkhd);          /* obtained from the system */
    ps_jw_u64(w, "free", mi.fordblks);                     /* held by the heap, not by the program */
    ps_jw_end(w);
    if (!profiling) {
        profile_off_json(w);
        return;
    }
    struct ps_heap_site top[TOP_SITES];
    struct ps_heap_totals tot;
    int n = ps_heap_top(top, TOP_SITES, &tot);
    ps_jw_str(w, "profile", "sampled");
    ps_jw_i64(w, "lg_sample", lg_rate);
    ps_jw_null(w, "prof_file");
    ps_jw_u64(w, "sampled_live_bytes", (uint64_t)tot.bytes);
    ps_jw_u64(w, "sampled_live_objects", (uint64_t)(tot.objects + 0.5));
    ps_jw_u64(w, "samples", tot.samples);
    ps_jw_u64(w, "samples_dropped", tot.dropped);
    if (n < 0)
        ps_jw_str(w, "error", "no memory to read the samples");
    const char *me = self_path();
    ps_jw_arr(w, "top_sites");
    for (int i = 0; i < n; i++) {
        ps_jw_obj(w, NULL);
        ps_jw_u64(w, "bytes", (uint64_t)top[i].bytes);
        ps_jw_u64(w, "objects", (uint64_t)(top[i].objects + 0.5));
        stack_json(w, top[i].ip, top[i].nframes, me);
        ps_jw_end(w);
    }
    ps_jw_end(w);
}

void ps_alloc_json(struct ps_jw *w, const char *dir, const char *heap_name)
{
    ps_jw_obj(w, "allocations");
    if (not_ours) {
        ps_jw_str(w, "error", not_ours);
        ps_jw_end(w);
        return;
    }
    if (on_glibc) {
        glibc_json(w);
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
        profile_off_json(w);
        ps_jw_end(w);
        return;
    }
    ps_jw_str(w, "profile", "sampled");
    ps_jw_i64(w, "lg_sample", lg_rate);
    /* jemalloc writes the file itself: to a temporary name, then renamed. */
    char tmp[640], dst[640];
    ps_fmt(dst, sizeof dst, "%s/%s", dir, heap_name);
    /* jemalloc opens the name it is given without O_EXCL: give it one we
     * created ourselves (a planted symlink is never followed; once ours, no
     * other user can replace it in a sticky directory). */
    int tfd = ps_file_create_tmp(dir, heap_name, tmp, sizeof tmp);
    if (tfd >= 0)
        close(tfd);
    const char *fn = tmp;
    int r = tfd < 0 ? -tfd : mallctl("prof.dump", NULL, NULL, (void *)&fn, sizeof fn);
    if (r == 0 && rename(tmp, dst) != 0)
        r = errno;
    if (r) {
        if (tfd >= 0)
            unlink(tmp);             /* ours; never a name someone else holds */
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
