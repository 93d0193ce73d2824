/* file.c: atomic file writes and small reads (see file.h). Uses raw system calls through libc
 * functions we do not wrap (open, close, rename) and ps_write_all, so writing a
 * report is never counted as the host's I/O. */
#include "file.h"
#include "log.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

static int write_atomic(const char *dir, const char *name, const void *buf, size_t len, int sync)
{
    char tmp[640], dst[640];
    int saved = errno;
    /* ps_fmt truncates: a path that filled a buffer may name another file */
    if (ps_fmt(dst, sizeof dst, "%s/%s", dir, name) >= sizeof dst - 1 ||
        ps_fmt(tmp, sizeof tmp, "%s/.%s.%d.tmp", dir, name, (int)getpid()) >= sizeof tmp - 1)
        return -ENAMETOOLONG;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        int e = errno;
        errno = saved;
        return -e;
    }
    int e = -ps_write_all(fd, buf, len);
    if (!e && sync && syscall(SYS_fsync, fd) != 0)
        e = errno;
    close(fd);
    if (!e && rename(tmp, dst) != 0)
        e = errno;
    if (e)
        unlink(tmp);
    errno = saved;
    return -e;
}

long ps_file_read_small(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = syscall(SYS_read, fd, buf, cap - 1);
    close(fd);
    if (n < 0)
        return -1;
    buf[n] = 0;
    return n;
}

int ps_file_write_atomic(const char *dir, const char *name, const void *buf, size_t len)
{
    return write_atomic(dir, name, buf, len, 1);
}

int ps_file_replace(const char *dir, const char *name, const void *buf, size_t len)
{
    return write_atomic(dir, name, buf, len, 0);
}
