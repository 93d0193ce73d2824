/* expand_glib.c: a GLib GThreadPool of 2 exclusive threads running 120 tasks
 * of 1 ms CPU + 15 ms sleep, for POOLSHIM_EXPAND naming its worker: GLib
 * starts every thread through the g_thread_proxy trampoline, whose argument
 * GLib owns. Prints a checksum. */
#include "torture.h"
#include <glib.h>

#define NTASKS 120

static long sum;
static GMutex mu;

static void task(gpointer data, gpointer user)
{
    (void)user;
    long k = GPOINTER_TO_INT(data) - 1;
    spin_ms(1);
    sleep_ms(15);
    g_mutex_lock(&mu);
    sum += k * k + 1;
    g_mutex_unlock(&mu);
}

int main(void)
{
    GError *err = NULL;
    GThreadPool *pool = g_thread_pool_new(task, NULL, 2, TRUE, &err);
    if (!pool)
        DIE("g_thread_pool_new: %s", err ? err->message : "?");
    for (int i = 0; i < NTASKS; i++)
        g_thread_pool_push(pool, GINT_TO_POINTER(i + 1), NULL);
    g_thread_pool_free(pool, FALSE, TRUE);
    printf("%d tasks, checksum %ld\n", NTASKS, sum);
    return 0;
}
