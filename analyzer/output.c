/* output.c: answer output plumbing shared by report and show (see output.h). */
#include "output.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int an_out_json(const json_t *answer)
{
    if (json_dumpf(answer, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(9)) < 0) return 1;
    fputc('\n', stdout);
    return 0;
}

int an_out_file(const char *path, void (*render)(FILE *, const json_t *), const json_t *answer)
{
    size_t n = strlen(path) + 32;
    char *tmp = malloc(n);
    if (!tmp) return 1;
    snprintf(tmp, n, "%s.tmp.%d", path, (int)getpid());
    FILE *f = fopen(tmp, "w");
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
