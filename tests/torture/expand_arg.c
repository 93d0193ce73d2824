/* expand_arg.c: an undersized pool (2 workers, tasks of 1 ms CPU + 20 ms
 * sleep: the model wants ~40) whose workers get their start argument from
 * memory of one of three kinds, for POOLSHIM_EXPAND=arg_worker:
 *   stack  - a struct on the creator's stack holding a semaphore the worker
 *            posts at start (libuv's pattern); the creator returns at once,
 *            so a worker started again would post into a dead frame;
 *   heap   - a malloc'd struct the creator frees once the worker read it;
 *   global - a global struct: the one kind the shim may start again.
 * Workers take tasks from a global queue and leave when it is closed; main
 * waits for the tasks, not for the workers, then prints their checksum. A
 * stack or heap argument used by a second worker makes the fixture fail. */
#include "torture.h"
#include <semaphore.h>

#define NTASKS 120

struct start {
    sem_t started;
    int id;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t more = PTHREAD_COND_INITIALIZER, done_cv = PTHREAD_COND_INITIALIZER;
static int next, done, closed;
static long sum;
static struct start global_start;
static const char *mode;
static int claimed[2];

void *arg_worker(void *a)
{
    struct start *s = a;
    if (!strcmp(mode, "global")) {
        if (s != &global_start)
            DIE("global worker got %p", a);
    } else {
        /* each argument starts one worker: a second start reads a dead
         * frame or freed memory (a bad id) or an id already claimed */
        int id = s->id;
        if (id < 0 || id > 1 || __atomic_exchange_n(&claimed[id], 1, __ATOMIC_ACQ_REL))
            DIE("a worker was started again with a %s argument (id %d)", mode, id);
        sem_post(&s->started);          /* after this, s may be gone */
    }
    for (;;) {
        pthread_mutex_lock(&mu);
        while (next >= NTASKS && !closed)
            pthread_cond_wait(&more, &mu);
        if (next >= NTASKS) {
            pthread_mutex_unlock(&mu);
            return NULL;
        }
        int k = next++;
        pthread_mutex_unlock(&mu);
        spin_ms(1);
        sleep_ms(20);
        pthread_mutex_lock(&mu);
        sum += (long)k * k + 1;
        if (++done == NTASKS)
            pthread_cond_signal(&done_cv);
        pthread_mutex_unlock(&mu);
    }
}

/* Starts one worker; its argument dies with this frame (stack) or right after
 * the worker posted (heap). */
static void start_one(int id)
{
    pthread_t th;
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    if (!strcmp(mode, "global")) {
        if (pthread_create(&th, &at, arg_worker, &global_start))
            DIE("pthread_create");
    } else if (!strcmp(mode, "stack")) {
        struct start s = { .id = id };
        sem_init(&s.started, 0, 0);
        if (pthread_create(&th, &at, arg_worker, &s))
            DIE("pthread_create");
        while (sem_wait(&s.started))
            ;
        sem_destroy(&s.started);
        memset(&s, 0xa5, sizeof s);     /* what a reused frame would hold */
    } else {
        struct start *s = malloc(sizeof *s);
        s->id = id;
        sem_init(&s->started, 0, 0);
        if (pthread_create(&th, &at, arg_worker, s))
            DIE("pthread_create");
        while (sem_wait(&s->started))
            ;
        sem_destroy(&s->started);
        memset(s, 0xa5, sizeof *s);
        free(s);
    }
    pthread_attr_destroy(&at);
}

int main(int argc, char **argv)
{
    mode = argc > 1 ? argv[1] : "stack";
    if (strcmp(mode, "stack") && strcmp(mode, "heap") && strcmp(mode, "global"))
        DIE("usage: expand_arg stack|heap|global");
    global_start.id = 0;
    for (int i = 0; i < 2; i++)
        start_one(i);
    pthread_mutex_lock(&mu);
    pthread_cond_broadcast(&more);
    while (done < NTASKS)
        pthread_cond_wait(&done_cv, &mu);
    closed = 1;
    pthread_cond_broadcast(&more);
    pthread_mutex_unlock(&mu);
    printf("%s: %d tasks, checksum %ld\n", mode, NTASKS, sum);
    return 0;
}
