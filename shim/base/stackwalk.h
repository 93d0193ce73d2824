/* stackwalk.h: the return addresses of the calling thread's stack, innermost
 * first, with libgcc's _Unwind_Backtrace: no allocation and (glibc >= 2.35)
 * no lock, so the dump signal's handler (capture/stacks.c) may use it as the
 * heap sampler does (record/heap_sample.c). Inline, so that it adds no frame
 * of its own and is compiled with its caller's flags (stacks.c runs without
 * sanitizers). */
#ifndef PS_STACKWALK_H
#define PS_STACKWALK_H
#include <stdint.h>
#include <unwind.h>

struct ps_unwind_buf {
    uintptr_t *ip;
    int n, cap;
};

static _Unwind_Reason_Code ps_unwind_frame(struct _Unwind_Context *ctx, void *arg)
{
    struct ps_unwind_buf *b = arg;
    int before = 0;
    uintptr_t ip = _Unwind_GetIPInfo(ctx, &before);
    if (!ip || b->n >= b->cap)
        return _URC_END_OF_STACK;
    b->ip[b->n++] = ip;
    return _URC_NO_REASON;
}

/* Fills ip[0..cap) from the caller's frame outwards; returns how many. */
static inline __attribute__((always_inline)) int ps_unwind(uintptr_t *ip, int cap)
{
    struct ps_unwind_buf b = { ip, 0, cap };
    _Unwind_Backtrace(ps_unwind_frame, &b);
    return b.n;
}
#endif
