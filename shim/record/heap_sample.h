/* heap_sample.h: a sampled heap profile of the program's own allocator (glibc),
 * for the dumps' allocation snapshot when the shim does not swap allocators.
 * Poisson sampling by bytes (the same law jemalloc's prof and tcmalloc use):
 * each thread counts down a random number of bytes, exponential with mean
 * 2^lg_sample; the allocation that crosses zero is sampled (probability
 * 1 - exp(-size / mean)) and its pointer, size and stack go into a bounded
 * lock-free table until it is freed. Threads: the note functions run on any
 * host thread inside malloc/free (no lock, no allocation, no clock); the table
 * is read by the agent (ps_heap_top) while they run. */
#ifndef PS_HEAP_SAMPLE_H
#define PS_HEAP_SAMPLE_H
#include <stddef.h>
#include <stdint.h>

#define PS_HEAP_FRAMES 30

struct ps_heap_tls {
    int64_t left;              /* bytes until the next sample; < 0: take the slow path */
    uint64_t rng;              /* xorshift state, 0 until the thread's first slow path */
    int gen;                   /* ps_heap_start's generation this thread was set up for */
    int busy;                  /* inside a sample: allocations made by the unwinder are not sampled */
};
extern __thread struct ps_heap_tls ps_heap_tls __attribute__((tls_model("initial-exec")));
/* Counting filter over pointer hashes: a pointer whose byte is 0 was not
 * sampled. NULL while sampling is off. */
extern uint8_t *ps_heap_filter __attribute__((visibility("hidden")));

#define PS_HEAP_FILTER_BITS 16

static inline uint64_t ps_heap_hash(const void *p)
{
    return ((uint64_t)(uintptr_t)p >> 4) * 0x9E3779B97F4A7C15ull;
}

void ps_heap_sample_slow(void *p, size_t n, const void *caller);
void ps_heap_forget_slow(void *p);

/* After a successful allocation of n bytes at p (p != NULL), in the exported
 * function the program called: a macro, so that the return address is the
 * program's call site, where a sample's stack starts. */
#define ps_heap_note_alloc(p, n)                                                          \
    do {                                                                                  \
        struct ps_heap_tls *t_ = &ps_heap_tls;                                            \
        if (__builtin_expect((t_->left -= (int64_t)(n)) < 0, 0))                          \
            ps_heap_sample_slow((p), (n), __builtin_return_address(0));                   \
    } while (0)

/* Before p is given back to the allocator (p may be NULL). */
static inline void ps_heap_note_free(void *p)
{
    uint8_t *f = __atomic_load_n(&ps_heap_filter, __ATOMIC_RELAXED);
    if (f && p && __builtin_expect(__atomic_load_n(&f[ps_heap_hash(p) >> (64 - PS_HEAP_FILTER_BITS)],
                                                   __ATOMIC_RELAXED) != 0, 0))
        ps_heap_forget_slow(p);
}

/* Starts sampling with a mean of 2^lg_sample bytes, or settles every thread
 * on "never sample" for lg_sample < 0 (constructor). 0 or -errno. */
int ps_heap_start(int lg_sample);

/* 1 / (1 - exp(-size / mean)): the number of allocations (and, times size, the
 * bytes) one sample of this size stands for. */
double ps_heap_sample_weight(double size, double mean);

struct ps_heap_site {
    double bytes, objects;     /* unbiased estimates of the live memory from this stack */
    int nframes;
    uintptr_t ip[PS_HEAP_FRAMES];   /* return addresses, innermost first: ip[0] is in the
                                       function that called malloc */
};
struct ps_heap_totals {
    double bytes, objects;     /* estimates over all live samples */
    uint64_t samples;          /* live samples read */
    uint64_t dropped;          /* samples not recorded since start (table or filter full) */
};
/* The max sites with the most estimated live bytes, most first (agent only;
 * maps its scratch memory, never the host's malloc). Returns how many, or
 * -errno; tot filled either way. */
int ps_heap_top(struct ps_heap_site *out, int max, struct ps_heap_totals *tot);
#endif
