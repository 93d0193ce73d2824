/* sampler.h: per-thread figures that no wrapper can see, read from
 * /proc/self/task/TID/{schedstat,comm,syscall,status} by the agent thread:
 * CPU and run-queue time, names, context switches, newly found threads and
 * waits inside libc (fread, usleep, the re-lock in a condvar wait). */
#ifndef PS_SAMPLER_H
#define PS_SAMPLER_H
#include <stdint.h>
#include "thread.h"

/* One pass over every thread. final: also read context switches. */
void ps_sampler_tick(uint64_t now_ns, int final);
/* One sample of a thread for the partition (sampler.c says how). */
struct ps_partition_in {
    uint64_t end, cpu, runq;     /* when, and schedstat's figures then */
    uint64_t runs;               /* times the thread got a CPU (schedstat), 0 unknown */
    uint64_t lag;                /* how far cpu may trail (0: exact) */
    uint64_t raw[PS_NCAUSE];     /* wait_ns plus the open span */
    uint64_t open_io;            /* of raw[PS_IO], the open span's time so far (0: none) */
    uint64_t ended[PS_NCAUSE];   /* waits[]: spans ended */
    uint64_t exact;              /* exact_waits: sleeps whose span holds no wait for a core */
    uint64_t sleep_over_ns;      /* of them, the time past their caps */
    uint64_t ran_out_ns;         /* timed waits that ended as sleeps, their length (waitobj.h) */
    uint64_t unslept_ns;         /* of them, given back to cond (ps_wait_rewaited) */
    uint64_t switched;           /* waits_switched: waits that switched the thread out */
    uint64_t io_long_ns, io_long_n;   /* the io spans among raw[PS_IO] that blocked */
    uint64_t io_long_wakes;           /* their wake-ups beyond one each */
    uint64_t io_file_ns, io_file_n;   /* of them, on a file: perhaps preempted inside */
    uint64_t io_nb_ns, io_nb_n;       /* io spans among raw[PS_IO] as long on a non-blocking
                                       * fd: preempted inside, blocked never */
    uint64_t preempts;           /* involuntary switches since the last sample, if known */
    int preempts_known;
    /* The thread's voluntary context switches so far (0 when read, else
     * -1), asked only when short io would take what is left: NULL, none. */
    int (*vswitches)(struct ps_thread *t, uint64_t now, uint64_t *count);
};
/* Labels t's blocked time up to in->end (wall since born_ns less cpu and
 * runq, the kernel's figures) with the causes its raw wrapped waits grew by
 * since the last call. */
void ps_sampler_partition(struct ps_thread *t, const struct ps_partition_in *in);
/* Classifies a syscall number seen blocked in /proc: a cause or -1. */
int ps_sampler_cause_of_syscall(long nr);
/* The cause of a libgomp worker's futex wait from the arguments in its
 * /proc/.../syscall line after the number: lock (value -1) or idle. */
int ps_sampler_gomp_futex_cause(const char *args);
/* The cause of any other unwrapped futex wait, from the same arguments: a
 * lock when it waits for the value 2 (glibc's and Rust's contended mutex)
 * or takes a priority-inheritance lock, else cond (a condvar's or a
 * semaphore's word: a pthread_cond_timedwait made through pointers dlsym'd
 * from libpthread's handle, as Free Pascal's threads do, read as lock). */
int ps_sampler_futex_cause(const char *args);
/* Parses "/proc/.../schedstat" text: run ns, run-queue ns and, if runs is
 * not NULL, the times it got a CPU (0 if absent). 0 on success. */
int ps_sampler_parse_schedstat(const char *s, uint64_t *cpu_ns, uint64_t *runq_ns, uint64_t *runs);
#endif
