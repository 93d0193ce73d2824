/* real.c: resolution of the real libc functions behind our wrappers.
 * Runs from the constructor, or earlier from the first wrapper that needs it
 * (libraries loaded before us call in from their constructors). dlsym/dlvsym on
 * glibc 2.36 do not allocate, so this cannot recurse into an interposed malloc. */
#include "real.h"
#include <dlfcn.h>

#define PS_REAL_DEF(name, ver) __typeof__(name) *ps_real_##name;
PS_REAL_LIST(PS_REAL_DEF)
#undef PS_REAL_DEF

static void *lookup(const char *name, const char *ver)
{
    void *p = ver ? dlvsym(RTLD_NEXT, name, ver) : NULL;
    return p ? p : dlsym(RTLD_NEXT, name);
}

void ps_real_init(void)
{
    static int done;
    if (__atomic_load_n(&done, __ATOMIC_ACQUIRE))
        return;
    /* Racing threads resolve the same values; stores are idempotent. */
#define PS_REAL_SET(name, ver) \
    if (!ps_real_##name) __atomic_store_n(&ps_real_##name, (__typeof__(name) *)lookup(#name, ver), __ATOMIC_RELEASE);
    PS_REAL_LIST(PS_REAL_SET)
#undef PS_REAL_SET
    __atomic_store_n(&done, 1, __ATOMIC_RELEASE);
}
