/* account.h: wait spans, the one mechanism every blocking wrapper uses.
 * A span is begun by the waiting thread before the real call and ended after
 * it; it reads the clock twice (clock.h: the TSC, ~11 ns a read) and writes
 * only the thread's own record.
 * Spans do not nest: a wrapper reached from inside another (libc calling an
 * exported function) just forwards. errno is preserved by ps_span_end. */
#ifndef PS_ACCOUNT_H
#define PS_ACCOUNT_H
#include <errno.h>
#include "clock.h"
#include "pool.h"
#include "syncobj.h"
#include "thread.h"
#include "trace.h"

/* An I/O call this long blocked, unless the thread says otherwise: CPU
 * inside one (a 64 KiB read from the page cache, a send) takes tens of
 * microseconds. The partition treats such spans as waits that block,
 * shorter ones as possibly CPU (sampler.c). A thread that has had an io span
 * of PS_WAIT_SWITCHED_NS or more reads its voluntary switches at the end of
 * every wait that long, and then its io spans that long are filed by them,
 * not by their length (account.c). */
#define PS_IO_BLOCKED_NS 200000ull
/* A wait other than io this long switched the thread out: a futex wait
 * that found its word changed returns in a microsecond or two (sampler.c
 * counts the switches short io may claim). */
#define PS_WAIT_SWITCHED_NS 20000ull
/* Of the long io spans filed by length, only ones on a file may be long for
 * want of a core instead (ps_fd_io_class, syncobj.h): counted apart for the
 * partition; and on a non-blocking fd, they never blocked (not counted as
 * long). */

/* The slow path of a span that ended after PS_WAIT_SWITCHED_NS or more on
 * a thread that reads its switches (account.c): reads them, and files an io
 * span as one that blocked or one that did not. */
void ps_span_long_end(struct ps_thread *t, int cause, uint64_t dt);
/* Files an io span of dt ns, long enough to have blocked, by the voluntary
 * switches made since the last long wait (vsw), or by its length alone (vsw
 * -1: not known). */
void ps_span_long_io(struct ps_thread *t, uint64_t dt, long vsw);

/* t waits again, at once and at the same site, on o, on which its last wait
 * (a timed one) ran out and was taken for a sleep (waitobj.h): if anyone
 * ever posted o, that wait was for the post, and goes back to its cause;
 * o's timeouts are no sleeps from now on (o->rewaited). If no one has yet,
 * it is held (t->pend_*) until t's wait on o ends otherwise than by running
 * out: ps_wait_posted. Owner only. */
void ps_wait_rewaited(struct ps_thread *t, struct ps_obj *o);
void ps_wait_posted(struct ps_thread *t, struct ps_obj *o);

struct ps_span {
    struct ps_thread *t;
    uint64_t t0;
    int cause;
    int open;                 /* begun and not yet ended */
    uint32_t gen;             /* the thread's span_gen when begun */
};

#define PS_CALLER() __builtin_extract_return_addr(__builtin_return_address(0))

/* A span is open on this thread: are we inside it (libc calling an exported
 * function, a handler run on the same stack), or did a signal handler
 * siglongjmp out of its wrapped call, leaving it open for ever? Inside, the
 * open span's frame is live above ours and still holds it. Otherwise its
 * wait is dropped (when it ended is unknown) and the thread is measured again
 * from this call on; a call made from deeper than the abandoned one, over
 * intact memory, still forwards (until a later call tells). Inline in the
 * wrapper: the frame address is the wrapper's. */
static inline __attribute__((always_inline)) int ps_span_nested(struct ps_thread *t)
{
    const struct ps_span *old = (const struct ps_span *)t->span_at;
    if ((uintptr_t)__builtin_frame_address(0) < t->span_at && old->t == t && old->open && old->gen == t->span_gen)
        return 1;
    __atomic_store_n(&t->cur_since_ns, 0, __ATOMIC_RELEASE);
    t->cur_kind = PS_K_NONE;
    return 0;
}

/* Returns 0 (and the wrapper just forwards) if not measuring this call.
 * A wait on the pool's idle object (condvar, semaphore, futex, polled or read
 * fd) is counted as PS_IDLE whatever cause the wrapper proposed. */
static inline __attribute__((always_inline))
int ps_span_begin(struct ps_span *s, int cause, int kind, uintptr_t obj, void *site)
{
    struct ps_thread *t = ps_thread_self();
    s->open = 0;
    if (!t)
        return 0;
    if (__builtin_expect(t->depth, 0) && ps_span_nested(t))
        return 0;
    t->depth = 1;
    s->open = 1;
    s->gen = ++t->span_gen;
    t->span_at = (uintptr_t)s;
    if (cause != PS_LOCK && cause != PS_SLEEP && ps_pool_is_idle_wait(t, kind, obj, site))
        cause = PS_IDLE;
    s->t = t;
    s->cause = cause;
    t->cur_cause = cause;
    t->cur_kind = kind;
    t->cur_obj = obj;
    t->cur_site = site;
    s->t0 = ps_now_ns();
    __atomic_store_n(&t->cur_since_ns, s->t0, __ATOMIC_RELEASE);
    return 1;
}

/* errno is untouched without saving it (that would cost a libc call per
 * blocking call): nothing here can set it, the clock being rdtsc or
 * clock_gettime(CLOCK_MONOTONIC), which cannot fail. Keep it that way. */
/* Records a span of dt ns and closes it. */
static inline uint64_t ps_span_close(struct ps_span *s, uint64_t dt)
{
    struct ps_thread *t = s->t;
    __atomic_store_n(&t->cur_since_ns, 0, __ATOMIC_RELEASE);
    __atomic_store_n(&t->wait_ns[s->cause], t->wait_ns[s->cause] + dt, __ATOMIC_RELAXED);
    __atomic_store_n(&t->waits[s->cause], t->waits[s->cause] + 1, __ATOMIC_RELAXED);
    if (s->cause == PS_IDLE)
        ps_pool_handoff(t, s->t0, s->t0 + dt);
    if (s->cause != PS_IO && dt >= PS_WAIT_SWITCHED_NS)
        __atomic_store_n(&t->waits_switched, t->waits_switched + 1, __ATOMIC_RELAXED);
    if (dt >= PS_WAIT_SWITCHED_NS && (t->vsw_read || (s->cause == PS_IO && t->cur_kind == PS_K_IO)))
        ps_span_long_end(t, s->cause, dt);
    else if (s->cause == PS_IO && dt >= PS_IO_BLOCKED_NS)
        ps_span_long_io(t, dt, -1);
    t->depth = 0;
    s->open = 0;
    /* POOLSHIM_TRACE=on (trace.h): a tail call that records the span and
     * clears cur_kind itself, so with tracing off this costs one test and
     * the path keeps its registers. */
    if (__builtin_expect(t->trace != NULL, 0))
        return ps_trace_span(t, s->t0, dt, s->cause);
    t->cur_kind = PS_K_NONE;
    return dt;
}

static inline uint64_t ps_span_end(struct ps_span *s)
{
    return ps_span_close(s, ps_ns_since(s->t0, ps_now_ns()));
}

/* Ends a span whose blocked part is, nearly always, at most max_ns (a sleep
 * that ran its course: its length plus the timer slack). The rest of the
 * wall time is mostly the wake-up's wait for a core, which schedstat counts:
 * so the span is exact, and the partition need not guess it (sampler.c).
 * But a timer can fire late (a virtual CPU its host has descheduled, a core
 * slow to leave a deep idle state), and the kernel counts that lateness as
 * blocked: the time past the cap is kept apart, for the partition to give
 * to the sleeps when no other wait claims it. */
static inline void ps_span_end_at_most(struct ps_span *s, uint64_t max_ns)
{
    uint64_t dt = ps_ns_since(s->t0, ps_now_ns());
    struct ps_thread *t = s->t;
    __atomic_store_n(&t->exact_waits, t->exact_waits + 1, __ATOMIC_RELAXED);
    if (dt > max_ns)
        __atomic_store_n(&t->sleep_over_ns, t->sleep_over_ns + (dt - max_ns), __ATOMIC_RELAXED);
    ps_span_close(s, dt < max_ns ? dt : max_ns);
}

/* pthread_cancel acts inside the real call of a wrapper (read, cond_wait, ...)
 * by unwinding the thread's stack: the code after the real call never runs.
 * A span declared with PS_SPAN is closed by that unwind (the shim is built
 * with -fexceptions, so cleanup attributes run on forced unwinding); otherwise
 * the thread would stay "waiting" with depth 1 and be unmeasured from then on
 * (its cancellation cleanup handlers, its later waits). On the normal path
 * the span is already closed and this is one test of a stack slot. */
static inline void ps_span_unwind(struct ps_span *s)
{
    if (__builtin_expect(s->open, 0))
        ps_span_end(s);
}
#define PS_SPAN(var) struct ps_span var __attribute__((cleanup(ps_span_unwind))) = { 0 }
#endif
