/* dlopen.c: dlopen / dlclose of a library whose code starts threads, 20 times
 * (the last 5 with RTLD_DEEPBIND, which makes the library bind to libc before
 * the preloaded shim). Usage: dlopen PATH/libdlthreads.so. Prints each run's sum. */
#include "torture.h"
#include <dlfcn.h>

int main(int argc, char **argv)
{
    if (argc < 2)
        DIE("usage: dlopen LIB");
    for (int i = 0; i < 20; i++) {
        int flags = RTLD_NOW | RTLD_LOCAL | (i >= 15 ? RTLD_DEEPBIND : 0);
        void *h = dlopen(argv[1], flags);
        if (!h)
            DIE("dlopen: %s", dlerror());
        long (*run)(int) = (long (*)(int))dlsym(h, "dl_run");
        if (!run)
            DIE("dlsym: %s", dlerror());
        printf("run %d: %ld\n", i, run(4));
        if (dlclose(h))
            DIE("dlclose: %s", dlerror());
    }
    return 0;
}
