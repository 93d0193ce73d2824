/* interpose_poll.c: poll, ppoll, select, pselect, epoll_wait, epoll_pwait,
 * epoll_pwait2 (and fortified poll/ppoll). A poll-family wait is `io`, unless
 * its object (the epoll fd, or the first polled fd) is the pool's idle wait:
 * then it is idle time, and returning with ready fds starts a task.
 * poll/ppoll read their first fd only after the real call succeeded: the host
 * may pass a bad pointer and must get EFAULT from the kernel, not a fault. */
#include "export.h"
#include "real.h"
#include "waitobj.h"

#define PS_POLL_WRAP(name, key, params, args)                                         \
    PS_EXPORT int name params                                                         \
    {                                                                                 \
        PS_OBJWAIT(pw_);                                                        \
        if (!ps_objwait_begin(&pw_, PS_IO, PS_K_POLL, key, PS_CALLER()))              \
            return PS_REAL(name) args;                                                \
        int rv_ = ps_real_##name args;                                                \
        ps_objwait_end(&pw_, rv_ > 0);                                               \
        return rv_;                                                                   \
    }

/* Same shape; the key is the first polled fd, read once the kernel accepted the array. */
#define PS_POLLFD_WRAP(name, params, args)                                            \
    PS_EXPORT int name params                                                         \
    {                                                                                 \
        PS_OBJWAIT(pw_);                                                              \
        if (!ps_objwait_begin(&pw_, PS_IO, PS_K_POLL, 0, PS_CALLER()))                \
            return PS_REAL(name) args;                                                \
        int rv_ = ps_real_##name args;                                                \
        if (rv_ >= 0 && n > 0)                                                        \
            ps_objwait_rekey(&pw_, PS_FD_KEY(fds[0].fd));                             \
        ps_objwait_end(&pw_, rv_ > 0);                                                \
        return rv_;                                                                   \
    }

#define NFDS_KEY (n > 0 ? PS_FD_KEY(n - 1) : 0)

PS_POLLFD_WRAP(poll, (struct pollfd *fds, nfds_t n, int to), (fds, n, to))
PS_POLLFD_WRAP(__poll_chk, (struct pollfd *fds, nfds_t n, int to, size_t l), (fds, n, to, l))
PS_POLLFD_WRAP(ppoll, (struct pollfd *fds, nfds_t n, const struct timespec *to, const sigset_t *m),
               (fds, n, to, m))
PS_POLLFD_WRAP(__ppoll_chk,
               (struct pollfd *fds, nfds_t n, const struct timespec *to, const sigset_t *m, size_t l),
               (fds, n, to, m, l))
PS_POLL_WRAP(select, NFDS_KEY, (int n, fd_set *r, fd_set *w, fd_set *e, struct timeval *to), (n, r, w, e, to))
PS_POLL_WRAP(pselect, NFDS_KEY,
             (int n, fd_set *r, fd_set *w, fd_set *e, const struct timespec *to, const sigset_t *m),
             (n, r, w, e, to, m))
PS_POLL_WRAP(epoll_wait, PS_FD_KEY(ep), (int ep, struct epoll_event *ev, int n, int to), (ep, ev, n, to))
PS_POLL_WRAP(epoll_pwait, PS_FD_KEY(ep), (int ep, struct epoll_event *ev, int n, int to, const sigset_t *m),
             (ep, ev, n, to, m))

PS_EXPORT int epoll_pwait2(int ep, struct epoll_event *ev, int n, const struct timespec *to, const sigset_t *m)
{
    if (!PS_REAL(epoll_pwait2)) {
        errno = ENOSYS;
        return -1;
    }
    PS_OBJWAIT(w);
    if (!ps_objwait_begin(&w, PS_IO, PS_K_POLL, PS_FD_KEY(ep), PS_CALLER()))
        return ps_real_epoll_pwait2(ep, ev, n, to, m);
    int r = ps_real_epoll_pwait2(ep, ev, n, to, m);
    ps_objwait_end(&w, r > 0);
    return r;
}
