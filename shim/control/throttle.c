/* throttle.c: the controller's brake. Owns, per pool, a futex word parked
 * workers sleep on, the exact count of parked workers, a release epoch and the
 * exits seen since the agent last counted live workers.
 * Threads: workers park themselves at safe points (throttle.h); the agent sets
 * limits and runs the watchdog; any thread may run a release path (broadcast
 * on the idle condvar, join, exit).
 * Why so: a worker may only be stopped where it holds nothing the rest of the
 * program needs, so it stops itself there; it sleeps on our own word so only
 * we can wake it, and every way the host can end (broadcast to stop, thread
 * exit, join, process exit) wakes it. A parked worker also wakes every 250 ms
 * to look again, so a lost wake-up costs latency, never a hang. The count of
 * parked workers is claimed by compare-and-swap before parking and released
 * the same way, so concurrent workers never leave fewer than max(limit,
 * POOLSHIM_MIN, 1) workers running. A pool that never waits for work is
 * parked where a worker locks a hot mutex holding nothing (throttle.h),
 * only when the controller allows it and for a bounded time. */
#include "throttle.h"
#include "account.h"
#include "clock.h"
#include "config.h"
#include "real.h"
#include <limits.h>
#include <string.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

static int word[PS_MAX_POOLS];       /* bumped on every wake */
static int nparked[PS_MAX_POOLS];
static int epoch[PS_MAX_POOLS];      /* bumped by release-all */
static int mutex_epoch[PS_MAX_POOLS];   /* bumped by release-at-mutex */
static int nparked_mutex[PS_MAX_POOLS]; /* of nparked: at the queue mutex */
static int exited[PS_MAX_POOLS];     /* worker exits since the agent's last count */
static int contended_ok[PS_MAX_POOLS];  /* the controller allows parking at a hot mutex */
static int idle_only[PS_MAX_POOLS];     /* park only at the idle semaphore or futex (a GIL-like pool) */
static int disabled;
static int parked_total;             /* over all pools: lets a broadcast skip the scan */
static uint64_t agent_tick_ns;       /* CLOCK_MONOTONIC of the agent's last tick (ps_throttle_tick) */

/* The agent has not ticked for this long: nobody runs the watchdog nor moves
 * the limit, so nobody may stay parked (a parked pigz worker was once seen
 * parked for 4 minutes; whatever stopped the agent, a throttle it no longer
 * watches must not hold workers). */
static int agent_silent(uint64_t now)
{
    uint64_t last = __atomic_load_n(&agent_tick_ns, __ATOMIC_ACQUIRE);
    uint64_t quiet = 8ull * (uint64_t)(ps_cfg.interval_ms > 0 ? ps_cfg.interval_ms : 100) * 1000000ull;
    quiet = quiet < 2000000000ull ? 2000000000ull : quiet;
    return last && now > last && now - last > quiet;
}

static void futex_wait(int *w, int val, long ns)
{
    struct timespec to = { 0, ns };
    ps_real_syscall(SYS_futex, w, FUTEX_WAIT_PRIVATE, val, &to, 0, 0);
}

static void wake(int pi)
{
    __atomic_add_fetch(&word[pi], 1, __ATOMIC_RELEASE);
    if (__atomic_load_n(&nparked[pi], __ATOMIC_ACQUIRE))
        ps_real_syscall(SYS_futex, &word[pi], FUTEX_WAKE_PRIVATE, INT_MAX, 0, 0, 0);
}

int ps_throttle_live(int pi)
{
    int live = __atomic_load_n(&ps_pools[pi].threads_live, __ATOMIC_RELAXED) -
               __atomic_load_n(&exited[pi], __ATOMIC_RELAXED);
    return live > 0 ? live : 0;
}

int ps_throttle_parked(int pi)
{
    return __atomic_load_n(&nparked[pi], __ATOMIC_ACQUIRE);
}

int ps_throttle_parked_at_mutex(int pi)
{
    return __atomic_load_n(&nparked_mutex[pi], __ATOMIC_ACQUIRE);
}

static int floor_of(const struct ps_pool *p)
{
    int lim = __atomic_load_n(&p->limit, __ATOMIC_RELAXED);
    if (lim <= 0)
        return 0;
    int min = ps_cfg.min_threads > 1 ? ps_cfg.min_threads : 1;
    return lim > min ? lim : min;
}

/* at_mutex: parked at the queue mutex (release_at_mutex lets it go);
 * max_ns: leave after this long whatever the limit (0: no bound). */
static void park(struct ps_thread *t, struct ps_pool *p, int at_mutex, uint64_t max_ns)
{
    int pi = (int)(p - ps_pools);
    if (__atomic_load_n(&disabled, __ATOMIC_ACQUIRE) || t->ignore || t->depth || !t->routine ||
        __atomic_load_n(&t->no_park, __ATOMIC_ACQUIRE) || (at_mutex && __atomic_load_n(&idle_only[pi], __ATOMIC_ACQUIRE)) ||
        (at_mutex && __atomic_load_n(&p->twin_objs, __ATOMIC_RELAXED)))
        return;                         /* twins: one worker's own mutex (view.h: ps_view_has_safe_point) */
    /* The running workers of a throttled pool come here at every safe
     * point (a never-idle pool's at every hot lock: millions a second), and
     * most may not park: the counts decide before the clock is read. */
    int e = __atomic_load_n(&epoch[pi], __ATOMIC_ACQUIRE), me = __atomic_load_n(&mutex_epoch[pi], __ATOMIC_ACQUIRE);
    for (;;) {
        int lim = floor_of(p), n = __atomic_load_n(&nparked[pi], __ATOMIC_ACQUIRE);
        if (!lim || ps_throttle_live(pi) - n - 1 < lim)
            return;                     /* parking me would leave too few running */
        if (agent_silent(ps_mono_ns()))
            return;
        if (__atomic_compare_exchange_n(&nparked[pi], &n, n + 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            break;
    }
    __atomic_add_fetch(&parked_total, 1, __ATOMIC_ACQ_REL);
    if (at_mutex)
        __atomic_add_fetch(&nparked_mutex[pi], 1, __ATOMIC_ACQ_REL);
    int saved = errno;
    struct ps_span span;
    int timed = ps_span_begin(&span, PS_IDLE, PS_K_FUTEX, (uintptr_t)&word[pi], __builtin_return_address(0));
    __atomic_store_n(&t->throttled, 1, __ATOMIC_RELEASE);
    uint64_t until = max_ns ? ps_mono_ns() + max_ns : 0;
    for (;;) {
        int seq = __atomic_load_n(&word[pi], __ATOMIC_ACQUIRE);
        if (__atomic_load_n(&disabled, __ATOMIC_ACQUIRE) || __atomic_load_n(&t->no_park, __ATOMIC_ACQUIRE) ||
            __atomic_load_n(&epoch[pi], __ATOMIC_ACQUIRE) != e ||
            (at_mutex && __atomic_load_n(&mutex_epoch[pi], __ATOMIC_ACQUIRE) != me)) {
            __atomic_sub_fetch(&nparked[pi], 1, __ATOMIC_ACQ_REL);
            break;
        }
        int lim = floor_of(p), n = __atomic_load_n(&nparked[pi], __ATOMIC_ACQUIRE);
        /* Running now: live - n. Leave if that is below the limit. */
        if ((!lim || ps_throttle_live(pi) - n < lim) &&
            __atomic_compare_exchange_n(&nparked[pi], &n, n - 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            break;
        if (lim && ps_throttle_live(pi) - n < lim)
            continue;                   /* lost a race with another leaver: look again */
        long ns = 250000000L;
        uint64_t now = ps_mono_ns();
        if (agent_silent(now)) {
            __atomic_sub_fetch(&nparked[pi], 1, __ATOMIC_ACQ_REL);
            break;
        }
        if (until) {
            if (now >= until) {
                __atomic_sub_fetch(&nparked[pi], 1, __ATOMIC_ACQ_REL);
                break;                  /* bounded: a hidden dependency costs this much, never a hang */
            }
            ns = until - now < (uint64_t)ns ? (long)(until - now) : ns;
        }
        futex_wait(&word[pi], seq, ns);
    }
    if (at_mutex)
        __atomic_sub_fetch(&nparked_mutex[pi], 1, __ATOMIC_ACQ_REL);
    __atomic_sub_fetch(&parked_total, 1, __ATOMIC_ACQ_REL);
    if (timed)
        ps_span_end(&span);
    /* after the span's close, which records it as parked (trace.h) */
    __atomic_store_n(&t->throttled, 0, __ATOMIC_RELEASE);
    errno = saved;
}

void ps_throttle_park(struct ps_thread *t, struct ps_pool *p, int at_mutex)
{
    park(t, p, at_mutex, 0);
}

void ps_throttle_park_contended(struct ps_thread *t, struct ps_pool *p)
{
    if (__atomic_load_n(&contended_ok[p - ps_pools], __ATOMIC_ACQUIRE) &&
        !__atomic_load_n(&idle_only[p - ps_pools], __ATOMIC_ACQUIRE))
        park(t, p, 0, PS_CONTENDED_PARK_MS * 1000000ull);
}

void ps_throttle_allow_contended(int pi, int on)
{
    if (__atomic_exchange_n(&contended_ok[pi], on, __ATOMIC_ACQ_REL) && !on)
        ps_throttle_release_all(pi);
}

void ps_throttle_idle_only(int pi, int on)
{
    if (!__atomic_exchange_n(&idle_only[pi], on, __ATOMIC_ACQ_REL) && on)
        ps_throttle_release_all(pi);     /* any parked elsewhere leave */
}

int ps_throttle_contended_allowed(int pi)
{
    return __atomic_load_n(&contended_ok[pi], __ATOMIC_ACQUIRE);
}

void ps_throttle_set_limit(int pi, int limit)
{
    struct ps_pool *p = &ps_pools[pi];
    int old = __atomic_exchange_n(&p->limit, limit, __ATOMIC_ACQ_REL);
    if (!limit || (old && limit > old))
        wake(pi);
}

void ps_throttle_release_all(int pi)
{
    __atomic_add_fetch(&epoch[pi], 1, __ATOMIC_ACQ_REL);
    wake(pi);
}

void ps_throttle_release_at_mutex(int pi)
{
    __atomic_add_fetch(&mutex_epoch[pi], 1, __ATOMIC_ACQ_REL);
    wake(pi);
}

void ps_throttle_on_broadcast(uintptr_t cond)
{
    if (!ps_pools || !cond || !__atomic_load_n(&parked_total, __ATOMIC_ACQUIRE))
        return;
    for (int pi = 0; pi < PS_MAX_POOLS; pi++) {
        struct ps_pool *p = &ps_pools[pi];
        if (__atomic_load_n(&p->used, __ATOMIC_ACQUIRE) != 2)
            break;
        if (__atomic_load_n(&p->idle_obj, __ATOMIC_RELAXED) == cond && __atomic_load_n(&nparked[pi], __ATOMIC_ACQUIRE))
            ps_throttle_release_all(pi);
    }
}

void ps_throttle_on_thread_exit(struct ps_thread *t)
{
    int pi = t->pool;
    if (pi < 0 || pi >= PS_MAX_POOLS || t->ignore)
        return;
    __atomic_add_fetch(&exited[pi], 1, __ATOMIC_ACQ_REL);
    wake(pi);
}

void ps_throttle_on_join(pthread_t th)
{
    if (!ps_threads)
        return;
    int hwm = ps_thread_hwm();
    for (int i = 0; i < hwm; i++) {
        struct ps_thread *t = &ps_threads[i];
        if (__atomic_load_n(&t->state, __ATOMIC_ACQUIRE) != PS_T_LIVE || !pthread_equal(t->self, th))
            continue;
        __atomic_store_n(&t->no_park, 1, __ATOMIC_RELEASE);
        if (t->pool >= 0 && t->pool < PS_MAX_POOLS)
            wake(t->pool);
    }
}

void ps_throttle_shutdown(void)
{
    __atomic_store_n(&disabled, 1, __ATOMIC_RELEASE);
    for (int pi = 0; pi < PS_MAX_POOLS; pi++)
        if (__atomic_load_n(&nparked[pi], __ATOMIC_ACQUIRE))
            wake(pi);
}

void ps_throttle_reset(void)
{
    memset(word, 0, sizeof word);
    memset(nparked, 0, sizeof nparked);
    memset(epoch, 0, sizeof epoch);
    memset(mutex_epoch, 0, sizeof mutex_epoch);
    memset(nparked_mutex, 0, sizeof nparked_mutex);
    memset(exited, 0, sizeof exited);
    memset(contended_ok, 0, sizeof contended_ok);
    memset(idle_only, 0, sizeof idle_only);
    parked_total = 0;
    agent_tick_ns = 0;
}

void ps_throttle_tick(void)
{
    __atomic_store_n(&agent_tick_ns, ps_mono_ns(), __ATOMIC_RELEASE);
    for (int pi = 0; pi < PS_MAX_POOLS; pi++)
        __atomic_store_n(&exited[pi], 0, __ATOMIC_RELEASE);
}

/* Runs before ps_fini (priority 101): the host's own destructors may join workers. */
__attribute__((destructor(102))) static void throttle_fini(void)
{
    ps_throttle_shutdown();
}
