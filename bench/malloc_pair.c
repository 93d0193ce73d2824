/* malloc_pair: the cost of one malloc + free pair, in ns, for the allocator the
 * process ends up with (glibc alone, or under the shim: glibc with heap
 * sampling by default, or POOLSHIM_MALLOC=jemalloc). 64 live blocks of 16..1039 bytes at a
 * time, 12.8 million pairs; prints one JSON line. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(void)
{
    void *p[64];
    size_t total = 0;
    double t0 = now();
    for (int k = 0; k < 200000; k++) {
        for (int i = 0; i < 64; i++) {
            size_t n = 16 + (size_t)((k * 7 + i * 13) % 1024);
            p[i] = malloc(n);
            total += n;
        }
        for (int i = 0; i < 64; i++)
            free(p[i]);
    }
    double dt = now() - t0;
    printf("{\"ns_per_pair\":%.1f,\"bytes\":%zu}\n", dt / (200000.0 * 64) * 1e9, total);
    return 0;
}
