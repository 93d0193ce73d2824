/* log.c: formatting without stdio, and the stderr warning line.
 * Why not snprintf: the shim runs inside locks of the host (malloc, stdio), at
 * exit and after fork; a tiny formatter with no locale, no allocation and no
 * locks cannot deadlock or recurse into our own wrappers. */
#include "confine.h"
#include "log.h"
#include "real.h"
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/syscall.h>

/* Where our lines go: the stderr the process started with, and only while fd 2
 * still is that file. Programs close every fd at start and reopen, or dup2 a
 * log file over stderr; fd 2 may then be a data file the program owns, and a
 * line of ours in it would corrupt it. We cannot tell a deliberate redirection
 * from an accidental reuse, so when fd 2 changed we stay silent: the report
 * file holds everything the summary says. Recorded first thing in the
 * constructor; before that (and in unit tests) lines always go to fd 2. */
enum { ID_UNSET, ID_SET, ID_CLOSED };
static struct { int state; dev_t dev; ino_t ino; } stderr_id;

void ps_log_init(void)
{
    int saved = errno;
    struct stat st;
    if (fstat(2, &st) == 0) {
        stderr_id.dev = st.st_dev;
        stderr_id.ino = st.st_ino;
        stderr_id.state = ID_SET;
    } else {
        stderr_id.state = ID_CLOSED;
    }
    errno = saved;
}

int ps_log_reaches_stderr(void)
{
    if (stderr_id.state == ID_UNSET)
        return 1;
    int saved = errno;
    struct stat st;
    int same = stderr_id.state == ID_SET && fstat(2, &st) == 0 && st.st_dev == stderr_id.dev &&
               st.st_ino == stderr_id.ino;
    errno = saved;
    return same;
}

static size_t put_u(char *b, size_t cap, size_t at, unsigned long long v, int base)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    while (n && at + 1 < cap)
        b[at++] = tmp[--n];
    return at;
}

size_t ps_vfmt(char *b, size_t cap, const char *f, va_list ap)
{
    size_t at = 0;
    if (!cap) return 0;
    for (; *f && at + 1 < cap; f++) {
        if (*f != '%') { b[at++] = *f; continue; }
        f++;
        int lng = 0;
        while (*f == 'l' || *f == 'z') { lng++; f++; }
        switch (*f) {
        case 's': {
            const char *s = va_arg(ap, const char *);
            if (!s)
                s = "(null)";
            while (*s && at + 1 < cap)
                b[at++] = *s++;
            break;
        }
        case 'c': b[at++] = (char)va_arg(ap, int); break;
        case 'd': { long long v = lng ? va_arg(ap, long) : va_arg(ap, int);
                    unsigned long long u = (unsigned long long)v;
                    if (v < 0) { b[at++] = '-'; u = 0 - u; }   /* LONG_MIN without overflow */
                    at = put_u(b, cap, at, u, 10); break; }
        case 'u': at = put_u(b, cap, at, lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned), 10); break;
        case 'x': at = put_u(b, cap, at, lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned), 16); break;
        case 'p': b[at++] = '0';      /* truncated output stays a prefix */
                  if (at + 1 < cap) b[at++] = 'x';
                  at = put_u(b, cap, at, (uintptr_t)va_arg(ap, void *), 16); break;
        case '%': b[at++] = '%'; break;
        default: if (!*f) f--; break;
        }
    }
    b[at] = 0;
    return at;
}

size_t ps_fmt(char *buf, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t n = ps_vfmt(buf, cap, fmt, ap);
    va_end(ap);
    return n;
}

void ps_fmt_cat(char *buf, size_t cap, const char *fmt, ...)
{
    size_t n = strnlen(buf, cap);
    if (n + 1 >= cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    ps_vfmt(buf + n, cap - n, fmt, ap);
    va_end(ap);
}

int ps_write_all(int fd, const void *buf, size_t n)
{
    int saved = errno;
    const char *p = buf;
    while (n) {
        ssize_t w = syscall(SYS_write, fd, p, n);   /* raw: never through our own write() */
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) { int e = w < 0 ? errno : EIO; errno = saved; return -e; }
        p += w; n -= (size_t)w;
    }
    errno = saved;
    return 0;
}

void ps_log(const char *fmt, ...)
{
    if (ps_is_confined())
        return;                          /* fstat(2) may be forbidden (confine.h) */
    char line[512];
    size_t at = ps_fmt(line, sizeof line, "poolshim[%d]: ", (int)getpid());
    va_list ap;
    va_start(ap, fmt);
    at += ps_vfmt(line + at, sizeof line - at - 1, fmt, ap);
    va_end(ap);
    line[at++] = '\n';
    if (ps_log_reaches_stderr())
        ps_write_all(2, line, at);
}
