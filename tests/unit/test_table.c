/* Unit tests for shim/base/table.c: a table emptied in a forked child reads
 * as zeros there, stays as it was in the parent, keeps errno, and is emptied
 * without faulting in the pages nobody touched (the reason it is not a memset). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include "table.h"

#define BIG (64u << 20)

/* pages of [p, p + n) that are resident */
static size_t resident(const void *p, size_t n)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE), np = n / pg, r = 0;
    unsigned char *v = malloc(np);
    cr_assert_eq(mincore((void *)p, n, v), 0);
    for (size_t i = 0; i < np; i++)
        r += v[i] & 1;
    free(v);
    return r;
}

Test(table, zero_empties_without_touching_untouched_pages)
{
    uint64_t *t = ps_table_map(BIG);
    cr_assert_not_null(t);
    t[0] = 7;
    t[BIG / 8 - 1] = 9;
    cr_expect_leq(resident(t, BIG), 2);
    errno = EDOM;
    ps_table_zero(t, BIG);
    cr_expect_eq(errno, EDOM, "errno kept");
    cr_expect_eq(resident(t, BIG), 0, "the two touched pages dropped, none faulted in");
    cr_expect_eq(t[0], 0);
    cr_expect_eq(t[BIG / 8 - 1], 0);
    munmap(t, BIG);
}

Test(table, zero_in_a_forked_child_leaves_the_parent_its_entries)
{
    uint64_t *t = ps_table_map(BIG);
    cr_assert_not_null(t);
    t[12345] = 42;
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        ps_table_zero(t, BIG);
        _exit(t[12345] == 0 ? 0 : 1);
    }
    int st = 0;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child's table reads as zeros");
    cr_expect_eq(t[12345], 42, "the parent's entry is untouched");
    munmap(t, BIG);
}
