/* dump_stall: what a dump costs the application's threads.
 * Starts --threads idle threads (waiting on a condvar, like a pool's idle
 * workers) and --probes threads that spin on CLOCK_MONOTONIC and record every
 * gap above 50 us: a gap is time the probe did not run (preempted, or in the
 * dump signal's handler). After a quiet baseline window the program asks
 * itself for --dumps dumps (kill(getpid(), SIGRTMIN+7), as `poolshim dump`
 * does), --gap-s apart, and reports per window the largest and the summed
 * probe gaps: the baseline window has the same length and shows what the
 * machine does anyway. One JSON line on stdout. Run it under the shim. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_GAPS 200000

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static atomic_int stop, ready;
static struct gap { double at, len; } gaps[MAX_GAPS];
static atomic_int ngaps;

static void *idle_thread(void *arg)
{
    pthread_mutex_lock(&m);
    atomic_fetch_add(&ready, 1);
    while (!atomic_load(&stop))
        pthread_cond_wait(&cv, &m);
    pthread_mutex_unlock(&m);
    return NULL;
}

static void *probe(void *arg)
{
    double last = now();
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        double t = now();
        if (t - last > 50e-6) {
            int i = atomic_fetch_add(&ngaps, 1);
            if (i < MAX_GAPS)
                gaps[i] = (struct gap){ last, t - last };
        }
        last = t;
    }
    return NULL;
}

static void sleep_until(double t)
{
    while (now() < t) {
        double d = t - now();
        struct timespec ts = { (time_t)d, (long)((d - (time_t)d) * 1e9) };
        nanosleep(&ts, NULL);            /* EINTR from a dump: loop */
    }
}

static void window(double from, double to, double *max, double *sum)
{
    *max = *sum = 0;
    int n = atomic_load(&ngaps) < MAX_GAPS ? atomic_load(&ngaps) : MAX_GAPS;
    for (int i = 0; i < n; i++)
        if (gaps[i].at >= from && gaps[i].at < to) {
            *sum += gaps[i].len;
            if (gaps[i].len > *max)
                *max = gaps[i].len;
        }
}

int main(int argc, char **argv)
{
    int threads = 10, probes = 2, dumps = 3;
    double gap_s = 1.2;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--threads")) threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--probes")) probes = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--dumps")) dumps = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--gap-s")) gap_s = atof(argv[i + 1]);
        else { fprintf(stderr, "unknown option %s\n", argv[i]); return 2; }
    }
    pthread_attr_t small;
    pthread_attr_init(&small);
    pthread_attr_setstacksize(&small, 128 * 1024);
    pthread_t *t = calloc((size_t)(threads + probes), sizeof *t);
    for (int i = 0; i < threads; i++)
        pthread_create(&t[i], &small, idle_thread, NULL);
    while (atomic_load(&ready) < threads)
        usleep(1000);
    usleep(500000);                      /* let the shim discover them all */
    for (int i = 0; i < probes; i++)
        pthread_create(&t[threads + i], NULL, probe, NULL);
    double t0 = now() + 0.3;             /* the probes are running by then */
    sleep_until(t0 + gap_s);             /* baseline window [t0, t0 + gap_s) */
    double *at = calloc((size_t)dumps, sizeof *at);
    for (int k = 0; k < dumps; k++) {
        at[k] = now();
        kill(getpid(), SIGRTMIN + 7);
        sleep_until(at[k] + gap_s);
    }
    atomic_store(&stop, 1);
    pthread_mutex_lock(&m);
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&m);
    for (int i = 0; i < threads + probes; i++)
        pthread_join(t[i], NULL);
    double bmax, bsum;
    window(t0, t0 + gap_s, &bmax, &bsum);
    printf("{\"threads\":%d,\"probes\":%d,\"window_s\":%.3f,\"baseline\":{\"max_gap_ms\":%.3f,\"sum_gap_ms\":%.3f},"
           "\"dumps\":[", threads, probes, gap_s, bmax * 1e3, bsum * 1e3);
    for (int k = 0; k < dumps; k++) {
        double mx, sm;
        window(at[k], at[k] + gap_s, &mx, &sm);
        printf("%s{\"max_gap_ms\":%.3f,\"sum_gap_ms\":%.3f}", k ? "," : "", mx * 1e3, sm * 1e3);
    }
    printf("]}\n");
    return 0;
}
