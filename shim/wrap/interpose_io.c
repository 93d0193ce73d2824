/* interpose_io.c: the blocking file and socket calls, their 64-bit and
 * fortified (_chk) names. Each is a span of `io` wait on its fd: two clock
 * reads around the real call, nothing else. An fd that is the pool's idle wait
 * (workers blocked reading a pipe for work) counts as idle. The first call
 * after a worker's wake-up from its idle poll settles whether that wake-up was
 * a task: EAGAIN means another worker took the work (ps_task_settle). */
#include "export.h"
#include "account.h"
#include "syncobj.h"
#include "real.h"

/* THEN runs after the call with its result r (the datagram receives). */
#define PS_IO_WRAP_THEN(ret, name, fd, params, args, then)                             \
    PS_EXPORT ret name params                                                          \
    {                                                                                  \
        PS_SPAN(s);                                                                    \
        if (!ps_span_begin(&s, PS_IO, PS_K_IO, PS_FD_KEY(fd), PS_CALLER()))            \
            return PS_REAL(name) args;                                                 \
        ret r = ps_real_##name args;                                                   \
        ps_span_end(&s);                                                               \
        ps_task_settle(s.t, r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));       \
        then;                                                                          \
        return r;                                                                      \
    }
#define PS_IO_WRAP(ret, name, fd, params, args) PS_IO_WRAP_THEN(ret, name, fd, params, args, (void)0)
/* The writes: one that sent data after a poll wake-up is an answer to a
 * request (ps_task_reply). */
#define PS_REPLY_WRAP(name, params, args) \
    PS_IO_WRAP_THEN(ssize_t, name, fd, params, args, if (r > 0) ps_task_reply(s.t))

PS_IO_WRAP(ssize_t, read, fd, (int fd, void *b, size_t n), (fd, b, n))
PS_IO_WRAP(ssize_t, __read_chk, fd, (int fd, void *b, size_t n, size_t bl), (fd, b, n, bl))
PS_IO_WRAP(ssize_t, pread, fd, (int fd, void *b, size_t n, off_t o), (fd, b, n, o))
PS_IO_WRAP(ssize_t, pread64, fd, (int fd, void *b, size_t n, off64_t o), (fd, b, n, o))
PS_IO_WRAP(ssize_t, __pread_chk, fd, (int fd, void *b, size_t n, off_t o, size_t bl), (fd, b, n, o, bl))
PS_IO_WRAP(ssize_t, __pread64_chk, fd, (int fd, void *b, size_t n, off64_t o, size_t bl), (fd, b, n, o, bl))
PS_IO_WRAP(ssize_t, readv, fd, (int fd, const struct iovec *v, int c), (fd, v, c))
PS_IO_WRAP(ssize_t, preadv, fd, (int fd, const struct iovec *v, int c, off_t o), (fd, v, c, o))
PS_IO_WRAP(ssize_t, preadv64, fd, (int fd, const struct iovec *v, int c, off64_t o), (fd, v, c, o))
PS_REPLY_WRAP(write, (int fd, const void *b, size_t n), (fd, b, n))
PS_REPLY_WRAP(pwrite, (int fd, const void *b, size_t n, off_t o), (fd, b, n, o))
PS_REPLY_WRAP(pwrite64, (int fd, const void *b, size_t n, off64_t o), (fd, b, n, o))
PS_REPLY_WRAP(writev, (int fd, const struct iovec *v, int c), (fd, v, c))
PS_REPLY_WRAP(pwritev, (int fd, const struct iovec *v, int c, off_t o), (fd, v, c, o))
PS_REPLY_WRAP(pwritev64, (int fd, const struct iovec *v, int c, off64_t o), (fd, v, c, o))
PS_IO_WRAP(int, fsync, fd, (int fd), (fd))
PS_IO_WRAP(int, fdatasync, fd, (int fd), (fd))

PS_IO_WRAP(ssize_t, recv, fd, (int fd, void *b, size_t n, int f), (fd, b, n, f))
PS_IO_WRAP(ssize_t, __recv_chk, fd, (int fd, void *b, size_t n, size_t bl, int f), (fd, b, n, bl, f))
/* The receives that name their sender: with an address, a datagram (one
 * message: ps_task_datagram). */
#define PS_DGRAM_WRAP(name, params, args, addressed) \
    PS_IO_WRAP_THEN(ssize_t, name, fd, params, args, if (r > 0 && (addressed)) ps_task_datagram(s.t))

PS_DGRAM_WRAP(recvfrom, (int fd, void *b, size_t n, int f, struct sockaddr *a, socklen_t *al),
              (fd, b, n, f, a, al), a != NULL)
PS_DGRAM_WRAP(__recvfrom_chk, (int fd, void *b, size_t n, size_t bl, int f, struct sockaddr *a, socklen_t *al),
              (fd, b, n, bl, f, a, al), a != NULL)
PS_DGRAM_WRAP(recvmsg, (int fd, struct msghdr *m, int f), (fd, m, f), m && m->msg_name)
PS_REPLY_WRAP(send, (int fd, const void *b, size_t n, int f), (fd, b, n, f))
PS_REPLY_WRAP(sendto, (int fd, const void *b, size_t n, int f, const struct sockaddr *a, socklen_t al),
           (fd, b, n, f, a, al))
PS_REPLY_WRAP(sendmsg, (int fd, const struct msghdr *m, int f), (fd, m, f))
PS_IO_WRAP(int, accept, fd, (int fd, struct sockaddr *a, socklen_t *al), (fd, a, al))
PS_IO_WRAP(int, accept4, fd, (int fd, struct sockaddr *a, socklen_t *al, int f), (fd, a, al, f))
PS_IO_WRAP(int, connect, fd, (int fd, const struct sockaddr *a, socklen_t al), (fd, a, al))
