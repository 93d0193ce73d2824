/* cancel.c: pthread_cancel of a thread blocked in each wrapped cancellation
 * point. For each call a thread (start routine cx_<call>) blocks in it; once
 * the kernel shows it asleep, main waits 50 ms, cancels it and joins with a
 * 5 s deadline: a join that does not return is a FAIL. Each thread's cleanup
 * handler (run after the cancelled wrapper was unwound) releases its mutex and
 * sleeps 30 ms in nanosleep, so the report can show whether the shim still
 * measures a thread after a cancellation tore through one of its wrappers:
 * every cx_ thread must show >= 30 ms sleep and >= 50 ms other wait. */
#include "torture.h"
#include <poll.h>
#include <semaphore.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <fcntl.h>

struct cx {
    int tid, ready, holds_mu;
    pthread_mutex_t mu;
    pthread_cond_t cv;
};

static int empty_pipe[2], full_pipe[2], sp[2], lsock, ep;
static sem_t sem;
static pthread_t forever;

static void cx_cleanup(void *a)
{
    struct cx *c = a;
    if (c->holds_mu)
        pthread_mutex_unlock(&c->mu);
    sleep_ms(30);
}

static void far_future(struct timespec *ts, clockid_t clk)
{
    clock_gettime(clk, ts);
    ts->tv_sec += 600;
}

#define CX(name, ...)                                                   \
    void *cx_##name(void *a)                                            \
    {                                                                   \
        struct cx *c = a;                                               \
        char buf[64];                                                   \
        struct timespec ts;                                             \
        (void)buf; (void)ts;                                            \
        pthread_cleanup_push(cx_cleanup, c);                            \
        c->tid = gettid_();                                             \
        __atomic_store_n(&c->ready, 1, __ATOMIC_RELEASE);               \
        __VA_ARGS__;                                                    \
        pthread_cleanup_pop(0);                                         \
        return NULL;                                                    \
    }

#define LOCKED(...) pthread_mutex_lock(&c->mu); c->holds_mu = 1; __VA_ARGS__; c->holds_mu = 0; pthread_mutex_unlock(&c->mu)

CX(read, read(empty_pipe[0], buf, sizeof buf))
CX(readv, struct iovec v = { buf, sizeof buf }; readv(empty_pipe[0], &v, 1))
CX(write, memset(buf, 'x', sizeof buf); for (;;) write(full_pipe[1], buf, sizeof buf))
CX(recv, recv(sp[0], buf, sizeof buf, 0))
CX(recvfrom, recvfrom(sp[0], buf, sizeof buf, 0, NULL, NULL))
CX(recvmsg, struct iovec v = { buf, sizeof buf }; struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1 };
   recvmsg(sp[0], &m, 0))
CX(accept, accept(lsock, NULL, NULL))
CX(accept4, accept4(lsock, NULL, NULL, SOCK_CLOEXEC))
CX(poll, struct pollfd p = { empty_pipe[0], POLLIN, 0 }; poll(&p, 1, -1))
CX(ppoll, struct pollfd p = { empty_pipe[0], POLLIN, 0 }; ppoll(&p, 1, NULL, NULL))
CX(select, fd_set r; FD_ZERO(&r); FD_SET(empty_pipe[0], &r); select(empty_pipe[0] + 1, &r, NULL, NULL, NULL))
CX(pselect, fd_set r; FD_ZERO(&r); FD_SET(empty_pipe[0], &r); pselect(empty_pipe[0] + 1, &r, NULL, NULL, NULL, NULL))
CX(epoll_wait, struct epoll_event e; epoll_wait(ep, &e, 1, -1))
CX(epoll_pwait, struct epoll_event e; epoll_pwait(ep, &e, 1, -1, NULL))
CX(nanosleep, ts.tv_sec = 600; ts.tv_nsec = 0; nanosleep(&ts, NULL))
CX(clock_nanosleep, ts.tv_sec = 600; ts.tv_nsec = 0; clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL))
CX(usleep, usleep(600000000))
CX(sleep, sleep(600))
CX(cond_wait, LOCKED(for (;;) pthread_cond_wait(&c->cv, &c->mu)))
CX(cond_timedwait, far_future(&ts, CLOCK_REALTIME); LOCKED(for (;;) pthread_cond_timedwait(&c->cv, &c->mu, &ts)))
CX(cond_clockwait, far_future(&ts, CLOCK_MONOTONIC);
   LOCKED(for (;;) pthread_cond_clockwait(&c->cv, &c->mu, CLOCK_MONOTONIC, &ts)))
CX(sem_wait, sem_wait(&sem))
CX(sem_timedwait, far_future(&ts, CLOCK_REALTIME); sem_timedwait(&sem, &ts))
CX(sem_clockwait, far_future(&ts, CLOCK_MONOTONIC); sem_clockwait(&sem, CLOCK_MONOTONIC, &ts))
CX(join, pthread_join(forever, NULL))
CX(timedjoin, far_future(&ts, CLOCK_REALTIME); pthread_timedjoin_np(forever, NULL, &ts))
CX(fsync_then_read, fsync(empty_pipe[1]); read(empty_pipe[0], buf, sizeof buf))

void *forever_worker(void *a)
{
    for (;;)
        pause();
    return a;
}

static const struct { const char *name; void *(*fn)(void *); } cases[] = {
#define C(n) { #n, cx_##n }
    C(read), C(readv), C(write), C(recv), C(recvfrom), C(recvmsg), C(accept), C(accept4),
    C(poll), C(ppoll), C(select), C(pselect), C(epoll_wait), C(epoll_pwait), C(nanosleep),
    C(clock_nanosleep), C(usleep), C(sleep), C(cond_wait), C(cond_timedwait), C(cond_clockwait),
    C(sem_wait), C(sem_timedwait), C(sem_clockwait), C(join), C(timedjoin), C(fsync_then_read),
#undef C
};

int main(void)
{
    if (pipe(empty_pipe) || pipe(full_pipe) || socketpair(AF_UNIX, SOCK_STREAM, 0, sp))
        DIE("pipes");
    lsock = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf(sa.sun_path + 1, sizeof sa.sun_path - 1, "cancel-torture-%d", (int)getpid());
    if (bind(lsock, (struct sockaddr *)&sa, sizeof sa) || listen(lsock, 4))
        DIE("listen");
    ep = epoll_create1(0);
    struct epoll_event e = { .events = EPOLLIN };
    epoll_ctl(ep, EPOLL_CTL_ADD, empty_pipe[0], &e);
    sem_init(&sem, 0, 0);
    pthread_create(&forever, NULL, forever_worker, NULL);

    int failed = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct cx c = { 0 };
        pthread_mutex_init(&c.mu, NULL);
        pthread_cond_init(&c.cv, NULL);
        pthread_t t;
        if (pthread_create(&t, NULL, cases[i].fn, &c))
            DIE("pthread_create");
        while (!__atomic_load_n(&c.ready, __ATOMIC_ACQUIRE))
            sleep_ms(1);
        if (wait_blocked(c.tid))
            DIE("%s: thread never blocked", cases[i].name);
        sleep_ms(50);
        pthread_cancel(t);
        struct timespec dl;
        clock_gettime(CLOCK_REALTIME, &dl);
        dl.tv_sec += 5;
        void *ret = NULL;
        int r = pthread_timedjoin_np(t, &ret, &dl);
        if (r) {
            printf("%s: join did not return (%s)\n", cases[i].name, strerror(r));
            failed++;
            continue;
        }
        printf("%s: %s\n", cases[i].name, ret == PTHREAD_CANCELED ? "cancelled" : "NOT cancelled");
        if (ret != PTHREAD_CANCELED)
            failed++;
        /* the mutex must be free again: the cleanup handler unlocked it */
        if (pthread_mutex_trylock(&c.mu))
            printf("%s: mutex left locked\n", cases[i].name), failed++;
        else
            pthread_mutex_unlock(&c.mu);
    }
    pthread_cancel(forever);
    pthread_join(forever, NULL);
    printf("%d failed\n", failed);
    return failed ? 3 : 0;
}
