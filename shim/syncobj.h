/* syncobj.h: what we know about each synchronisation object that ever made a
 * thread wait: locks (contention, hold time, owner sites), condvars, semaphores,
 * futex words and polled fds (waits, and who posts to them).
 * A fixed open-addressed table keyed by address, in memory mapped at start.
 * Entries are inserted on slow paths only (the first contention or blocking
 * wait); fast paths only probe (ps_obj_find), so an uncontended lock never
 * writes shared memory. Fields are updated with relaxed atomics.
 *
 * Why a filter in front of the table: every lock and unlock asks "is this lock
 * hot?", and the answer is nearly always no. A probe of the 2 MB table costs
 * ~20 instructions and touches a random cache line; one bit of a 64 Kbit
 * (8 KB) filter, set for every key ever inserted and never cleared (except by
 * ps_obj_table_reset), answers no in ~6 instructions. A set bit may be another
 * key's (false positive, 1 in 64K per inserted key): the table probe decides.
 * The filter also marks each pool's queue mutex (ps_obj_filter_add), so the
 * mutex wrappers need nothing but the filter test to know a mutex is plain:
 * any per-mutex behaviour must mark its mutex here first. */
#ifndef PS_SYNCOBJ_H
#define PS_SYNCOBJ_H
#include <stdint.h>
#include "pool.h"
#include "thread.h"

#define PS_OBJ_SITES 4
#define PS_MAX_OBJS 8192

struct ps_site_count { void *site; uint64_t n; uint64_t wait_ns; };

/* Layout: every acquisition and release of a hot lock touches only the first
 * cache line (key .. owner_site), which then travels between cores with the
 * lock's own line; the wait statistics below are touched only on contention.
 * Entries are 64-byte aligned (the table is page-aligned). */
struct ps_obj {
    uintptr_t key;                /* object address (fds: PS_FD_KEY(fd)); 0 = empty */
    int kind;                     /* enum ps_kind */
    int waiter_pool;              /* first pool whose worker blocked here, -1 none */
    uint64_t acquisitions;        /* lock acquisitions since the first contention */
    uint64_t hold_ns;             /* locks: time held since the first contention (an estimate:
                                     see "Hold time" below) */
    uint64_t acq_ns;              /* locks: when timing of the current hold began, bit 0 set
                                     when that part has weight PS_HOLD_SAMPLE; 0 = untimed */
    int owner_tid;                /* locks: last acquirer (0 after release) */
    int waiting;                  /* threads blocked on it right now */
    void *owner_site;             /* locks: where the current holder took it */
    uint64_t contended;           /* blocking acquisitions / blocking waits */
    uint64_t wait_ns, max_wait_ns;
    uint64_t open_wait_ns;        /* report only: waits still going on when it was written */
    int open_waiters;
    uintptr_t mutex;              /* condvars: the mutex passed to the wait */
    uint64_t posts_same, posts_other; /* wakes by members of waiter_pool / by others */
    int poster_pool;              /* condvars: first pool whose worker posted it while no member
                                     of that pool waited on it (a "not full" condvar), -1 none */
    struct ps_site_count sites[PS_OBJ_SITES];        /* where waiters waited */
    struct ps_site_count owner_sites[PS_OBJ_SITES];  /* where holders held it while others waited */
} __attribute__((aligned(64)));

#define PS_FD_KEY(fd) ((uintptr_t)(unsigned)(fd) | ((uintptr_t)1 << 63))

#define PS_OBJ_FILTER_BITS 65536
extern struct ps_obj *ps_objs;
extern uint64_t ps_obj_filter[PS_OBJ_FILTER_BITS / 64];
int ps_obj_table_init(void);
void ps_obj_table_reset(void);

static inline uint32_t ps_obj_hash(uintptr_t key)
{
    uint64_t h = (uint64_t)key * 0x9E3779B97F4A7C15ull;
    return (uint32_t)(h >> 51);               /* 13 bits: PS_MAX_OBJS */
}

static inline uint32_t ps_obj_filter_bit(uintptr_t key)
{
    return (uint32_t)(((uint64_t)key * 0x9E3779B97F4A7C15ull) >> 48);   /* 16 bits */
}
/* Marks key (inserted keys are marked by ps_obj_get). Never unmarked. */
void ps_obj_filter_add(uintptr_t key);
/* 0: key was never inserted or marked. 1: it may have been. */
static inline int ps_obj_maybe(uintptr_t key)
{
    uint32_t b = ps_obj_filter_bit(key);
    return (int)((__atomic_load_n(&ps_obj_filter[b >> 6], __ATOMIC_RELAXED) >> (b & 63)) & 1);
}

/* The table probe alone, for callers that have just tested the filter. */
static inline struct ps_obj *ps_obj_probe(uintptr_t key)
{
    struct ps_obj *tab = ps_objs;
    if (!tab)
        return NULL;
    uint32_t h = ps_obj_hash(key);
    for (int i = 0; i < 8; i++) {
        struct ps_obj *o = &tab[(h + i) & (PS_MAX_OBJS - 1)];
        uintptr_t k = __atomic_load_n(&o->key, __ATOMIC_ACQUIRE);
        if (k == key)
            return o;
        if (!k)
            return NULL;
    }
    return NULL;
}
/* Probe only: the entry for key or NULL. Cheap enough for fast paths. */
static inline struct ps_obj *ps_obj_find(uintptr_t key)
{
    if (__builtin_expect(!ps_obj_maybe(key), 1))
        return NULL;
    return ps_obj_probe(key);
}
/* Find or insert; NULL when the neighbourhood is full (logged once). */
struct ps_obj *ps_obj_get(uintptr_t key, int kind);

/* Hold time. Every acquisition of a hot lock is counted and its owner and
 * site recorded, but reading the clock twice per acquisition, inside the
 * host's critical section, was most of what the shim cost a pool whose queue
 * lock is always hot (tinypool). So a hold is timed:
 *   - whole, at weight 1, when the acquisition blocked (it follows contention);
 *   - from the moment a thread starts waiting for the lock, at weight 1
 *     (ps_lock_before_wait stamps acq_ns): the holds that make others wait,
 *     a convoy's, are measured, not estimated;
 *   - otherwise (the uncontended part of holds) on a random sample of about
 *     1 in PS_HOLD_SAMPLE acquisitions per thread, at weight PS_HOLD_SAMPLE.
 * Every acquisition has the same probability 1/PS_HOLD_SAMPLE of being in the
 * sample (ps_hold_sampled), so hold_ns is unbiased: its expected value is the
 * total hold, and its relative error falls as 1/sqrt(sampled holds). The
 * sample is chosen per thread (a countdown in its record, reloaded at random,
 * so no periodic pattern of the program can alias with it): no shared state. */
#define PS_HOLD_SAMPLE 8
/* Out of line, about 1 in PS_HOLD_SAMPLE acquisitions: the next gap of t's
 * sample, and acq_ns for this acquisition (0: untimed). */
uint64_t ps_hold_stamp(struct ps_thread *t, int waited);
/* Out of line, timed holds only: adds the hold that began at o->acq_ns. */
void ps_hold_close(struct ps_obj *o);

/* Lock events. site is the caller's return address. The inline parts are the
 * fast path (a filter test); the rest is out of line to keep wrappers small.
 * waited: the acquisition blocked first (its hold is timed whole). */
static inline void ps_lock_on_acquire(struct ps_thread *t, const void *lock, void *site, int waited);
void ps_lock_on_acquire_maybe(struct ps_thread *t, const void *lock, void *site, int waited);
void ps_lock_on_release_maybe(struct ps_thread *t, const void *lock);

/* The acquire and release of a hot lock for a known thread,
 * inline for the mutex wrappers (a pool's queue mutex is hot: every task goes
 * through here twice). No clock unless the hold is timed. */
static inline void ps_lock_acquired(struct ps_obj *o, struct ps_thread *t, void *site, int waited)
{
    uint64_t stamp = 0;
    if (__builtin_expect(waited || t->hold_skip <= 0, 0))
        stamp = ps_hold_stamp(t, waited);
    else
        t->hold_skip--;
    __atomic_fetch_add(&o->acquisitions, 1, __ATOMIC_RELAXED);
    __atomic_store_n(&o->owner_site, site, __ATOMIC_RELAXED);
    __atomic_store_n(&o->acq_ns, stamp, __ATOMIC_RELAXED);
    __atomic_store_n(&o->owner_tid, t->tid, __ATOMIC_RELEASE);
}
static inline void ps_lock_released(struct ps_obj *o, struct ps_thread *t)
{
    /* Readers of an rwlock share it: only the tracked (last) acquirer counts hold time. */
    if (__atomic_load_n(&o->owner_tid, __ATOMIC_ACQUIRE) != t->tid)
        return;
    if (__builtin_expect(__atomic_load_n(&o->acq_ns, __ATOMIC_RELAXED) != 0, 0))
        ps_hold_close(o);
    __atomic_store_n(&o->owner_tid, 0, __ATOMIC_RELEASE);
}

/* The entry of a hot lock, through the thread's one-entry cache (callers
 * tested the filter): a table entry keeps its key until the table is reset
 * after fork, which also resets the surviving thread's record, so a cached
 * pair is never stale. */
static inline struct ps_obj *ps_lock_find(struct ps_thread *t, uintptr_t key)
{
    if (__builtin_expect(t->hot_key == key, 1))
        return t->hot_obj;
    struct ps_obj *o = ps_obj_probe(key);
    if (o) {
        t->hot_obj = o;
        t->hot_key = key;
    }
    return o;
}
/* Before blocking on a lock: makes it hot; returns the entry (may be NULL). */
struct ps_obj *ps_lock_before_wait(const void *lock, int kind, void **owner_site);
void ps_lock_after_wait(struct ps_obj *o, struct ps_thread *t, void *site, void *owner_site,
                        uint64_t wait_ns);

/* A post (cond signal/broadcast, sem_post, futex wake) to obj. Only objects
 * someone has waited on are in the table; for the rest this is a filter test. */
static inline void ps_obj_note_post(uintptr_t obj)
{
    if (__builtin_expect(ps_obj_maybe(obj), 0))
        ps_pool_on_post(obj, ps_thread_self());   /* probes without a second filter test */
}

/* Waits on condvars/semaphores/futexes/fds, and the posts that end them. */
void ps_obj_on_wait(struct ps_obj *o, struct ps_thread *t, void *site, uint64_t wait_ns);

static inline void ps_lock_on_acquire(struct ps_thread *t, const void *lock, void *site, int waited)
{
    /* a lock that was waited for is in the table: no filter test needed */
    if (waited || __builtin_expect(ps_obj_maybe((uintptr_t)lock), 0))
        ps_lock_on_acquire_maybe(t, lock, site, waited);
}
static inline void ps_lock_on_release(struct ps_thread *t, const void *lock)
{
    if (__builtin_expect(ps_obj_maybe((uintptr_t)lock), 0))
        ps_lock_on_release_maybe(t, lock);
}
#endif
