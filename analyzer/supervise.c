/* supervise.c: `poolshim run` as the supervisor that takes the shim's dumps
 * by ptrace (shim/capture/supervise.h has the protocol). The shim cannot trace its
 * own process, and forking a tracer out of the program is unsafe; the
 * `poolshim run` that started the program is its ancestor, which even Yama's
 * ptrace_scope 1 lets trace it. So run listens on an abstract unix socket
 * whose name it passes in POOLSHIM_SUPERVISOR, and while it waits for the
 * program it answers one request at a time: stop every thread, copy, resume
 * (ptrace.c), say "captured", wait for the shim's picture, merge and write the
 * dump where the shim would have (ptrace_dump.c), say "written".
 *
 * Single-threaded on purpose: a ptrace stop of the program's main thread is
 * reported to waitpid on the program too, so the waits for the program's end
 * and for the stops must be one loop. A child's end collected while stopping
 * threads is kept by ptrace.c (pt_take_reaped). Threads that did not stop in
 * time stay seized; the loop lets them go as they stop (pt_detach_lost).
 * Only a descendant of ours with our uid is served (SO_PEERCRED): the socket
 * is reachable by any process in the network namespace. Every wait on the
 * shim has a deadline, and a refusal goes back to the shim, which falls back
 * to its own capture (POOLSHIM_DUMP_CAPTURE=auto). */
#include "cmd.h"
#include "load.h"
#include "ptrace.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define REQUEST_WAIT_MS 2000      /* the shim sends "dump N DIR" as soon as it connects */
#define PICTURE_WAIT_MS 20000     /* the shim's picture: its own dump without stacks */

static int listen_fd = -1;

int an_super_open(void)
{
    unsigned char rnd[8] = { 0 };
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        if (read(fd, rnd, sizeof rnd) != (ssize_t)sizeof rnd) memset(rnd, 0, sizeof rnd);
        close(fd);
    }
    char name[80];
    int len = snprintf(name, sizeof name, "poolshim-run.%d.%02x%02x%02x%02x%02x%02x%02x%02x", (int)getpid(),
                       rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    memcpy(a.sun_path + 1, name, (size_t)len);
    /* CLOEXEC: the program must not inherit it. */
    int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (s < 0) return -1;
    if (bind(s, (struct sockaddr *)&a, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)len)) ||
        listen(s, 8)) {
        close(s);
        return -1;
    }
    listen_fd = s;
    setenv("POOLSHIM_SUPERVISOR", name, 1);
    return 0;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

/* One record into buf (NUL-terminated) within ms; bytes or -1. */
static ssize_t recv_within(int fd, char *buf, size_t cap, int ms)
{
    double end = now_ms() + ms;
    for (;;) {
        double left = end - now_ms();
        if (left <= 0) return -1;
        struct pollfd p = { fd, POLLIN, 0 };
        int r = poll(&p, 1, (int)left + 1);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        ssize_t n = recv(fd, buf, cap - 1, MSG_DONTWAIT);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n <= 0) return -1;
        buf[n] = 0;
        return n;
    }
}

static void reply(int fd, const char *fmt, const char *arg)
{
    char msg[1200];
    int n = snprintf(msg, sizeof msg, fmt, arg);
    if (n > 0) send(fd, msg, (size_t)(n < (int)sizeof msg ? n : (int)sizeof msg - 1), MSG_NOSIGNAL);
}

/* Is pid a descendant of ours (its parent chain reaches us)? */
static int descendant(int pid)
{
    for (int hops = 0; pid > 1 && hops < 4096; hops++) {
        char path[64], buf[512];
        snprintf(path, sizeof path, "/proc/%d/stat", pid);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t l = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
        if (fd >= 0) close(fd);
        if (l <= 0) return 0;
        buf[l] = 0;
        char *p = strrchr(buf, ')');
        int ppid = 0;
        if (!p || sscanf(p + 1, " %*c %d", &ppid) != 1) return 0;
        if (ppid == getpid()) return 1;
        pid = ppid;
    }
    return 0;
}

struct request {
    int fd, pid, n;
    char dir[PATH_MAX];
};

/* pt_picture.get: the shim's "picture PATH", checked to be the file the
 * request announced, and loaded. */
static json_t *picture_get(int pid, void *arg, char *path, size_t pathlen, char *why, size_t whylen)
{
    struct request *r = arg;
    char msg[PATH_MAX + 64], want[PATH_MAX + 64];
    if (recv_within(r->fd, msg, sizeof msg, PICTURE_WAIT_MS) < 0) {
        snprintf(why, whylen, "the shim's picture did not come within %d ms", PICTURE_WAIT_MS);
        return NULL;
    }
    if (!strncmp(msg, "abort ", 6)) {
        snprintf(why, whylen, "%s", msg + 6);
        return NULL;
    }
    snprintf(want, sizeof want, "picture %s/poolshim.%d.picture.%d.json", r->dir, pid, r->n);
    if (strcmp(msg, want)) {
        snprintf(why, whylen, "unexpected message from the shim");
        return NULL;
    }
    snprintf(path, pathlen, "%s", msg + 8);
    struct an_doc doc;
    char err[256];
    if (an_load(path, AN_DUMP, &doc, err, sizeof err)) {
        snprintf(why, whylen, "%s: %s", path, err);
        return NULL;
    }
    return doc.root;
}

/* One request from a connected shim, answered in full or refused. */
static void serve(int fd)
{
    struct request r = { .fd = fd };
    struct ucred cr;
    socklen_t cl = sizeof cr;
    char msg[PATH_MAX + 64];
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) || recv_within(fd, msg, sizeof msg, REQUEST_WAIT_MS) < 0)
        return;
    int off = 0;
    if (sscanf(msg, "dump %d %n", &r.n, &off) != 1 || !off || r.n < 0 || msg[off] != '/' ||
        strlen(msg + off) >= sizeof r.dir) {
        reply(fd, "refused %s", "malformed request");
        return;
    }
    snprintf(r.dir, sizeof r.dir, "%s", msg + off);
    r.pid = (int)cr.pid;
    if ((cr.uid != geteuid() && geteuid() != 0) || !descendant(r.pid)) {
        reply(fd, "refused %s", "the requesting process is not one poolshim run started (or its descendant)");
        return;
    }
    /* A shim that gave up waiting (we were busy with another request) has
     * closed its end: a stop now would be one it no longer expects. */
    struct pollfd alive = { fd, POLLRDHUP, 0 };
    if (poll(&alive, 1, 0) != 0)
        return;
    struct pt_capture cap;
    char why[512];
    if (pt_capture(r.pid, &cap, why, sizeof why, NULL, NULL)) {
        reply(fd, "refused %s", why);
        return;
    }
    reply(fd, "%s", "captured");
    struct pt_picture pic = { NULL, picture_get, &r,
        "the supervising poolshim run stopped every thread at one instant by ptrace, at the shim's request, "
        "for stacks and waits; pools, causes and allocations from the shim's own picture (no thread of the "
        "program was signalled)", 1 };
    char out[PATH_MAX + 64], *text = NULL;
    if (pt_dump_file(&cap, &pic, r.dir, out, sizeof out, &text, why, sizeof why)) {
        reply(fd, "failed %s", why);
        return;
    }
    free(text);
    reply(fd, "written %s", out);
}

/* A stop of the program reported to our wait for its end: a thread of a
 * capture given up on stopped at last. Let it go on. */
static void let_go(pid_t pid, int st)
{
    ptrace(PTRACE_DETACH, pid, 0, (void *)(uintptr_t)((st >> 16) == PTRACE_EVENT_STOP ? 0 : WSTOPSIG(st)));
}

int an_super_wait(int pid, int *status)
{
    if (listen_fd < 0) {
        while (waitpid(pid, status, 0) < 0)
            if (errno != EINTR) return -1;
        return 0;
    }
    int pfd = (int)syscall(SYS_pidfd_open, pid, 0);   /* readable at the program's end (Linux >= 5.3) */
    for (;;) {
        if (pt_take_reaped(pid, status)) break;
        int st;
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid && WIFSTOPPED(st)) { let_go(pid, st); continue; }
        if (w == pid) { *status = st; break; }
        if (w < 0 && errno != EINTR) {
            if (pfd >= 0) close(pfd);
            return -1;
        }
        int lost = pt_detach_lost();
        struct pollfd p[2] = { { listen_fd, POLLIN, 0 }, { pfd, POLLIN, 0 } };
        /* Without a pidfd, look for the end 10 times a second. */
        int r = poll(p, pfd >= 0 ? 2 : 1, lost ? 10 : pfd >= 0 ? -1 : 100);
        if (r > 0 && (p[0].revents & POLLIN)) {
            int c = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
            if (c >= 0) {
                serve(c);
                close(c);
            }
        }
    }
    if (pfd >= 0) close(pfd);
    close(listen_fd);
    listen_fd = -1;
    return 0;
}
