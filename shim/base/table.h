/* table.h: the shim's big tables (threads, objects, pools, ledgers, dump slots,
 * trace rings, heap samples, work buffers) are
 * anonymous mappings reserved whole and touched page by page, so a process
 * pays only for the entries it uses. ps_table_zero empties one without
 * touching it: a forked child resets its tables, and a memset would fault in
 * and clear every page of a mapping the parent may never have touched (a
 * shell forks for each $(...): ~1,500 page faults a fork). */
#ifndef PS_TABLE_H
#define PS_TABLE_H
#include <stddef.h>

/* A zeroed table of `bytes`, or NULL with errno set. */
void *ps_table_map(size_t bytes);

/* Empties a table mapped by ps_table_map: the kernel drops its pages and the
 * next read sees zeros. errno is kept. */
void ps_table_zero(void *table, size_t bytes);
#endif
