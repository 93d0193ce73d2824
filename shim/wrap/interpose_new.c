/* interpose_new.c: C++'s operator new and delete, on the shim's malloc.
 *
 * Why: libjemalloc.so.2, which the shim links, exports its own operator new
 * and delete, and unversioned definitions answer a program's
 * `_Znwm@GLIBCXX_3.4` references too. When libstdc++ is not among the
 * program's own dependencies (a C++ library it links indirectly, or loads
 * with dlopen: perf's libopencsd), jemalloc's come first in the lookup: its
 * new allocates from jemalloc's heap while its delete calls free, the shim's,
 * which in the default mode is glibc's: "free(): invalid pointer", the
 * program aborted (`LD_PRELOAD=libpoolshim.so perf --version`). Every
 * operator jemalloc exports is therefore the shim's own, on the shim's malloc
 * family (interpose_malloc.c), so new and delete always meet the same heap,
 * whichever POOLSHIM_MALLOC serves. A program that defines its own operators
 * keeps them (the executable comes first in the lookup).
 *
 * Only success is handled here: when the allocation fails, the C++ rules
 * (call the new-handler and retry, else throw std::bad_alloc; the nothrow
 * forms return NULL) are libstdc++'s own operator's, called in our place;
 * the shim is built with -fexceptions, so its exception unwinds through this
 * frame. Without libstdc++ in the process nothing can throw: a failed
 * throwing new aborts, as an uncaught bad_alloc would. */
#include "export.h"
#include <dlfcn.h>
#include <stdlib.h>

/* libstdc++'s own definition of name (not the first in the global lookup,
 * which is ours or jemalloc's), or NULL. Failure paths only. */
static void *libstdcxx(const char *name)
{
    void *h = dlopen("libstdc++.so.6", RTLD_LAZY | RTLD_NOLOAD);
    void *f = h ? dlsym(h, name) : NULL;
    if (h)
        dlclose(h);
    return f;
}

typedef void *(*new_fn)(size_t);
typedef void *(*new_al_fn)(size_t, size_t);

static __attribute__((noinline, cold)) void *failed(const char *name, size_t n)
{
    new_fn f = (new_fn)libstdcxx(name);
    if (f)
        return f(n);
    abort();
}

static __attribute__((noinline, cold)) void *failed_nothrow(const char *name, size_t n, const void *nt)
{
    void *(*f)(size_t, const void *) = (void *(*)(size_t, const void *))libstdcxx(name);
    return f ? f(n, nt) : NULL;
}

static __attribute__((noinline, cold)) void *failed_aligned(const char *name, size_t n, size_t al)
{
    new_al_fn f = (new_al_fn)libstdcxx(name);
    if (f)
        return f(n, al);
    abort();
}

static __attribute__((noinline, cold)) void *failed_aligned_nothrow(const char *name, size_t n, size_t al,
                                                                   const void *nt)
{
    void *(*f)(size_t, size_t, const void *) = (void *(*)(size_t, size_t, const void *))libstdcxx(name);
    return f ? f(n, al, nt) : NULL;
}

/* operator new(size_t) never returns NULL and gives a distinct pointer for 0 */
static inline void *get(size_t n)
{
    return malloc(n ? n : 1);
}

/* libstdc++'s aligned new: aligned_alloc with the size rounded up to the alignment */
static inline void *get_aligned(size_t n, size_t al)
{
    if (!n)
        n = 1;
    size_t up = (n + al - 1) & ~(al - 1);
    return up >= n ? aligned_alloc(al, up) : NULL;
}

PS_EXPORT void *_Znwm(size_t n)
{
    void *p = get(n);
    return p ? p : failed("_Znwm", n);
}

PS_EXPORT void *_Znam(size_t n)
{
    void *p = get(n);
    return p ? p : failed("_Znam", n);
}

PS_EXPORT void *_ZnwmRKSt9nothrow_t(size_t n, const void *nt)
{
    void *p = get(n);
    return p ? p : failed_nothrow("_ZnwmRKSt9nothrow_t", n, nt);
}

PS_EXPORT void *_ZnamRKSt9nothrow_t(size_t n, const void *nt)
{
    void *p = get(n);
    return p ? p : failed_nothrow("_ZnamRKSt9nothrow_t", n, nt);
}

PS_EXPORT void *_ZnwmSt11align_val_t(size_t n, size_t al)
{
    void *p = get_aligned(n, al);
    return p ? p : failed_aligned("_ZnwmSt11align_val_t", n, al);
}

PS_EXPORT void *_ZnamSt11align_val_t(size_t n, size_t al)
{
    void *p = get_aligned(n, al);
    return p ? p : failed_aligned("_ZnamSt11align_val_t", n, al);
}

PS_EXPORT void *_ZnwmSt11align_val_tRKSt9nothrow_t(size_t n, size_t al, const void *nt)
{
    void *p = get_aligned(n, al);
    return p ? p : failed_aligned_nothrow("_ZnwmSt11align_val_tRKSt9nothrow_t", n, al, nt);
}

PS_EXPORT void *_ZnamSt11align_val_tRKSt9nothrow_t(size_t n, size_t al, const void *nt)
{
    void *p = get_aligned(n, al);
    return p ? p : failed_aligned_nothrow("_ZnamSt11align_val_tRKSt9nothrow_t", n, al, nt);
}

/* Every delete, sized or aligned or not, is free: both heaps free an aligned
 * block with it, and the size is only a hint. */
PS_EXPORT void _ZdlPv(void *p) { free(p); }
PS_EXPORT void _ZdaPv(void *p) { free(p); }
PS_EXPORT void _ZdlPvm(void *p, size_t n) { (void)n; free(p); }
PS_EXPORT void _ZdaPvm(void *p, size_t n) { (void)n; free(p); }
PS_EXPORT void _ZdlPvRKSt9nothrow_t(void *p, const void *nt) { (void)nt; free(p); }
PS_EXPORT void _ZdaPvRKSt9nothrow_t(void *p, const void *nt) { (void)nt; free(p); }
PS_EXPORT void _ZdlPvSt11align_val_t(void *p, size_t al) { (void)al; free(p); }
PS_EXPORT void _ZdaPvSt11align_val_t(void *p, size_t al) { (void)al; free(p); }
PS_EXPORT void _ZdlPvmSt11align_val_t(void *p, size_t n, size_t al) { (void)n; (void)al; free(p); }
PS_EXPORT void _ZdaPvmSt11align_val_t(void *p, size_t n, size_t al) { (void)n; (void)al; free(p); }
PS_EXPORT void _ZdlPvSt11align_val_tRKSt9nothrow_t(void *p, size_t al, const void *nt)
{
    (void)al;
    (void)nt;
    free(p);
}
PS_EXPORT void _ZdaPvSt11align_val_tRKSt9nothrow_t(void *p, size_t al, const void *nt)
{
    (void)al;
    (void)nt;
    free(p);
}
