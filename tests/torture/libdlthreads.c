/* libdlthreads.c: a library loaded with dlopen that starts threads
 * (dl_worker) and joins them before returning; built as libdlthreads.so and
 * loaded and unloaded repeatedly by dlopen.c. */
#include <pthread.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static long total;

void *dl_worker(void *a)
{
    long k = (long)a, s = 0;
    for (long i = 0; i < 20000; i++)
        s += (i * k) % 7;
    pthread_mutex_lock(&mu);
    total += s;
    pthread_mutex_unlock(&mu);
    return a;
}

long dl_run(int n)
{
    pthread_t t[16];
    total = 0;
    for (int i = 0; i < n && i < 16; i++)
        pthread_create(&t[i], NULL, dl_worker, (void *)(long)(i + 1));
    for (int i = 0; i < n && i < 16; i++)
        pthread_join(t[i], NULL);
    return total;
}
