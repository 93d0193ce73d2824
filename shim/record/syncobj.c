/* syncobj.c: the object table's slow paths (insertion, contention and wait
 * accounting, the hold-time sample) and the per-thread ledgers of hot locks
 * (their binding, and the agent's fold into the locks' totals). Any thread
 * may call these; they take no lock and never allocate. Counts are exact once
 * folded (the agent folds every tick, and every ledger at its last tick);
 * hold time is an unbiased estimate (syncobj.h, "Hold time"); sites are the
 * first four distinct callers (a later fifth is counted only in the totals).
 * Also what kind of file an fd key names (ps_fd_io_class). */
#include "confine.h"
#include "syncobj.h"
#include <pthread.h>
#include "clock.h"
#include "hot.h"
#include "log.h"
#include "pool.h"
#include "atomics.h"
#include "table.h"
#include "thread.h"
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

struct ps_obj *ps_objs;
uint64_t ps_obj_filter[PS_OBJ_FILTER_BITS / 64] __attribute__((aligned(64)));  /* read-mostly: own lines */
uint64_t ps_obj_used[PS_MAX_OBJS / 64];

/* One ledger per thread record, by record index; pages are touched only by
 * threads that take hot locks. */
static struct ps_lock_ledger *ledgers;
/* Bumped by every reset of the table (a forked child): a ledger of an older
 * epoch points at entries that now hold other keys, and is cleared before use. */
static uint32_t table_epoch = 1;

int ps_obj_table_init(void)
{
    void *p = ps_table_map(sizeof(struct ps_obj) * PS_MAX_OBJS);
    if (!p)
        return -errno;
    ps_objs = p;
    if (!ledgers)
        ledgers = ps_table_map(sizeof(struct ps_lock_ledger) * PS_MAX_THREADS);  /* none: hot locks counted in the totals */
    return 0;
}

void ps_obj_table_reset(void)
{
    table_epoch++;
    ps_table_zero(ps_objs, sizeof(struct ps_obj) * PS_MAX_OBJS);
    memset(ps_obj_filter, 0, sizeof ps_obj_filter);
    memset(ps_obj_used, 0, sizeof ps_obj_used);
}

uint32_t ps_obj_table_epoch(void)
{
    return table_epoch;
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
        uint32_t at = (h + i) & (PS_MAX_OBJS - 1);
        struct ps_obj *o = &ps_objs[at];
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
                o->begun_pool = -1;
                o->poster_pool = -1;
                o->other_waiter_pool = -1;
                __atomic_fetch_or(&ps_obj_used[at >> 6], 1ull << (at & 63), __ATOMIC_RELEASE);
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

/* The slot site was counted in, -1 none (no site, or all slots taken). */
static int site_add(struct ps_site_count *s, void *site, uint64_t wait_ns)
{
    if (!site)
        return -1;
    for (int i = 0; i < PS_OBJ_SITES; i++) {
        void *cur = __atomic_load_n(&s[i].site, __ATOMIC_ACQUIRE);
        if (!cur && __atomic_compare_exchange_n(&s[i].site, &cur, site, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            cur = site;
        if (cur == site) {
            __atomic_fetch_add(&s[i].n, 1, __ATOMIC_RELAXED);
            __atomic_fetch_add(&s[i].wait_ns, wait_ns, __ATOMIC_RELAXED);
            return i;
        }
    }
    return -1;
}

/* Pool pi's share of o's waits: pool_wait_ns[0] for its waiter_pool, [1]
 * for its other_waiter_pool, -1 for neither (or no pool). */
static int pool_slot(const struct ps_obj *o, int pi)
{
    if (pi < 0)
        return -1;
    if (pi == __atomic_load_n(&o->waiter_pool, __ATOMIC_RELAXED))
        return 0;
    return pi == __atomic_load_n(&o->other_waiter_pool, __ATOMIC_RELAXED) ? 1 : -1;
}

/* A wait of one of the object's two pools' threads, into that pool's share
 * (called after note_waiter_pool). */
static void pool_wait_add(struct ps_obj *o, const struct ps_thread *t, uint64_t wait_ns)
{
    int slot = t ? pool_slot(o, t->pool) : -1;
    if (slot >= 0)
        __atomic_fetch_add(&o->pool_wait_ns[slot], wait_ns, __ATOMIC_RELAXED);
}

int ps_obj_pool(const struct ps_obj *o)
{
    int wp = __atomic_load_n(&o->waiter_pool, __ATOMIC_RELAXED);
    int op = __atomic_load_n(&o->other_waiter_pool, __ATOMIC_RELAXED);
    if (op >= 0 && op != wp &&
        __atomic_load_n(&o->pool_wait_ns[1], __ATOMIC_RELAXED) > __atomic_load_n(&o->pool_wait_ns[0], __ATOMIC_RELAXED))
        return op;
    return wp;
}

uint64_t ps_obj_pool_wait_ns(const struct ps_obj *o, int pi)
{
    int slot = pool_slot(o, pi);
    return slot < 0 ? 0 : __atomic_load_n(&o->pool_wait_ns[slot], __ATOMIC_RELAXED);
}

/* A waiter's site: counted, and marked when the waiter is one of the
 * object's pool (called after note_waiter_pool). */
static void waiter_site_add(struct ps_obj *o, const struct ps_thread *t, void *site, uint64_t wait_ns)
{
    int i = site_add(o->sites, site, wait_ns);
    unsigned bit = i >= 0 ? 1u << i : 0;
    if (bit && t && t->pool >= 0 && t->pool == __atomic_load_n(&o->waiter_pool, __ATOMIC_RELAXED) &&
        !(__atomic_load_n(&o->member_sites, __ATOMIC_RELAXED) & bit))
        __atomic_fetch_or(&o->member_sites, bit, __ATOMIC_RELAXED);
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

PS_HOT_TEXT uint64_t ps_hold_stamp(struct ps_thread *t, int waited)
{
    if (waited)
        return ps_now_ns() & ~(uint64_t)1;               /* weight 1 */
    return hold_sample_next(t) ? ps_now_ns() | 1 : 0;    /* weight PS_HOLD_SAMPLE, or untimed */
}

/* The record's ledger, at its first hot lock in this life: a recycled
 * record's slots keep their keys and counts (see syncobj.h), but not the
 * previous thread's holds. */
static struct ps_lock_ledger *ledger_bind(struct ps_thread *t)
{
    if (!ledgers || !ps_threads || t < ps_threads || t >= ps_threads + PS_MAX_THREADS)
        return NULL;                     /* the shim's own records, or none mapped */
    struct ps_lock_ledger *l = &ledgers[t - ps_threads];
    if (l->epoch != table_epoch) {       /* first use, or slots of a table reset since */
        memset(l->slot, 0, sizeof l->slot);
        l->epoch = table_epoch;
    }
    for (int i = 0; i < PS_LEDGER_SLOTS; i++)
        l->slot[i].depth = 0;
    __atomic_store_n(&t->ledger, l, __ATOMIC_RELEASE);
    return l;
}

struct ps_lock_ref ps_lock_slot_bind(struct ps_thread *t, uintptr_t key)
{
    struct ps_obj *o = ps_obj_probe(key);
    struct ps_lock_ledger *l = t->ledger ? t->ledger : ledger_bind(t);
    if (!o || !l)
        return (struct ps_lock_ref){ NULL, o };
    uint32_t i = ps_obj_filter_bit(key);
    for (int k = 0; k < PS_LEDGER_PROBE; k++) {
        struct ps_lock_slot *s = &l->slot[(i + (uint32_t)k) & (PS_LEDGER_SLOTS - 1)];
        if (s->key == key)
            return (struct ps_lock_ref){ s, o };
        if (!s->key) {
            s->o = o;
            __atomic_store_n(&s->key, key, __ATOMIC_RELEASE);   /* the fold reads key, then o */
            t->hot_slot = s;
            return (struct ps_lock_ref){ s, o };
        }
    }
    return (struct ps_lock_ref){ NULL, o };
}

void ps_lock_on_acquire_maybe(struct ps_thread *t, const void *lock, void *site, int waited)
{
    struct ps_obj *o;
    if (!t) {                            /* a thread without a record: the totals */
        if ((o = ps_obj_probe((uintptr_t)lock))) {
            __atomic_fetch_add(&o->acquisitions, 1, __ATOMIC_RELAXED);
            if (__atomic_load_n(&o->owner_site, __ATOMIC_RELAXED) != site)
                __atomic_store_n(&o->owner_site, site, __ATOMIC_RELAXED);
        }
        return;
    }
    struct ps_lock_slot *s = ps_lock_slot(t, (uintptr_t)lock, &o);
    if (o)
        ps_lock_acquired(o, s, t, site, waited);
}

void ps_lock_on_release_maybe(struct ps_thread *t, const void *lock)
{
    struct ps_obj *o;
    struct ps_lock_slot *s = t ? ps_lock_slot(t, (uintptr_t)lock, &o) : NULL;
    if (t && o)
        ps_lock_released(o, s, t);
}

/* The timed part of a hold that ended at now: stamp as ps_hold_stamp made it
 * (0: untimed), fw when a waiter arrived during it (0: none). */
static uint64_t hold_timed_ns(uint64_t stamp, uint64_t fw, uint64_t now)
{
    uint64_t at = stamp & ~(uint64_t)1;
    if (stamp && !(stamp & 1))
        return ps_ns_since(at, now);                 /* timed whole at weight 1 */
    if (!fw)
        return stamp ? ps_ns_since(at, now) * PS_HOLD_SAMPLE : 0;
    if (!stamp)
        return ps_ns_since(fw, now);                 /* from the waiter's arrival */
    if (fw < at)                                     /* a waiter's stamp raced the acquisition */
        fw = at;
    return ps_ns_since(fw, now) + ps_ns_since(at, fw) * PS_HOLD_SAMPLE;
}

PS_HOT_TEXT void ps_hold_close(struct ps_obj *o, struct ps_lock_slot *s, struct ps_thread *t, uint64_t stamp,
                   uint64_t fw)
{
    uint64_t dt = hold_timed_ns(stamp, fw, ps_now_ns());
    if (!dt)
        return;
    if (s && t) {
        __atomic_store_n(&s->hold_ns, s->hold_ns + dt, __ATOMIC_RELAXED);
        __atomic_store_n(&t->lock_events, t->lock_events + 1, __ATOMIC_RELEASE);
    } else {
        __atomic_fetch_add(&o->hold_ns, dt, __ATOMIC_RELAXED);
    }
}

/* Moves what a counter gained since the last fold into total; the seen mark
 * advances by compare-and-swap, so two folders never both add the same part. */
static void fold_counter(uint64_t *cur, uint64_t *seen, uint64_t *total)
{
    uint64_t was = __atomic_load_n(seen, __ATOMIC_ACQUIRE);
    uint64_t now = __atomic_load_n(cur, __ATOMIC_RELAXED);
    while (now > was) {
        if (__atomic_compare_exchange_n(seen, &was, now, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
            __atomic_fetch_add(total, now - was, __ATOMIC_RELAXED);
            return;
        }
    }
}

void ps_lock_ledger_fold(struct ps_thread *t, int all)
{
    uint64_t ev = __atomic_load_n(&t->lock_events, __ATOMIC_ACQUIRE);
    struct ps_lock_ledger *l = __atomic_load_n(&t->ledger, __ATOMIC_ACQUIRE);
    if (!all && ev == __atomic_load_n(&t->lock_events_folded, __ATOMIC_RELAXED))
        return;
    if (!l && all && ledgers && ps_threads && t >= ps_threads && t < ps_threads + PS_MAX_THREADS)
        l = &ledgers[t - ps_threads];   /* a recycled record not bound again yet */
    if (!l || (l->epoch != table_epoch && l >= ledgers && l < ledgers + PS_MAX_THREADS))
        return;                          /* none, or its slots name entries of a reset table */
    for (int i = 0; i < PS_LEDGER_SLOTS; i++) {
        struct ps_lock_slot *s = &l->slot[i];
        if (!__atomic_load_n(&s->key, __ATOMIC_ACQUIRE))
            continue;
        struct ps_obj *o = s->o;
        fold_counter(&s->acqs, &s->seen_acqs, &o->acquisitions);
        fold_counter(&s->hold_ns, &s->seen_hold_ns, &o->hold_ns);
    }
    __atomic_store_n(&t->lock_events_folded, ev, __ATOMIC_RELAXED);
}

/* A thread is about to wait for the lock: the hold in progress is timed at
 * weight 1 from now on, by its holder's release (ps_lock_released takes
 * first_wait_ns). Only the first waiter of a hold stamps it. */
static void wait_began_during_hold(struct ps_obj *o)
{
    if (__atomic_load_n(&o->first_wait_ns, __ATOMIC_RELAXED))
        return;
    uint64_t zero = 0, now = ps_now_ns() | 1;       /* never 0 */
    __atomic_compare_exchange_n(&o->first_wait_ns, &zero, now, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

/* A holder we did not see take the lock (it did so before the lock was first
 * contended) is still its holder; its hold counts from the first waiter's
 * arrival (wait_began_during_hold), a lower bound, instead of being lost: a
 * convoy's first, often longest, hold is this one. Where it took the lock is
 * unknown; if it is blocked in a wrapped call now, that call's site is inside
 * the code that holds the lock (glibc records the holder in the mutex: we are
 * about to lock it, so the memory is valid). */
static void adopt_unseen_holder(struct ps_obj *o, const void *lock, int kind)
{
#ifdef __GLIBC__
    if (kind != PS_K_MUTEX || __atomic_load_n(&o->owner_site, __ATOMIC_RELAXED))
        return;
    int owner = __atomic_load_n(&((const pthread_mutex_t *)lock)->__data.__owner, __ATOMIC_RELAXED);
    if (owner <= 0)
        return;
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
    if (o) {
        adopt_unseen_holder(o, lock, kind);
        wait_began_during_hold(o);
        __atomic_fetch_add(&o->waiting, 1, __ATOMIC_RELAXED);
    }
    *owner_site = o ? __atomic_load_n(&o->owner_site, __ATOMIC_RELAXED) : NULL;
    return o;
}

/* The first thread whose wait on o ended, and whether another's did since. */
static void note_waiter(struct ps_obj *o, const struct ps_thread *t)
{
    if (t && !__atomic_load_n(&o->waiters_many, __ATOMIC_RELAXED)) {
        int none = 0;
        if (!__atomic_compare_exchange_n(&o->first_waiter, &none, t->tid, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED) &&
            none != t->tid)
            __atomic_store_n(&o->waiters_many, 1, __ATOMIC_RELAXED);
    }
}

static void note_waiter_pool(struct ps_obj *o, struct ps_thread *t)
{
    if (!t)
        return;
    int wp = __atomic_load_n(&o->waiter_pool, __ATOMIC_RELAXED);
    if (t->pool >= 0 && wp < 0) {
        int none = -1;
        if (__atomic_compare_exchange_n(&o->waiter_pool, &none, t->pool, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
            ps_pool_note_candidate(o->key);
        wp = __atomic_load_n(&o->waiter_pool, __ATOMIC_RELAXED);
    }
    if (t->pool != wp && !__atomic_load_n(&o->waited_outside, __ATOMIC_RELAXED))
        __atomic_store_n(&o->waited_outside, 1, __ATOMIC_RELAXED);
    if (t->pool >= 0 && t->pool != wp && __atomic_load_n(&o->other_waiter_pool, __ATOMIC_RELAXED) < 0) {
        int none = -1;
        if (__atomic_compare_exchange_n(&o->other_waiter_pool, &none, t->pool, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED) &&
            ps_pool_join_lone_waiter(o) == t->pool)
            ps_pool_learn_early(t, o);   /* its wait for work from its next task on */
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
    pool_wait_add(o, t, wait_ns);
    ps_atomic_max(&o->max_wait_ns, wait_ns);
    waiter_site_add(o, t, site, wait_ns);
    site_add(o->owner_sites, owner_site, wait_ns);
    note_waiter(o, t);
}

void ps_obj_on_wait(struct ps_obj *o, struct ps_thread *t, void *site, uint64_t wait_ns)
{
    if (!o)
        return;
    note_waiter_pool(o, t);
    __atomic_fetch_add(&o->contended, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&o->wait_ns, wait_ns, __ATOMIC_RELAXED);
    pool_wait_add(o, t, wait_ns);
    ps_atomic_max(&o->max_wait_ns, wait_ns);
    waiter_site_add(o, t, site, wait_ns);
    note_waiter(o, t);
}

void ps_obj_on_take(struct ps_thread *t, uintptr_t key)
{
    struct ps_obj *o = t && t->pool >= 0 ? ps_obj_probe(key) : NULL;
    if (!o || o->kind != PS_K_SEM || !__atomic_load_n(&o->fed, __ATOMIC_RELAXED) ||
        (__atomic_load_n(&o->waiter_pool, __ATOMIC_RELAXED) >= 0 &&
         __atomic_load_n(&o->waiters_many, __ATOMIC_RELAXED)))
        return;                          /* once the pool and a second taker are known, nothing more */
    note_waiter_pool(o, t);
    note_waiter(o, t);
}

int ps_fd_io_class(uintptr_t fd_key)
{
    int saved = errno, fd = (int)(unsigned)fd_key;
    struct stat st;
    int cls = PS_FD_FILE;
    if (ps_is_confined())
        return PS_FD_BLOCKS;             /* unknown: no fstat of ours (confine.h) */
    if (fstat(fd, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
        int fl = fcntl(fd, F_GETFL);
        cls = fl >= 0 && (fl & O_NONBLOCK) ? PS_FD_NONBLOCKING : PS_FD_BLOCKS;
    }
    errno = saved;
    return cls;
}

