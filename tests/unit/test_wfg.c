/* wfg: deadlock cycles in the wait-for graph, and lock owners read from
 * glibc's own lock words (never faulting on a bad address). */
#include <criterion/criterion.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "thread.h"
#include "wfg.h"

Test(wfg, finds_a_two_thread_cycle_once)
{
    struct ps_wfg_edge e[] = { { 10, 20 }, { 20, 10 }, { 30, 10 } };
    int out[16];
    cr_assert_eq(ps_wfg_cycles(e, 3, out, 16), 1);
    cr_expect((out[0] == 10 && out[1] == 20) || (out[0] == 20 && out[1] == 10));
    cr_expect_eq(out[2], 0);
}

Test(wfg, chains_without_cycles_have_none)
{
    struct ps_wfg_edge e[] = { { 1, 2 }, { 2, 3 }, { 4, 3 }, { 3, 5 } };
    int out[16];
    cr_expect_eq(ps_wfg_cycles(e, 4, out, 16), 0);
}

Test(wfg, separate_cycles_are_all_found)
{
    struct ps_wfg_edge e[] = { { 1, 2 }, { 2, 3 }, { 3, 1 }, { 7, 8 }, { 8, 7 }, { 9, 1 } };
    int out[32];
    cr_assert_eq(ps_wfg_cycles(e, 6, out, 32), 2);
    int zeros = 0, members = 0;
    for (int i = 0; zeros < 2; i++)
        zeros += out[i] == 0, members += out[i] != 0;
    cr_expect_eq(members, 5);
}

Test(wfg, signature_ignores_order)
{
    int a[] = { 5, 9, 0 }, b[] = { 9, 5, 0 }, c[] = { 5, 8, 0 };
    cr_expect_eq(ps_wfg_signature(a, 3), ps_wfg_signature(b, 3));
    cr_expect_neq(ps_wfg_signature(a, 3), ps_wfg_signature(c, 3));
}

static pthread_mutex_t held = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t bar;
static int holder_tid;

static void *hold(void *arg)
{
    pthread_mutex_lock(&held);
    holder_tid = (int)syscall(SYS_gettid);
    pthread_barrier_wait(&bar);
    pthread_barrier_wait(&bar);
    pthread_mutex_unlock(&held);
    return NULL;
}

Test(wfg, mutex_owner_is_the_holders_tid)
{
    pthread_t t;
    pthread_barrier_init(&bar, NULL, 2);
    pthread_create(&t, NULL, hold, NULL);
    pthread_barrier_wait(&bar);
    cr_expect_eq(ps_wfg_lock_owner(PS_K_MUTEX, (uintptr_t)&held), holder_tid);
    pthread_barrier_wait(&bar);
    pthread_join(t, NULL);
    cr_expect_eq(ps_wfg_lock_owner(PS_K_MUTEX, (uintptr_t)&held), 0, "released: no owner");
}

Test(wfg, unreadable_lock_address_gives_no_owner)
{
    cr_expect_eq(ps_wfg_lock_owner(PS_K_MUTEX, (uintptr_t)0x1000), 0);
    cr_expect_eq(ps_wfg_lock_owner(PS_K_RWLOCK, (uintptr_t)-4096), 0);
}
