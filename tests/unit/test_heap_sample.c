/* heap_sample: the sampled heap profile's estimates against the truth of a
 * known sequence of allocations and frees (fake addresses, nothing is really
 * allocated), and its bookkeeping: freed samples leave the table, a sampled
 * pointer is never filtered out, sites are grouped by stack. Criterion runs
 * each test in its own process, so each starts the sampler afresh. The
 * estimates are random: n samples give a relative error of about 1/sqrt(n),
 * and every tolerance below is at least 4 of those. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <sys/mman.h>
#include "heap_sample.h"

static void *fake(uintptr_t i)
{
    return (void *)(0x100000000000ull + i * 4096);
}

/* Two call sites, so the samples carry two distinct stacks. */
static __attribute__((noinline)) void alloc_here_a(void *p, size_t n)
{
    ps_heap_note_alloc(p, n);
    __asm__ volatile("" ::: "memory");
}

static __attribute__((noinline)) void alloc_here_b(void *p, size_t n)
{
    ps_heap_note_alloc(p, n);
    __asm__ volatile("" ::: "memory");
}

Test(heap_sample, estimates_live_bytes_of_small_blocks_and_forgets_frees)
{
    cr_assert_eq(ps_heap_start(14), 0);       /* mean 16 KiB */
    enum { N = 300000, SZ = 100 };
    for (uintptr_t i = 0; i < N; i++)
        alloc_here_a(fake(i), SZ);
    for (uintptr_t i = 0; i < N; i += 2)
        ps_heap_note_free(fake(i));
    struct ps_heap_site top[4];
    struct ps_heap_totals tot;
    int n = ps_heap_top(top, 4, &tot);
    double truth = (double)(N / 2) * SZ;      /* 15 MB live: ~900 samples, 1/sqrt = 3.3 % */
    cr_expect(n >= 1);
    cr_expect_eq(tot.dropped, 0);
    cr_expect(fabs(tot.bytes / truth - 1) < 0.15, "estimated %.0f live bytes for %.0f", tot.bytes, truth);
    cr_expect(fabs(tot.objects / (N / 2) - 1) < 0.15, "estimated %.0f live objects for %d", tot.objects, N / 2);
    for (uintptr_t i = 1; i < N; i += 2)
        ps_heap_note_free(fake(i));
    n = ps_heap_top(top, 4, &tot);
    cr_expect_eq(n, 0, "every sample was freed, %d sites left", n);
    cr_expect_eq(tot.samples, 0);
}

Test(heap_sample, large_blocks_weigh_little_and_sites_split_by_stack)
{
    cr_assert_eq(ps_heap_start(19), 0);       /* mean 512 KiB */
    /* a: 512 blocks of 1 MiB (each sampled with p = 0.86); b: 64 MiB in 4 KiB blocks */
    for (uintptr_t i = 0; i < 512; i++)
        alloc_here_a(fake(i), 1 << 20);
    for (uintptr_t i = 0; i < 16384; i++)
        alloc_here_b(fake(100000 + i), 4096);
    struct ps_heap_site top[4];
    struct ps_heap_totals tot;
    int n = ps_heap_top(top, 4, &tot);
    cr_assert_eq(n, 2, "%d sites", n);
    const double mib512 = 512.0 * (1 << 20), mib64 = 64.0 * (1 << 20);
    cr_expect(fabs(top[0].bytes / mib512 - 1) < 0.1, "site a %.0f for 512 MiB", top[0].bytes);
    cr_expect(fabs(top[0].objects / 512 - 1) < 0.1, "site a %.0f objects for 512", top[0].objects);
    /* b: ~128 samples, 1/sqrt = 9 % */
    cr_expect(fabs(top[1].bytes / mib64 - 1) < 0.4, "site b %.0f for 64 MiB", top[1].bytes);
    cr_expect(top[0].nframes >= 2 && top[1].nframes >= 2);
    cr_expect(top[0].ip[0] != top[1].ip[0], "the two sites have the same innermost frame");
}

Test(heap_sample, weight_is_the_inverse_of_the_sampling_probability)
{
    cr_expect(fabs(ps_heap_sample_weight(524288, 524288) - 1 / (1 - exp(-1))) < 1e-9);
    cr_expect(fabs(ps_heap_sample_weight(100, 524288) - 1 / (1 - exp(-100.0 / 524288))) < 1e-6 * 5243);
    cr_expect(fabs(ps_heap_sample_weight(1e9, 524288) - 1) < 1e-12);
}

Test(heap_sample, off_never_samples)
{
    cr_assert_eq(ps_heap_start(-1), 0);
    for (uintptr_t i = 0; i < 100000; i++)
        alloc_here_a(fake(i), 1 << 20);
    struct ps_heap_site top[4];
    struct ps_heap_totals tot;
    cr_expect_eq(ps_heap_top(top, 4, &tot), 0);
    cr_expect(ps_heap_tls.left > (int64_t)1 << 60, "the thread is settled on never");
}

/* Records are taken lowest free first: 20,000 samples with at most 4 live at
 * a time leave only a few record pages resident, where records placed by the
 * pointer's slot touched nearly all 512. The table is one mapping starting at
 * the filter; its layout (filter, keys, record indices, records) is heap_sample.c's. */
Test(heap_sample, churned_samples_keep_few_record_pages_resident)
{
    cr_assert_eq(ps_heap_start(0), 0);       /* mean 1 byte: every allocation sampled */
    for (uintptr_t i = 0; i < 20000; i++) {
        alloc_here_a(fake(i), 64);
        if (i >= 4)
            ps_heap_note_free(fake(i - 4));
    }
    size_t pg = 4096, head = 65536 + 8192 * 8 + 8192 * 2, recs = 8192 * 256;
    const uint8_t *m = ps_heap_filter;
    cr_assert_not_null(m);
    unsigned char v[8192 * 256 / 4096];
    cr_assert_eq(mincore((void *)(m + head), recs, v), 0);
    int resident = 0;
    for (size_t i = 0; i < recs / pg; i++)
        resident += v[i] & 1;
    cr_expect_leq(resident, 2, "%d of %zu record pages resident for 4 live samples", resident, recs / pg);
    struct ps_heap_site top[4];
    struct ps_heap_totals tot;
    ps_heap_top(top, 4, &tot);
    cr_expect_eq(tot.samples, 4, "the 4 live samples are found through their records");
}
