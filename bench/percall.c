/* percall: the cost of one wrapped call, timed inside the process.
 * Each measure is a loop of N calls between two CLOCK_MONOTONIC reads, repeated
 * for several rounds; every round prints one line "measure ns_per_op" on stdout
 * so scripts/bench.sh can pool rounds of many runs (with and without the shim,
 * interleaved) and take medians. The same binary runs both ways: the wrappers
 * are reached through the PLT exactly as in any unmodified program.
 *
 *   percall [--rounds R] [--scale F] [--count] [measure ...]   (default: every measure)
 * --count adds a line "calls measure N": iterations of loop_<measure> in all
 * (warm-up included), to divide a callgrind count by.
 *
 * Measures (ns per operation):
 *   mutex        uncontended pthread_mutex_lock + unlock pair
 *   hotmutex     the same on a mutex that was contended once before
 *   sem          uncontended sem_post + sem_wait pair
 *   read         read(fd, buf, 1) from /dev/zero (a blocking-call wrapper)
 *   condvar      ping-pong between two threads, per round trip
 *                (two signals, two waits, four lock pairs)
 *   contended    two threads locking one mutex around a tiny critical
 *                section, per lock pair (for information: the slow path)
 * The loops live in noinline functions named loop_<measure> so callgrind can
 * count instructions per iteration (--toggle-collect=loop_<measure>).
 *
 * The process is made multi-threaded first (one thread parked on a pipe) in
 * both variants: glibc skips the cancellation bookkeeping of read() (two
 * atomic operations) while a process has one thread, and under the shim it
 * always has two (the agent). Any program with a pool is multi-threaded, so
 * that is the fair baseline. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;

__attribute__((noinline)) void loop_mutex(long n)
{
    for (long i = 0; i < n; i++) {
        pthread_mutex_lock(&m);
        __asm__ volatile("" ::: "memory");
        pthread_mutex_unlock(&m);
    }
}

/* A mutex that was contended once (hot_setup), then locked by one thread
 * only: the shim keeps counting its acquisitions, owner site and sampled
 * hold time for the rest of the run (issue 13: a lock once contended must
 * stay cheap). Without the shim it is just another uncontended mutex. */
static pthread_mutex_t hm = PTHREAD_MUTEX_INITIALIZER;
static volatile int hm_held;

static void *hot_holder(void *arg)
{
    pthread_mutex_lock(&hm);
    hm_held = 1;
    struct timespec ts = { 0, 20 * 1000 * 1000 };
    nanosleep(&ts, NULL);
    pthread_mutex_unlock(&hm);
    return NULL;
}

static void hot_setup(void)
{
    pthread_t th;
    if (pthread_create(&th, NULL, hot_holder, NULL) != 0)
        abort();
    while (!hm_held) {
        struct timespec ts = { 0, 100 * 1000 };
        nanosleep(&ts, NULL);
    }
    pthread_mutex_lock(&hm);                 /* blocks: its first contention */
    pthread_mutex_unlock(&hm);
    pthread_join(th, NULL);
}

__attribute__((noinline)) void loop_hotmutex(long n)
{
    for (long i = 0; i < n; i++) {
        pthread_mutex_lock(&hm);
        __asm__ volatile("" ::: "memory");
        pthread_mutex_unlock(&hm);
    }
}

static sem_t sem;

__attribute__((noinline)) void loop_sem(long n)
{
    for (long i = 0; i < n; i++) {
        sem_post(&sem);
        while (sem_wait(&sem) != 0 && errno == EINTR)
            ;
    }
}

static int zero_fd = -1;

__attribute__((noinline)) void loop_read(long n)
{
    char c;
    for (long i = 0; i < n; i++)
        if (read(zero_fd, &c, 1) != 1)
            abort();
}

/* condvar ping-pong: turn says who may go; each side waits for its turn. */
static pthread_mutex_t pm = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pc = PTHREAD_COND_INITIALIZER;
static long turn;           /* even: main's turn, odd: partner's */
static long pp_limit;

static void *pong(void *arg)
{
    for (;;) {
        pthread_mutex_lock(&pm);
        while (!(turn & 1) && turn < pp_limit)
            pthread_cond_wait(&pc, &pm);
        if (turn >= pp_limit) {
            pthread_mutex_unlock(&pm);
            return NULL;
        }
        turn++;
        pthread_cond_signal(&pc);
        pthread_mutex_unlock(&pm);
    }
}

/* n round trips, continuing from the current turn. */
__attribute__((noinline)) void loop_condvar(long n)
{
    pthread_mutex_lock(&pm);
    long end = turn + 2 * n;
    while (turn < end) {
        turn++;                              /* hand over to pong */
        pthread_cond_signal(&pc);
        while (turn & 1)
            pthread_cond_wait(&pc, &pm);
    }
    pthread_mutex_unlock(&pm);
}

static pthread_mutex_t cm = PTHREAD_MUTEX_INITIALIZER;
static volatile long shared_counter;
static long cont_n;
static pthread_barrier_t cont_bar;

static void cont_body(long n)
{
    for (long i = 0; i < n; i++) {
        pthread_mutex_lock(&cm);
        shared_counter++;
        pthread_mutex_unlock(&cm);
    }
}

static void *cont_thread(void *arg)
{
    pthread_barrier_wait(&cont_bar);
    cont_body(cont_n);
    return NULL;
}

__attribute__((noinline)) void loop_contended(long n)
{
    cont_body(n);
}

typedef void (*loop_fn)(long);
struct measure { const char *name; loop_fn fn; long n; long calls; };

static struct measure measures[] = {
    /* ~2-5 ms a round: short enough that many rounds run without being
     * preempted on a loaded machine, long enough for a clock read to vanish */
    { "mutex", loop_mutex, 300000 },
    { "hotmutex", loop_hotmutex, 300000 },
    { "sem", loop_sem, 300000 },
    { "read", loop_read, 10000 },
    { "condvar", loop_condvar, 300 },
    { "contended", loop_contended, 50000 },
};
#define NMEASURES (sizeof measures / sizeof measures[0])

static double run_round(struct measure *ms, long n)
{
    if (ms->fn == loop_contended) {
        /* Two threads, n pairs each; the time is for 2n pairs. */
        pthread_t th;
        cont_n = n;
        pthread_barrier_init(&cont_bar, NULL, 2);
        pthread_create(&th, NULL, cont_thread, NULL);
        pthread_barrier_wait(&cont_bar);
        double t0 = now_ns();
        ms->fn(n);
        pthread_join(th, NULL);
        double t1 = now_ns();
        pthread_barrier_destroy(&cont_bar);
        ms->calls += n;
        return (t1 - t0) / (2.0 * n);
    }
    double t0 = now_ns();
    ms->fn(n);
    ms->calls += n;
    return (now_ns() - t0) / n;
}

static int park_pipe[2];

static void *parked(void *arg)
{
    char c;
    while (read(park_pipe[0], &c, 1) < 0 && errno == EINTR)
        ;
    return NULL;
}

int main(int argc, char **argv)
{
    int rounds = 15, count = 0;
    double scale = 1.0;
    int chosen[NMEASURES] = { 0 }, any = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
            rounds = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--scale") && i + 1 < argc)
            scale = atof(argv[++i]);
        else if (!strcmp(argv[i], "--count"))
            count = 1;
        else {
            size_t k;
            for (k = 0; k < NMEASURES && strcmp(argv[i], measures[k].name); k++)
                ;
            if (k == NMEASURES) {
                fprintf(stderr, "percall: unknown measure or option '%s'\n", argv[i]);
                return 2;
            }
            chosen[k] = any = 1;
        }
    }
    if (rounds < 1 || scale <= 0) {
        fprintf(stderr, "percall: --rounds must be >= 1 and --scale > 0\n");
        return 2;
    }
    if (sem_init(&sem, 0, 0) != 0 || (zero_fd = open("/dev/zero", O_RDONLY)) < 0) {
        perror("percall: setup");
        return 1;
    }
    pthread_t park_th, pong_th;
    int pong_started = 0;
    if (pipe(park_pipe) != 0 || pthread_create(&park_th, NULL, parked, NULL) != 0) {
        perror("percall: parked thread");
        return 1;
    }
    for (size_t k = 0; k < NMEASURES; k++) {
        if (any && !chosen[k])
            continue;
        struct measure *ms = &measures[k];
        long n = (long)(ms->n * scale);
        if (n < 1)
            n = 1;
        if (ms->fn == loop_hotmutex)
            hot_setup();
        if (ms->fn == loop_condvar && !pong_started) {
            pp_limit = 2 * n * (rounds + 1);
            pthread_create(&pong_th, NULL, pong, NULL);
            pong_started = 1;
        }
        long warm = n / 10 + 1 < n ? n / 10 + 1 : n;
        ms->fn(warm);                        /* warm up: pages, lazy binding, first contention */
        ms->calls += warm;
        for (int r = 0; r < rounds; r++) {
            double ns = run_round(ms, n);
            printf("%s %.2f\n", ms->name, ns);
            fflush(stdout);
        }
        if (ms->fn == loop_condvar) {
            pthread_mutex_lock(&pm);
            turn = pp_limit;
            pthread_cond_broadcast(&pc);
            pthread_mutex_unlock(&pm);
            pthread_join(pong_th, NULL);
        }
        if (count)
            printf("calls %s %ld\n", ms->name, ms->calls);
    }
    close(park_pipe[1]);
    pthread_join(park_th, NULL);
    return 0;
}
