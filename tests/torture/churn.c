/* churn.c: thread-table pressure.
 *   churn N C   N threads in all (churn_worker), at most C alive at once; each
 *               takes a shared mutex and sleeps 0-1 ms. More threads than the
 *               shim's 8192 records forces slot recycling.
 *   live N      N threads alive at the same time (live_worker), all waiting on
 *               one condvar for 300 ms, then released together.
 * Prints counts that do not depend on timing. */
#include "torture.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static long done, started;
static int go;

void *churn_worker(void *a)
{
    long i = (long)a;
    pthread_mutex_lock(&mu);
    done++;
    pthread_mutex_unlock(&mu);
    if (i % 64 == 0)
        sleep_ms(1);
    return a;
}

void *live_worker(void *a)
{
    pthread_mutex_lock(&mu);
    started++;
    pthread_cond_broadcast(&cv);
    while (!go)
        pthread_cond_wait(&cv, &mu);
    done++;
    pthread_mutex_unlock(&mu);
    return a;
}

static pthread_attr_t small;

static void churn(long n, int c)
{
    pthread_t *t = calloc((size_t)c, sizeof *t);
    for (long i = 0; i < n; i += c) {
        int k = (int)(n - i < c ? n - i : c);
        for (int j = 0; j < k; j++) {
            int r;
            while ((r = pthread_create(&t[j], &small, churn_worker, (void *)(i + j))) == EAGAIN)
                sleep_ms(1);
            if (r)
                DIE("pthread_create: %s", strerror(r));
        }
        for (int j = 0; j < k; j++)
            pthread_join(t[j], NULL);
    }
    printf("churn %ld threads, %ld done\n", n, done);
    if (done != n)
        DIE("done %ld != %ld", done, n);
}

static void live(long n)
{
    pthread_t *t = calloc((size_t)n, sizeof *t);
    for (long i = 0; i < n; i++) {
        int r = pthread_create(&t[i], &small, live_worker, NULL);
        if (r)
            DIE("pthread_create #%ld: %s", i, strerror(r));
    }
    pthread_mutex_lock(&mu);
    while (started < n)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    sleep_ms(300);                   /* all alive and blocked while the shim samples */
    pthread_mutex_lock(&mu);
    go = 1;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    for (long i = 0; i < n; i++)
        pthread_join(t[i], NULL);
    printf("live %ld threads, %ld done\n", n, done);
    if (done != n)
        DIE("done %ld != %ld", done, n);
}

int main(int argc, char **argv)
{
    pthread_attr_init(&small);
    pthread_attr_setstacksize(&small, 128 * 1024);
    if (argc >= 4 && !strcmp(argv[1], "churn"))
        churn(atol(argv[2]), atoi(argv[3]));
    else if (argc >= 3 && !strcmp(argv[1], "live"))
        live(atol(argv[2]));
    else
        DIE("usage: churn churn N C | live N");
    return 0;
}
