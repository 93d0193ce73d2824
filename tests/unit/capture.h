/* capture.h: helpers shared by the unit tests (header only, static functions).
 * stderr capture: the shim logs with a raw write(2) on fd 2, so the only way to
 * see its lines is a pipe dup2'ed over fd 2 for the duration of the call.
 * Scratch directories: made with mkdtemp, removed (with their files) after. */
#ifndef PS_UNIT_CAPTURE_H
#define PS_UNIT_CAPTURE_H
#include <criterion/criterion.h>
#include <dirent.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct ps_cap { int saved, rd; char text[8192]; };

static inline void ps_cap_begin(struct ps_cap *c)
{
    int p[2];
    cr_assert_eq(pipe(p), 0);
    fflush(stderr);
    c->saved = dup(2);
    cr_assert_geq(c->saved, 0);
    cr_assert_eq(dup2(p[1], 2), 2);
    close(p[1]);
    c->rd = p[0];
    c->text[0] = 0;
}

/* Restores fd 2 and returns everything written to it meanwhile. */
static inline const char *ps_cap_end(struct ps_cap *c)
{
    dup2(c->saved, 2);
    close(c->saved);
    size_t at = 0;
    ssize_t n;
    while (at + 1 < sizeof c->text && (n = read(c->rd, c->text + at, sizeof c->text - 1 - at)) > 0)
        at += (size_t)n;
    c->text[at] = 0;
    close(c->rd);
    return c->text;
}

static inline int ps_count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static inline void ps_mkscratch(char out[64])
{
    strcpy(out, "/tmp/poolshim-unit.XXXXXX");
    cr_assert_not_null(mkdtemp(out));
}

/* Number of entries in dir other than . and .. */
static inline int ps_dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    if (!d)
        return -1;
    for (struct dirent *e; (e = readdir(d));)
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n;
}

static inline void ps_rmscratch(const char *dir)
{
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd)) { /* best effort */ }
}
/* Root passes every access()/open() permission check, so tests of "not
 * writable" become nobody (uid 65534) for the call: real and effective ids,
 * saved id kept at 0 so ps_be_root() can come back. No-op when not root. */
static inline void ps_be_nobody(void)
{
    if (getuid() == 0 || geteuid() == 0)
        cr_assert_eq(setresuid(65534, 65534, 0), 0);
}
static inline void ps_be_root_again(void)
{
    int r = setresuid(0, 0, 0);
    (void)r;
}
#endif
