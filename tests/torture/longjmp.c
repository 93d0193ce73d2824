/* longjmp.c: a signal handler that siglongjmps out of a wrapped blocking call.
 * The thread `jumper` blocks in read() on a pipe nobody writes; main sends it
 * SIGUSR2 once it is asleep; the handler jumps back to the thread's
 * sigsetjmp, so the read (and the shim's wrapper around it) never returns.
 * The thread then spins 200 ms of CPU and sleeps 300 ms, and prints what it
 * did. Under the shim that sleep must still be measured and the CPU spin
 * must not read as I/O (the abandoned read's span is dropped at the thread's
 * next wrapped call). */
#include "torture.h"
#include <setjmp.h>
#include <signal.h>
#include <sys/prctl.h>

static sigjmp_buf env;
static int pfd[2];
static volatile int tid;

static void on_usr2(int s)
{
    (void)s;
    siglongjmp(env, 1);
}

static void *jumper(void *a)
{
    (void)a;
    char c;
    prctl(PR_SET_NAME, "jumper", 0, 0, 0);
    tid = gettid_();
    if (sigsetjmp(env, 1) == 0) {
        ssize_t r = read(pfd[0], &c, 1);
        DIE("read returned %zd", r);
    }
    spin_ms(200);
    sleep_ms(300);
    printf("jumped out of read, spun 200 ms, slept 300 ms\n");
    return NULL;
}

int main(void)
{
    struct sigaction sa = { 0 };
    sa.sa_handler = on_usr2;
    sigaction(SIGUSR2, &sa, NULL);
    if (pipe(pfd))
        DIE("pipe");
    pthread_t th;
    pthread_create(&th, NULL, jumper, NULL);
    while (!tid)
        sleep_ms(1);
    if (wait_blocked(tid))
        DIE("jumper never blocked");
    sleep_ms(50);
    pthread_kill(th, SIGUSR2);
    pthread_join(th, NULL);
    return 0;
}
