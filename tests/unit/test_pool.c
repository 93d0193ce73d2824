/* Unit tests for shim/record/pool.c: the name prefix that groups threads, and the
 * pool table's find-or-create (single thread, racing threads, full table). */
#include <criterion/criterion.h>
#include <pthread.h>
#include "capture.h"
#include "pool.h"

static const char *prefix(const char *name)
{
    static char out[PS_NAME_LEN];
    memset(out, 'Q', sizeof out);
    ps_pool_prefix(name, out);
    return out;
}

Test(pool, prefix_strips_trailing_numbers_and_separators)
{
    cr_expect_str_eq(prefix("worker-12"), "worker");
    cr_expect_str_eq(prefix("worker_3"), "worker");
    cr_expect_str_eq(prefix("worker7"), "worker");
    cr_expect_str_eq(prefix("kworker/0:1"), "kworker");
    cr_expect_str_eq(prefix("pool-1-thread-2"), "pool-1-thread");
    cr_expect_str_eq(prefix("io.4"), "io");
    cr_expect_str_eq(prefix("worker"), "worker");
    cr_expect_str_eq(prefix("w"), "w");
}

/* Threads of a CPython pool are all named after the process ("python3"):
 * they lose the 3 alike, so grouping is unchanged; harmless. */
Test(pool, prefix_of_python3_is_python)
{
    cr_expect_str_eq(prefix("python3"), "python");
    cr_expect_str_eq(prefix("python3.11"), "python");
}

/* Names made only of digits ("0".."15", thread indexes) must group together:
 * all map to "", i.e. the start routine alone decides the pool. */
Test(pool, prefix_of_digits_only_names_is_empty)
{
    cr_expect_str_eq(prefix("1"), "");
    cr_expect_str_eq(prefix("12"), "");
    char a[PS_NAME_LEN], b[PS_NAME_LEN];
    ps_pool_prefix("7", a);
    ps_pool_prefix("10", b);
    cr_expect_str_eq(a, b);
    cr_expect_str_eq(prefix("-"), "");
    cr_expect_str_eq(prefix(""), "");
}

Test(pool, prefix_of_a_long_name_is_bounded)
{
    char out[PS_NAME_LEN + 8];
    memset(out, 'Q', sizeof out);
    ps_pool_prefix("abcdefghijklmnopqrstuvwxyz", out);
    cr_expect_eq(strlen(out), PS_NAME_LEN - 1);
    cr_expect_eq(out[PS_NAME_LEN], 'Q');
}

Test(pool, get_without_a_table_is_minus_one)
{
    cr_expect_eq(ps_pool_get((void *)0x1000, NULL, "w"), -1);
}

Test(pool, get_finds_or_creates)
{
    cr_assert_eq(ps_pool_table_init(), 0);
    void *r1 = (void *)0x1000, *r2 = (void *)0x2000;
    cr_expect_eq(ps_pool_get(r1, NULL, "worker"), 0);
    cr_expect_eq(ps_pool_get(r1, NULL, "worker"), 0);
    cr_expect_eq(ps_pool_get(r2, NULL, "worker"), 1);
    cr_expect_eq(ps_pool_get(r1, NULL, "io"), 2);
    cr_expect_eq(ps_pool_get(r1, NULL, ""), 3);
    cr_expect_eq(ps_pool_get(r2, NULL, "worker"), 1);
    cr_expect_eq(ps_pools[1].routine, r2);
    cr_expect_str_eq(ps_pools[1].prefix, "worker");
    cr_expect_eq(ps_pools[1].used, 2);
    cr_expect_eq(ps_pools[4].used, 0);
    cr_expect_eq(ps_pools[0].tasks, 0);
    ps_pool_table_reset();
    cr_expect_eq(ps_pool_get(r2, NULL, "worker"), 0, "reset forgets every pool");
}

Test(pool, get_on_a_full_table_is_minus_one_logged_once)
{
    cr_assert_eq(ps_pool_table_init(), 0);
    for (int i = 0; i < PS_MAX_POOLS; i++)
        cr_assert_eq(ps_pool_get((void *)(uintptr_t)(0x1000 + i), NULL, "w"), i);
    struct ps_cap cap;
    ps_cap_begin(&cap);
    int a = ps_pool_get((void *)0x99999, NULL, "w");
    int b = ps_pool_get((void *)0x99998, NULL, "w");
    ps_cap_end(&cap);
    cr_expect_eq(a, -1);
    cr_expect_eq(b, -1);
    cr_expect_eq(ps_count_lines(cap.text), 1, "%s", cap.text);
    cr_expect_not_null(strstr(cap.text, "more than 256 pools"), "%s", cap.text);
    cr_expect_eq(ps_pool_get((void *)0x1000 + 255, NULL, "w"), 255, "existing pools still found");
}

#define RACERS 4
#define KEYS 16
static int seen[RACERS][KEYS];
static pthread_barrier_t go;

static void *racer(void *arg)
{
    int me = (int)(intptr_t)arg;
    pthread_barrier_wait(&go);
    for (int round = 0; round < 200; round++)
        for (int k = 0; k < KEYS; k++) {
            int key = (k + me * 5) % KEYS;     /* each racer in a different order */
            int p = ps_pool_get((void *)(uintptr_t)(0x5000 + key), NULL, key & 1 ? "odd" : "even");
            if (round == 0)
                seen[me][key] = p;
            else if (seen[me][key] != p)
                seen[me][key] = -2;
        }
    return NULL;
}

Test(pool, racing_threads_agree_on_one_entry_per_key, .timeout = 10)
{
    cr_assert_eq(ps_pool_table_init(), 0);
    pthread_t th[RACERS];
    pthread_barrier_init(&go, NULL, RACERS);
    for (int i = 0; i < RACERS; i++)
        cr_assert_eq(pthread_create(&th[i], NULL, racer, (void *)(intptr_t)i), 0);
    for (int i = 0; i < RACERS; i++)
        pthread_join(th[i], NULL);
    int used = 0;
    for (int i = 0; i < PS_MAX_POOLS; i++)
        used += ps_pools[i].used != 0;
    cr_expect_eq(used, KEYS);
    for (int k = 0; k < KEYS; k++) {
        cr_expect(seen[0][k] >= 0 && seen[0][k] < KEYS, "key %d -> %d", k, seen[0][k]);
        for (int i = 1; i < RACERS; i++)
            cr_expect_eq(seen[i][k], seen[0][k], "racer %d key %d", i, k);
        cr_expect_eq(ps_pools[seen[0][k]].routine, (void *)(uintptr_t)(0x5000 + k));
    }
}
