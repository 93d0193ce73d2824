/* output.c: answer output plumbing shared by report and show (see output.h). */
#include "output.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int an_out_json(const json_t *answer)
{
    if (json_dumpf(answer, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(9)) < 0) return 1;
    fputc('\n', stdout);
    return 0;
}

FILE *an_out_tmp(const char *base, char *tmp, size_t n)
{
    for (unsigned k = 0; k < 16; k++) {
        if ((size_t)snprintf(tmp, n, "%s.%d.%u.tmp", base, (int)getpid(), k) >= n) {
            errno = ENAMETOOLONG;
            return NULL;
        }
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd >= 0) {
            FILE *f = fdopen(fd, "w");
            if (!f) close(fd), unlink(tmp);
            return f;
        }
        if (errno != EEXIST) return NULL;
    }
    return NULL;
}

int an_out_file(const char *path, void (*render)(FILE *, const json_t *), const json_t *answer)
{
    size_t n = strlen(path) + 48;
    char *tmp = malloc(n);
    if (!tmp) return 1;
    FILE *f = an_out_tmp(path, tmp, n);
    if (!f) {
        fprintf(stderr, "poolshim: %s: cannot write: %s\n", path, strerror(errno));
        free(tmp);
        return 1;
    }
    render(f, answer);
    int bad = ferror(f);
    if (fclose(f) != 0 || bad || rename(tmp, path) != 0) {
        fprintf(stderr, "poolshim: %s: cannot write: %s\n", path, strerror(errno ? errno : EIO));
        unlink(tmp);
        free(tmp);
        return 1;
    }
    free(tmp);
    fprintf(stderr, "poolshim: wrote %s\n", path);
    return 0;
}

int an_out_finish(void)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "poolshim: error writing output: %s\n", strerror(errno));
        return 1;
    }
    return 0;
}
