/* supervise.c: the shim's end of the request to the supervising `poolshim run`
 * (supervise.h). Agent thread only; the two stop counters are read by any
 * thread's wrappers (restart.h).
 * Why a socket opened per request: the program must not find a descriptor of
 * ours in its table (it may close or dup2 over it, or count its fds), nor one
 * inherited across its exec. The connection lives from the request until the
 * merged dump is written (a fork meanwhile gives the child a copy, closed at
 * its exec). Every wait on the supervisor has a deadline, so a supervisor that
 * hangs costs a dump, never the program. The real functions are called, not
 * our wrappers: this is not the program's I/O. */
#include "supervise.h"
#include "clock.h"
#include "config.h"
#include "log.h"
#include "real.h"
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* Seizing and stopping a thousand threads on a loaded machine stays within
 * ~3 s (analyzer/ptrace.c's deadlines); the merge unwinds and symbolizes
 * every thread: 0.15 s of CPU for 3,000 threads, allow for load. */
#define CAPTURE_WAIT_MS 8000
#define MERGE_WAIT_MS 30000

static uint64_t begun, ended;       /* requests started / whose stop is over */

uint64_t ps_super_stops(void)
{
    return __atomic_load_n(&ended, __ATOMIC_ACQUIRE);
}

int ps_super_stop_since(uint64_t stops0)
{
    /* The supervisor resumes every thread before it answers, so a thread cut
     * by its stop runs again while begun != ended, or after ended moved. */
    uint64_t e = __atomic_load_n(&ended, __ATOMIC_ACQUIRE);
    return e != stops0 || __atomic_load_n(&begun, __ATOMIC_ACQUIRE) != e;
}

/* One record of at most cap-1 bytes into buf, NUL-terminated, within ms.
 * Bytes, or -1 (timeout, closed, error). */
static ssize_t recv_within(int fd, char *buf, size_t cap, int ms)
{
    uint64_t end = ps_now_ns() + (uint64_t)ms * 1000000ull;
    for (;;) {
        uint64_t now = ps_now_ns();
        if (now >= end)
            return -1;
        struct pollfd p = { fd, POLLIN, 0 };
        int r = PS_REAL(poll)(&p, 1, (int)((end - now) / 1000000ull) + 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        ssize_t n = PS_REAL(recv)(fd, buf, cap - 1, MSG_DONTWAIT);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n <= 0)
            return -1;
        buf[n] = 0;
        return n;
    }
}

static int send_text(int fd, const char *text)
{
    ssize_t n;
    do
        n = PS_REAL(send)(fd, text, strlen(text), MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    return n == (ssize_t)strlen(text) ? 0 : -1;
}

int ps_super_capture(struct ps_super *s, int n, char *why, size_t whylen)
{
    int saved = errno;
    s->fd = -1;
    if (!ps_cfg.supervisor[0]) {
        ps_fmt(why, whylen, "no supervising poolshim run (a process cannot trace its own threads)");
        return -1;
    }
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    size_t len = strlen(ps_cfg.supervisor);      /* at most 107: the table's bound */
    memcpy(a.sun_path + 1, ps_cfg.supervisor, len);  /* abstract: leading NUL */
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        ps_fmt(why, whylen, "no socket to reach the supervising poolshim run (errno %d)", errno);
        errno = saved;
        return -1;
    }
    int r;
    do
        r = PS_REAL(connect)(fd, (struct sockaddr *)&a, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + len));
    while (r < 0 && errno == EINTR);
    if (r < 0) {
        ps_fmt(why, whylen, "the supervising poolshim run is gone (connect: errno %d)", errno);
        close(fd);
        errno = saved;
        return -1;
    }
    char msg[512];
    ps_fmt(msg, sizeof msg, "dump %d %s", n, ps_cfg.dir);
    __atomic_fetch_add(&begun, 1, __ATOMIC_ACQ_REL);
    ssize_t got = send_text(fd, msg) ? -1 : recv_within(fd, msg, sizeof msg, CAPTURE_WAIT_MS);
    __atomic_fetch_add(&ended, 1, __ATOMIC_ACQ_REL);
    if (got > 0 && !strcmp(msg, "captured")) {
        s->fd = fd;
        errno = saved;
        return 0;
    }
    if (got > 0 && !strncmp(msg, "refused ", 8))
        ps_fmt(why, whylen, "the supervising poolshim run cannot trace it: %s", msg + 8);
    else
        ps_fmt(why, whylen, "the supervising poolshim run did not answer within %d ms", CAPTURE_WAIT_MS);
    close(fd);
    errno = saved;
    return -1;
}

int ps_super_finish(struct ps_super *s, const char *picture_path, char *why, size_t whylen)
{
    int saved = errno;
    char msg[1024];
    ps_fmt(msg, sizeof msg, "picture %s", picture_path);
    ssize_t got = s->fd < 0 || send_text(s->fd, msg) ? -1 : recv_within(s->fd, msg, sizeof msg, MERGE_WAIT_MS);
    int ok = got > 0 && !strncmp(msg, "written ", 8);
    if (!ok && got > 0 && !strncmp(msg, "failed ", 7))
        ps_fmt(why, whylen, "the supervising poolshim run could not write it: %s", msg + 7);
    else if (!ok)
        ps_fmt(why, whylen, "the supervising poolshim run did not write it within %d ms", MERGE_WAIT_MS);
    ps_super_end(s, NULL);
    errno = saved;
    return ok ? 0 : -1;
}

void ps_super_end(struct ps_super *s, const char *abort_why)
{
    int saved = errno;
    if (s->fd >= 0) {
        if (abort_why) {
            char msg[512];
            ps_fmt(msg, sizeof msg, "abort %s", abort_why);
            send_text(s->fd, msg);
        }
        close(s->fd);
    }
    s->fd = -1;
    errno = saved;
}
