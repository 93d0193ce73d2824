/* Unit tests for shim/base/file.c: atomic writes leave exactly the target file with
 * exactly the bytes given, and on failure leave nothing and return -errno. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include "capture.h"
#include "file.h"

static size_t slurp(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY);
    cr_assert_geq(fd, 0, "%s missing", path);
    size_t at = 0;
    ssize_t n;
    while (at < cap && (n = read(fd, buf + at, cap - at)) > 0)
        at += (size_t)n;
    close(fd);
    return at;
}

Test(file, writes_exact_content_and_no_temp_file)
{
    char d[64], path[128], got[300000];
    static char data[200000];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (char)(i * 7 + 3);               /* includes NUL bytes */
    ps_mkscratch(d);
    errno = EDOM;
    cr_expect_eq(ps_file_write_atomic(d, "report.json", data, sizeof data), 0);
    cr_expect_eq(errno, EDOM, "errno changed");
    snprintf(path, sizeof path, "%s/report.json", d);
    cr_expect_eq(slurp(path, got, sizeof got), sizeof data);
    cr_expect_eq(memcmp(got, data, sizeof data), 0);
    cr_expect_eq(ps_dir_entries(d), 1, "a temp file was left behind");
    ps_rmscratch(d);
}

Test(file, replaces_an_existing_file_whole)
{
    char d[64], path[128], got[64];
    ps_mkscratch(d);
    cr_assert_eq(ps_file_write_atomic(d, "f", "a much longer first version", 27), 0);
    cr_assert_eq(ps_file_write_atomic(d, "f", "v2", 2), 0);
    snprintf(path, sizeof path, "%s/f", d);
    size_t n = slurp(path, got, sizeof got);
    cr_expect_eq(n, 2);
    cr_expect_eq(memcmp(got, "v2", 2), 0);
    cr_expect_eq(ps_dir_entries(d), 1);
    ps_rmscratch(d);
}

Test(file, empty_content_makes_an_empty_file)
{
    char d[64], path[128];
    struct stat st;
    ps_mkscratch(d);
    cr_expect_eq(ps_file_write_atomic(d, "empty", "", 0), 0);
    snprintf(path, sizeof path, "%s/empty", d);
    cr_assert_eq(stat(path, &st), 0);
    cr_expect_eq(st.st_size, 0);
    ps_rmscratch(d);
}

Test(file, read_only_dir_is_eacces_and_leaves_nothing)
{
    char d[64];
    ps_mkscratch(d);
    cr_assert_eq(chmod(d, 0555), 0);
    ps_be_nobody();
    errno = EDOM;
    int r = ps_file_write_atomic(d, "report.json", "x", 1);
    int e = errno;
    ps_be_root_again();
    cr_expect_eq(r, -EACCES, "got %d", r);
    cr_expect_eq(e, EDOM);
    cr_expect_eq(ps_dir_entries(d), 0);
    ps_rmscratch(d);
}

Test(file, missing_dir_is_enoent)
{
    cr_expect_eq(ps_file_write_atomic("/nonexistent/poolshim", "r.json", "x", 1), -ENOENT);
}

/* rename onto a directory fails after the data was written: the temp file
 * must be removed and the error returned. */
Test(file, failed_rename_removes_the_temp_file)
{
    char d[64], sub[128];
    ps_mkscratch(d);
    snprintf(sub, sizeof sub, "%s/taken", d);
    cr_assert_eq(mkdir(sub, 0755), 0);
    cr_assert_eq(mknod(strcat(strcpy((char[160]){0}, sub), "/x"), S_IFREG | 0644, 0), 0);
    int r = ps_file_write_atomic(d, "taken", "data", 4);
    cr_expect(r == -EISDIR || r == -ENOTEMPTY || r == -EEXIST, "got %d", r);
    cr_expect_eq(ps_dir_entries(d), 1, "temp file left behind");
    ps_rmscratch(d);
}

/* A path that does not fit the internal buffers must fail, not be cut short
 * (a truncated path names some other file). */
Test(file, overlong_path_is_enametoolong)
{
    char d[64], dir[800];
    ps_mkscratch(d);
    snprintf(dir, sizeof dir, "%s/", d);
    size_t at = strlen(dir);
    /* nested directories so the full path really exists */
    while (at + 101 < 700) {
        memset(dir + at, 'd', 100);
        dir[at + 100] = 0;
        cr_assert_eq(mkdir(dir, 0755), 0, "%s", dir);
        dir[at + 100] = '/';
        at += 101;
    }
    dir[at - 1] = 0;
    int r = ps_file_write_atomic(dir, "poolshim.12345.json", "x", 1);
    cr_expect_eq(r, -ENAMETOOLONG, "got %d", r);
    ps_rmscratch(d);
}
