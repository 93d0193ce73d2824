/* syncobj.c: the object table's slow paths (insertion, contention and wait
 * accounting). Any thread may call these; they take no lock and never allocate.
 * Counts are exact; sites are the first four distinct callers (a later fifth
 * is counted only in the totals). */
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

void ps_lock_on_acquire_hot(struct ps_obj *o, struct ps_thread *t, void *site)
{
    __atomic_fetch_add(&o->acquisitions, 1, __ATOMIC_RELAXED);
    __atomic_store_n(&o->owner_site, site, __ATOMIC_RELAXED);
    __atomic_store_n(&o->acq_ns, ps_now_ns(), __ATOMIC_RELAXED);
    __atomic_store_n(&o->owner_tid, t ? t->tid : -1, __ATOMIC_RELEASE);
}

/* The entry of a lock, through the thread's one-entry cache: a table entry
 * keeps its key until the table is reset after fork, which also resets the
 * surviving thread's record, so a cached pair is never stale. */
static struct ps_obj *find_lock(struct ps_thread *t, uintptr_t key)
{
    if (t && t->hot_key == key)
        return t->hot_obj;
    struct ps_obj *o = ps_obj_probe(key);    /* callers tested the filter */
    if (o && t) {
        t->hot_obj = o;
        t->hot_key = key;
    }
    return o;
}

void ps_lock_on_acquire_maybe(struct ps_thread *t, const void *lock, void *site)
{
    struct ps_obj *o = find_lock(t, (uintptr_t)lock);
    if (o)
        ps_lock_on_acquire_hot(o, t, site);
}

void ps_lock_on_release_maybe(struct ps_thread *t, const void *lock)
{
    struct ps_obj *o = find_lock(t, (uintptr_t)lock);
    if (o)
        ps_lock_on_release_hot(o, t);
}

void ps_lock_on_release_hot(struct ps_obj *o, struct ps_thread *t)
{
    /* Readers of an rwlock share it: only the tracked (last) acquirer counts hold time. */
    if (!t || __atomic_load_n(&o->owner_tid, __ATOMIC_ACQUIRE) != t->tid)
        return;
    uint64_t since = __atomic_load_n(&o->acq_ns, __ATOMIC_RELAXED);
    uint64_t now = ps_now_ns();
    if (since && now > since)
        __atomic_fetch_add(&o->hold_ns, now - since, __ATOMIC_RELAXED);
    __atomic_store_n(&o->owner_tid, 0, __ATOMIC_RELEASE);
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
        __atomic_store_n(&o->acq_ns, ps_now_ns(), __ATOMIC_RELAXED);
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

