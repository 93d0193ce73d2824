/* atomics.h: the few atomic helpers the shim's shared counters need. */
#ifndef PS_ATOMICS_H
#define PS_ATOMICS_H
#include <stdint.h>

static inline void ps_atomic_max(uint64_t *p, uint64_t v)
{
    uint64_t cur = __atomic_load_n(p, __ATOMIC_RELAXED);
    while (v > cur && !__atomic_compare_exchange_n(p, &cur, v, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        ;
}
static inline void ps_atomic_add(uint64_t *p, uint64_t v)
{
    __atomic_fetch_add(p, v, __ATOMIC_RELAXED);
}
#endif
