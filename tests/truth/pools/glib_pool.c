/* glib_pool: a GThreadPool of THREADS workers running TASKS tasks (work.h).
 * With GLIB_POOL_LOCKED=1 every task does its CPU_MS holding one GMutex
 * (a futex GLib drives itself, no pthread lock) and sleeps SLEEP_MS outside
 * it: the pool is serialized on stats_lock, and no more than
 * (CPU_MS + SLEEP_MS) / CPU_MS workers can make progress. */
#include "work.h"
#include <glib.h>

static double cpu_ms, sleep_ms;
static GMutex stats_lock;
static unsigned long stats;

static void run(gpointer data, gpointer user)
{
    task(cpu_ms, sleep_ms);
}

static void run_locked(gpointer data, gpointer user)
{
    g_mutex_lock(&stats_lock);
    task(cpu_ms, 0);
    stats++;
    g_mutex_unlock(&stats_lock);
    task(0, sleep_ms);
}

int main(int argc, char **argv)
{
    int threads, tasks;
    parse(argc, argv, &threads, &tasks, &cpu_ms, &sleep_ms);
    const char *l = getenv("GLIB_POOL_LOCKED");
    int locked = l && !strcmp(l, "1");
    double t0 = now_s(CLOCK_MONOTONIC);
    GThreadPool *pool = g_thread_pool_new(locked ? run_locked : run, NULL, threads, TRUE, NULL);
    for (int i = 0; i < tasks; i++) {
        g_thread_pool_push(pool, GINT_TO_POINTER(i + 1), NULL);
        pace();
    }
    g_thread_pool_free(pool, FALSE, TRUE);
    report(tasks, t0);
    return locked && stats != (unsigned long)tasks ? 1 : 0;
}
