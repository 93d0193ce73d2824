/* expand_uv.c: a libuv thread pool (the system libuv) of UV_THREADPOOL_SIZE
 * workers running 150 work items of 1 ms CPU + 10 ms sleep, for
 * POOLSHIM_EXPAND=worker: libuv's worker posts a semaphore that lives on its
 * creator's stack, so it must never be started again. Prints a checksum. */
#include "torture.h"
#include <uv.h>

#define NWORK 150

static uv_work_t req[NWORK];
static long result[NWORK], sum;
static int completed;

static void work(uv_work_t *r)
{
    int k = (int)(r - req);
    spin_ms(1);
    sleep_ms(10);
    result[k] = (long)k * 3 + 1;
}

static void after(uv_work_t *r, int status)
{
    if (status)
        DIE("work %d: status %d", (int)(r - req), status);
    sum += result[r - req];
    completed++;
}

int main(void)
{
    uv_loop_t *loop = uv_default_loop();
    for (int i = 0; i < NWORK; i++)
        if (uv_queue_work(loop, &req[i], work, after))
            DIE("uv_queue_work");
    uv_run(loop, UV_RUN_DEFAULT);
    printf("%d work items, checksum %ld\n", completed, sum);
    return uv_loop_close(loop) ? 1 : 0;
}
