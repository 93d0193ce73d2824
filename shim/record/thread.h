/* thread.h: one record per thread of the host, in memory mapped at start.
 * Ownership: the thread itself writes its wait counters and current-wait fields
 * (single writer, relaxed atomics); the agent thread writes the sampled fields
 * (cpu, runqueue, name, pool) and reads everything. Records are never freed,
 * only recycled after the thread exited and its totals were folded into its
 * pool (ps_thread_claim), so a stale pointer always points at a valid record. */
#ifndef PS_THREAD_H
#define PS_THREAD_H
#include "tally.h"
#include <pthread.h>
#include <stdint.h>

enum ps_cause { PS_IO, PS_SLEEP, PS_LOCK, PS_COND, PS_IDLE, PS_RUNQ, PS_NCAUSE };
extern const char *const ps_cause_name[PS_NCAUSE];

/* What a thread is blocked on (dumps' blocked_on.kind). */
enum ps_kind { PS_K_NONE, PS_K_MUTEX, PS_K_RWLOCK, PS_K_SPIN, PS_K_COND, PS_K_SEM, PS_K_FUTEX,
               PS_K_IO, PS_K_POLL, PS_K_SLEEP, PS_K_JOIN,
               PS_K_FUTEX_LOCK,     /* a lock built on a futex word (interpose_futex.c) */
               PS_K_NKINDS };
extern const char *const ps_kind_name[PS_K_NKINDS];

enum ps_tstate { PS_T_FREE, PS_T_LIVE, PS_T_EXITED, PS_T_CLAIMING };
struct ps_obj;
struct ps_trace_ring;

#define PS_MAX_THREADS 8192
#define PS_NAME_LEN 16

struct ps_lock_ledger;           /* syncobj.h */

struct ps_thread {
    /* First cache line: what every hot lock's acquisition and release reads
     * or writes (interpose_mutex.c, syncobj.h), so that path touches one line
     * of the record, not three (pool, ignore, the hold sample, held and the
     * ledger's fields were spread over 0x0c-0x360). */
    int state;                       /* enum ps_tstate, atomic */
    int tid;
    uint32_t gen;                    /* bumped on every reuse of the slot */
    int pool;                        /* pool index or -1; set by the agent */
    int ignore;                      /* the shim's own threads: wrappers pass through */
    int depth;                       /* >0 while inside a wrapper span (no nesting) */
    /* hot locks' hold-time sample (syncobj.h): acquisitions to skip before the
     * next timed one */
    int hold_skip;
    int held;                        /* owner: mutexes/rwlocks/spinlocks held now (throttle's safe point) */
    /* Hot locks (syncobj.h, "Per-thread ledger"): what used to be shared
     * writes on every acquisition of a once-contended lock. Owner writes,
     * the agent reads and folds into the lock's totals. */
    uint64_t lock_events;            /* owner: ledger updates ever (the agent skips idle ledgers) */
    struct ps_lock_slot *hot_slot;   /* owner: the slot last looked up (a lock's release
                                      * follows its acquisition), NULL none */
    struct ps_lock_ledger *ledger;   /* owner binds it at its first hot lock; NULL none */
    uintptr_t span_at;               /* the open span (account.h): its address on the stack */

    int via_create;                  /* started through our pthread_create */
    uint32_t span_gen;               /* and its generation */
    struct ps_trace_ring *trace;     /* POOLSHIM_TRACE=on: this record's timeline (trace.h), else
                                      * NULL; set at claim, kept when the record is reused */
    void *routine;                   /* start routine, NULL if unknown */
    void *entry;                     /* what a trampoline routine runs (entry.h), or NULL */
    void *start_arg;                 /* its argument, between pthread_create and the trampoline */
    uint64_t arg_bytes[2];           /* the first bytes start_arg pointed to at pthread_create */
    int arg_read;                    /* arg_bytes were read (instance.c) */
    int join_pool;                   /* pool index + 1 it joins as it starts (a worker the shim
                                        started for that pool, expand.c), 0 = by its key */
    size_t stack_size, guard_size;   /* from its creator's attributes, 0 = the defaults (expand.c) */
    int user_stack;                  /* its creator gave it a stack of its own */
    pthread_t self;
    uint64_t born_ns, died_ns;
    char name[PS_NAME_LEN];

    /* written by the owner: wall-clock time inside wrapped waits, by cause.
     * Raw: it holds the wake-up's wait for a core and any CPU spent inside
     * the call; reports read blocked_ns, which is reconciled with schedstat. */
    uint64_t wait_ns[PS_NCAUSE];
    uint64_t waits[PS_NCAUSE];
    uint64_t exact_waits;            /* sleeps that ran their course (ps_span_end_at_most) */
    uint64_t ran_out_ns;             /* timed waits that ran out as sleeps (waitobj.h), their
                                      * length: seen open as cond or idle by the sampler */
    uint64_t unslept_ns;             /* of those, given back to cond: waited again at once
                                      * (ps_wait_rewaited, account.c) */
    /* owner only: the last wait, if it ran out as a sleep (key 0: it did not) */
    uintptr_t ran_out_key;
    uintptr_t ran_out_lock;          /* the mutex a condvar's wait released (0: none) */
    void *ran_out_site;
    uint64_t ran_out_end_ns, ran_out_dt;
    int ran_out_cause;               /* the cause it had before (cond or idle) */
    uintptr_t pend_key;              /* such waits on an object nobody had posted yet, held */
    uint64_t pend_ns;                /* until a wait on it ends by a post (ps_wait_posted) */
    int pend_cause;
    uint64_t sleep_over_ns;          /* of them, their time past their caps (a late timer,
                                      * or the wake-up's wait for a core: sampler.c) */
    uint64_t waits_switched;         /* waits but io long enough to have switched the thread out */
    uint64_t io_long_ns, io_long_n;  /* io spans long enough to have blocked (account.h) */
    uint64_t io_long_wakes;          /* their switches beyond one each (account.c) */
    uint64_t io_file_ns, io_file_n;  /* of them, reads and writes of a regular file or block
                                      * device: long perhaps only because preempted inside */
    uint64_t io_nb_ns, io_nb_n;      /* io spans as long on a non-blocking fd (no file): long
                                      * only because preempted inside, never blocked; not
                                      * in io_long_* (account.h) */
    /* Its voluntary context switches at the end of its last wait long enough
     * to have switched it out (account.c), once it has
     * had a long read or write; vsw_read 0 until then or after a failure. */
    uint64_t vsw_at_span, ivsw_at_span;
    int vsw_read;
    long ivsw_span;                  /* its involuntary ones between the last two readings */
    /* Long polls from the first call site that polled: if that turns out to
     * be where the pool waits for work (learned later, from these very
     * waits), they were idle, and the sampler relabels them (sampler.c). */
    void *poll_site;
    uint64_t poll_site_ns;
    uint64_t poll_site_work;         /* polls there that returned work: tasks, if it is idle */
    int polled_idle;                 /* it polled as its pool's wait for work (pool.h's pollers) */
    /* a futex lock this thread took after waiting, and when: its release
     * wakes the next waiter, and the time between is a hold (interpose_futex.c) */
    uintptr_t flock_obj;
    uint64_t flock_t0;
    uint64_t timer_slack_ns;         /* the thread's timer slack + 1, 0 until read */
    uint64_t spin_ns;                /* on-CPU time spinning on spinlocks (part of cpu) */
    /* a contended spin acquisition whose CPU is settled at its unlock (interpose_spin.c) */
    const volatile void *spin_lock;
    uint64_t spin_cpu0_ns, spin_wall_ns, spin_acq_ns;
    uint64_t tasks;                  /* task boundaries seen (dequeues from the pool's idle object) */
    uint64_t task_begin_ns;          /* when the current task started, 0 if idle */
    uint64_t task_ns;                /* summed task latency of finished tasks */
    int came_back;                   /* after a task it took another, or waited for work
                                      * again: a queue's worker, not one let through a gate */
    uint64_t handoff_ns;             /* the last wait for work ended this long after a post
                                      * (pool.h: ps_pool_handoff), not yet counted; 0 none */
    void *task_site;                 /* where it released the queue mutex to begin its task */
    int task_by_unlock;              /* its open task began there (not at a wait's end) */
    uintptr_t task_wake_key;         /* the futex word whose wake-up for all its waiters began
                                      * the open task (waitobj.h), 0 if none */
    uint32_t task_span_gen;          /* span_gen when that task began */
    uint32_t unlock_span_gen;        /* span_gen when a task began at the queue mutex's release */
    int idle_in_hold;                /* it waited for work since it took the queue mutex */
    int task_tentative;              /* the task began at a poll wake-up: undone if the first
                                      * I/O call after it finds nothing (EAGAIN) */
    uint64_t loop_replies;           /* writes that sent data after such a poll, before the
                                      * next: one per request served (ps_task_reply) */
    uint64_t cond_blocked;           /* its waits on a condvar, semaphore or futex word that
                                      * blocked, not for work (cause cond: waitobj.h) */
    unsigned task_polled, task_dgrams;  /* the last poll found this many fds ready, with
                                      * work (0: none, or not at a poll), and datagrams
                                      * received since: one request each (ps_task_datagram) */
    int poll_credit;                 /* that poll was at poll_site before it was known as the
                                      * pool's wait for work: credited as poll_site_work */
    /* the current wait, for dumps and the sampler */
    uint64_t cur_since_ns;
    int cur_kind;                    /* enum ps_kind, PS_K_NONE when not waiting */
    int cur_cause;
    uintptr_t cur_obj;               /* lock / cond / sem / futex address, or fd */
    void *cur_site;                  /* return address of the wrapper's caller */
    uint64_t cur_cap_ns;             /* a sleep: the most it can block (interpose_sleep.c), 0 unknown */
    /* the same for the last object it posted to (pool.c): a producer signals
     * the same condvar for every task */
    uintptr_t post_key;
    struct ps_obj *post_obj;
    uint32_t hold_rng;               /* draws the hold sample's gaps (syncobj.h), 0: not seeded */
    struct ps_tally tally;           /* the sems and condvars it posted, counted (tally.h) */
    /* handlers run on this thread, counted by the handler itself (restart.h):
     * the dump signal's, and the program's own (interpose_signal.c) */
    uint32_t dump_sigs, prog_sigs;
    /* its alternate signal stack as it set it (sigaltstack's wrapper), 0 none:
     * where the dump signal's handler runs (stacks.c: ps_stacks_note_altstack) */
    uintptr_t altstack;

    /* written by the agent */
    uint64_t cpu_ns;                 /* schedstat: on-CPU time */
    uint64_t runq_ns;                /* schedstat: time runnable but not running */
    /* Blocked time by cause (io .. idle; never PS_RUNQ): the thread's wall
     * time less its CPU and run-queue time, labelled with the causes its
     * wrapped spans and the /proc samples saw (sampler.c, "the partition") */
    uint64_t blocked_ns[PS_NCAUSE];
    uint64_t unattributed_ns;        /* blocked time no span or sample has labelled (yet) */
    uint64_t raw_seen_ns[PS_NCAUSE]; /* wait_ns (+ the open span) already reconciled */
    uint64_t waits_seen[PS_NCAUSE];  /* waits[] (spans ended) at the same time */
    uint64_t recent_ns[PS_NCAUSE];   /* labels that a later reading may take back (sampler.c) */
    uint64_t io_pending_ns;          /* short io held back by the lag reserve only */
    uint64_t part_runq_ns, runs_seen;   /* run-queue time and times on a CPU at the last sample */
    uint64_t exact_seen;             /* exact_waits at the last sample */
    uint64_t ran_out_seen_ns;        /* ran_out_ns at the last sample */
    uint64_t unslept_seen_ns;        /* unslept_ns at the last sample */
    uint64_t sleep_over_seen_ns;     /* sleep_over_ns at the last sample */
    uint64_t sleep_over_pending_ns;  /* of it, held back by the lag reserve only */
    uint64_t switched_seen;          /* waits_switched at the last sample */
    uint64_t poll_moved_ns;          /* poll_site_ns relabelled io -> idle so far */
    uint64_t tasks_before;           /* poll_site_work credited as tasks once that site was
                                        learned as the pool's wait for work (sampler.c) */
    uint64_t io_long_seen_ns, io_long_seen_n;   /* io_long_* at the last sample */
    uint64_t io_long_wakes_seen;
    uint64_t io_file_seen_ns, io_file_seen_n;   /* io_file_* at the last sample */
    uint64_t io_nb_seen_ns, io_nb_seen_n;       /* io_nb_* at the last sample */
    uint64_t nvcsw, nivcsw;          /* voluntary / involuntary context switches */
    uint64_t switches_read_ns;       /* the sample that last read them (sampler.c), 0 none */
    uint64_t vsw_seen, vsw_seen_ns;  /* voluntary switches as the partition last saw them, and
                                      * the sample they were for (0: never): short io's evidence */
    uint64_t last_sample_ns;
    uint64_t read_since_ns;          /* the wrapped wait (cur_since_ns) it was in across its
                                      * last schedstat reading, 0 none (sampler.c) */
    uint64_t still_since_ns;         /* the same, when it was also in it across the reading
                                      * before with no CPU or run-queue time between: blocked */
    int last_unwrapped_cause;        /* cause + 1 of the last unwrapped wait caught, 0 none */
    int unwrapped_ticks;             /* samples left during which that catch is recent */
    int unwrapped_closed;            /* exited: its last period was reconciled */
    int needs_base;                  /* found in /proc: measured from its first sample */
    uint64_t base_cpu_ns, base_runq_ns; /* schedstat when measuring began: the main
                                        thread's time before exec (and, after a
                                        fork+exec, in the forking parent) is not ours */
    int throttled;                   /* parked by the controller right now (owner writes) */
    int no_park;                     /* someone joins this thread: the throttle must not park it */
    int sampler_fail;
    uint64_t lock_events_folded;     /* agent: lock_events at its last fold */
} __attribute__((aligned(64)));      /* records share no cache line: a thread's stores on each
                                      * hot lock (lock_events, hot_slot) sat on the line holding
                                      * its neighbour's ignore and pool, read on each of its locks */
_Static_assert(sizeof(struct ps_thread) % 64 == 0, "thread records must not share cache lines");
_Static_assert(__builtin_offsetof(struct ps_thread, span_at) < 64, "the hot lock's fields fit the first line");

extern struct ps_thread *ps_threads;      /* PS_MAX_THREADS records */
extern int ps_threads_hwm;                /* records ever used: scan [0, hwm) */
extern __thread struct ps_thread *ps_self __attribute__((tls_model("initial-exec")));
extern int ps_ready;                      /* set once the shim is initialised */
extern int ps_threads_unmeasured;         /* threads refused a record (the table was full) */
extern struct ps_thread ps_agent_rec;     /* the agent's own record (agent.c), marked ignore */
extern int ps_agent_prev_tid;             /* the previous agent's tid, after a restart */
/* 1 when POOLSHIM_CONTROL=on: only then can a worker be parked, so only then
 * must the lock wrappers keep `held` (the throttle's "holds no lock" test);
 * in the default advise mode the mutex fast path skips that bookkeeping. */
extern int ps_track_held;

/* Did the program run a thread besides its main one (ever, ours excepted)? */
int ps_thread_any_besides_main(void);
/* How many records to scan: every record ever claimed, [0, hwm). */
static inline int ps_thread_hwm(void)
{
    int hwm = __atomic_load_n(&ps_threads_hwm, __ATOMIC_ACQUIRE);
    return hwm > PS_MAX_THREADS ? PS_MAX_THREADS : hwm;
}
/* The thread's blocked time by cause as of the agent's last sample (PS_RUNQ
 * is 0: callers add runq_ns). With cpu_ns, runq_ns and unattributed_ns it
 * partitions the thread's wall time, born_ns to ps_thread_wall_end. */
static inline void ps_thread_waits(const struct ps_thread *t, uint64_t out[PS_NCAUSE])
{
    for (int c = 0; c < PS_NCAUSE; c++)
        out[c] = t->blocked_ns[c];
    out[PS_RUNQ] = 0;
}
/* The end of the thread's measured wall time: its exit, or the last sample. */
static inline uint64_t ps_thread_wall_end(const struct ps_thread *t)
{
    if (__atomic_load_n(&t->state, __ATOMIC_ACQUIRE) == PS_T_EXITED && t->died_ns)
        return t->unwrapped_closed ? t->died_ns : t->last_sample_ns;
    return t->last_sample_ns;
}
int ps_thread_table_init(void);
/* The caller's record, registering it on first use; NULL if the shim is not
 * ready or the table is full (the wrappers then just forward). */
struct ps_thread *ps_thread_self_slow(void);
static inline struct ps_thread *ps_thread_self(void)
{
    struct ps_thread *t = ps_self;
    if (__builtin_expect(t != NULL, 1))
        return t->ignore ? NULL : t;
    return ps_thread_self_slow();
}
/* Claims a record for tid (called by the thread itself or by the agent for
 * threads it discovers in /proc/self/task). */
struct ps_thread *ps_thread_claim(int tid, void *routine);
/* Marks the caller's record exited after a last CPU reading. */
void ps_thread_on_exit(struct ps_thread *t);
/* The record of a live tid, or NULL (a hint, else a linear scan). */
struct ps_thread *ps_thread_by_tid(int tid);
/* t's tid is known: the hint ps_thread_by_tid looks at first. */
void ps_thread_note_tid(const struct ps_thread *t);
/* The same by pthread_t, for threads that ran our start (or a wrapper). */
struct ps_thread *ps_thread_by_pthread(pthread_t th);
/* Records the calling thread's schedstat as its zero (the main thread at start). */
void ps_thread_set_baseline(struct ps_thread *t);
/* Called in the child after fork: only the forking thread survives. */
void ps_thread_after_fork_child(void);
int ps_gettid(void);
/* Is site t's first poll site (taking it if t has none yet)? Owner thread. */
static inline int ps_thread_poll_site(struct ps_thread *t, void *site)
{
    if (!t->poll_site)
        __atomic_store_n(&t->poll_site, site, __ATOMIC_RELEASE);
    return t->poll_site == site;
}
#endif
