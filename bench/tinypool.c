/* tinypool: a worst case for a wrapper's per-call cost: a classic pool (one
 * mutex-protected bounded ring, "not empty" and "not full" condvars, W workers)
 * running many tiny tasks (~1 µs of arithmetic each), so nearly all of the
 * run is lock, unlock, signal and wait. Prints the wall time and a checksum.
 *
 *   tinypool [--threads W] [--tasks N] [--work K]   (defaults 4, 100000, 300) */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RING 256
static pthread_mutex_t qm = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_empty = PTHREAD_COND_INITIALIZER, not_full = PTHREAD_COND_INITIALIZER;
static unsigned long ring[RING];
static long head, tail, closed;
static int work = 300;
static unsigned long sum;

static unsigned long run_task(unsigned long x)
{
    for (int i = 0; i < work; i++)
        x = x * 6364136223846793005ul + 1442695040888963407ul;
    return x;
}

void *tiny_worker(void *arg)
{
    unsigned long local = 0;
    for (;;) {
        pthread_mutex_lock(&qm);
        while (head == tail && !closed)
            pthread_cond_wait(&not_empty, &qm);
        if (head == tail) {
            pthread_mutex_unlock(&qm);
            break;
        }
        unsigned long x = ring[head++ % RING];
        pthread_cond_signal(&not_full);
        pthread_mutex_unlock(&qm);
        local += run_task(x);
    }
    pthread_mutex_lock(&qm);
    sum += local;
    pthread_mutex_unlock(&qm);
    return NULL;
}

int main(int argc, char **argv)
{
    int threads = 4;
    long tasks = 100000;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--threads")) threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--tasks")) tasks = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--work")) work = atoi(argv[i + 1]);
        else { fprintf(stderr, "tinypool: unknown option %s\n", argv[i]); return 2; }
    }
    if (threads < 1 || threads > 1024 || tasks < 0 || work < 0) {
        fprintf(stderr, "tinypool: bad arguments\n");
        return 2;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pthread_t th[1024];
    for (int i = 0; i < threads; i++)
        pthread_create(&th[i], NULL, tiny_worker, NULL);
    for (long i = 0; i < tasks; i++) {
        pthread_mutex_lock(&qm);
        while (tail - head == RING)
            pthread_cond_wait(&not_full, &qm);
        ring[tail++ % RING] = (unsigned long)i;
        pthread_cond_signal(&not_empty);
        pthread_mutex_unlock(&qm);
    }
    pthread_mutex_lock(&qm);
    closed = 1;
    pthread_cond_broadcast(&not_empty);
    pthread_mutex_unlock(&qm);
    for (int i = 0; i < threads; i++)
        pthread_join(th[i], NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("tinypool threads=%d tasks=%ld wall_s=%.6f checksum=%lu\n", threads, tasks,
           (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9, sum);
    return 0;
}
