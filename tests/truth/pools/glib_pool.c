/* glib_pool: a GThreadPool of THREADS workers running TASKS tasks (work.h). */
#include "work.h"
#include <glib.h>

static double cpu_ms, sleep_ms;

static void run(gpointer data, gpointer user)
{
    task(cpu_ms, sleep_ms);
}

int main(int argc, char **argv)
{
    int threads, tasks;
    parse(argc, argv, &threads, &tasks, &cpu_ms, &sleep_ms);
    double t0 = now_s(CLOCK_MONOTONIC);
    GThreadPool *pool = g_thread_pool_new(run, NULL, threads, TRUE, NULL);
    for (int i = 0; i < tasks; i++) {
        g_thread_pool_push(pool, GINT_TO_POINTER(i + 1), NULL);
        pace();
    }
    g_thread_pool_free(pool, FALSE, TRUE);
    report(tasks, t0);
    return 0;
}
