/* errno_check.c: errno after every wrapped call, successful or not.
 * Sets errno to 777 before each call and prints the call's result and errno
 * afterwards; the output must be byte-identical with and without the shim
 * (the shim may not change errno, including on paths where it does work of
 * its own: a contended lock, a semaphore that is not free, thread start/exit,
 * a failed exec, the first call of a new thread). */
#include "torture.h"
#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <stdint.h>
#include <semaphore.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>

#define CHECK(name, call) do { errno = 777; long r_ = (long)(call); \
    printf("%-22s ret=%ld errno=%d\n", name, r_, errno); } while (0)

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static pthread_spinlock_t spin;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static sem_t sem;
static int errno_at_start = -1;
static int holding;          /* the holder has taken its lock: main's call is contended */

void *holder(void *a)
{
    int what = (int)(long)a;
    if (what == 0) { pthread_mutex_lock(&mu); __atomic_store_n(&holding, 1, __ATOMIC_RELEASE); sleep_ms(40); pthread_mutex_unlock(&mu); }
    if (what == 1) { pthread_rwlock_wrlock(&rw); __atomic_store_n(&holding, 1, __ATOMIC_RELEASE); sleep_ms(40); pthread_rwlock_unlock(&rw); }
    if (what == 2) { __atomic_store_n(&holding, 1, __ATOMIC_RELEASE); sleep_ms(40); sem_post(&sem); }
    if (what == 3) { __atomic_store_n(&holding, 1, __ATOMIC_RELEASE); sleep_ms(40); pthread_mutex_lock(&mu); pthread_cond_signal(&cv); pthread_mutex_unlock(&mu); }
    if (what == 4) { pthread_spin_lock(&spin); __atomic_store_n(&holding, 1, __ATOMIC_RELEASE); spin_ms(20); pthread_spin_unlock(&spin); }
    return NULL;
}

void *first_call(void *a)
{
    errno_at_start = errno;
    return a;
}

/* Returns once the holder holds its lock (whatever the machine's load), so
 * each contended call below really is contended, with or without the shim. */
static pthread_t start_holder(int what)
{
    pthread_t t;
    __atomic_store_n(&holding, 0, __ATOMIC_RELEASE);
    pthread_create(&t, NULL, holder, (void *)(long)what);
    while (!__atomic_load_n(&holding, __ATOMIC_ACQUIRE))
        sleep_ms(1);
    return t;
}

int main(void)
{
    int start_errno = errno;
    printf("%-22s errno=%d\n", "main entry", start_errno);
    int p[2], sp[2];
    char buf[64] = "hello";
    struct timespec ts;
    if (pipe(p) || socketpair(AF_UNIX, SOCK_STREAM, 0, sp))
        DIE("pipe");
    pthread_spin_init(&spin, 0);
    sem_init(&sem, 0, 1);

    CHECK("write", write(p[1], buf, 5));
    CHECK("read", read(p[0], buf, 5));
    CHECK("read EBADF", read(-1, buf, 5));
    struct iovec v = { buf, 5 };
    CHECK("writev", writev(p[1], &v, 1));
    CHECK("readv", readv(p[0], &v, 1));
    int f = open("/dev/zero", O_RDONLY);
    CHECK("pread", pread(f, buf, 8, 0));
    CHECK("preadv", preadv(f, &v, 1, 0));
    CHECK("pread ESPIPE", pread(p[0], buf, 8, 0));
    close(f);
    f = open("/dev/null", O_WRONLY);
    CHECK("pwrite", pwrite(f, buf, 8, 0));
    CHECK("pwritev", pwritev(f, &v, 1, 0));
    CHECK("fsync pipe EINVAL", fsync(p[1]));
    CHECK("fdatasync", fdatasync(f));
    close(f);
    CHECK("send", send(sp[0], buf, 3, 0));
    CHECK("recv", recv(sp[1], buf, 3, 0));
    CHECK("sendto", sendto(sp[0], buf, 3, 0, NULL, 0));
    CHECK("recvfrom", recvfrom(sp[1], buf, 3, 0, NULL, NULL));
    struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1 };
    CHECK("sendmsg", sendmsg(sp[0], &m, 0));
    CHECK("recvmsg", recvmsg(sp[1], &m, 0));
    CHECK("recv EAGAIN", recv(sp[1], buf, 3, MSG_DONTWAIT));
    int ls = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_un un = { .sun_family = AF_UNIX };
    snprintf(un.sun_path + 1, sizeof un.sun_path - 1, "errno-torture-%d", (int)getpid());
    bind(ls, (struct sockaddr *)&un, sizeof un);
    listen(ls, 4);
    CHECK("accept EAGAIN", accept(ls, NULL, NULL));
    CHECK("accept4 EAGAIN", accept4(ls, NULL, NULL, SOCK_CLOEXEC));
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK("connect", connect(c, (struct sockaddr *)&un, sizeof un));
    int a2;
    CHECK("accept", (a2 = accept(ls, NULL, NULL)) >= 0);
    close(a2); close(c);
    struct sockaddr_un nx = { .sun_family = AF_UNIX, .sun_path = "/nonexistent/sock" };
    c = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK("connect ENOENT", connect(c, (struct sockaddr *)&nx, sizeof nx));
    close(c);
    struct pollfd pf = { p[0], POLLIN, 0 };
    CHECK("poll timeout", poll(&pf, 1, 0));
    CHECK("poll 10ms", poll(&pf, 1, 10));
    CHECK("ppoll", ppoll(&pf, 1, &(struct timespec){ 0, 1000000 }, NULL));
    /* a bad array: the kernel says EFAULT; the shim must not fault first */
    struct pollfd *volatile badfds = (struct pollfd *)(uintptr_t)8;   /* volatile: no compile-time warning */
    CHECK("poll EFAULT", poll(badfds, 1, 0));
    CHECK("ppoll EFAULT", ppoll(badfds, 1, &(struct timespec){ 0, 0 }, NULL));
    fd_set rs; FD_ZERO(&rs); FD_SET(p[0], &rs);
    CHECK("select", select(p[0] + 1, &rs, NULL, NULL, &(struct timeval){ 0, 1000 }));
    FD_ZERO(&rs); FD_SET(p[0], &rs);
    CHECK("pselect", pselect(p[0] + 1, &rs, NULL, NULL, &(struct timespec){ 0, 1000000 }, NULL));
    int ep = epoll_create1(0);
    struct epoll_event e = { .events = EPOLLIN };
    epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &e);
    CHECK("epoll_wait", epoll_wait(ep, &e, 1, 5));
    CHECK("epoll_pwait", epoll_pwait(ep, &e, 1, 5, NULL));
    CHECK("epoll_wait EBADF", epoll_wait(-1, &e, 1, 0));
    ts = (struct timespec){ 0, 1000000 };
    CHECK("nanosleep", nanosleep(&ts, NULL));
    CHECK("nanosleep EINVAL", nanosleep(&(struct timespec){ 0, -1 }, NULL));
    CHECK("clock_nanosleep", clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL));
    CHECK("usleep", usleep(1000));
    CHECK("sleep 0", sleep(0));

    pthread_t t;
    /* bad deadlines and clocks: glibc says EINVAL before trying; so must we */
    {
        struct timespec bad = { 0, 2000000000L }, zero = { 0, 0 };
        pthread_rwlock_t rwb = PTHREAD_RWLOCK_INITIALIZER;
        pthread_mutex_t mb = PTHREAD_MUTEX_INITIALIZER;
        sem_t sb;
        sem_init(&sb, 0, 1);
        CHECK("rwlock timedrd EINVAL", pthread_rwlock_timedrdlock(&rwb, &bad));
        CHECK("rwlock timedwr EINVAL", pthread_rwlock_timedwrlock(&rwb, &bad));
        CHECK("rwlock clockwr EINVAL", pthread_rwlock_clockwrlock(&rwb, 12345, &zero));
        CHECK("mutex clocklock EINVAL", pthread_mutex_clocklock(&mb, 12345, &zero));
        CHECK("sem_timedwait EINVAL", sem_timedwait(&sb, &bad));
        CHECK("sem_clockwait EINVAL", sem_clockwait(&sb, 12345, &zero));
        CHECK("sem still 1", sem_trywait(&sb));
    }
    CHECK("mutex uncontended", pthread_mutex_lock(&mu));
    CHECK("mutex trylock EBUSY", pthread_mutex_trylock(&mu));
    CHECK("mutex unlock", pthread_mutex_unlock(&mu));
    t = start_holder(0);
    CHECK("mutex contended", pthread_mutex_lock(&mu));
    pthread_mutex_unlock(&mu);
    pthread_join(t, NULL);
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec = 0;                  /* in the past: ETIMEDOUT at once if busy */
    t = start_holder(0);
    CHECK("mutex timedlock busy", pthread_mutex_timedlock(&mu, &ts));
    pthread_join(t, NULL);
    t = start_holder(1);
    CHECK("rwlock rd contended", pthread_rwlock_rdlock(&rw));
    pthread_rwlock_unlock(&rw);
    pthread_join(t, NULL);
    CHECK("rwlock wrlock", pthread_rwlock_wrlock(&rw));
    CHECK("rwlock tryrd EBUSY", pthread_rwlock_tryrdlock(&rw));
    pthread_rwlock_unlock(&rw);
    t = start_holder(4);
    CHECK("spin contended", pthread_spin_lock(&spin));
    CHECK("spin trylock EBUSY", pthread_spin_trylock(&spin));
    pthread_spin_unlock(&spin);
    pthread_join(t, NULL);

    CHECK("sem_wait free", sem_wait(&sem));
    t = start_holder(2);
    CHECK("sem_wait contended", sem_wait(&sem));
    pthread_join(t, NULL);
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 5000000;
    if (ts.tv_nsec >= 1000000000) { ts.tv_sec++; ts.tv_nsec -= 1000000000; }
    CHECK("sem_timedwait ETIMEDOUT", sem_timedwait(&sem, &ts));
    CHECK("sem_trywait EAGAIN", sem_trywait(&sem));
    CHECK("sem_post", sem_post(&sem));
    clock_gettime(CLOCK_MONOTONIC, &ts);
    CHECK("sem_clockwait", sem_clockwait(&sem, CLOCK_MONOTONIC, &ts));

    pthread_mutex_lock(&mu);
    t = start_holder(3);
    CHECK("cond_wait", pthread_cond_wait(&cv, &mu));
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec = 0;
    CHECK("cond_timedwait past", pthread_cond_timedwait(&cv, &mu, &ts));
    clock_gettime(CLOCK_MONOTONIC, &ts);
    CHECK("cond_clockwait past", pthread_cond_clockwait(&cv, &mu, CLOCK_MONOTONIC, &ts));
    pthread_mutex_unlock(&mu);
    pthread_join(t, NULL);
    CHECK("cond_signal", pthread_cond_signal(&cv));
    CHECK("cond_broadcast", pthread_cond_broadcast(&cv));

    CHECK("pthread_create", pthread_create(&t, NULL, first_call, NULL));
    CHECK("pthread_join", pthread_join(t, NULL));
    printf("%-22s errno=%d\n", "new thread entry", errno_at_start);
    pthread_create(&t, NULL, holder, (void *)0L);
    clock_gettime(CLOCK_REALTIME, &ts);
    CHECK("timedjoin ETIMEDOUT", pthread_timedjoin_np(t, NULL, &ts));
    pthread_join(t, NULL);

    int fw = 0;
    CHECK("futex wake", syscall(SYS_futex, &fw, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0));
    CHECK("futex wait EAGAIN", syscall(SYS_futex, &fw, FUTEX_WAIT_PRIVATE, 1, NULL, NULL, 0));
    ts = (struct timespec){ 0, 1000000 };
    CHECK("futex wait ETIMEDOUT", syscall(SYS_futex, &fw, FUTEX_WAIT_PRIVATE, 0, &ts, NULL, 0));
    CHECK("syscall getppid", syscall(SYS_getppid) == getppid());
    CHECK("syscall close EBADF", syscall(SYS_close, -1));
    char *av[] = { "/nonexistent/x", NULL };
    CHECK("execv ENOENT", execv(av[0], av));
    CHECK("execvp ENOENT", execvp("no-such-program-xyz", av));
    CHECK("execve EACCES", execve("/dev/null", av, NULL));
    return 0;
}
