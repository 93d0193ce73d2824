/* test_throttle.c: the throttle itself (shim/control/throttle.c), with real
 * threads parked on its futex word. Its own binary (Makefile, THR_BIN): the
 * main unit binary links a throttle of its own in place of throttle.o for
 * the controller's simulated pools (tests/unit/test_controller.c).
 * What is proved here is the agent-silence net: a parked worker leaves when
 * the agent has not ticked for max(2 s, 8 intervals), and none parks while
 * it stays silent. The waits are of seconds, but nothing asserts a speed:
 * "not before the silence" is the rule's logic, "within 20 s" a bound no
 * loaded machine reaches, and an attempt whose own ticks came late (the
 * test thread preempted for a second) is run again. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include "clock.h"
#include "config.h"
#include "pool.h"
#include "real.h"
#include "thread.h"
#include "throttle.h"

int ps_pid;                             /* init.c's, not linked here */

#define QUIET_NS 2000000000ull          /* max(2 s, 8 x 250 ms): the silence the net waits for */

static int pi;

static void *thr_worker(void *arg)
{
    return arg;
}

struct parker {
    struct ps_thread t;
    pthread_t th;
    volatile int in_park, out;
    uint64_t out_ns;
};

static void *park_main(void *arg)
{
    struct parker *k = arg;
    __atomic_store_n(&k->in_park, 1, __ATOMIC_RELEASE);
    ps_throttle_park(&k->t, &ps_pools[pi], 0);
    k->out_ns = ps_mono_ns();
    __atomic_store_n(&k->out, 1, __ATOMIC_RELEASE);
    return NULL;
}

static void start_parker(struct parker *k)
{
    memset(k, 0, sizeof *k);
    k->t.routine = (void *)thr_worker;
    k->t.pool = pi;
    k->t.state = PS_T_LIVE;
    cr_assert_eq(pthread_create(&k->th, NULL, park_main, k), 0);
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static void setup(void)
{
    ps_config_defaults(&ps_cfg);
    ps_cfg.interval_ms = 250;           /* 8 intervals = 2 s: the silence is the 2 s floor */
    ps_real_init();
    ps_clock_init();
    cr_assert_eq(ps_pool_table_init(), 0);
    cr_assert_eq(ps_thread_table_init(), 0);
    ps_throttle_reset();
    pi = ps_pool_get((void *)thr_worker, NULL, "worker");
    cr_assert_geq(pi, 0);
    ps_pools[pi].threads_live = 4;      /* 4 live, limit 1: a worker may park */
    ps_throttle_set_limit(pi, 1);
}

static uint64_t last_tick_ns;           /* read just before the last ps_throttle_tick: the tick's own is later */

/* Ticks every 50 ms for `ms`; returns the longest gap between two ticks. */
static uint64_t tick_for(long ms)
{
    uint64_t last = ps_mono_ns(), end = last + (uint64_t)ms * 1000000ull, gap = 0;
    last_tick_ns = last;
    ps_throttle_tick();
    while (ps_mono_ns() < end) {
        sleep_ms(50);
        uint64_t now = ps_mono_ns();
        if (now - last > gap)
            gap = now - last;
        last = now;
        last_tick_ns = now;
        ps_throttle_tick();
    }
    return gap;
}

/* One attempt; 0 if the test thread's own ticks came too late to judge. */
static int attempt(void)
{
    struct parker k;
    ps_throttle_reset();
    ps_throttle_set_limit(pi, 1);
    ps_throttle_tick();
    start_parker(&k);
    /* While the agent ticks, the worker stays parked. */
    uint64_t gap = tick_for(1500);
    if (gap > QUIET_NS / 2) {
        ps_throttle_set_limit(pi, 0);   /* release it, and run the attempt again */
        pthread_join(k.th, NULL);
        return 0;
    }
    cr_expect_eq(ps_throttle_parked(pi), 1, "the worker did not park, or left while the agent ticked");
    cr_expect_eq(__atomic_load_n(&k.out, __ATOMIC_ACQUIRE), 0, "left while the agent ticked");
    /* The agent falls silent: the worker leaves, not before 2 s. */
    uint64_t silent_ns = last_tick_ns;
    uint64_t deadline = silent_ns + 20000000000ull;
    while (!__atomic_load_n(&k.out, __ATOMIC_ACQUIRE) && ps_mono_ns() < deadline)
        sleep_ms(20);
    cr_assert(__atomic_load_n(&k.out, __ATOMIC_ACQUIRE), "still parked 20 s after the agent's last tick");
    pthread_join(k.th, NULL);
    cr_expect_gt(k.out_ns - silent_ns, QUIET_NS,
                  "left %.2f s after the last tick, before the 2 s of silence",
                  (double)(k.out_ns - silent_ns) * 1e-9);
    cr_expect_eq(ps_throttle_parked(pi), 0);
    /* Still silent: a worker at a safe point does not park at all. */
    struct parker k2;
    start_parker(&k2);
    pthread_join(k2.th, NULL);          /* returns: the park returned at once */
    cr_expect_eq(ps_throttle_parked(pi), 0);
    /* The agent ticks again: parking works again. */
    struct parker k3;
    ps_throttle_tick();
    start_parker(&k3);
    while (!__atomic_load_n(&k3.in_park, __ATOMIC_ACQUIRE))
        sleep_ms(5);
    gap = tick_for(500);
    if (gap <= QUIET_NS / 2)
        cr_expect_eq(ps_throttle_parked(pi), 1, "no parking once the agent ticks again");
    ps_throttle_set_limit(pi, 0);       /* a limit lifted releases it */
    pthread_join(k3.th, NULL);
    cr_expect_eq(ps_throttle_parked(pi), 0);
    return 1;
}

Test(throttle, a_parked_worker_leaves_when_the_agent_falls_silent, .init = setup, .timeout = 120)
{
    for (int tries = 0; tries < 3; tries++)
        if (attempt())
            return;
    cr_skip_test("the test thread's ticks came over 1 s late in 3 attempts: the machine is too loaded to judge");
}
