/* syncobj.h: what we know about each synchronisation object that ever made a
 * thread wait: locks (contention, hold time, owner sites), condvars, semaphores,
 * futex words and polled fds (waits, and who posts to them).
 * A fixed open-addressed table keyed by address, in memory mapped at start.
 * Entries are inserted on slow paths only (the first contention or blocking
 * wait); fast paths only probe (ps_obj_find), so an uncontended lock never
 * writes shared memory, and a hot lock's acquisitions are counted in the
 * acquiring thread's ledger ("Per-thread ledger" below). Fields are updated
 * with relaxed atomics.
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

/* Layout: the first cache line (key .. max_wait_ns) is read on every
 * acquisition and release of a hot lock and written only on contention (and
 * owner_site when the acquiring site changes), so it stays shared between
 * cores; the counts that grow with every acquisition live in the threads'
 * ledgers (see "Per-thread ledger" below), and the wait statistics below are
 * touched only on contention. Entries are 64-byte aligned (the table is
 * page-aligned). */
struct ps_obj {
    uintptr_t key;                /* object address (fds: PS_FD_KEY(fd)); 0 = empty */
    int kind;                     /* enum ps_kind */
    int waiter_pool;              /* first pool whose worker blocked here, -1 none */
    int begun_pool;               /* waitobj: the pool of a thread that began a wait here, -1
                                     none: whose member posts it before a wait on it ends */
    uint64_t first_wait_ns;       /* locks: when the first thread began waiting during the
                                     current hold (weight-1 timing from then), 0 none */
    int waiting;                  /* threads blocked on it right now */
    int waited_outside;           /* a thread outside waiter_pool (or in no pool) blocked here */
    int first_waiter;             /* the tid of the first thread whose wait here ended, and
                                     whether another's did since: a wait for work shared by */
    int waiters_many;             /* workers, not one worker's own (pool.c); a lock that queues
                                     peers, not one thread waiting for another (recommend.c) */
    void *owner_site;             /* locks: where the last acquirer took it (the holder's, while held) */
    uint64_t contended;           /* blocking acquisitions / blocking waits */
    uint64_t wait_ns, max_wait_ns;
    /* second line: written by the agent's fold, once per tick */
    uint64_t acquisitions;        /* lock acquisitions since the first contention: folded from
                                     the ledgers by the agent, plus threads without a slot */
    uint64_t hold_ns;             /* locks: time held since the first contention (an estimate:
                                     see "Hold time" below), folded the same way */
    uint64_t open_wait_ns;        /* report only: waits still going on when it was written */
    int open_waiters;
    int fed;                      /* semaphores: posted often by threads of no pool, by none of
                                     a pool's (tally.c: ps_tally_mark_fed): a queue's count its
                                     consumers may take without ever blocking */
    uintptr_t mutex;              /* condvars: the mutex passed to the wait */
    uint64_t posts_same, posts_other; /* wakes by members of waiter_pool / by others (before a
                                     wait on it has ended, of the pool of begun_pool) */
    uint64_t timeouts;            /* timed waits that ran out (ps_obj_timer_like) */
    int rewaited;                 /* condvars: a timed wait that ran out was waited again at
                                     once, at the same site: a wait for a post that wakes now
                                     and then to look, whose timeouts are no sleeps (waitobj.h) */
    int woken_all;                /* futex words: a wake-up for more than one waiter was posted
                                     (libstdc++'s semaphore release, a broadcast) */
    int poster_pool;              /* condvars: first pool whose worker posted it while no member
                                     of that pool waited on it (a "not full" condvar), -1 none */
    int other_waiter_pool;        /* first pool besides waiter_pool whose thread blocked here,
                                     -1 none (pool.c: a thread alone in its pool that waits for
                                     work with the workers of another joins them) */
    uint64_t pool_wait_ns[2];     /* of wait_ns, the waits of waiter_pool's threads and of
                                     other_waiter_pool's: the first to block need not be the
                                     pool that waits here (Apache's listener took its workers'
                                     queue mutex first: 0.08 s of its 2.49 s) */
    struct ps_site_count sites[PS_OBJ_SITES];        /* where waiters waited */
    struct ps_site_count owner_sites[PS_OBJ_SITES];  /* where holders held it while others waited */
    unsigned member_sites;        /* bit i: a thread of waiter_pool waited at sites[i] (not only
                                     outsiders: ffmpeg's creator waits once on each worker's
                                     condvar until it has started) */
} __attribute__((aligned(64)));

/* One hot lock as one thread uses it ("Per-thread ledger" below): its
 * counts, folded into the lock's totals by the agent, and the thread's hold
 * of it. All but the seen_ fields are written by the owner only; seen_ by
 * whoever folds (compare-and-swap, so no growth is counted twice). */
#define PS_LEDGER_SLOTS 128
#define PS_LEDGER_PROBE 8            /* slots tried from the lock's own (by its address's hash) */
struct ps_lock_slot {
    uintptr_t key;                   /* the lock, bound on first use, never unbound */
    struct ps_obj *o;                /* its table entry (entries never move) */
    uint64_t acqs, hold_ns;          /* acquisitions, timed hold (weighted): never go down */
    uint64_t seen_acqs, seen_hold_ns;
    uint64_t stamp;                  /* the current hold's timing ("Hold time"):
                                      * 0 untimed, bit 0 set: sampled */
    int depth;                       /* holds of it by this thread now (recursive locks nest) */
} __attribute__((aligned(64)));
/* A thread record's slots, in an array beside the records (records stay
 * small for the agent's scans), bound to the record's index. */
struct ps_lock_ledger {
    struct ps_lock_slot slot[PS_LEDGER_SLOTS];
    uint32_t epoch;                  /* the table's epoch its slots belong to (ps_obj_table_reset) */
};

/* More than half its waits ran out: the waiter's own timer (GNAT's delay,
 * HotSpot's sleep on a thread's park event), not a wait for work, even where
 * the same object also wakes its owner for work now and then. */
static inline int ps_obj_timer_like(const struct ps_obj *o)
{
    return 2 * __atomic_load_n(&o->timeouts, __ATOMIC_RELAXED) > __atomic_load_n(&o->contended, __ATOMIC_RELAXED);
}

#define PS_FD_KEY(fd) ((uintptr_t)(unsigned)(fd) | ((uintptr_t)1 << 63))
/* What a long io call (one of 200 us or more: account.h) on the fd of
 * PS_FD_KEY says of its time. Only on a regular file or a block device can
 * a read or write stay on the CPU for long (the page cache); on a pipe,
 * socket, timerfd or terminal a long call blocked, unless the fd is
 * non-blocking (MSG_DONTWAIT on a blocking fd is not seen). */
enum {
    PS_FD_BLOCKS,       /* a blocking pipe, socket, timerfd, terminal: it blocked */
    PS_FD_FILE,         /* a regular file or block device */
    PS_FD_NONBLOCKING,  /* O_NONBLOCK on no file: it returned at once (data or
                         * EAGAIN), so it was long only for want of a core,
                         * preempted inside (a send that wakes its reader on a
                         * busy machine): an event loop's reads and writes */
};
/* One fstat (~0.3 us) and, for no file, one fcntl (F_GETFL); errno kept; an
 * fd closed meanwhile counts as a file, the cautious side. */
int ps_fd_io_class(uintptr_t fd_key);

#define PS_OBJ_FILTER_BITS 65536
extern struct ps_obj *ps_objs;
extern uint64_t ps_obj_filter[PS_OBJ_FILTER_BITS / 64];
int ps_obj_table_init(void);
void ps_obj_table_reset(void);

/* Which entries were ever claimed: scans of the table (the report's locks,
 * a dump's) visit only those, so its untouched pages stay unmapped. Reading
 * or clearing all 8,192 entries faulted in the whole table, ~1,800 pages, at
 * every report; clearing them made it 7 MiB resident. */
extern uint64_t ps_obj_used[PS_MAX_OBJS / 64];
/* The first entry claimed at index i or after it, PS_MAX_OBJS if none:
 * for (i = ps_obj_next(0); i < PS_MAX_OBJS; i = ps_obj_next(i + 1)). A claimed
 * entry may still be filling in (key -1): callers test the key as before. */
static inline int ps_obj_next(int i)
{
    while (i < PS_MAX_OBJS) {
        uint64_t w = __atomic_load_n(&ps_obj_used[i >> 6], __ATOMIC_ACQUIRE) >> (i & 63);
        if (w)
            return i + __builtin_ctzll(w);
        i = (i | 63) + 1;
    }
    return PS_MAX_OBJS;
}

static inline uint32_t ps_obj_hash(uintptr_t key)
{
    uint64_t h = (uint64_t)key * 0x9E3779B97F4A7C15ull;
    return (uint32_t)(h >> 51);               /* 13 bits: PS_MAX_OBJS */
}

static inline uint32_t ps_obj_filter_bit(uintptr_t key)
{
    return (uint32_t)(((uint64_t)key * 0x9E3779B97F4A7C15ull) >> 48);   /* 16 bits */
}
/* Which table the entries belong to: it changes at each reset (a fork's child). */
uint32_t ps_obj_table_epoch(void);
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

/* Hold time. Every acquisition of a hot lock is counted and its site
 * recorded, but reading the clock twice per acquisition, inside the host's
 * critical section, was most of what the shim cost a pool whose queue lock is
 * always hot (tinypool). So a hold is timed:
 *   - whole, at weight 1, when the acquisition blocked (it follows contention)
 *     or when threads were waiting for the lock as it was taken;
 *   - from the moment a thread starts waiting for the lock, at weight 1
 *     (ps_lock_before_wait sets first_wait_ns; the holder's release takes
 *     it): the holds that make others wait, a convoy's, are measured, not
 *     estimated. A holder we did not see take the lock (it did so before the
 *     lock was first contended) has its hold counted from then too;
 *   - otherwise (the uncontended part of holds) on a random sample of about
 *     1 in PS_HOLD_SAMPLE acquisitions per thread, at weight PS_HOLD_SAMPLE.
 * Every acquisition has the same probability 1/PS_HOLD_SAMPLE of being in the
 * sample (ps_hold_sampled), so hold_ns is unbiased: its expected value is the
 * total hold, and its relative error falls as 1/sqrt(sampled holds). The
 * sample is chosen per thread (a countdown in its record, reloaded at random,
 * so no periodic pattern of the program can alias with it): no shared state.
 * Read locks (shared) are timed only from a waiter's arrival: readers'
 * holds overlap, and summing them would exceed the time the lock was held.
 *
 * Per-thread ledger. A lock once contended stays hot for the rest of the
 * run, and a shared counter or owner field written on each of its
 * acquisitions moved a cache line between cores every time (two threads
 * walking 64 mildly contended mutexes ran 3.8-4.6x slower). So acquisitions
 * and hold time are counted in the acquiring thread's record (a slot per lock,
 * thread.h, which also keeps the thread's current hold of the lock), and
 * the agent adds the slots' growth to the lock's totals once per tick
 * (ps_lock_ledger_fold): the totals lag by at most one interval and are exact
 * after the final tick. A thread whose slots are all bound (more than
 * PS_LEDGER_SLOTS hot locks, or a full probe window) counts the rest in the
 * totals directly, as does a thread without a record. */
#define PS_HOLD_SAMPLE 8
/* Out of line, about 1 in PS_HOLD_SAMPLE acquisitions: the next gap of t's
 * sample, and the stamp for this acquisition (0: untimed). */
uint64_t ps_hold_stamp(struct ps_thread *t, int waited);
/* Out of line, timed holds only: a hold of o timed from stamp (0: untimed,
 * or a holder we did not see take the lock) ended now; fw is first_wait_ns,
 * taken by the release. Added to t's slot s, or to the totals without one. */
void ps_hold_close(struct ps_obj *o, struct ps_lock_slot *s, struct ps_thread *t, uint64_t stamp,
                   uint64_t fw);
/* Adds the growth of t's ledger to the locks' totals: the agent, every tick,
 * skipping ledgers that did not change unless all (the last tick). Safe
 * against a concurrent fold. */
void ps_lock_ledger_fold(struct ps_thread *t, int all);

/* Lock events. site is the caller's return address. The inline parts are the
 * fast path (a filter test); the rest is out of line to keep wrappers small.
 * waited: the acquisition blocked first (its hold is timed whole); with
 * PS_ACQ_SHARED or-ed in, a read lock. */
#define PS_ACQ_SHARED 2
static inline void ps_lock_on_acquire(struct ps_thread *t, const void *lock, void *site, int waited);
static inline void ps_lock_on_release(struct ps_thread *t, const void *lock);
void ps_lock_on_acquire_maybe(struct ps_thread *t, const void *lock, void *site, int waited);
void ps_lock_on_release_maybe(struct ps_thread *t, const void *lock);

/* t's ledger slot for the hot lock at key, which holds the lock's table
 * entry too: the one lookup of the acquire and release paths. Bound on first
 * use (out of line); NULL when t's probe window is full of other locks (*op
 * is then the entry, counted in its totals) or key is not in the table (*op
 * NULL: a filter false positive, or a pool's queue mutex never contended).
 * Owner thread only. The out-of-line part returns slot and entry in
 * registers: given &o, it kept o in memory and every hot lock's path paid
 * for the stack frame. */
struct ps_lock_ref { struct ps_lock_slot *s; struct ps_obj *o; };
struct ps_lock_ref ps_lock_slot_bind(struct ps_thread *t, uintptr_t key);
static inline struct ps_lock_slot *ps_lock_slot(struct ps_thread *t, uintptr_t key, struct ps_obj **op)
{
    struct ps_lock_slot *s = t->hot_slot;        /* the release of what was just taken */
    if (__builtin_expect(s && s->key == key, 1))
        goto found;
    struct ps_lock_ledger *l = t->ledger;
    if (__builtin_expect(l != NULL, 1)) {
        uint32_t i = ps_obj_filter_bit(key);
        for (int k = 0; k < PS_LEDGER_PROBE; k++) {
            s = &l->slot[(i + (uint32_t)k) & (PS_LEDGER_SLOTS - 1)];
            if (__builtin_expect(s->key == key, 1)) {
                t->hot_slot = s;
                goto found;
            }
            if (!s->key)
                break;
        }
    }
    struct ps_lock_ref r = ps_lock_slot_bind(t, key);
    *op = r.o;
    return r.s;
found:
    *op = s->o;
    return s;
}

/* The acquire and release of a hot lock (o, t's slot s or NULL) for a known
 * thread, inline for the mutex wrappers (a pool's queue mutex is hot: every
 * task goes through here twice). No clock unless the hold is timed, and no
 * store to memory another core uses unless someone waits for the lock or its
 * site changed. A thread without a slot for the lock has its acquisitions
 * counted in the totals and its holds timed only from a waiter's arrival. */
static inline void ps_lock_acquired(struct ps_obj *o, struct ps_lock_slot *s, struct ps_thread *t,
                                    void *site, int waited)
{
    if (__builtin_expect(s != NULL, 1)) {
        __atomic_store_n(&s->acqs, s->acqs + 1, __ATOMIC_RELAXED);
        if (__builtin_expect(s->depth++ == 0, 1)) {          /* the outermost hold is timed */
            uint64_t stamp = 0;
            int w = (waited & 1) | (__atomic_load_n(&o->first_wait_ns, __ATOMIC_RELAXED) != 0) |
                    (__atomic_load_n(&o->waiting, __ATOMIC_RELAXED) > 0);
            if (__builtin_expect(w || t->hold_skip <= 0, 0))
                stamp = ps_hold_stamp(t, w);
            else
                t->hold_skip--;
            s->stamp = waited & PS_ACQ_SHARED ? 0 : stamp;   /* read holds: from a waiter on */
        }
    } else {
        __atomic_fetch_add(&o->acquisitions, 1, __ATOMIC_RELAXED);
    }
    __atomic_store_n(&t->lock_events, t->lock_events + 1, __ATOMIC_RELEASE);
    if (__atomic_load_n(&o->owner_site, __ATOMIC_RELAXED) != site)
        __atomic_store_n(&o->owner_site, site, __ATOMIC_RELAXED);
}
static inline void ps_lock_released(struct ps_obj *o, struct ps_lock_slot *s, struct ps_thread *t)
{
    uint64_t stamp = 0;
    if (__builtin_expect(s && s->depth > 0, 1)) {
        if (--s->depth)
            return;                      /* an inner hold of a recursive lock */
        stamp = s->stamp;
    }
    uint64_t fw = __atomic_load_n(&o->first_wait_ns, __ATOMIC_RELAXED);
    if (__builtin_expect(fw != 0, 0))
        fw = __atomic_exchange_n(&o->first_wait_ns, 0, __ATOMIC_RELAXED);
    if (__builtin_expect(fw || stamp, 0))
        ps_hold_close(o, s, t, stamp, fw);
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

/* A wake-up of obj for more than one waiter (a futex word's; the filter
 * first, as ps_obj_note_post). */
static inline void ps_obj_note_wake_all(uintptr_t obj)
{
    if (__builtin_expect(ps_obj_maybe(obj), 0)) {
        struct ps_obj *o = ps_obj_probe(obj);
        if (o && !__atomic_load_n(&o->woken_all, __ATOMIC_RELAXED))
            __atomic_store_n(&o->woken_all, 1, __ATOMIC_RELAXED);
    }
}

/* Waits on condvars/semaphores/futexes/fds, and the posts that end them. */
void ps_obj_on_wait(struct ps_obj *o, struct ps_thread *t, void *site, uint64_t wait_ns);
/* t took semaphore key without blocking (sem_wait's wrapper, marked keys
 * only): a fed semaphore's first taker names the pool it feeds, so a pool
 * that never blocks on its queue's count can still learn it as its wait for
 * work (pool.c). */
void ps_obj_on_take(struct ps_thread *t, uintptr_t key);

/* A condvar the workers post about as often as others do is a lock they hand
 * each other only if others wait on it too (a GIL: everyone takes it), or
 * if the workers post it clearly more often; a queue's count, posted at each
 * push and at each pop and waited on by the workers alone, is their wait for
 * work (pigz's compress_have: 458 pops against 459 pushes, a tie either way
 * from one moment to the next). */
/* The pool whose threads waited on o most, of its two (-1 none): the lock
 * table's and a dump's pool for it. */
int ps_obj_pool(const struct ps_obj *o);
/* The waits of pool pi's threads on o (0 if neither of its two pools). */
uint64_t ps_obj_pool_wait_ns(const struct ps_obj *o, int pi);

static inline int ps_obj_tie_is_handoff(const struct ps_obj *o)
{
    return __atomic_load_n(&o->waited_outside, __ATOMIC_RELAXED) || o->posts_same > 2 * o->posts_other;
}

static inline void ps_lock_on_acquire(struct ps_thread *t, const void *lock, void *site, int waited)
{
    /* a lock that was waited for is in the table: no filter test needed */
    if ((waited & 1) || __builtin_expect(ps_obj_maybe((uintptr_t)lock), 0))
        ps_lock_on_acquire_maybe(t, lock, site, waited);
}
static inline void ps_lock_on_release(struct ps_thread *t, const void *lock)
{
    if (__builtin_expect(ps_obj_maybe((uintptr_t)lock), 0))
        ps_lock_on_release_maybe(t, lock);
}
#endif
