/* heap_sample.c: the sampled heap profile of the program's own allocator
 * (heap_sample.h). Threads: the slow paths run on any host thread inside
 * malloc/free; ps_heap_top on the agent. No locks anywhere.
 *
 * The table: SLOTS keys (the sampled pointer, 0 free, BUSY while a sampler
 * fills the record) and for each the index of its record. A pointer lives
 * within PROBE slots of its hash; a sample with no free slot there is dropped
 * and counted (the estimates then read low, and the dump says how many were
 * dropped). Records are taken lowest free first (a bitmap), so the pages
 * they touch follow the most samples ever live at once, not the slots' hash:
 * placed by slot, node's thousands of short-lived samples left the whole
 * 2 MiB of records resident. Because
 * a lookup scans the whole window instead of stopping at a free slot, a slot is
 * simply zeroed when its pointer is freed: no tombstones, probes stay short
 * for the life of the process.
 *
 * free() must stay cheap for the pointers that were not sampled (nearly all):
 * a counting filter of 2^16 bytes indexed by the pointer's hash is read first,
 * and only a nonzero byte (a sampled pointer, or one that shares its hash bits
 * with one: with at most SLOTS live samples, under 1 in 8) leads to the table.
 * A pointer is counted in the filter before its key is published and removed
 * from it after its key is cleared, so a sampled pointer is never filtered out.
 *
 * Ordering: a pointer is recorded before malloc returns it and forgotten before
 * free gives it back, so the same address can never be in the table twice.
 * The agent copies records under a per-record sequence number (odd while
 * written) and keeps a copy only if the sequence and the key did not change. */
#include "table.h"
#include "heap_sample.h"
#include "log.h"
#include "modules.h"
#include <errno.h>
#include <link.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "stackwalk.h"

#define SLOTS 8192u            /* 2^13 live samples at most: 4 GiB of live heap at the default mean */
#define PROBE 16u              /* slots a pointer may live in: two cache lines of keys */
#define BUSY ((uintptr_t)1)
/* Slots and filter take different high bits of the multiplicative hash (its
 * low bits only mix the pointer's low bits: page-aligned blocks would share a
 * few dozen slots). */
#define SLOT_SHIFT (64 - PS_HEAP_FILTER_BITS - 13)
#define FILTER_SIZE (1u << PS_HEAP_FILTER_BITS)
/* Before ps_heap_start a thread checks again every 64 KiB allocated: cheap if
 * it never comes (a shim that did not start), and the countdown being
 * memoryless, starting it late biases nothing after it starts. */
#define UNDECIDED_RECHECK_BYTES 65536

struct rec {
    uint32_t seq;              /* odd while the sampler writes the record */
    uint32_t nframes;
    uint64_t size;
    uintptr_t ip[PS_HEAP_FRAMES];
};

__thread struct ps_heap_tls ps_heap_tls __attribute__((tls_model("initial-exec")));
uint8_t *ps_heap_filter;

static uintptr_t *keys;        /* SLOTS, mapped at start */
static uint16_t *rix;          /* SLOTS: the record of each slot's pointer, set before its key */
static struct rec *recs;       /* SLOTS */
static uint64_t rec_used[SLOTS / 64];   /* records in use: taken by a sample, freed with its pointer */
static int gen;                /* 0 before ps_heap_start; then its generation */
static int sampling;           /* 1 once the table exists and lg_sample >= 0 */
static double mean_bytes;
static uint64_t dropped;
static uintptr_t self_lo, self_hi;   /* our own code: frames skipped at capture */

/* -ln(u) for u in (0, 1] without libm: u = m * 2^e with m in [1, 2), then
 * ln m = 2 atanh((m - 1) / (m + 1)) by its series (|s| <= 1/3: 10 terms). */
static double neg_log(double u)
{
    int e = 0;
    while (u < 1) {
        u *= 2;
        e--;
    }
    double s = (u - 1) / (u + 1), s2 = s * s, term = s, sum = 0;
    for (int k = 1; k < 22; k += 2) {
        sum += term / k;
        term *= s2;
    }
    return -(2 * sum + e * 0.6931471805599453);
}

static double exp_neg(double x)
{
    if (x > 700)
        return 0;
    int k = 0;
    while (x > 0.5) {
        x /= 2;
        k++;
    }
    double term = 1, sum = 1;
    for (int i = 1; i < 14; i++) {
        term *= -x / i;
        sum += term;
    }
    while (k--)
        sum *= sum;
    return sum;
}

double ps_heap_sample_weight(double size, double mean)
{
    if (size <= 0 || mean <= 0)
        return 1;
    return 1.0 / (1.0 - exp_neg(size / mean));
}

static uint64_t next_rand(struct ps_heap_tls *t)
{
    uint64_t x = t->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    t->rng = x;
    return x * 0x2545F4914F6CDD1Dull;
}

/* Bytes to the next sample: exponential with mean mean_bytes, at least 1. */
static int64_t draw(struct ps_heap_tls *t)
{
    double u = (double)((next_rand(t) >> 11) + 1) * (1.0 / 9007199254740992.0);   /* (0, 1] */
    double b = neg_log(u) * mean_bytes;
    return b < 1 ? 1 : b > 4e18 ? (int64_t)4e18 : (int64_t)b;
}

struct unwind_buf {
    uintptr_t ip[PS_HEAP_FRAMES + 8];
    int n;
};

/* The stack from the program's call site (the return address of the malloc
 * it called) outwards; if the unwinder did not pass through it, from the
 * first frame outside the shim. */
static uint32_t capture(uintptr_t *out, const void *caller)
{
    struct unwind_buf b;
    b.n = ps_unwind(b.ip, (int)(sizeof b.ip / sizeof b.ip[0]));
    int from = 0;
    while (from < b.n && b.ip[from] != (uintptr_t)caller)
        from++;
    if (from == b.n)
        for (from = 0; from < b.n && b.ip[from] >= self_lo && b.ip[from] < self_hi; from++)
            ;
    uint32_t n = 0;
    for (int i = from; i < b.n && n < PS_HEAP_FRAMES; i++)
        out[n++] = b.ip[i];
    return n;
}

/* The lowest free record, taken; -1 if none (no more than SLOTS pointers
 * are ever held, one record each, so only a race can see none). */
static int rec_take(void)
{
    for (unsigned w = 0; w < SLOTS / 64; w++) {
        uint64_t v = __atomic_load_n(&rec_used[w], __ATOMIC_RELAXED);
        while (~v) {
            int b = __builtin_ctzll(~v);
            if (__atomic_compare_exchange_n(&rec_used[w], &v, v | (1ull << b), 1, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
                return (int)(w * 64 + (unsigned)b);
        }
    }
    return -1;
}

static void rec_free(unsigned r)
{
    __atomic_fetch_and(&rec_used[r / 64], ~(1ull << (r % 64)), __ATOMIC_RELEASE);
}

static void record(void *p, size_t n, const void *caller)
{
    uint64_t h = ps_heap_hash(p);
    uint8_t *fb = &ps_heap_filter[h >> (64 - PS_HEAP_FILTER_BITS)];
    uint8_t c = __atomic_load_n(fb, __ATOMIC_RELAXED);
    do {
        if (c == 255) {
            __atomic_fetch_add(&dropped, 1, __ATOMIC_RELAXED);
            return;
        }
    } while (!__atomic_compare_exchange_n(fb, &c, (uint8_t)(c + 1), 1, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED));
    for (unsigned k = 0; k < PROBE; k++) {
        unsigned i = (unsigned)((h >> SLOT_SHIFT) + k) & (SLOTS - 1);
        uintptr_t z = 0;
        if (__atomic_load_n(&keys[i], __ATOMIC_RELAXED) != 0 ||
            !__atomic_compare_exchange_n(&keys[i], &z, BUSY, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
            continue;
        int ri = rec_take();
        if (ri < 0) {
            __atomic_store_n(&keys[i], 0, __ATOMIC_RELEASE);
            break;
        }
        __atomic_store_n(&rix[i], (uint16_t)ri, __ATOMIC_RELAXED);
        struct rec *r = &recs[ri];
        uint32_t s = __atomic_load_n(&r->seq, __ATOMIC_RELAXED);
        __atomic_store_n(&r->seq, s + 1, __ATOMIC_RELAXED);
        __atomic_thread_fence(__ATOMIC_RELEASE);
        r->size = n;
        r->nframes = capture(r->ip, caller);
        __atomic_store_n(&r->seq, s + 2, __ATOMIC_RELEASE);
        __atomic_store_n(&keys[i], (uintptr_t)p, __ATOMIC_RELEASE);
        return;
    }
    __atomic_fetch_sub(fb, 1, __ATOMIC_RELEASE);
    __atomic_fetch_add(&dropped, 1, __ATOMIC_RELAXED);
}

void ps_heap_sample_slow(void *p, size_t n, const void *caller)
{
    struct ps_heap_tls *t = &ps_heap_tls;
    int g = __atomic_load_n(&gen, __ATOMIC_ACQUIRE);
    if (t->busy)
        return;                         /* left stays negative; reset when the sample ends */
    if (g == 0) {
        /* Not decided yet (before our constructor, or for good when the shim
         * failed to start): look again after this many bytes. */
        t->left = UNDECIDED_RECHECK_BYTES;
        return;
    }
    if (!__atomic_load_n(&sampling, __ATOMIC_RELAXED)) {
        t->left = INT64_MAX;            /* off for good: never here again */
        return;
    }
    int saved = errno;
    t->busy = 1;
    if (t->gen != g) {
        /* A thread's first look: its countdown starts now (memoryless, so
         * this allocation is sampled with the right probability). */
        t->gen = g;
        t->rng = ps_heap_hash(t) ^ ((uint64_t)syscall(SYS_gettid) << 32) ^ 0x5DEECE66Dull;
        if (!t->rng)
            t->rng = 1;
        t->left = draw(t) - (int64_t)n;
        if (t->left >= 0) {
            t->busy = 0;
            errno = saved;
            return;
        }
    }
    t->left = draw(t);
    record(p, n, caller);
    t->busy = 0;
    errno = saved;
}

void ps_heap_forget_slow(void *p)
{
    uint64_t h = ps_heap_hash(p);
    for (unsigned k = 0; k < PROBE; k++) {
        unsigned i = (unsigned)((h >> SLOT_SHIFT) + k) & (SLOTS - 1);
        uintptr_t want = (uintptr_t)p;
        if (__atomic_load_n(&keys[i], __ATOMIC_ACQUIRE) != want)
            continue;
        uint16_t ri = __atomic_load_n(&rix[i], __ATOMIC_RELAXED);   /* p's: set before its key */
        if (__atomic_compare_exchange_n(&keys[i], &want, 0, 0, __ATOMIC_RELEASE, __ATOMIC_RELAXED)) {
            rec_free(ri);
            __atomic_fetch_sub(&ps_heap_filter[h >> (64 - PS_HEAP_FILTER_BITS)], 1, __ATOMIC_RELEASE);
            return;
        }
    }
}

static int find_self(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    uintptr_t me = (uintptr_t)arg;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
            continue;
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
        if (me >= lo && me < hi) {
            self_lo = lo;
            self_hi = hi;
            return 1;
        }
    }
    return 0;
}

int ps_heap_start(int lg_sample)
{
    if (__atomic_load_n(&gen, __ATOMIC_RELAXED))
        return 0;
    if (lg_sample >= 0) {
        size_t len = FILTER_SIZE + SLOTS * sizeof *keys + SLOTS * sizeof *rix + SLOTS * sizeof *recs;
        char *m = ps_table_map(len);
        if (!m) {
            int e = errno;
            __atomic_store_n(&gen, 1, __ATOMIC_RELEASE);
            return -e;
        }
        keys = (uintptr_t *)(m + FILTER_SIZE);
        rix = (uint16_t *)(m + FILTER_SIZE + SLOTS * sizeof *keys);
        recs = (struct rec *)(m + FILTER_SIZE + SLOTS * sizeof *keys + SLOTS * sizeof *rix);
        mean_bytes = (double)((uint64_t)1 << (lg_sample > 62 ? 62 : lg_sample));
        ps_modules_walk(find_self, (void *)(uintptr_t)ps_heap_start);
        __atomic_store_n(&ps_heap_filter, (uint8_t *)m, __ATOMIC_RELEASE);
        __atomic_store_n(&sampling, 1, __ATOMIC_RELEASE);
    }
    __atomic_store_n(&gen, 1, __ATOMIC_RELEASE);
    return 0;
}

/* ---- the agent's read ------------------------------------------------------ */

struct copy {
    uint64_t size;
    uint64_t hash;
    uint32_t nframes;
    uintptr_t ip[PS_HEAP_FRAMES];
};

static uint64_t stack_hash(const struct copy *c)
{
    uint64_t h = 1469598103934665603ull;
    for (uint32_t i = 0; i < c->nframes; i++)
        h = (h ^ c->ip[i]) * 1099511628211ull;
    return h | 1;
}

int ps_heap_top(struct ps_heap_site *out, int max, struct ps_heap_totals *tot)
{
    memset(tot, 0, sizeof *tot);
    tot->dropped = __atomic_load_n(&dropped, __ATOMIC_RELAXED);
    if (!__atomic_load_n(&sampling, __ATOMIC_ACQUIRE))
        return 0;
    /* scratch: the copies, then per copy its site (index of the first copy
     * with the same stack) in an open-addressed map of 2 * SLOTS entries */
    size_t len = SLOTS * sizeof(struct copy) + 2 * SLOTS * sizeof(int32_t) + SLOTS * 2 * sizeof(double);
    char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return -errno;
    struct copy *cp = (struct copy *)m;
    int32_t *map = (int32_t *)(m + SLOTS * sizeof(struct copy));
    double *site_bytes = (double *)(map + 2 * SLOTS), *site_objs = site_bytes + SLOTS;
    int n = 0;
    for (unsigned i = 0; i < SLOTS; i++) {
        uintptr_t k1 = __atomic_load_n(&keys[i], __ATOMIC_ACQUIRE);
        if (k1 <= BUSY)
            continue;
        /* A record freed and taken by another slot meanwhile changes its
         * seq (the writer's), and a slot reused changes its key: both tested. */
        struct rec *r = &recs[__atomic_load_n(&rix[i], __ATOMIC_RELAXED)];
        uint32_t s1 = __atomic_load_n(&r->seq, __ATOMIC_ACQUIRE);
        if (s1 & 1)
            continue;
        struct copy *c = &cp[n];
        c->size = __atomic_load_n(&r->size, __ATOMIC_RELAXED);
        c->nframes = __atomic_load_n(&r->nframes, __ATOMIC_RELAXED);
        if (c->nframes > PS_HEAP_FRAMES)
            continue;
        for (uint32_t f = 0; f < c->nframes; f++)
            c->ip[f] = __atomic_load_n(&r->ip[f], __ATOMIC_RELAXED);
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (__atomic_load_n(&r->seq, __ATOMIC_RELAXED) != s1 || __atomic_load_n(&keys[i], __ATOMIC_RELAXED) != k1)
            continue;
        c->hash = stack_hash(c);
        n++;
    }
    for (unsigned i = 0; i < 2 * SLOTS; i++)
        map[i] = -1;
    int nsites = 0;
    for (int i = 0; i < n; i++) {
        double w = ps_heap_sample_weight((double)cp[i].size, mean_bytes);
        tot->bytes += w * (double)cp[i].size;
        tot->objects += w;
        unsigned j = (unsigned)cp[i].hash & (2 * SLOTS - 1);
        for (;; j = (j + 1) & (2 * SLOTS - 1)) {
            int32_t at = map[j];
            if (at < 0) {
                map[j] = i;
                site_bytes[i] = 0;
                site_objs[i] = 0;
                at = i;
                nsites++;
            } else if (cp[at].hash != cp[i].hash || cp[at].nframes != cp[i].nframes ||
                       memcmp(cp[at].ip, cp[i].ip, cp[i].nframes * sizeof cp[i].ip[0])) {
                continue;
            }
            site_bytes[at] += w * (double)cp[i].size;
            site_objs[at] += w;
            break;
        }
    }
    tot->samples = (uint64_t)n;
    /* the top max sites: a site is the first copy with its stack (map value) */
    int got = 0;
    for (; got < max; got++) {
        int best = -1;
        for (unsigned j = 0; j < 2 * SLOTS; j++) {
            int32_t at = map[j];
            if (at >= 0 && site_bytes[at] >= 0 && (best < 0 || site_bytes[at] > site_bytes[best]))
                best = at;
        }
        if (best < 0)
            break;
        out[got].bytes = site_bytes[best];
        out[got].objects = site_objs[best];
        out[got].nframes = (int)cp[best].nframes;
        memcpy(out[got].ip, cp[best].ip, cp[best].nframes * sizeof cp[best].ip[0]);
        site_bytes[best] = -1;          /* taken */
    }
    munmap(m, len);
    return got;
}
