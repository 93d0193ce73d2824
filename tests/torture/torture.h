/* torture.h: small helpers shared by the torture fixtures (tests/torture/).
 * Each fixture is a plain program the torture script runs with and without the
 * shim; it prints only deterministic lines on stdout (so the two runs can be
 * compared byte for byte) and checks its own invariants, exiting non-zero with
 * a message on stderr when one fails. Nothing here knows about the shim. */
#ifndef TORTURE_H
#define TORTURE_H
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

#define DIE(...) do { fprintf(stderr, "FAIL: " __VA_ARGS__); fputc('\n', stderr); exit(3); } while (0)

static inline void spin_ms(int ms)
{
    struct timespec a, b;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
    do clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
    while ((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000 < ms);
}

static inline void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) && errno == EINTR)
        ;
}

static inline int gettid_(void) { return (int)syscall(SYS_gettid); }

/* Waits (up to 10 s) until thread tid is asleep in the kernel: state S or D in
 * /proc/self/task/TID/stat. Returns 0, or -1 on timeout. */
static inline int wait_blocked(int tid)
{
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", tid);
    for (int i = 0; i < 10000; i++) {
        FILE *f = fopen(path, "r");
        if (f) {
            size_t n = fread(buf, 1, sizeof buf - 1, f);
            fclose(f);
            buf[n] = 0;
            char *p = strrchr(buf, ')');
            if (p && (p[2] == 'S' || p[2] == 'D'))
                return 0;
        }
        usleep(1000);
    }
    return -1;
}
#endif
