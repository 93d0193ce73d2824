/* omp_pool: an OpenMP team of THREADS running TASKS loop iterations
 * (work.h), dynamically scheduled. */
#include "work.h"
#include <omp.h>

int main(int argc, char **argv)
{
    int threads, tasks;
    double cpu_ms, sleep_ms;
    parse(argc, argv, &threads, &tasks, &cpu_ms, &sleep_ms);
    omp_set_num_threads(threads);
    double t0 = now_s(CLOCK_MONOTONIC);
#pragma omp parallel for schedule(dynamic, 1)
    for (int i = 0; i < tasks; i++)
        task(cpu_ms, sleep_ms);
    report(tasks, t0);
    return 0;
}
