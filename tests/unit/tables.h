/* tables.h: the shim's tables for unit tests that build views by hand
 * (header only): default settings, empty pool, thread and object tables with
 * one pool claimed first, and live thread records placed by hand. Criterion
 * runs each test in its own process, so the tables start empty. */
#ifndef PS_UNIT_TABLES_H
#define PS_UNIT_TABLES_H
#include <criterion/criterion.h>
#include "config.h"
#include "pool.h"
#include "syncobj.h"
#include "thread.h"

/* The process's CPU in seconds beyond what test_controller.c's simulation
 * ran, as ps_machine_process_cpu_ns reports it in the unit tests (that file
 * stubs it). */
extern double ut_process_cpu_s;

/* Sets the tables up; returns the first pool's index (0), started by routine. */
static inline int ut_tables_init(void *routine, const char *prefix)
{
    ps_config_defaults(&ps_cfg);
    cr_assert_eq(ps_pool_table_init(), 0);
    cr_assert_eq(ps_thread_table_init(), 0);
    cr_assert_eq(ps_obj_table_init(), 0);
    int pi = ps_pool_get(routine, NULL, prefix);
    cr_assert_eq(pi, 0);
    return pi;
}

/* Record i, live, of pool `pool` (-1: none), born at born_ns, with cpu_ns of CPU. */
static inline struct ps_thread *ut_live_thread(int i, int pool, uint64_t born_ns, uint64_t cpu_ns)
{
    struct ps_thread *t = &ps_threads[i];
    t->state = PS_T_LIVE;
    t->tid = 1000 + i;
    t->pool = pool;
    t->born_ns = born_ns;
    t->cpu_ns = cpu_ns;
    if (ps_threads_hwm < i + 1)
        ps_threads_hwm = i + 1;
    return t;
}
#endif
