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
 * applied by jemalloc after this string and wins. */
#include "export.h"
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

void *mallocx(size_t size, int flags);
void *rallocx(void *ptr, size_t size, int flags);
void dallocx(void *ptr, int flags);
size_t sallocx(const void *ptr, int flags);

#define PS_MALLOCX_ALIGN(a) ((int)__builtin_ctzl(a))
#define PS_MALLOCX_ZERO 0x40
#define PS_MIN_ALIGN 16

PS_EXPORT const char *malloc_conf = "prof:true,prof_active:false,prof_accum:false";

/* jemalloc initialises itself at its first allocation and, with prof:true,
 * leaves errno at ERANGE behind (seen at main() of every program). A
 * successful allocation must not change the host's errno, so the allocations
 * made until jemalloc is up keep errno; after that, one predictable branch. */
static int jemalloc_up;

static __attribute__((noinline)) void *first_mallocx(size_t n, int flags)
{
    int saved = errno;
    void *p = mallocx(n, flags);
    errno = saved;
    if (p)
        __atomic_store_n(&jemalloc_up, 1, __ATOMIC_RELEASE);
    return p;
}

static inline void *ps_mallocx(size_t n, int flags)
{
    if (__builtin_expect(!__atomic_load_n(&jemalloc_up, __ATOMIC_RELAXED), 0))
        return first_mallocx(n, flags);
    return mallocx(n, flags);
}

static inline void *nomem(void)
{
    errno = ENOMEM;
    return NULL;
}

PS_EXPORT void *malloc(size_t n)
{
    void *p = ps_mallocx(n ? n : 1, 0);
    return p ? p : nomem();
}

PS_EXPORT void free(void *p)
{
    if (p) {
        int saved = errno;
        dallocx(p, 0);
        errno = saved;
    }
}

PS_EXPORT void *calloc(size_t nmemb, size_t size)
{
    size_t n;
    if (__builtin_mul_overflow(nmemb, size, &n))
        return nomem();
    void *p = ps_mallocx(n ? n : 1, PS_MALLOCX_ZERO);
    return p ? p : nomem();
}

PS_EXPORT void *realloc(void *p, size_t n)
{
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
    void *p = ps_mallocx(n ? n : 1, PS_MALLOCX_ALIGN(align));
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
    return p ? sallocx(p, 0) : 0;
}
