/* work.h: the task every truth pool runs: CPU_MS of this thread's CPU, then
 * a sleep of SLEEP_MS (the "I/O"), so the truth per task is known. */
#ifndef TRUTH_WORK_H
#define TRUTH_WORK_H
#ifndef _GNU_SOURCE   /* g++ defines it */
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_s(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void task(double cpu_ms, double sleep_ms)
{
    double end = now_s(CLOCK_THREAD_CPUTIME_ID) + cpu_ms * 1e-3;
    volatile unsigned long x = 1;
    while (now_s(CLOCK_THREAD_CPUTIME_ID) < end)
        for (int i = 0; i < 2000; i++)
            x = x * 6364136223846793005ul + 1;
    struct timespec ts = { 0, (long)(sleep_ms * 1e6) };
    nanosleep(&ts, NULL);
}

/* argv: THREADS TASKS CPU_MS SLEEP_MS [SUBMIT_US]: tasks are queued all at
 * once, or one every SUBMIT_US (the producer sleeps between them) */
static int submit_us;
static void parse(int argc, char **argv, int *threads, int *tasks, double *cpu, double *sl)
{
    if (argc != 5 && argc != 6) {
        fprintf(stderr, "usage: %s THREADS TASKS CPU_MS SLEEP_MS [SUBMIT_US]\n", argv[0]);
        exit(2);
    }
    submit_us = argc == 6 ? atoi(argv[5]) : 0;
    *threads = atoi(argv[1]);
    *tasks = atoi(argv[2]);
    *cpu = atof(argv[3]);
    *sl = atof(argv[4]);
}

static void pace(void)
{
    if (submit_us)
        usleep((useconds_t)submit_us);
}

static void report(int tasks, double t0)
{
    double s = now_s(CLOCK_MONOTONIC) - t0;
    printf("{\"tasks\":%d,\"seconds\":%.4f,\"tasks_per_s\":%.2f}\n", tasks, s, tasks / s);
}
#endif
