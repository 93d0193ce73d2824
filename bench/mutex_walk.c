/* mutex_walk: two threads walk 64 mutexes from opposite offsets (thread 0
 * upwards from 0, thread 1 downwards from 32), locking and unlocking each in
 * turn around a tiny critical section, so that they meet now and then: mild
 * contention spread over many locks, the case where a lock once contended
 * stays marked (issue 13). Before the timed walk every lock is contended
 * once (a helper holds them all and lets them go one by one while the main
 * thread waits on each), so the walk measures locks that were once contended
 * whatever the machine's load (on a loaded machine the walkers seldom run at
 * the same time and would mark few locks themselves); --no-mark skips that.
 * Prints {"ns_per_pair": per lock+unlock pair per thread, "pairs": per
 * thread}. Usage: mutex_walk [--no-mark] [PAIRS_PER_THREAD]. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NLOCKS 64
static struct { pthread_mutex_t m; long v; char pad[64 - sizeof(pthread_mutex_t) % 64]; } locks[NLOCKS];
static long pairs = 4000000;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static void *walk(void *arg)
{
    long dir = arg ? -1 : 1;
    unsigned k = arg ? NLOCKS / 2 : 0;
    for (long i = 0; i < pairs; i++) {
        pthread_mutex_lock(&locks[k].m);
        locks[k].v++;
        pthread_mutex_unlock(&locks[k].m);
        k = (k + (unsigned)dir) & (NLOCKS - 1);
    }
    return NULL;
}

static volatile int all_held;

static void *hold_all(void *arg)
{
    for (int i = 0; i < NLOCKS; i++)
        pthread_mutex_lock(&locks[i].m);
    all_held = 1;
    usleep(5000);
    for (int i = 0; i < NLOCKS; i++) {
        pthread_mutex_unlock(&locks[i].m);
        usleep(200);                 /* the main thread is waiting on the next one */
    }
    return NULL;
}

/* Each lock's first contention: the main thread waits on every lock the helper holds. */
static void mark_all(void)
{
    pthread_t h;
    pthread_create(&h, NULL, hold_all, NULL);
    while (!all_held)
        usleep(100);
    for (int i = 0; i < NLOCKS; i++) {
        pthread_mutex_lock(&locks[i].m);
        pthread_mutex_unlock(&locks[i].m);
    }
    pthread_join(h, NULL);
}

int main(int argc, char **argv)
{
    int mark = 1;
    for (int a = 1; a < argc; a++) {
        if (!strcmp(argv[a], "--no-mark"))
            mark = 0;
        else
            pairs = atol(argv[a]);
    }
    for (int i = 0; i < NLOCKS; i++)
        pthread_mutex_init(&locks[i].m, NULL);
    if (mark)
        mark_all();
    pthread_t t[2];
    double t0 = now();
    pthread_create(&t[0], NULL, walk, NULL);
    pthread_create(&t[1], NULL, walk, (void *)1);
    pthread_join(t[0], NULL);
    pthread_join(t[1], NULL);
    double dt = now() - t0;
    long sum = 0;
    for (int i = 0; i < NLOCKS; i++)
        sum += locks[i].v;
    printf("{\"ns_per_pair\":%.1f,\"pairs\":%ld,\"ok\":%s}\n", dt / pairs * 1e9, pairs, sum == 2 * pairs ? "true" : "false");
    return sum == 2 * pairs ? 0 : 1;
}
