/* uv_pool: libuv's thread pool (UV_THREADPOOL_SIZE=THREADS) running TASKS
 * uv_queue_work tasks (work.h), all queued at once from the loop. */
#include "work.h"
#include <uv.h>

static double cpu_ms, sleep_ms;

static void work(uv_work_t *w) { task(cpu_ms, sleep_ms); }
static void after(uv_work_t *w, int status) {}

int main(int argc, char **argv)
{
    int threads, tasks;
    parse(argc, argv, &threads, &tasks, &cpu_ms, &sleep_ms);
    char n[16];
    snprintf(n, sizeof n, "%d", threads);
    setenv("UV_THREADPOOL_SIZE", n, 1);
    double t0 = now_s(CLOCK_MONOTONIC);
    uv_work_t *w = calloc((size_t)tasks, sizeof *w);
    for (int i = 0; i < tasks; i++)
        uv_queue_work(uv_default_loop(), &w[i], work, after);
    uv_run(uv_default_loop(), UV_RUN_DEFAULT);
    report(tasks, t0);
    free(w);
    return 0;
}
