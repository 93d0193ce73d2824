/* syncobj.c: the object table's slow paths (insertion, contention and wait
 * accounting, the hold-time sample). Any thread may call these; they take no
 * lock and never allocate. Counts are exact; hold time is an unbiased estimate
 * (syncobj.h, "Hold time"); sites are the first four distinct callers (a later
 * fifth is counted only in the totals). */
#include "syncobj.h"
#include <pthread.h>
#include "clock.h"
#include "log.h"
#include "pool.h"
#include "atomics.h"
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

struct ps_obj *ps_objs;
uint64_t ps_obj_filter[PS_OBJ_FILTER_BITS / 64] __attribute__((aligned(64)));  /* read-mostly: own lines */

int ps_obj_table_init(void)
{
    void *p = mmap(NULL, sizeof(struct ps_obj) * PS_MAX_OBJS, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return -errno;
    ps_objs = p;
    return 0;
}

void ps_obj_table_reset(void)
{
    if (ps_objs)
        memset(ps_objs, 0, sizeof(struct ps_obj) * PS_MAX_OBJS);
    memset(ps_obj_filter, 0, sizeof ps_obj_filter);
}

void ps_obj_filter_add(uintptr_t key)
{
    uint32_t b = ps_obj_filter_bit(key);
    __atomic_fetch_or(&ps_obj_filter[b >> 6], 1ull << (b & 63), __ATOMIC_RELEASE);
}

struct ps_obj *ps_obj_get(uintptr_t key, int kind)
{
    static int full_logged;
    if (!ps_objs || !key)
        return NULL;
    uint32_t h = ps_obj_hash(key);
    for (int i = 0; i < 8; i++) {
        struct ps_obj *o = &ps_objs[(h + i) & (PS_MAX_OBJS - 1)];
        uintptr_t k;
        while ((k = __atomic_load_n(&o->key, __ATOMIC_ACQUIRE)) == (uintptr_t)-1)
            ;                                   /* another thread is filling it in */
        if (k == key)
            return o;
        if (!k) {
            /* Fill the fields before publishing the key: readers test key first. */
            uintptr_t zero = 0;
            if (__atomic_compare_exchange_n(&o->key, &zero, (uintptr_t)-1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
                o->kind = kind;
                o->waiter_pool = -1;
                o->poster_pool = -1;
                ps_obj_filter_add(key);         /* before the key: no false "absent" */
                __atomic_store_n(&o->key, key, __ATOMIC_RELEASE);
                return o;
            }
            while (zero == (uintptr_t)-1)
                zero = __atomic_load_n(&o->key, __ATOMIC_ACQUIRE);
            if (zero == key)
                return o;
        }
    }
    ps_log_once(&full_logged, "too many contended objects: new ones are not tracked");
    return NULL;
}

static void site_add(struct ps_site_count *s, void *site, uint64_t wait_ns)
{
    if (!site)
        return;
    for (int i = 0; i < PS_OBJ_SITES; i++) {
        void *cur = __atomic_load_n(&s[i].site, __ATOMIC_ACQUIRE);
        if (!cur && __atomic_compare_exchange_n(&s[i].site, &cur, site, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            cur = site;
        if (cur == site) {
            __atomic_fetch_add(&s[i].n, 1, __ATOMIC_RELAXED);
            __atomic_fetch_add(&s[i].wait_ns, wait_ns, __ATOMIC_RELAXED);
            return;
        }
    }
}

/* The next gap of the hold sample: uniform on 1..2*PS_HOLD_SAMPLE-1 (mean
 * PS_HOLD_SAMPLE). A thread's first gap is drawn from the renewal process's
 * stationary start (P(first = k) = P(gap >= k) / mean), so that from its
 * very first acquisition each one is sampled with probability exactly
 * 1/PS_HOLD_SAMPLE: a lock taken a few times is not over-weighted. */
#define GAP_MAX (2 * PS_HOLD_SAMPLE - 1)
static uint32_t hold_rand(struct ps_thread *t)
{
    uint32_t x = t->hold_rng;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    t->hold_rng = x;
    return x;
}

static int hold_sample_next(struct ps_thread *t)
{
    if (!t->hold_rng) {
        t->hold_rng = ((uint32_t)t->tid * 2654435761u) ^ (uint32_t)(uintptr_t)t ^ 0x5bd1e995u;
        if (!t->hold_rng)
            t->hold_rng = 1;
        uint32_t u = hold_rand(t) % (GAP_MAX * (GAP_MAX + 1) / 2), k = 1;
        while (u >= (uint32_t)(GAP_MAX + 1 - k)) {       /* weight of k: GAP_MAX + 1 - k */
            u -= GAP_MAX + 1 - k;
            k++;
        }
        if (k > 1) {                                     /* the first sampled one comes later */
            t->hold_skip = (int)k - 2;
            return 0;
        }
    }
    t->hold_skip = (int)(hold_rand(t) % GAP_MAX);        /* gap - 1 */
    return 1;
}

uint64_t ps_hold_stamp(struct ps_thread *t, int waited)
{
    if (waited)
        return ps_now_ns() & ~(uint64_t)1;               /* weight 1 */
    return hold_sample_next(t) ? ps_now_ns() | 1 : 0;    /* weight PS_HOLD_SAMPLE, or untimed */
}

static void acquire_hot(struct ps_obj *o, struct ps_thread *t, void *site, int waited)
{
    if (t) {
        ps_lock_acquired(o, t, site, waited);
        return;
    }
    __atomic_fetch_add(&o->acquisitions, 1, __ATOMIC_RELAXED);     /* a thread without a record */
    __atomic_store_n(&o->owner_site, site, __ATOMIC_RELAXED);
    __atomic_store_n(&o->acq_ns, ps_now_ns() & ~(uint64_t)1, __ATOMIC_RELAXED);
    __atomic_store_n(&o->owner_tid, -1, __ATOMIC_RELEASE);
}

void ps_lock_on_acquire_maybe(struct ps_thread *t, const void *lock, void *site, int waited)
{
    struct ps_obj *o = t ? ps_lock_find(t, (uintptr_t)lock) : ps_obj_probe((uintptr_t)lock);
    if (o)
        acquire_hot(o, t, site, waited);
}

void ps_lock_on_release_maybe(struct ps_thread *t, const void *lock)
{
    struct ps_obj *o = t ? ps_lock_find(t, (uintptr_t)lock) : NULL;
    if (o)
        ps_lock_released(o, t);
}

/* Adds the timed part of a hold that began at stamp (acq_ns) and ended at now. */
static void hold_add(struct ps_obj *o, uint64_t stamp, uint64_t now)
{
    uint64_t dt = ps_ns_since(stamp & ~(uint64_t)1, now);
    if (stamp & 1)
        dt *= PS_HOLD_SAMPLE;
    __atomic_fetch_add(&o->hold_ns, dt, __ATOMIC_RELAXED);
}

/* The stamp is taken with an exchange: a waiter may be re-stamping it
 * (wait_began_during_hold). */
void ps_hold_close(struct ps_obj *o)
{
    uint64_t stamp = __atomic_exchange_n(&o->acq_ns, 0, __ATOMIC_RELAXED);
    if (stamp)
        hold_add(o, stamp, ps_now_ns());
}

/* A thread is about to wait for a held lock: from now on the hold is timed
 * at weight 1 (the part before now, if sampled, is added at its weight). A
 * stamp left by a race with the release (the holder cleared acq_ns just
 * before) is overwritten by the next acquisition, which always stores it. */
static void wait_began_during_hold(struct ps_obj *o)
{
    uint64_t cur = __atomic_load_n(&o->acq_ns, __ATOMIC_RELAXED);
    if ((cur && !(cur & 1)) || !__atomic_load_n(&o->owner_tid, __ATOMIC_ACQUIRE))
        return;                          /* already timed whole, or nobody to time */
    uint64_t now = ps_now_ns() & ~(uint64_t)1;
    if (__atomic_compare_exchange_n(&o->acq_ns, &cur, now, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED) && cur)
        hold_add(o, cur, now);           /* the sampled part before the wait */
}

/* A holder we did not see take the lock (it did so before the lock was first
 * contended) is still its holder: glibc records it in the mutex (we are about
 * to lock it, so the memory is valid). Its hold counts from now, a lower bound,
 * instead of being lost: a convoy's first, often longest, hold is this one. */
static void adopt_unseen_holder(struct ps_obj *o, const void *lock, int kind)
{
#ifdef __GLIBC__
    if (kind != PS_K_MUTEX || __atomic_load_n(&o->owner_tid, __ATOMIC_ACQUIRE) != 0)
        return;
    int owner = __atomic_load_n(&((const pthread_mutex_t *)lock)->__data.__owner, __ATOMIC_RELAXED);
    int none = 0;
    if (owner > 0)
        __atomic_store_n(&o->acq_ns, ps_now_ns() & ~(uint64_t)1, __ATOMIC_RELAXED);   /* weight 1 */
    if (owner <= 0 || !__atomic_compare_exchange_n(&o->owner_tid, &none, owner, 0, __ATOMIC_ACQ_REL,
                                                   __ATOMIC_RELAXED))
        return;                          /* no holder, or someone recorded one meanwhile */
    /* Where it took the lock is unknown; if it is blocked in a wrapped call
     * now, that call's site is inside the code that holds the lock. */
    struct ps_thread *h = ps_thread_by_tid(owner);
    void *site = h && __atomic_load_n(&h->cur_since_ns, __ATOMIC_ACQUIRE) ? h->cur_site : NULL;
    void *unset = NULL;
    if (site)
        __atomic_compare_exchange_n(&o->owner_site, &unset, site, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
#else
    (void)o; (void)lock; (void)kind;
#endif
}

struct ps_obj *ps_lock_before_wait(const void *lock, int kind, void **owner_site)
{
    struct ps_obj *o = ps_obj_get((uintptr_t)lock, kind);
    *owner_site = o ? __atomic_load_n(&o->owner_site, __ATOMIC_RELAXED) : NULL;
    if (o) {
        adopt_unseen_holder(o, lock, kind);
        wait_began_during_hold(o);
        __atomic_fetch_add(&o->waiting, 1, __ATOMIC_RELAXED);
    }
    return o;
}

static void note_waiter_pool(struct ps_obj *o, struct ps_thread *t)
{
    if (t && t->pool >= 0 && __atomic_load_n(&o->waiter_pool, __ATOMIC_RELAXED) < 0) {
        int none = -1;
        if (__atomic_compare_exchange_n(&o->waiter_pool, &none, t->pool, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
            ps_pool_note_candidate(o->key);
    }
}

void ps_lock_after_wait(struct ps_obj *o, struct ps_thread *t, void *site, void *owner_site,
                        uint64_t wait_ns)
{
    if (!o)
        return;
    note_waiter_pool(o, t);
    __atomic_fetch_sub(&o->waiting, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&o->contended, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&o->wait_ns, wait_ns, __ATOMIC_RELAXED);
    ps_atomic_max(&o->max_wait_ns, wait_ns);
    site_add(o->sites, site, wait_ns);
    site_add(o->owner_sites, owner_site, wait_ns);
}

void ps_obj_on_wait(struct ps_obj *o, struct ps_thread *t, void *site, uint64_t wait_ns)
{
    if (!o)
        return;
    note_waiter_pool(o, t);
    __atomic_fetch_add(&o->contended, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&o->wait_ns, wait_ns, __ATOMIC_RELAXED);
    ps_atomic_max(&o->max_wait_ns, wait_ns);
    site_add(o->sites, site, wait_ns);
}

