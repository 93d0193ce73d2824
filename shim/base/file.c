/* file.c: atomic file writes and small reads (see file.h). Uses raw system calls through libc
 * functions we do not wrap (open, close, rename) and ps_write_all, so writing a
 * report is never counted as the host's I/O. */
#include "file.h"
#include <string.h>
#include "log.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Creates a fresh temporary file beside dst: O_EXCL|O_NOFOLLOW, so that in a
 * shared directory (/tmp) another user's file or symlink planted at the name
 * is never opened, let alone followed; a name taken is passed over for the
 * next one. The fd, or -errno; the name is in tmp. */
int ps_file_create_tmp(const char *dir, const char *name, char *tmp, size_t cap)
{
    static unsigned seq;
    int e = EEXIST;
    for (int tries = 0; tries < 16 && e == EEXIST; tries++) {
        unsigned k = __atomic_fetch_add(&seq, 1, __ATOMIC_RELAXED);
        if (ps_fmt(tmp, cap, "%s/.%s.%d.%u.tmp", dir, name, (int)getpid(), k) >= cap - 1)
            return -ENAMETOOLONG;
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd >= 0)
            return fd;
        e = errno;
    }
    return -e;
}

static int write_atomic(const char *dir, const char *name, const void *buf, size_t len, int sync)
{
    char tmp[640], dst[640];
    int saved = errno;
    /* ps_fmt truncates: a path that filled a buffer may name another file */
    if (ps_fmt(dst, sizeof dst, "%s/%s", dir, name) >= sizeof dst - 1)
        return -ENAMETOOLONG;
    int fd = ps_file_create_tmp(dir, name, tmp, sizeof tmp);
    if (fd < 0) {
        errno = saved;
        return fd;
    }
    int e = -ps_write_all(fd, buf, len);
    if (!e && sync && syscall(SYS_fsync, fd) != 0)
        e = errno;
    close(fd);
    /* rename replaces a symlink at dst itself; it never writes through it */
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

void ps_file_self_exe(char *buf, size_t cap)
{
    ssize_t n = cap ? readlink("/proc/self/exe", buf, cap - 1) : 0;
    if (cap)
        buf[n > 0 ? n : 0] = 0;
}

static char program[64];

/* glibc's copy of argv[0]'s last part points into argv itself, which a
 * program may rewrite for a title later: copied now, no file read. */
void ps_file_note_program(void)
{
#ifdef __GLIBC__
    extern char *program_invocation_short_name;
    const char *b = program_invocation_short_name ? program_invocation_short_name : "";
    size_t k = strnlen(b, sizeof program - 1);
    memcpy(program, b, k);
    program[k] = 0;
#endif
}

const char *ps_file_program(void)
{
    return program;
}

int ps_file_contains(const char *path, const char *needle)
{
    size_t k = strlen(needle);
    if (!k || k >= 64)
        return 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    char buf[4096 + 64];
    size_t keep = 0;
    int found = 0;
    for (;;) {
        ssize_t n = syscall(SYS_read, fd, buf + keep, sizeof buf - 1 - keep);
        if (n <= 0)
            break;
        size_t len = keep + (size_t)n;
        buf[len] = 0;
        if (memmem(buf, len, needle, k)) {
            found = 1;
            break;
        }
        keep = k - 1 < len ? k - 1 : len;     /* a match across two reads */
        memmove(buf, buf + len - keep, keep);
    }
    close(fd);
    return found;
}

int ps_file_write_atomic(const char *dir, const char *name, const void *buf, size_t len)
{
    return write_atomic(dir, name, buf, len, 1);
}

int ps_file_replace(const char *dir, const char *name, const void *buf, size_t len)
{
    return write_atomic(dir, name, buf, len, 0);
}
