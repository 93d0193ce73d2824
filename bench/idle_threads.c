/* idle_threads: what the shim's agent costs per live thread (issue 13).
 * Starts N threads that block in one wait each (a pool's idle workers on a
 * condvar, or sleepers in nanosleep), waits until all are blocked and the
 * agent has read each once (1 s + 0.5 ms per thread), then
 * measures for S seconds: the agent thread's on-CPU time (its schedstat, the
 * thread named "poolshim"; absent without the shim) and the whole process's
 * CPU (getrusage), and prints one JSON line:
 *   {"threads":N,"seconds":S,"agent_ms":...,"agent_pct":...,"process_ms":...,
 *    "agent_ticks":...,"agent_us_per_thread_tick":...}
 * agent_pct is the agent's CPU as a percentage of one core; agent_ticks its
 * voluntary context switches (it sleeps once between ticks), so the last
 * figure is its CPU per live thread per tick. The threads have small stacks
 * (64 KiB) so 8,000 of them fit anywhere.
 * Usage: idle_threads [--wait cond|sleep] [--seconds S] N */
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int started, stop, use_sleep;

static void *worker(void *arg)
{
    pthread_mutex_lock(&mu);
    started++;
    if (use_sleep) {
        pthread_mutex_unlock(&mu);
        while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
            struct timespec ts = { 3600, 0 };
            nanosleep(&ts, NULL);            /* interrupted at exit only */
        }
        return NULL;
    }
    while (!stop)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    return NULL;
}

/* The agent's on-CPU ns (schedstat) and voluntary context switches (one
 * per tick: it sleeps between ticks, and blocks nowhere else while idle
 * threads are all it samples), or -1 when there is no such thread. */
static double agent_cpu_ns(double *runs)
{
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return -1;
    struct dirent *e;
    double v = -1;
    char path[300], buf[64];
    while ((e = readdir(d)) && v < 0) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        int is = fgets(buf, sizeof buf, f) && !strcmp(buf, "poolshim\n");
        fclose(f);
        if (!is)
            continue;
        snprintf(path, sizeof path, "/proc/self/task/%s/schedstat", e->d_name);
        if ((f = fopen(path, "r"))) {
            if (fscanf(f, "%lf", &v) != 1)
                v = -1;
            fclose(f);
        }
        snprintf(path, sizeof path, "/proc/self/task/%s/status", e->d_name);
        if ((f = fopen(path, "r"))) {
            char line[128];
            while (fgets(line, sizeof line, f))
                if (!strncmp(line, "voluntary_ctxt_switches:", 24))
                    *runs = atof(line + 24);
            fclose(f);
        }
    }
    closedir(d);
    return v;
}

static double process_cpu_ms(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-3;
}

int main(int argc, char **argv)
{
    int n = -1;
    double seconds = 5;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--wait") && i + 1 < argc)
            use_sleep = !strcmp(argv[++i], "sleep");
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
            seconds = atof(argv[++i]);
        else
            n = atoi(argv[i]);
    }
    if (n < 0 || seconds <= 0) {
        fprintf(stderr, "usage: idle_threads [--wait cond|sleep] [--seconds S] N\n");
        return 2;
    }
    pthread_t *th = calloc((size_t)n + 1, sizeof *th);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    for (int i = 0; i < n; i++)
        if (pthread_create(&th[i], &attr, worker, NULL)) {
            fprintf(stderr, "idle_threads: cannot start thread %d\n", i);
            return 1;
        }
    for (;;) {                                   /* all started and (nearly) blocked */
        pthread_mutex_lock(&mu);
        int s = started;
        pthread_mutex_unlock(&mu);
        if (s == n)
            break;
        usleep(10000);
    }
    /* Let the agent see them all: its first reading of a thread is a full
     * one, and an expensive tick stretches the next interval (agent.c). */
    usleep((useconds_t)(1e6 + n * 500.0));
    double r0 = 0, r1 = 0;
    double a0 = agent_cpu_ns(&r0), p0 = process_cpu_ms();
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    usleep((useconds_t)(seconds * 1e6));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double a1 = agent_cpu_ns(&r1), p1 = process_cpu_ms();
    double dt = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9;
    double agent_ms = a0 >= 0 && a1 >= 0 ? (a1 - a0) * 1e-6 : -1;
    double ticks = r1 - r0;
    printf("{\"threads\":%d,\"seconds\":%.3f,\"agent_ms\":%.3f,\"agent_pct\":%.4f,\"process_ms\":%.3f,"
           "\"agent_ticks\":%.0f,\"agent_us_per_thread_tick\":%.4f}\n",
           n, dt, agent_ms, agent_ms >= 0 ? agent_ms / (dt * 1e3) * 100 : -1, p1 - p0, agent_ms >= 0 ? ticks : -1,
           agent_ms >= 0 && n && ticks > 0 ? agent_ms * 1e3 / ticks / n : -1);
    fflush(stdout);
    pthread_mutex_lock(&mu);
    __atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    _exit(0);                                    /* sleepers would take an hour to notice */
}
