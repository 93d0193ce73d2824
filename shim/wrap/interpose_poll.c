/* interpose_poll.c: poll, ppoll, select, pselect, epoll_wait, epoll_pwait,
 * epoll_pwait2 (and fortified poll/ppoll). A poll-family wait is `io`, unless
 * its object (the epoll fd, or the first polled fd) is the pool's idle wait:
 * then it is idle time, and each ready fd it returns is a task (a memcached
 * worker woken for 3 connections serves 3 requests).
 * poll/ppoll read their first fd only after the real call succeeded: the host
 * may pass a bad pointer and must get EFAULT from the kernel, not a fault.
 * A wait cut short by our dump signal alone waits on for the time left
 * (restart.h): `retry` is the call again with `left_ms` / `left_ts` (select
 * already leaves the time left in its timeval, as Linux does). */
#include "export.h"
#include "real.h"
#include "restart.h"
#include "waitobj.h"

/* Before the real call: the counters and errno as the program left them. */
#define PS_RESTART_BEGIN()                                                            \
    struct ps_restart rs_;                                                            \
    ps_restart_begin(&rs_, pw_.span.t);                                               \
    int *err_ = &errno, saved_ = *err_;
/* After it (its result in rv_): again with the time left while only our dump
 * signal interrupted it. */
#define PS_RESTART_LOOP(retry)                                                        \
    while (ps_restart_errno(&rs_, rv_ < 0, err_, saved_)) {                           \
        uint64_t now_ = ps_now_ns();                                                  \
        struct timespec lts_;                                                         \
        (void)now_; (void)lts_;                                                       \
        rv_ = retry;                                                                  \
    }
#define left_ms(to) ps_restart_left_ms(to, pw_.span.t0, now_)
#define left_ts(to) ps_restart_left_ts(to, &lts_, pw_.span.t0, now_)

#define PS_POLL_WRAP(name, key, params, args, retry)                                  \
    PS_EXPORT int name params                                                         \
    {                                                                                 \
        PS_OBJWAIT(pw_);                                                        \
        if (!ps_objwait_begin(&pw_, PS_IO, PS_K_POLL, key, PS_CALLER()))              \
            return PS_REAL(name) args;                                                \
        PS_RESTART_BEGIN()                                                            \
        int rv_ = ps_real_##name args;                                                \
        PS_RESTART_LOOP(retry)                                                        \
        ps_objwait_end(&pw_, rv_ > 0 ? rv_ : 0);                                     \
        return rv_;                                                                   \
    }

/* Same shape; the key is the first polled fd, read once the kernel accepted the array. */
#define PS_POLLFD_WRAP(name, params, args, retry)                                     \
    PS_EXPORT int name params                                                         \
    {                                                                                 \
        PS_OBJWAIT(pw_);                                                              \
        if (!ps_objwait_begin(&pw_, PS_IO, PS_K_POLL, 0, PS_CALLER()))                \
            return PS_REAL(name) args;                                                \
        PS_RESTART_BEGIN()                                                            \
        int rv_ = ps_real_##name args;                                                \
        PS_RESTART_LOOP(retry)                                                        \
        if (rv_ >= 0 && n > 0)                                                        \
            ps_objwait_rekey(&pw_, PS_FD_KEY(fds[0].fd));                             \
        ps_objwait_end(&pw_, rv_ > 0 ? rv_ : 0);                                      \
        return rv_;                                                                   \
    }

#define NFDS_KEY (n > 0 ? PS_FD_KEY(n - 1) : 0)

PS_POLLFD_WRAP(poll, (struct pollfd *fds, nfds_t n, int to), (fds, n, to),
               ps_real_poll(fds, n, left_ms(to)))
PS_POLLFD_WRAP(__poll_chk, (struct pollfd *fds, nfds_t n, int to, size_t l), (fds, n, to, l),
               ps_real___poll_chk(fds, n, left_ms(to), l))
PS_POLLFD_WRAP(ppoll, (struct pollfd *fds, nfds_t n, const struct timespec *to, const sigset_t *m),
               (fds, n, to, m), ps_real_ppoll(fds, n, left_ts(to), m))
PS_POLLFD_WRAP(__ppoll_chk,
               (struct pollfd *fds, nfds_t n, const struct timespec *to, const sigset_t *m, size_t l),
               (fds, n, to, m, l), ps_real___ppoll_chk(fds, n, left_ts(to), m, l))
PS_POLL_WRAP(select, NFDS_KEY, (int n, fd_set *r, fd_set *w, fd_set *e, struct timeval *to), (n, r, w, e, to),
             ps_real_select(n, r, w, e, to))
PS_POLL_WRAP(pselect, NFDS_KEY,
             (int n, fd_set *r, fd_set *w, fd_set *e, const struct timespec *to, const sigset_t *m),
             (n, r, w, e, to, m), ps_real_pselect(n, r, w, e, left_ts(to), m))
PS_POLL_WRAP(epoll_wait, PS_FD_KEY(ep), (int ep, struct epoll_event *ev, int n, int to), (ep, ev, n, to),
             ps_real_epoll_wait(ep, ev, n, left_ms(to)))
PS_POLL_WRAP(epoll_pwait, PS_FD_KEY(ep), (int ep, struct epoll_event *ev, int n, int to, const sigset_t *m),
             (ep, ev, n, to, m), ps_real_epoll_pwait(ep, ev, n, left_ms(to), m))

PS_EXPORT int epoll_pwait2(int ep, struct epoll_event *ev, int n, const struct timespec *to, const sigset_t *m)
{
    if (!PS_REAL(epoll_pwait2)) {
        errno = ENOSYS;
        return -1;
    }
    PS_OBJWAIT(pw_);
    if (!ps_objwait_begin(&pw_, PS_IO, PS_K_POLL, PS_FD_KEY(ep), PS_CALLER()))
        return ps_real_epoll_pwait2(ep, ev, n, to, m);
    PS_RESTART_BEGIN()
    int rv_ = ps_real_epoll_pwait2(ep, ev, n, to, m);
    PS_RESTART_LOOP(ps_real_epoll_pwait2(ep, ev, n, left_ts(to), m))
    ps_objwait_end(&pw_, rv_ > 0 ? rv_ : 0);
    return rv_;
}
