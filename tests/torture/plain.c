/* plain.c: an ordinary small threaded program with deterministic output, used
 * where only "runs the same with the shim" matters: configuration, report
 * directories, setuid and static builds. 4 plain_worker threads share a queue
 * (condvar) of 40 tasks of 1 ms CPU + 2 ms sleep; prints the tasks' checksum. */
#include "torture.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int next_task, ntasks = 40, closed;
static long sum;

void *plain_worker(void *a)
{
    for (;;) {
        pthread_mutex_lock(&mu);
        while (next_task >= ntasks && !closed)
            pthread_cond_wait(&cv, &mu);
        if (next_task >= ntasks) {
            pthread_mutex_unlock(&mu);
            return a;
        }
        int k = next_task++;
        pthread_mutex_unlock(&mu);
        spin_ms(1);
        sleep_ms(2);
        pthread_mutex_lock(&mu);
        sum += (long)k * k;
        pthread_mutex_unlock(&mu);
    }
}

int main(void)
{
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, plain_worker, NULL);
    pthread_mutex_lock(&mu);
    closed = 1;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    printf("tasks %d sum %ld\n", ntasks, sum);
    fprintf(stderr, "plain: stderr line\n");
    return 7;                        /* a distinctive exit status to compare */
}
