/* interpose_malloc.c: makes jemalloc the process allocator under a plain
 * LD_PRELOAD=libpoolshim.so, so a dump can show where the memory went (heap
 * profile with allocation stacks). Linking libjemalloc.so.2 is not enough: libc
 * comes first in the global scope and its malloc would win. So the shim
 * exports the whole malloc family and forwards to jemalloc's non-standard API
 * (mallocx, rallocx, dallocx, sallocx), whose names are unique: no dlsym
 * bootstrap, no recursion. The family must be complete (reallocarray, pvalloc
 * and malloc_usable_size included): a pointer from glibc's heap freed into
 * jemalloc would crash. Semantics follow glibc's, which the host was built for:
 * malloc(0) and realloc(NULL, n) allocate, realloc(p, 0) frees and returns NULL,
 * failures set ENOMEM, free keeps errno, memalign rounds an alignment up to a
 * power of two. Any thread, any time, including before our constructor.
 *
 * Profiling: jemalloc reads malloc_conf at its first allocation, which happens
 * before our constructor and before POOLSHIM_* is parsed, so the string is a
 * constant: profiling compiled in and inactive (prof:true, prof_active:false
 * costs nothing per allocation). alloc.c then switches it on from the
 * constructor with the configured sample rate (prof.reset + prof.active), or
 * leaves it off for POOLSHIM_ALLOC_SAMPLE=-1. MALLOC_CONF set by the user is
 * applied by jemalloc after this string and wins.
 *
 * The escape hatch: POOLSHIM_MALLOC=libc forwards the family to glibc's own
 * allocator (__libc_malloc and friends) instead, for programs where a second
 * allocator is unsafe (libraries loaded with RTLD_DEEPBIND allocate from libc
 * directly and may free through us). The choice must be made at the first
 * allocation, before config.c has parsed anything, so it is read here from
 * the raw environment, once; config.c only validates the value.
 *
 * Fork: jemalloc's constructor (it runs before ours: libjemalloc is our
 * dependency) initialises it and registers its pthread_atfork handlers before
 * ours, so in a child its locks are released before our child handler starts
 * the agent thread (which allocates). */
#include "export.h"
#include <dlfcn.h>
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

void *mallocx(size_t size, int flags);
void *rallocx(void *ptr, size_t size, int flags);
void dallocx(void *ptr, int flags);
size_t sallocx(const void *ptr, int flags);

#define PS_MALLOCX_ALIGN(a) ((int)__builtin_ctzl(a))
#define PS_MALLOCX_ZERO 0x40
#define PS_MIN_ALIGN 16

PS_EXPORT const char *malloc_conf = "prof:true,prof_active:false,prof_accum:false";

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

/* The first allocation through us (libstdc++'s constructor, usually, before
 * any code of the program runs) also initialises jemalloc, which with
 * prof:true leaves errno at ERANGE: the program must find errno as it was. */
static __attribute__((noinline)) int decide(void)
{
    extern char **environ;
    int saved = errno;
    void *p = mallocx(1, 0);
    if (p)
        dallocx(p, 0);
    errno = saved;
    int m = JEMALLOC;
    for (char **e = environ; e && *e; e++)
        if (!strncmp(*e, "POOLSHIM_MALLOC=", 16)) {
            m = strcmp(*e + 16, "libc") ? JEMALLOC : LIBC;
            break;
        }
    __atomic_store_n(&mode, m, __ATOMIC_RELAXED);
    return m;
}

static inline int use_libc(void)
{
    int m = __atomic_load_n(&mode, __ATOMIC_RELAXED);
    if (__builtin_expect(m == JEMALLOC, 1))
        return 0;
    return (m ? m : decide()) == LIBC;
}

static inline void *nomem(void)
{
    errno = ENOMEM;
    return NULL;
}

PS_EXPORT void *malloc(size_t n)
{
    if (use_libc())
        return __libc_malloc(n);
    void *(*fast)(size_t) = __atomic_load_n(&je_malloc, __ATOMIC_ACQUIRE);
    if (__builtin_expect(fast != NULL, 1))
        return fast(n);               /* sets ENOMEM itself; malloc(0) allocates */
    void *p = mallocx(n ? n : 1, 0);
    return p ? p : nomem();
}

PS_EXPORT void free(void *p)
{
    if (use_libc()) {
        __libc_free(p);
    } else if (p) {
        int saved = errno;
        void (*fast)(void *) = __atomic_load_n(&je_free, __ATOMIC_ACQUIRE);
        if (__builtin_expect(fast != NULL, 1))
            fast(p);
        else
            dallocx(p, 0);
        errno = saved;
    }
}

PS_EXPORT void *calloc(size_t nmemb, size_t size)
{
    if (use_libc())
        return __libc_calloc(nmemb, size);
    size_t n;
    if (__builtin_mul_overflow(nmemb, size, &n))
        return nomem();
    void *p = mallocx(n ? n : 1, PS_MALLOCX_ZERO);
    return p ? p : nomem();
}

PS_EXPORT void *realloc(void *p, size_t n)
{
    if (use_libc())
        return __libc_realloc(p, n);
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
    void *p = use_libc() ? __libc_memalign(align, n) : mallocx(n ? n : 1, PS_MALLOCX_ALIGN(align));
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

PS_EXPORT size_t malloc_usable_size(void *p)
{
    if (use_libc()) {
        static size_t (*libc_usable)(void *);
        if (!libc_usable)
            libc_usable = (size_t (*)(void *))dlsym(RTLD_NEXT, "malloc_usable_size");
        return p && libc_usable ? libc_usable(p) : 0;
    }
    return p ? sallocx(p, 0) : 0;
}
