/* real.h: pointers to the functions we interpose, as libc defines them.
 * Resolved once by ps_real_init() (constructor) with dlsym(RTLD_NEXT) or, for the
 * condvar family, dlvsym(..., "GLIBC_2.3.2") (dlsym may hand back the pre-NPTL
 * 2.2.5 condvar). A wrapper called before the constructor resolves lazily through
 * PS_REAL(); a symbol libc lacks stays NULL and its wrapper returns ENOSYS. */
#ifndef PS_REAL_H
#define PS_REAL_H
#include <pthread.h>
#include <semaphore.h>
#include <poll.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/uio.h>

/* Fortified entry points are not declared unless _FORTIFY_SOURCE: declare them. */
ssize_t __read_chk(int, void *, size_t, size_t);
ssize_t __pread_chk(int, void *, size_t, off_t, size_t);
ssize_t __pread64_chk(int, void *, size_t, off64_t, size_t);
ssize_t __recv_chk(int, void *, size_t, size_t, int);
ssize_t __recvfrom_chk(int, void *, size_t, size_t, int, struct sockaddr *, socklen_t *);
int __poll_chk(struct pollfd *, nfds_t, int, size_t);
int __ppoll_chk(struct pollfd *, nfds_t, const struct timespec *, const sigset_t *, size_t);
int epoll_pwait2(int, struct epoll_event *, int, const struct timespec *, const sigset_t *);
int pthread_clockjoin_np(pthread_t, void **, clockid_t, const struct timespec *);

/* X(name, version): version NULL means the default symbol. */
#define PS_REAL_LIST(X) \
    X(pthread_create, NULL) X(pthread_exit, NULL) X(pthread_join, NULL) \
    X(pthread_timedjoin_np, NULL) X(pthread_clockjoin_np, NULL) X(pthread_setname_np, NULL) \
    X(pthread_mutex_lock, NULL) X(pthread_mutex_trylock, NULL) X(pthread_mutex_timedlock, NULL) \
    X(pthread_mutex_clocklock, NULL) X(pthread_mutex_unlock, NULL) \
    X(pthread_rwlock_rdlock, NULL) X(pthread_rwlock_wrlock, NULL) X(pthread_rwlock_tryrdlock, NULL) \
    X(pthread_rwlock_trywrlock, NULL) X(pthread_rwlock_timedrdlock, NULL) \
    X(pthread_rwlock_timedwrlock, NULL) X(pthread_rwlock_clockrdlock, NULL) \
    X(pthread_rwlock_clockwrlock, NULL) X(pthread_rwlock_unlock, NULL) \
    X(pthread_spin_lock, NULL) X(pthread_spin_trylock, NULL) X(pthread_spin_unlock, NULL) \
    X(pthread_cond_wait, "GLIBC_2.3.2") X(pthread_cond_timedwait, "GLIBC_2.3.2") \
    X(pthread_cond_clockwait, NULL) X(pthread_cond_signal, "GLIBC_2.3.2") \
    X(pthread_cond_broadcast, "GLIBC_2.3.2") \
    X(sem_wait, NULL) X(sem_timedwait, NULL) X(sem_clockwait, NULL) X(sem_trywait, NULL) X(sem_post, NULL) \
    X(syscall, NULL) \
    X(read, NULL) X(__read_chk, NULL) X(pread, NULL) X(pread64, NULL) X(__pread_chk, NULL) \
    X(__pread64_chk, NULL) X(readv, NULL) X(preadv, NULL) X(preadv64, NULL) \
    X(write, NULL) X(pwrite, NULL) X(pwrite64, NULL) X(writev, NULL) X(pwritev, NULL) X(pwritev64, NULL) \
    X(recv, NULL) X(__recv_chk, NULL) X(recvfrom, NULL) X(__recvfrom_chk, NULL) X(recvmsg, NULL) \
    X(send, NULL) X(sendto, NULL) X(sendmsg, NULL) X(accept, NULL) X(accept4, NULL) X(connect, NULL) \
    X(poll, NULL) X(__poll_chk, NULL) X(ppoll, NULL) X(__ppoll_chk, NULL) X(select, NULL) \
    X(pselect, NULL) X(epoll_wait, NULL) X(epoll_pwait, NULL) X(epoll_pwait2, NULL) \
    X(nanosleep, NULL) X(clock_nanosleep, NULL) X(usleep, NULL) X(sleep, NULL) \
    X(fsync, NULL) X(fdatasync, NULL) \
    X(execve, NULL) X(execv, NULL) X(execvp, NULL) X(execvpe, NULL) X(_exit, NULL) X(_Exit, NULL) \
    X(sigaction, NULL) X(sigaltstack, NULL) X(prctl, NULL) \
    X(sigsuspend, NULL) X(pause, NULL) X(sigwaitinfo, NULL) X(sigtimedwait, NULL)

#define PS_REAL_DECL(name, ver) extern __typeof__(name) *ps_real_##name;
PS_REAL_LIST(PS_REAL_DECL)
#undef PS_REAL_DECL

/* Resolves every pointer; idempotent, safe to call from any thread at any time. */
void ps_real_init(void);

/* The pointer, resolving all of them first if the constructor has not run yet. */
#define PS_REAL(name) (__builtin_expect(ps_real_##name != NULL, 1) ? ps_real_##name \
                       : (ps_real_init(), ps_real_##name))
#endif
