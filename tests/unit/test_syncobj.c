/* Unit tests for shim/record/syncobj.c: the object table (insert, find, a full probe
 * window) and the contention accounting (counts, wait sums, max wait, the
 * bounded per-object site lists, hold time and its sample). Thread records are local structs:
 * the accounting only reads tid and pool from them. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include "capture.h"
#include "clock.h"
#include "pool.h"
#include "syncobj.h"

static void init(void)
{
    cr_assert_eq(ps_obj_table_init(), 0);
}

/* A thread record outside the table gets no ledger of its own (the shim's
 * own threads): tests give theirs one, as the table's records have. */
static struct ps_lock_ledger ledgers_[4];
static void give_ledger(struct ps_thread *t, int k)
{
    memset(&ledgers_[k], 0, sizeof ledgers_[k]);
    t->ledger = &ledgers_[k];
}

Test(syncobj, get_without_a_table_or_key_is_null)
{
    cr_expect_null(ps_obj_get(0x1234, PS_K_MUTEX));
    cr_expect_null(ps_obj_find(0x1234));
    init();
    cr_expect_null(ps_obj_get(0, PS_K_MUTEX));
}

Test(syncobj, insert_then_find)
{
    init();
    int a, b;
    cr_expect_null(ps_obj_find((uintptr_t)&a));
    struct ps_obj *o = ps_obj_get((uintptr_t)&a, PS_K_MUTEX);
    cr_assert_not_null(o);
    cr_expect_eq(o->key, (uintptr_t)&a);
    cr_expect_eq(o->kind, PS_K_MUTEX);
    cr_expect_eq(o->waiter_pool, -1);
    cr_expect_eq(o->contended, 0);
    cr_expect_eq(ps_obj_find((uintptr_t)&a), o);
    cr_expect_eq(ps_obj_get((uintptr_t)&a, PS_K_COND), o, "second get returns the same entry");
    cr_expect_eq(o->kind, PS_K_MUTEX, "and keeps its kind");
    cr_expect_null(ps_obj_find((uintptr_t)&b));
    struct ps_obj *f = ps_obj_get(PS_FD_KEY(3), PS_K_POLL);
    cr_assert_not_null(f);
    cr_expect_neq(f, o);
    cr_expect_eq(ps_obj_find(PS_FD_KEY(3)), f);
    cr_expect_null(ps_obj_find(3), "fd keys do not collide with address 3");
    ps_obj_table_reset();
    cr_expect_null(ps_obj_find((uintptr_t)&a));
}

/* Keys sharing a hash: 8 fit the probe window, the 9th is refused (logged
 * once) and the first 8 stay findable. */
Test(syncobj, full_probe_window_refuses_and_logs_once)
{
    init();
    uintptr_t keys[10];
    int n = 0;
    uint32_t h = ps_obj_hash(0x10000);
    for (uintptr_t k = 0x10000; n < 10; k += 8)
        if (ps_obj_hash(k) == h)
            keys[n++] = k;
    for (int i = 0; i < 8; i++)
        cr_assert_not_null(ps_obj_get(keys[i], PS_K_MUTEX), "key %d", i);
    struct ps_cap cap;
    ps_cap_begin(&cap);
    struct ps_obj *x = ps_obj_get(keys[8], PS_K_MUTEX);
    struct ps_obj *y = ps_obj_get(keys[9], PS_K_MUTEX);
    ps_cap_end(&cap);
    cr_expect_null(x);
    cr_expect_null(y);
    cr_expect_eq(ps_count_lines(cap.text), 1, "%s", cap.text);
    cr_expect_not_null(strstr(cap.text, "too many contended objects"), "%s", cap.text);
    for (int i = 0; i < 8; i++)
        cr_expect_not_null(ps_obj_find(keys[i]), "key %d lost", i);
    cr_expect_null(ps_obj_find(keys[8]));
    /* a key hashing elsewhere still gets in */
    uintptr_t other = 0x10008;
    while (ps_obj_hash(other) == h || ps_obj_hash(other) == ((h + 1) & (PS_MAX_OBJS - 1)))
        other += 8;
    cr_expect_not_null(ps_obj_get(other, PS_K_MUTEX));
}

Test(syncobj, lock_waits_are_counted_summed_and_maxed)
{
    init();
    pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;   /* a real mutex: the shim reads its owner */
    struct ps_thread t = { .tid = 101, .pool = -1 };
    void *owner_site;
    uint64_t waits[] = { 5000, 50000, 7000 };
    for (int i = 0; i < 3; i++) {
        struct ps_obj *o = ps_lock_before_wait(&lock, PS_K_MUTEX, &owner_site);
        cr_assert_not_null(o);
        cr_expect_eq(o->waiting, 1);
        ps_lock_after_wait(o, &t, (void *)0x401000, owner_site, waits[i]);
        cr_expect_eq(o->waiting, 0);
    }
    struct ps_obj *o = ps_obj_find((uintptr_t)&lock);
    cr_expect_eq(o->contended, 3);
    cr_expect_eq(o->wait_ns, 62000);
    cr_expect_eq(o->max_wait_ns, 50000);
    cr_expect_eq(o->sites[0].site, (void *)0x401000);
    cr_expect_eq(o->sites[0].n, 3);
    cr_expect_eq(o->sites[0].wait_ns, 62000);
    cr_expect_null(o->sites[1].site);
    cr_expect_null(o->owner_sites[0].site, "no owner was ever seen");
    ps_lock_after_wait(NULL, &t, (void *)1, NULL, 1);   /* untracked: no crash */
}

Test(syncobj, owner_site_is_charged_with_the_wait_it_caused)
{
    init();
    int lock;
    struct ps_thread holder = { .tid = 7, .pool = -1 }, waiter = { .tid = 8, .pool = -1 };
    give_ledger(&holder, 0);
    ps_obj_get((uintptr_t)&lock, PS_K_MUTEX);
    ps_lock_on_acquire(&holder, &lock, (void *)0xAAA0, 0);
    struct ps_obj *o = ps_obj_find((uintptr_t)&lock);
    cr_expect_eq(o->acquisitions, 0, "counted in the holder's ledger until the agent folds it");
    ps_lock_ledger_fold(&holder, 0);
    cr_expect_eq(o->acquisitions, 1);
    void *owner_site;
    ps_lock_before_wait(&lock, PS_K_MUTEX, &owner_site);
    cr_expect_eq(owner_site, (void *)0xAAA0);
    ps_lock_after_wait(o, &waiter, (void *)0xBBB0, owner_site, 9000);
    cr_expect_eq(o->owner_sites[0].site, (void *)0xAAA0);
    cr_expect_eq(o->owner_sites[0].n, 1);
    cr_expect_eq(o->owner_sites[0].wait_ns, 9000);
    cr_expect_eq(o->sites[0].site, (void *)0xBBB0);
}

/* The per-thread ledger: every acquisition is counted once, however often
 * and by how many folders it is folded; a lock no slot is left for (the
 * thread's probe window is full) is counted in the totals at once. */
Test(syncobj, ledger_folds_count_every_acquisition_once)
{
    init();
    enum { LOCKS = 300, ROUNDS = 5 };
    static int locks[LOCKS];
    static struct ps_thread t = { .tid = 40, .pool = -1 };
    give_ledger(&t, 0);
    for (int i = 0; i < LOCKS; i++)
        cr_assert_not_null(ps_obj_get((uintptr_t)&locks[i], PS_K_MUTEX));
    for (int r = 0; r < ROUNDS; r++) {
        for (int i = 0; i < LOCKS; i++) {
            ps_lock_on_acquire(&t, &locks[i], (void *)0x1, 0);
            ps_lock_on_release(&t, &locks[i]);
        }
        ps_lock_ledger_fold(&t, 0);
        ps_lock_ledger_fold(&t, 0);                     /* nothing new: adds nothing */
    }
    uint64_t sum = 0;
    int in_totals_at_once = 0;
    for (int i = 0; i < LOCKS; i++) {
        struct ps_obj *o = ps_obj_find((uintptr_t)&locks[i]);
        cr_expect_eq(o->acquisitions, ROUNDS, "lock %d: %lu", i, (unsigned long)o->acquisitions);
        sum += o->acquisitions;
        struct ps_obj *so;
        in_totals_at_once += ps_lock_slot(&t, (uintptr_t)&locks[i], &so) == NULL;
    }
    cr_expect_eq(sum, (uint64_t)LOCKS * ROUNDS);
    cr_expect_gt(in_totals_at_once, 0, "%d locks cannot all have a slot of %d", LOCKS, PS_LEDGER_SLOTS);
}

/* A recursive lock's inner holds neither start nor end the timed hold. */
Test(syncobj, recursive_holds_are_timed_from_the_outermost)
{
    init();
    int lock;
    struct ps_thread t = { .tid = 41, .pool = -1 };
    give_ledger(&t, 0);
    struct ps_obj *o = ps_obj_get((uintptr_t)&lock, PS_K_MUTEX);
    uint64_t t0 = ps_now_ns();
    ps_lock_on_acquire_maybe(&t, &lock, (void *)0x1, 1);       /* waited: timed whole */
    ps_lock_on_acquire(&t, &lock, (void *)0x1, 0);
    ps_lock_on_release(&t, &lock);                            /* inner: still held */
    ps_lock_ledger_fold(&t, 0);
    cr_expect_eq(o->hold_ns, 0);
    struct timespec ts = { 0, 10 * 1000 * 1000 };
    nanosleep(&ts, NULL);
    ps_lock_on_release(&t, &lock);
    uint64_t t1 = ps_now_ns();
    ps_lock_ledger_fold(&t, 0);
    cr_expect_geq(o->hold_ns, 10 * 1000 * 1000u, "hold %lu", (unsigned long)o->hold_ns);
    cr_expect_leq(o->hold_ns, t1 - t0);
    cr_expect_eq(o->acquisitions, 2);
}

/* Sites: a bounded list of PS_OBJ_SITES. Counts for listed sites are exact;
 * a fifth distinct site finds the list full and is only in the totals. */
Test(syncobj, sites_keep_the_first_four_distinct_callers)
{
    init();
    int lock;
    struct ps_thread t = { .tid = 1, .pool = -1 };
    struct ps_obj *o = ps_obj_get((uintptr_t)&lock, PS_K_MUTEX);
    for (int rep = 0; rep < 3; rep++)
        for (uintptr_t s = 1; s <= 5; s++)
            ps_lock_after_wait(o, &t, (void *)(s * 0x100), NULL, s);
    ps_lock_after_wait(o, &t, NULL, NULL, 100);        /* unknown site: totals only */
    cr_expect_eq(o->contended, 16);
    cr_expect_eq(o->wait_ns, 3 * 15 + 100);
    for (int i = 0; i < PS_OBJ_SITES; i++) {
        cr_expect_eq(o->sites[i].site, (void *)((uintptr_t)(i + 1) * 0x100));
        cr_expect_eq(o->sites[i].n, 3);
        cr_expect_eq(o->sites[i].wait_ns, 3 * (uint64_t)(i + 1));
    }
}

/* An acquisition that blocked first is timed whole, at weight 1. */
Test(syncobj, hold_time_is_measured_for_the_owner_only)
{
    init();
    int lock;
    struct ps_thread a = { .tid = 11, .pool = -1 }, b = { .tid = 12, .pool = -1 };
    give_ledger(&a, 0);
    give_ledger(&b, 1);
    ps_obj_get((uintptr_t)&lock, PS_K_MUTEX);
    struct ps_obj *o = ps_obj_find((uintptr_t)&lock);
    uint64_t t0 = ps_now_ns();
    ps_lock_on_acquire_maybe(&a, &lock, (void *)0x1, 1);
    struct timespec ts = { 0, 20 * 1000 * 1000 };
    nanosleep(&ts, NULL);
    ps_lock_on_release(&b, &lock);                   /* not the owner: ignored */
    ps_lock_ledger_fold(&b, 0);
    cr_expect_eq(o->hold_ns, 0);
    ps_lock_on_release(&a, &lock);
    uint64_t t1 = ps_now_ns();
    ps_lock_ledger_fold(&a, 0);
    cr_expect_geq(o->hold_ns, 20 * 1000 * 1000u, "hold %lu", (unsigned long)o->hold_ns);
    cr_expect_leq(o->hold_ns, t1 - t0);
    uint64_t h = o->hold_ns;
    ps_lock_on_release(&a, &lock);                    /* a second release adds nothing */
    ps_lock_ledger_fold(&a, 0);
    cr_expect_eq(o->hold_ns, h);
}

/* t's current hold of m: its timing stamp. */
static uint64_t stamp_of(struct ps_thread *t, pthread_mutex_t *m)
{
    struct ps_obj *o;
    struct ps_lock_slot *s = ps_lock_slot(t, (uintptr_t)m, &o);
    cr_assert_not_null(s);
    return s->stamp;
}

/* A table with m in it, as after its first contention. */
static struct ps_obj *hot_mutex(pthread_mutex_t *m)
{
    init();
    struct ps_obj *o = ps_obj_get((uintptr_t)m, PS_K_MUTEX);
    cr_assert_not_null(o);
    return o;
}

/* Uncontended acquisitions of a hot lock: each is in the hold sample with
 * probability 1/PS_HOLD_SAMPLE, from a thread's first acquisition on (the
 * stationary start), and counts and owner are exact whether sampled or not. */
Test(syncobj, hold_sample_is_one_in_eight_from_the_first_acquisition)
{
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    struct ps_obj *o = hot_mutex(&m);
    enum { THREADS = 4000, FIRST = 4, LONG = 80000 };
    int first[FIRST] = { 0 };
    static struct ps_thread t;
    for (int i = 0; i < THREADS; i++) {
        memset(&t, 0, sizeof t);
        t.tid = 1000 + i;
        t.pool = -1;
        give_ledger(&t, 0);
        for (int k = 0; k < FIRST; k++) {
            ps_lock_on_acquire(&t, &m, (void *)0x10, 0);
            first[k] += (int)(stamp_of(&t, &m) & 1);
            ps_lock_on_release(&t, &m);
        }
        ps_lock_ledger_fold(&t, 0);
    }
    for (int k = 0; k < FIRST; k++)      /* binomial(4000, 1/8): sd 21 around 500 */
        cr_expect(first[k] > 400 && first[k] < 600, "acquisition %d sampled %d times of %d", k + 1,
                  first[k], THREADS);
    memset(&t, 0, sizeof t);
    t.tid = 77;
    t.pool = -1;
    give_ledger(&t, 0);
    int sampled = 0;
    for (int i = 0; i < LONG; i++) {
        ps_lock_on_acquire(&t, &m, (void *)0x20, 0);
        sampled += (int)(stamp_of(&t, &m) & 1);
        ps_lock_on_release(&t, &m);
    }
    ps_lock_ledger_fold(&t, 0);
    cr_expect(sampled > LONG / PS_HOLD_SAMPLE * 0.95 && sampled < LONG / PS_HOLD_SAMPLE * 1.05,
              "%d of %d acquisitions sampled", sampled, LONG);
    cr_expect_eq(o->acquisitions, THREADS * FIRST + LONG, "counts are exact");
    cr_expect_eq(o->owner_site, (void *)0x20);
}

/* A sampled hold counts PS_HOLD_SAMPLE times (it stands for the unsampled
 * ones); an unsampled one, nothing. */
Test(syncobj, sampled_hold_counts_at_its_weight)
{
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    struct ps_obj *o = hot_mutex(&m);
    static struct ps_thread t;
    t = (struct ps_thread){ .tid = 21, .pool = -1, .hold_skip = 3, .hold_rng = 12345 };
    give_ledger(&t, 0);
    struct timespec ts = { 0, 10 * 1000 * 1000 };
    for (int i = 0; i < 3; i++) {                     /* skipped: untimed */
        ps_lock_on_acquire(&t, &m, (void *)0x1, 0);
        cr_expect_eq(stamp_of(&t, &m), 0);
        ps_lock_on_release(&t, &m);
    }
    ps_lock_ledger_fold(&t, 0);
    cr_expect_eq(o->hold_ns, 0);
    uint64_t t0 = ps_now_ns();
    ps_lock_on_acquire(&t, &m, (void *)0x1, 0);          /* the countdown ran out: sampled */
    cr_expect(stamp_of(&t, &m) & 1, "sampled");
    nanosleep(&ts, NULL);
    ps_lock_on_release(&t, &m);
    uint64_t t1 = ps_now_ns();
    ps_lock_ledger_fold(&t, 0);
    cr_expect_geq(o->hold_ns, PS_HOLD_SAMPLE * 10 * 1000 * 1000ull, "hold %lu", (unsigned long)o->hold_ns);
    cr_expect_leq(o->hold_ns, PS_HOLD_SAMPLE * (t1 - t0));
    cr_expect_lt(t.hold_skip, 2 * PS_HOLD_SAMPLE - 1, "next gap %d", t.hold_skip);
}

/* A thread that starts waiting while the lock is held makes the rest of the
 * hold timed at weight 1, sampled or not: the holds that make others wait are
 * measured. The sampled part before the wait keeps its weight. */
Test(syncobj, a_waiter_times_the_rest_of_the_hold)
{
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    struct ps_obj *o = hot_mutex(&m);
    static struct ps_thread h;
    h = (struct ps_thread){ .tid = 31, .pool = -1, .hold_skip = 5, .hold_rng = 1 };
    give_ledger(&h, 0);
    struct timespec ts = { 0, 10 * 1000 * 1000 };
    void *owner_site;
    ps_lock_on_acquire(&h, &m, (void *)0x1, 0);           /* unsampled */
    cr_expect_eq(stamp_of(&h, &m), 0);
    nanosleep(&ts, NULL);
    uint64_t tw = ps_now_ns();
    ps_lock_before_wait(&m, PS_K_MUTEX, &owner_site);
    uint64_t fw = o->first_wait_ns;
    cr_expect(fw >= tw, "first wait %lu", (unsigned long)fw);
    ps_lock_before_wait(&m, PS_K_MUTEX, &owner_site);  /* a second waiter keeps the first's time */
    cr_expect_eq(o->first_wait_ns, fw);
    nanosleep(&ts, NULL);
    ps_lock_on_release(&h, &m);
    uint64_t t1 = ps_now_ns();
    cr_expect_eq(o->first_wait_ns, 0, "the release took it");
    ps_lock_ledger_fold(&h, 0);
    cr_expect_geq(o->hold_ns, 10 * 1000 * 1000u, "hold %lu", (unsigned long)o->hold_ns);
    cr_expect_leq(o->hold_ns, t1 - tw, "only from the wait on");
    ps_lock_after_wait(o, &h, (void *)0x2, owner_site, 1);
    ps_lock_after_wait(o, &h, (void *)0x2, owner_site, 1);  /* nobody waits any more */

    uint64_t before = o->hold_ns;
    h.hold_skip = 0;                                   /* the next one is sampled */
    uint64_t t0 = ps_now_ns();
    ps_lock_on_acquire(&h, &m, (void *)0x1, 0);
    cr_expect(stamp_of(&h, &m) & 1, "sampled");
    nanosleep(&ts, NULL);
    tw = ps_now_ns();
    ps_lock_before_wait(&m, PS_K_MUTEX, &owner_site);
    uint64_t tw2 = ps_now_ns();
    nanosleep(&ts, NULL);
    ps_lock_on_release(&h, &m);
    t1 = ps_now_ns();
    ps_lock_ledger_fold(&h, 0);
    uint64_t all = o->hold_ns - before;
    /* the sampled part at its weight, then from the wait on at weight 1 */
    cr_expect_geq(all, PS_HOLD_SAMPLE * 10 * 1000 * 1000ull + 10 * 1000 * 1000ull, "hold %lu", (unsigned long)all);
    cr_expect_leq(all, PS_HOLD_SAMPLE * (tw2 - t0) + (t1 - tw), "hold %lu", (unsigned long)all);
}

/* Waiters present as the lock is taken: that hold is timed whole. */
Test(syncobj, a_hold_taken_while_others_wait_is_timed_whole)
{
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    struct ps_obj *o = hot_mutex(&m);
    static struct ps_thread h;
    h = (struct ps_thread){ .tid = 32, .pool = -1, .hold_skip = 5, .hold_rng = 1 };
    give_ledger(&h, 0);
    __atomic_store_n(&o->waiting, 1, __ATOMIC_RELAXED);  /* someone blocked on it */
    uint64_t t0 = ps_now_ns();
    ps_lock_on_acquire(&h, &m, (void *)0x1, 0);
    uint64_t st = stamp_of(&h, &m);
    cr_expect(st && !(st & 1), "timed at weight 1: %lu", (unsigned long)st);
    struct timespec ts = { 0, 10 * 1000 * 1000 };
    nanosleep(&ts, NULL);
    ps_lock_on_release(&h, &m);
    uint64_t t1 = ps_now_ns();
    ps_lock_ledger_fold(&h, 0);
    cr_expect_geq(o->hold_ns, 10 * 1000 * 1000u);
    cr_expect_leq(o->hold_ns, t1 - t0);
}

Test(syncobj, cold_locks_are_not_tracked)
{
    init();
    int lock;
    struct ps_thread t = { .tid = 3, .pool = -1 };
    ps_lock_on_acquire(&t, &lock, (void *)0x1, 0);
    ps_lock_on_release(&t, &lock);
    cr_expect_null(ps_obj_find((uintptr_t)&lock), "an uncontended lock wrote the table");
}

Test(syncobj, waits_note_the_first_waiting_pool)
{
    init();
    cr_assert_eq(ps_pool_table_init(), 0);
    int cond;
    struct ps_thread w = { .tid = 5, .pool = 3 }, other = { .tid = 6, .pool = 4 }, lone = { .tid = 9, .pool = -1 };
    struct ps_obj *o = ps_obj_get((uintptr_t)&cond, PS_K_COND);
    ps_obj_on_wait(o, &lone, (void *)0x10, 100);
    cr_expect_eq(o->waiter_pool, -1);
    ps_obj_on_wait(o, &w, (void *)0x10, 200);
    cr_expect_eq(o->waiter_pool, 3);
    ps_obj_on_wait(o, &other, (void *)0x20, 300);
    cr_expect_eq(o->waiter_pool, 3, "the first pool stays");
    cr_expect_eq(o->contended, 3);
    cr_expect_eq(o->wait_ns, 600);
    cr_expect_eq(o->max_wait_ns, 300);
    cr_expect_eq(o->sites[0].n, 2);
    cr_expect_eq(o->sites[1].n, 1);
    /* posts: by a member of pool 3, and by anyone else */
    ps_pool_on_post((uintptr_t)&cond, &w);
    ps_pool_on_post((uintptr_t)&cond, &other);
    ps_pool_on_post((uintptr_t)&cond, NULL);
    cr_expect_eq(o->posts_same, 1);
    cr_expect_eq(o->posts_other, 2);
}

/* A mutex held before its first contention: its holder (glibc's owner
 * field) has no hold we saw begin, so its hold counts from the first
 * waiter's arrival, closed by its release. */
Test(syncobj, unseen_holder_is_timed_from_the_first_wait)
{
    init();
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&m);                     /* not through the shim: unseen */
    int me = m.__data.__owner;
    cr_assert_gt(me, 0);
    void *owner_site;
    struct ps_obj *o = ps_lock_before_wait(&m, PS_K_MUTEX, &owner_site);
    cr_assert_not_null(o);
    cr_expect_gt(o->first_wait_ns, 0);
    static struct ps_thread holder;
    holder = (struct ps_thread){ .tid = me, .pool = -1 };
    ps_lock_on_release(&holder, &m);
    ps_lock_ledger_fold(&holder, 0);
    cr_expect_gt(o->hold_ns, 0, "the unseen hold was closed");
    cr_expect_eq(o->first_wait_ns, 0);
    pthread_mutex_unlock(&m);
}

/* The report's and the dumps' scans visit exactly the claimed entries, and a
 * forked child's reset leaves none. */
Test(syncobj, scan_visits_exactly_the_claimed_entries)
{
    init();
    ps_obj_table_reset();
    cr_expect_eq(ps_obj_next(0), PS_MAX_OBJS, "an empty table has no entry to visit");
    static char keys[300];
    for (int i = 0; i < 300; i += 3)
        cr_assert_not_null(ps_obj_get((uintptr_t)&keys[i], PS_K_MUTEX));
    int visited = 0, claimed = 0;
    for (int i = ps_obj_next(0); i < PS_MAX_OBJS; i = ps_obj_next(i + 1)) {
        cr_expect(ps_objs[i].key >= (uintptr_t)keys && ps_objs[i].key < (uintptr_t)keys + sizeof keys,
                  "entry %d visited but not ours", i);
        visited++;
    }
    for (int i = 0; i < PS_MAX_OBJS; i++)
        claimed += ps_objs[i].key != 0;
    cr_expect_eq(visited, 100);
    cr_expect_eq(claimed, 100);
    ps_obj_table_reset();
    cr_expect_eq(ps_obj_next(0), PS_MAX_OBJS, "a reset table has no entry to visit");
}
