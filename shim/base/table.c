/* table.c: mapping and emptying the shim's tables (table.h). Called at start
 * and in a forked child, where only the forking thread runs. */
#include "table.h"
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

void *ps_table_map(size_t bytes)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void ps_table_zero(void *table, size_t bytes)
{
    if (!table)
        return;
    int saved = errno;
    /* private anonymous memory: dropped pages read back as zeros */
    if (madvise(table, bytes, MADV_DONTNEED) != 0)
        memset(table, 0, bytes);
    errno = saved;
}
