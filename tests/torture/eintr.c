/* eintr.c: a signal interrupting each wrapped blocking call.
 * Usage: eintr restart|norestart. Installs a SIGUSR1 handler with or without
 * SA_RESTART; for each call a thread blocks in it, main waits until the kernel
 * shows it asleep, sends SIGUSR1 to that thread, waits 30 ms, then supplies
 * what the call waits for. The thread prints what the call returned (value and
 * errno), which must be the same with and without the shim. */
#include "torture.h"
#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <semaphore.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/un.h>

static volatile sig_atomic_t hits;
static void on_usr1(int s) { (void)s; hits++; }

static int pfd[2], sp[2], lsock, ep, fword;
static sem_t sem;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int flag;
static pthread_t target;

struct job { int tid, ready; char out[128]; };

static void result(struct job *j, const char *name, long r)
{
    snprintf(j->out, sizeof j->out, "%s: ret=%ld errno=%s", name, r, r < 0 ? strerror(errno) : "-");
}

#define JOB(name, call)                                        \
    void *ej_##name(void *a)                                   \
    {                                                          \
        struct job *j = a;                                     \
        char buf[16];                                          \
        struct timespec ts;                                    \
        (void)buf; (void)ts;                                   \
        j->tid = gettid_();                                    \
        __atomic_store_n(&j->ready, 1, __ATOMIC_RELEASE);      \
        errno = 0;                                             \
        long r = (long)(call);                                 \
        result(j, #name, r);                                   \
        return NULL;                                           \
    }

static int poll1(void) { struct pollfd p = { pfd[0], POLLIN, 0 }; return poll(&p, 1, 20000); }
static int select1(void)
{
    fd_set r; FD_ZERO(&r); FD_SET(pfd[0], &r);
    struct timeval tv = { 20, 0 };
    return select(pfd[0] + 1, &r, NULL, NULL, &tv);
}
static int epoll1(void) { struct epoll_event e; return epoll_wait(ep, &e, 1, 20000); }
static long nanosleep1(void)
{
    struct timespec ts = { 20, 0 }, rem = { 0, 0 };
    int r = nanosleep(&ts, &rem);
    return r < 0 ? r : 0;
}
static int cnanosleep1(void)
{
    struct timespec ts = { 20, 0 };
    int r = clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
    return r ? -(errno = r, 1) : 0;
}
static int condwait1(void)
{
    pthread_mutex_lock(&mu);
    int r = 0, wakeups = 0;
    while (!flag && !r) {
        r = pthread_cond_wait(&cv, &mu);
        wakeups++;
    }
    pthread_mutex_unlock(&mu);
    return r ? -(errno = r, 1) : 0;
}
static int semtimed1(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 20;
    return sem_timedwait(&sem, &ts);
}
static long futex1(void) { return syscall(SYS_futex, &fword, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0); }
static int join1(void) { int r = pthread_join(target, NULL); return r ? -(errno = r, 1) : 0; }
static int accept1(void) { int c = accept(lsock, NULL, NULL); if (c >= 0) close(c); return c >= 0 ? 0 : -1; }
static unsigned sleep1(void) { return sleep(20) > 0; }   /* 1 if cut short */

JOB(read, read(pfd[0], buf, 1))
JOB(recv, recv(sp[0], buf, 1, 0))
JOB(accept, accept1())
JOB(poll, poll1())
JOB(select, select1())
JOB(epoll_wait, epoll1())
JOB(nanosleep, nanosleep1())
JOB(clock_nanosleep, cnanosleep1())
JOB(sleep, sleep1())
JOB(sem_wait, sem_wait(&sem))
JOB(sem_timedwait, semtimed1())
JOB(cond_wait, condwait1())
JOB(futex_wait, futex1())
JOB(join, join1())

void *target_worker(void *a) { while (!__atomic_load_n(&flag, __ATOMIC_ACQUIRE)) usleep(1000); return a; }

static int connect_once(void)
{
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf(sa.sun_path + 1, sizeof sa.sun_path - 1, "eintr-torture-%d", (int)getpid());
    int r = connect(c, (struct sockaddr *)&sa, sizeof sa);
    close(c);
    return r;
}

/* What each job waits for, supplied after the signal. */
static void supply(const char *name)
{
    char c = 'x';
    if (!strcmp(name, "read") || !strcmp(name, "poll") || !strcmp(name, "select") || !strcmp(name, "epoll_wait")) {
        if (write(pfd[1], &c, 1) != 1) DIE("write");
    } else if (!strcmp(name, "recv")) {
        if (send(sp[1], &c, 1, 0) != 1) DIE("send");
    } else if (!strcmp(name, "accept")) {
        connect_once();
    } else if (!strcmp(name, "sem_wait") || !strcmp(name, "sem_timedwait")) {
        sem_post(&sem);
    } else if (!strcmp(name, "cond_wait") || !strcmp(name, "join")) {
        pthread_mutex_lock(&mu);
        __atomic_store_n(&flag, 1, __ATOMIC_RELEASE);
        pthread_cond_broadcast(&cv);
        pthread_mutex_unlock(&mu);
    } else if (!strcmp(name, "futex_wait")) {
        __atomic_store_n(&fword, 1, __ATOMIC_RELEASE);
        syscall(SYS_futex, &fword, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    } else {
        /* sleeps: a second signal cuts them short if the first was restarted */
    }
}

/* Leftovers of a call that returned early (EINTR) must not leak into the next. */
static void drain(void)
{
    char buf[64];
    int fl = fcntl(pfd[0], F_GETFL);
    fcntl(pfd[0], F_SETFL, fl | O_NONBLOCK);
    while (read(pfd[0], buf, sizeof buf) > 0) ;
    fcntl(pfd[0], F_SETFL, fl);
    while (recv(sp[0], buf, sizeof buf, MSG_DONTWAIT) > 0) ;
    while (sem_trywait(&sem) == 0) ;
    int s;
    fl = fcntl(lsock, F_GETFL);
    fcntl(lsock, F_SETFL, fl | O_NONBLOCK);
    while ((s = accept(lsock, NULL, NULL)) >= 0) close(s);
    fcntl(lsock, F_SETFL, fl);
    flag = 0;
    fword = 0;
}

static const struct { const char *name; void *(*fn)(void *); } jobs[] = {
#define J(n) { #n, ej_##n }
    J(read), J(recv), J(accept), J(poll), J(select), J(epoll_wait), J(nanosleep), J(clock_nanosleep),
    J(sleep), J(sem_wait), J(sem_timedwait), J(cond_wait), J(futex_wait), J(join),
#undef J
};

int main(int argc, char **argv)
{
    if (argc < 2)
        DIE("usage: eintr restart|norestart");
    struct sigaction sa = { .sa_handler = on_usr1 };
    sa.sa_flags = strcmp(argv[1], "restart") ? 0 : SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    if (pipe(pfd) || socketpair(AF_UNIX, SOCK_STREAM, 0, sp))
        DIE("pipe");
    lsock = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un un = { .sun_family = AF_UNIX };
    snprintf(un.sun_path + 1, sizeof un.sun_path - 1, "eintr-torture-%d", (int)getpid());
    if (bind(lsock, (struct sockaddr *)&un, sizeof un) || listen(lsock, 8))
        DIE("listen");
    ep = epoll_create1(0);
    struct epoll_event e = { .events = EPOLLIN };
    epoll_ctl(ep, EPOLL_CTL_ADD, pfd[0], &e);
    sem_init(&sem, 0, 0);

    for (size_t i = 0; i < sizeof jobs / sizeof jobs[0]; i++) {
        drain();
        if (!strcmp(jobs[i].name, "join"))
            pthread_create(&target, NULL, target_worker, NULL);
        struct job j = { 0 };
        pthread_t t;
        pthread_create(&t, NULL, jobs[i].fn, &j);
        while (!__atomic_load_n(&j.ready, __ATOMIC_ACQUIRE))
            sleep_ms(1);
        if (wait_blocked(j.tid))
            DIE("%s never blocked", jobs[i].name);
        sleep_ms(20);
        int h = hits;
        pthread_kill(t, SIGUSR1);
        while (hits == h)
            sleep_ms(1);
        sleep_ms(30);
        supply(jobs[i].name);
        /* a call restarted after the first signal may still wait (sleeps):
         * keep signalling until it returns */
        struct timespec dl;
        for (int k = 0; k < 200; k++) {
            clock_gettime(CLOCK_REALTIME, &dl);
            dl.tv_nsec += 50000000;
            if (dl.tv_nsec >= 1000000000) { dl.tv_sec++; dl.tv_nsec -= 1000000000; }
            if (pthread_timedjoin_np(t, NULL, &dl) == 0)
                break;
            if (k == 199)
                DIE("%s: thread did not return", jobs[i].name);
            pthread_kill(t, SIGUSR1);
        }
        printf("%s\n", j.out);
        if (!strcmp(jobs[i].name, "join") && !__atomic_load_n(&flag, __ATOMIC_ACQUIRE)) {
            flag = 1;
        }
        if (!strcmp(jobs[i].name, "join"))
            pthread_join(target, NULL);   /* fails with EINVAL if the job joined it: fine */
    }
    return 0;
}
