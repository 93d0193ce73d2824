/* yield_lock: sysbench threads' loop, lock / sched_yield / unlock, timed
 * inside the process: what the shim's mutex pair costs right after a system
 * call, which is three to five times what percall's warm loop shows (bench/README.md,
 * "The mutex pair after a system call").
 *   yield_lock [--mark] N     prints ns per iteration
 * Two threads, each on its own mutex (SOLO=1 in the environment: one thread,
 * far less noise on a shared machine). --mark contends each mutex once first
 * (a helper holds both while the main thread waits on each), so that under
 * the shim they are hot and take the marked path. */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t mu[2] = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER };
static long iterations;

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

static void *walker(void *arg)
{
    pthread_mutex_t *m = &mu[(long)arg];
    for (long i = 0; i < iterations; i++) {
        pthread_mutex_lock(m);
        sched_yield();
        pthread_mutex_unlock(m);
    }
    return NULL;
}

static void *holder(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&mu[0]);
    pthread_mutex_lock(&mu[1]);
    usleep(20000);                       /* the main thread blocks on mu[0] meanwhile */
    pthread_mutex_unlock(&mu[0]);
    pthread_mutex_unlock(&mu[1]);
    return NULL;
}

int main(int argc, char **argv)
{
    int mark = argc > 2 && !strcmp(argv[1], "--mark");
    iterations = argc > 1 ? atol(argv[argc - 1]) : 0;
    if (iterations <= 0) {
        fprintf(stderr, "usage: yield_lock [--mark] N\n");
        return 2;
    }
    int nthreads = getenv("SOLO") ? 1 : 2;
    if (mark) {
        pthread_t h;
        pthread_create(&h, NULL, holder, NULL);
        usleep(5000);
        for (int i = 0; i < 2; i++) {
            pthread_mutex_lock(&mu[i]);
            pthread_mutex_unlock(&mu[i]);
        }
        pthread_join(h, NULL);
    }
    pthread_t t[2];
    double t0 = now_ns();
    for (long i = 0; i < nthreads; i++)
        pthread_create(&t[i], NULL, walker, (void *)i);
    for (int i = 0; i < nthreads; i++)
        pthread_join(t[i], NULL);
    printf("%.1f\n", (now_ns() - t0) / iterations);
    return 0;
}
