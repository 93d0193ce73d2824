/* interpose_malloc.c: the malloc family, exported by the shim so that a dump
 * can show where the program's memory went, with either allocator behind it.
 *
 * Default (POOLSHIM_MALLOC=libc): the program keeps its own allocator, the one
 * it was built and tuned for: glibc's, or jemalloc's for a program linked
 * with libjemalloc ahead of libc (program_allocator, below). With glibc's,
 * each call forwards to __libc_malloc and friends (unique names: no dlsym
 * bootstrap, no recursion) and tells heap_sample.c,
 * which samples allocations by bytes and forgets them when freed: a countdown
 * in TLS on allocation, one filter byte read on free. Swapping allocators by
 * default cost node 20-50 % of its time and +9..+70 MiB of peak RSS, which no
 * jemalloc tuning brought within 3 % and 10 % (bench/RESULTS-alloc.md).
 *
 * POOLSHIM_MALLOC=jemalloc makes jemalloc the process allocator instead
 * (linking libjemalloc.so.2 is not enough: libc comes first in the global
 * scope and its malloc would win). The family forwards to jemalloc's
 * non-standard API (mallocx, rallocx, dallocx, sallocx), whose names are
 * unique, and its heap profile serves the dumps. malloc_trim, mallopt,
 * mallinfo, mallinfo2 and malloc_usable_size then act on jemalloc's heap (the
 * one the program uses): trim purges every arena, mallinfo2 reports its
 * statistics, mallopt accepts and ignores every parameter (returns 1: glibc's
 * tunables have no jemalloc meaning, and a program must not fail for it).
 *
 * Either way the family must be complete (reallocarray, pvalloc and
 * malloc_usable_size included): a pointer from one heap freed into the other
 * would crash. Semantics follow glibc's, which the host was built for:
 * malloc(0) and realloc(NULL, n) allocate, realloc(p, 0) frees and returns NULL,
 * failures set ENOMEM, free keeps errno, memalign rounds an alignment up to a
 * power of two. Any thread, any time, including before our constructor. The
 * choice must be made at the first allocation, before config.c has parsed
 * anything, so it is read here from the raw environment, once; config.c only
 * validates the value.
 *
 * jemalloc's profiling: it reads malloc_conf at its first allocation, so the
 * string is a constant: profiling compiled in and inactive (prof:true,
 * prof_active:false costs nothing per allocation); alloc.c switches it on from
 * the constructor in jemalloc mode. MALLOC_CONF set by the user wins. jemalloc
 * is linked, so it boots in libc mode too (see decide; nothing allocates from
 * it then).
 *
 * Fork: jemalloc's constructor (it runs before ours: libjemalloc is our
 * dependency) registers its pthread_atfork handlers before ours, so in a child
 * its locks are released before our child handler starts the agent thread
 * (which allocates). The sample table takes no lock: a child inherits it as
 * it inherits the heap it describes. */
#include "export.h"
#include "config.h"
#include "heap_sample.h"
#include <malloc.h>
#include <dlfcn.h>
#include <link.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

void *__libc_malloc(size_t);
void __libc_free(void *);
void *__libc_calloc(size_t, size_t);
void *__libc_realloc(void *, size_t);
void *__libc_memalign(size_t, size_t);
int __libc_mallopt(int, int);
struct mallinfo __libc_mallinfo(void);

void *mallocx(size_t size, int flags);
void *rallocx(void *ptr, size_t size, int flags);
void dallocx(void *ptr, int flags);
size_t sallocx(const void *ptr, int flags);
int mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen);

#define PS_MALLOCX_ALIGN(a) ((int)__builtin_ctzl(a))
#define PS_MALLOCX_ZERO 0x40
#define PS_MIN_ALIGN 16

/* jemalloc mode's: what jemalloc starts with unless decide() runs first. */
#define PS_JE_CONF_PROF "prof:true,prof_active:false,prof_accum:false"
PS_EXPORT const char *malloc_conf = PS_JE_CONF_PROF;

/* jemalloc's own malloc and free have a thread-cache fast path that mallocx
 * and dallocx lack (~20 ns per pair here). Their names are ours too, so they
 * are found through jemalloc's handle, once, from our constructor; until then
 * (allocations made by libraries' constructors) mallocx/dallocx serve, and
 * both pairs work on the same heap. */
static void *(*je_malloc)(size_t);
static void (*je_free)(void *);

__attribute__((constructor(101))) static void find_jemalloc_fast_paths(void)
{
    int saved = errno;
    void *h = dlopen("libjemalloc.so.2", RTLD_NOW | RTLD_NOLOAD);
    if (!h) {
        errno = saved;
        return;
    }
    void *m = dlsym(h, "malloc"), *f = dlsym(h, "free"), *self = dlsym(h, "mallocx");
    Dl_info a, b;
    /* Only if both come from the same object as mallocx (jemalloc itself). */
    if (m && f && self && dladdr(m, &a) && dladdr(self, &b) && a.dli_fbase == b.dli_fbase &&
        dladdr(f, &a) && a.dli_fbase == b.dli_fbase) {
        __atomic_store_n(&je_free, (void (*)(void *))f, __ATOMIC_RELEASE);
        __atomic_store_n(&je_malloc, (void *(*)(size_t))m, __ATOMIC_RELEASE);
    }
    dlclose(h);
    errno = saved;
}

enum { UNDECIDED, JEMALLOC, LIBC };
static int mode;

/* The allocator the program has without us: whichever of glibc and jemalloc
 * comes first in the global scope, whose order the initial link map keeps
 * (the program, the preloads, then the libraries they need, breadth first:
 * ours, libjemalloc, comes after the program's libc). Debian's redis-server
 * links libjemalloc before libc and calls jemalloc's own API on what malloc
 * gives it (malloc_usable_size, mallctl, mallocx): served from glibc it
 * crashed at its first zmalloc. Such a program keeps jemalloc, and dumps
 * get jemalloc's heap profile. The link map is complete before any code
 * that allocates runs, and reading it takes no lock and allocates nothing. */
static int program_allocator(void)
{
    for (const struct link_map *l = _r_debug.r_map; l; l = l->l_next) {
        const char *n = l->l_name ? l->l_name : "", *b = strrchr(n, '/');
        b = b ? b + 1 : n;
        if (!strncmp(b, "libc.so", 7))
            return LIBC;
        if (!strncmp(b, "libjemalloc.so", 14))
            return JEMALLOC;
    }
    return LIBC;
}

/* The first allocation through us (ld.so's, before any constructor runs)
 * also initialises jemalloc, in either mode: otherwise its own constructor
 * would, and with prof:true its boot leaves errno at ERANGE (exp()
 * underflows) where the program would find it. Here errno is kept.
 * In libc mode jemalloc then stays empty, and starts without profiling:
 * with prof:true it keeps ~1,300 profiling mutexes that its fork handlers
 * lock in the parent and initialise again in the child at every fork
 * (a third of the page faults of a shell's forks under the shim). */
static __attribute__((noinline)) int decide(void)
{
    extern char **environ;
    int program = program_allocator(), m = program;
    for (char **e = environ; e && *e; e++)
        if (!strncmp(*e, "POOLSHIM_MALLOC=", 16)) {
            m = strcmp(*e + 16, "jemalloc") ? program : JEMALLOC;
            break;
        }
    if (program == JEMALLOC)
        ps_malloc_program_jemalloc = 1;     /* config.c says so if POOLSHIM_MALLOC=libc was asked */
    malloc_conf = m == JEMALLOC ? PS_JE_CONF_PROF : "";
    int saved = errno;
    void *p = mallocx(1, 0);
    if (p)
        dallocx(p, 0);
    errno = saved;
    __atomic_store_n(&mode, m, __ATOMIC_RELAXED);
    return m;
}

static inline int use_libc(void)
{
    int m = __atomic_load_n(&mode, __ATOMIC_RELAXED);
    if (__builtin_expect(m == LIBC, 1))
        return 1;
    return (m ? m : decide()) == LIBC;
}

static inline void *nomem(void)
{
    errno = ENOMEM;
    return NULL;
}

/* The libc path: the allocation, then the sampler's countdown (a macro: the
 * sample's stack starts at the return address of the exported function). */
#define sampled(call, n)                                                                  \
    ({                                                                                    \
        void *p_ = (call);                                                                \
        size_t n_ = (n);                                                                  \
        if (__builtin_expect(p_ != NULL, 1))                                              \
            ps_heap_note_alloc(p_, n_);                                                   \
        p_;                                                                               \
    })

/* jemalloc's paths are out of line: the libc path, the default, then needs
 * no saved registers. */
static __attribute__((noinline)) void *je_malloc_path(size_t n)
{
    void *(*fast)(size_t) = __atomic_load_n(&je_malloc, __ATOMIC_ACQUIRE);
    if (__builtin_expect(fast != NULL, 1))
        return fast(n);               /* sets ENOMEM itself; malloc(0) allocates */
    void *p = mallocx(n ? n : 1, 0);
    return p ? p : nomem();
}

static __attribute__((noinline)) void je_free_path(void *p)
{
    if (!p)
        return;
    int saved = errno;
    void (*fast)(void *) = __atomic_load_n(&je_free, __ATOMIC_ACQUIRE);
    if (__builtin_expect(fast != NULL, 1))
        fast(p);
    else
        dallocx(p, 0);
    errno = saved;
}

PS_EXPORT void *malloc(size_t n)
{
    if (__builtin_expect(!use_libc(), 0))
        return je_malloc_path(n);
    return sampled(__libc_malloc(n), n);
}

PS_EXPORT void free(void *p)
{
    if (__builtin_expect(!use_libc(), 0)) {
        je_free_path(p);
        return;
    }
    ps_heap_note_free(p);
    __libc_free(p);
}

PS_EXPORT void *calloc(size_t nmemb, size_t size)
{
    size_t n;
    if (use_libc())
        return sampled(__libc_calloc(nmemb, size), __builtin_mul_overflow(nmemb, size, &n) ? 0 : n);
    if (__builtin_mul_overflow(nmemb, size, &n))
        return nomem();
    void *p = mallocx(n ? n : 1, PS_MALLOCX_ZERO);
    return p ? p : nomem();
}

PS_EXPORT void *realloc(void *p, size_t n)
{
    if (use_libc()) {
        /* Forgotten first (after the call, p may already be another
         * allocation's); the result is a new allocation for the sampler. A
         * failed realloc leaves p live and unsampled: rare, and only low. */
        ps_heap_note_free(p);
        return sampled(__libc_realloc(p, n), n);
    }
    if (!p)
        return malloc(n);
    if (!n) {
        free(p);
        return NULL;
    }
    void *q = rallocx(p, n, 0);
    return q ? q : nomem();
}

PS_EXPORT void *reallocarray(void *p, size_t nmemb, size_t size)
{
    size_t n;
    if (__builtin_mul_overflow(nmemb, size, &n))
        return nomem();
    return realloc(p, n);
}

/* 0 with *out set, or EINVAL / ENOMEM; errno untouched. */
static int aligned(size_t align, size_t n, void **out)
{
    if (align <= PS_MIN_ALIGN)
        align = PS_MIN_ALIGN;
    if (align & (align - 1)) {
        if (align > SIZE_MAX / 2 + 1)
            return EINVAL;
        align = (size_t)1 << (64 - __builtin_clzl(align));
    }
    int saved = errno;
    void *p = use_libc() ? sampled(__libc_memalign(align, n), n) : mallocx(n ? n : 1, PS_MALLOCX_ALIGN(align));
    errno = saved;
    if (!p)
        return ENOMEM;
    *out = p;
    return 0;
}

PS_EXPORT int posix_memalign(void **out, size_t align, size_t n)
{
    if (align < sizeof(void *) || (align & (align - 1)))
        return EINVAL;
    return aligned(align, n, out);
}

PS_EXPORT void *memalign(size_t align, size_t n)
{
    void *p = NULL;
    int e = aligned(align, n, &p);
    if (e)
        errno = e;
    return p;
}

/* glibc 2.36 treats aligned_alloc as memalign (no power-of-two requirement). */
PS_EXPORT void *aligned_alloc(size_t align, size_t n)
{
    return memalign(align, n);
}

PS_EXPORT void *valloc(size_t n)
{
    return memalign((size_t)sysconf(_SC_PAGESIZE), n);
}

PS_EXPORT void *pvalloc(size_t n)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE), r;
    if (__builtin_add_overflow(n, page - 1, &r))
        return nomem();
    r &= ~(page - 1);
    return memalign(page, r ? r : page);
}

/* glibc's versions of the functions that only inspect or tune the heap (libc
 * mode); found once, lazily (dlsym does not allocate on glibc >= 2.34), in
 * libc itself: the next definition after us may be another allocator's (a
 * program's libjemalloc or libtcmalloc before libc), which must never see
 * a pointer glibc gave. */
static void *libc_fn(void **slot, const char *name)
{
    void *f = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
    if (!f) {
        int saved = errno;
        void *h = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
        if (h) {
            f = dlsym(h, name);
            dlclose(h);
        }
        errno = saved;
        __atomic_store_n(slot, f, __ATOMIC_RELEASE);
    }
    return f;
}

PS_EXPORT size_t malloc_usable_size(void *p)
{
    if (use_libc()) {
        static void *f;
        size_t (*libc_usable)(void *) = (size_t (*)(void *))libc_fn(&f, "malloc_usable_size");
        return p && libc_usable ? libc_usable(p) : 0;
    }
    return p ? sallocx(p, 0) : 0;
}

/* jemalloc's statistics, fresh (an epoch bump refreshes them). */
static size_t je_stat(const char *name)
{
    uint64_t epoch = 1;
    size_t v = 0, sz = sizeof epoch;
    mallctl("epoch", &epoch, &sz, &epoch, sz);
    sz = sizeof v;
    return mallctl(name, &v, &sz, NULL, 0) ? 0 : v;
}

/* uordblks: bytes the program holds (stats.allocated); arena: bytes mapped
 * for the heap (stats.mapped); fordblks: the difference, memory the heap
 * holds that the program does not. The other fields have no jemalloc
 * counterpart and are 0. */
PS_EXPORT struct mallinfo2 mallinfo2(void)
{
    if (use_libc()) {
        static void *f;
        struct mallinfo2 (*libc_mallinfo2)(void) = (struct mallinfo2 (*)(void))libc_fn(&f, "mallinfo2");
        if (libc_mallinfo2)
            return libc_mallinfo2();
        struct mallinfo2 none = { 0 };
        return none;
    }
    int saved = errno;
    struct mallinfo2 mi = { 0 };
    mi.uordblks = je_stat("stats.allocated");
    mi.arena = je_stat("stats.mapped");
    mi.fordblks = mi.arena > mi.uordblks ? mi.arena - mi.uordblks : 0;
    errno = saved;
    return mi;
}

/* glibc's mallinfo: mallinfo2 truncated to int, as glibc does it. */
PS_EXPORT struct mallinfo mallinfo(void)
{
    if (use_libc())
        return __libc_mallinfo();
    struct mallinfo2 m2 = mallinfo2();
    struct mallinfo mi = { 0 };
    mi.arena = (int)m2.arena;
    mi.uordblks = (int)m2.uordblks;
    mi.fordblks = (int)m2.fordblks;
    return mi;
}

/* jemalloc: purge every arena's unused dirty pages back to the system, and
 * 1 when resident memory went down, as glibc answers "memory was released". */
PS_EXPORT int malloc_trim(size_t pad)
{
    if (use_libc()) {
        static void *f;
        int (*libc_trim)(size_t) = (int (*)(size_t))libc_fn(&f, "malloc_trim");
        return libc_trim ? libc_trim(pad) : 0;
    }
    int saved = errno;
    size_t before = je_stat("stats.resident");
    int r = mallctl("arena.4096.purge", NULL, NULL, NULL, 0);   /* 4096: MALLCTL_ARENAS_ALL */
    size_t after = je_stat("stats.resident");
    errno = saved;
    return r == 0 && after < before;
}

PS_EXPORT int mallopt(int param, int value)
{
    if (use_libc())
        return __libc_mallopt(param, value);
    return 1;
}
