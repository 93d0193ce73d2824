/* Unit tests for shim/base/clock.c's reading of another thread's CPU time by
 * tid (the pool's CPU when task counting starts, pool.c): the figure the
 * thread's own CPU clock gives, and -1 once the thread is gone. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
#include "clock.h"

static sem_t spun, done;
static int tid;
static int64_t own_ns;

static int64_t thread_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

static void *spin(void *arg)
{
    tid = (int)syscall(SYS_gettid);
    volatile unsigned x = 0;
    while (thread_cpu() < 30000000)          /* 30 ms of its own CPU, at any load */
        x++;
    own_ns = thread_cpu();
    sem_post(&spun);
    sem_wait(&done);
    return NULL;
}

Test(clock, another_threads_cpu_by_tid)
{
    pthread_t th;
    sem_init(&spun, 0, 0);
    sem_init(&done, 0, 0);
    cr_assert_eq(pthread_create(&th, NULL, spin, NULL), 0);
    sem_wait(&spun);
    int64_t seen = ps_clock_thread_cpu_ns(tid);
    /* it blocks after its own reading: at least that, and little more */
    cr_expect_geq(seen, own_ns, "%lld < %lld", (long long)seen, (long long)own_ns);
    cr_expect_lt(seen, own_ns + 5000000, "%lld vs %lld", (long long)seen, (long long)own_ns);
    sem_post(&done);
    pthread_join(th, NULL);
    /* pthread_join returns when the kernel clears the thread's tid, which it
     * does before it releases the task: /proc/self/task/TID can still be read
     * for a moment (4 runs of 40 beside a loaded machine read its CPU). The
     * claim is -1 once the thread is gone: wait (up to 2 s) until it is. */
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d", tid);
    for (int i = 0; i < 2000 && access(path, F_OK) == 0; i++)
        usleep(1000);
    cr_expect_eq(ps_clock_thread_cpu_ns(tid), -1);
    cr_expect_eq(ps_clock_thread_cpu_ns(0), -1);
}
