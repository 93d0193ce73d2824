/* sampler.c: the agent's view of every thread through /proc.
 * Runs only on the agent thread (and once at exit), so it may open files; it
 * still never allocates: paths and buffers are on its stack and directories
 * are read with getdents64. Cost is ~3 syscalls per file; the agent stretches
 * its interval to keep this under 2 % of one core (agent.c). */
#include "sampler.h"
#include "atomics.h"
#include "clock.h"
#include "expand.h"
#include "file.h"
#include "log.h"
#include "pool.h"
#include "instance.h"
#include "syncobj.h"
#include "thread.h"
#include "trace.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static ssize_t read_task_file(int tid, const char *leaf, char *buf, size_t cap)
{
    char path[64];
    ps_fmt(path, sizeof path, "/proc/self/task/%d/%s", tid, leaf);
    return ps_file_read_small(path, buf, cap);
}

int ps_sampler_parse_schedstat(const char *s, uint64_t *cpu, uint64_t *runq, uint64_t *runs)
{
    char *end;
    /* strtoull would skip blanks and negate "-5": the kernel writes digits only */
    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    unsigned long long a = strtoull(s, &end, 10);
    if (end == s || *end != ' ')
        return -1;
    const char *p = end + 1;
    if (*p < '0' || *p > '9')
        return -1;
    unsigned long long b = strtoull(p, &end, 10);
    if (end == p || errno)
        return -1;
    *cpu = a;
    *runq = b;
    if (runs) {                  /* times it got a CPU: optional (0 when absent) */
        *runs = 0;
        if (*end == ' ' && end[1] >= '0' && end[1] <= '9')
            *runs = strtoull(end + 1, NULL, 10);
    }
    return 0;
}

int ps_sampler_cause_of_syscall(long nr)
{
    switch (nr) {
    case SYS_read: case SYS_write: case SYS_pread64: case SYS_pwrite64: case SYS_readv:
    case SYS_writev: case SYS_preadv: case SYS_pwritev: case SYS_recvfrom: case SYS_sendto:
    case SYS_recvmsg: case SYS_sendmsg: case SYS_accept: case SYS_accept4: case SYS_connect:
    case SYS_fsync: case SYS_fdatasync: case SYS_poll: case SYS_ppoll: case SYS_select:
    case SYS_pselect6: case SYS_epoll_wait: case SYS_epoll_pwait: case SYS_openat:
    case SYS_sendfile: case SYS_splice: case SYS_io_uring_enter: case SYS_epoll_pwait2:
    case SYS_recvmmsg: case SYS_sendmmsg: case SYS_preadv2: case SYS_pwritev2:
        return PS_IO;
    case SYS_nanosleep: case SYS_clock_nanosleep: case SYS_pause:
        return PS_SLEEP;
    case SYS_futex:
        return PS_LOCK;          /* inside libc: internal locks, the condvar re-lock */
    case SYS_wait4: case SYS_waitid:
        return PS_COND;
    }
    return -1;
}

/* 0 when both counts were read */
static int read_switches(struct ps_thread *t)
{
    char buf[2048];
    if (read_task_file(t->tid, "status", buf, sizeof buf) <= 0)
        return -1;
    char *v = strstr(buf, "voluntary_ctxt_switches:");
    char *nv = strstr(buf, "nonvoluntary_ctxt_switches:");
    if (v && v != nv + 3)
        t->nvcsw = strtoull(v + 24, NULL, 10);
    if (nv)
        t->nivcsw = strtoull(nv + 27, NULL, 10);
    return v && nv && v != nv + 3 ? 0 : -1;
}

/* The preemptions since the last sample, which tell a long io span that
 * blocked from one that was preempted (the partition): read from status (a
 * larger file than schedstat) only for a thread whose long io spans grew
 * while it waited for a core for a millisecond or more (a preemption inside
 * a span has to show there: a thread-per-connection server's blocking reads
 * on a quiet machine cost the agent nothing more), and known only when the
 * sample before read them too. */
#define PS_PREEMPT_RUNQ_NS 1000000ull
static void read_preempts(struct ps_thread *t, uint64_t now, struct ps_partition_in *in)
{
    uint64_t before = t->nivcsw;
    int consecutive = t->switches_read_ns && t->switches_read_ns == t->last_sample_ns;
    if (read_switches(t)) {
        t->switches_read_ns = 0;
        return;
    }
    t->switches_read_ns = now;
    if (consecutive && t->nivcsw >= before) {
        in->preempts = t->nivcsw - before;
        in->preempts_known = 1;
    }
}

/* The voluntary switches of a live thread for the partition: status read
 * once per sample (read_preempts may have read it already). */
static int live_vswitches(struct ps_thread *t, uint64_t now, uint64_t *count)
{
    if (t->switches_read_ns != now) {
        if (read_switches(t)) {
            t->switches_read_ns = 0;
            return -1;
        }
        t->switches_read_ns = now;       /* read_preempts' next delta starts here */
    }
    *count = t->nvcsw;
    return 0;
}

/* An exited thread's, read by itself at its exit (ps_thread_on_exit). */
static int exit_vswitches(struct ps_thread *t, uint64_t now, uint64_t *count)
{
    (void)now;
    *count = t->nvcsw;
    return 0;
}

/* Wrapped wait time of t by cause up to now: the spans that ended plus the
 * one in progress. Ended spans are read first: a span that ends in between
 * is then missed this time (and seen next time), never counted twice. */
static void raw_waits(const struct ps_thread *t, uint64_t now, struct ps_partition_in *in)
{
    for (int c = 0; c < PS_NCAUSE; c++) {
        in->ended[c] = __atomic_load_n(&t->waits[c], __ATOMIC_RELAXED);
        in->raw[c] = __atomic_load_n(&t->wait_ns[c], __ATOMIC_RELAXED);
    }
    in->exact = __atomic_load_n(&t->exact_waits, __ATOMIC_RELAXED);
    in->sleep_over_ns = __atomic_load_n(&t->sleep_over_ns, __ATOMIC_RELAXED);
    in->ran_out_ns = __atomic_load_n(&t->ran_out_ns, __ATOMIC_RELAXED);
    in->unslept_ns = __atomic_load_n(&t->unslept_ns, __ATOMIC_RELAXED);
    in->switched = __atomic_load_n(&t->waits_switched, __ATOMIC_RELAXED);
    in->io_long_n = __atomic_load_n(&t->io_long_n, __ATOMIC_RELAXED);
    in->io_long_ns = __atomic_load_n(&t->io_long_ns, __ATOMIC_RELAXED);
    in->io_long_wakes = __atomic_load_n(&t->io_long_wakes, __ATOMIC_RELAXED);
    in->io_file_n = __atomic_load_n(&t->io_file_n, __ATOMIC_RELAXED);
    in->io_file_ns = __atomic_load_n(&t->io_file_ns, __ATOMIC_RELAXED);
    in->io_nb_n = __atomic_load_n(&t->io_nb_n, __ATOMIC_RELAXED);
    in->io_nb_ns = __atomic_load_n(&t->io_nb_ns, __ATOMIC_RELAXED);
    uint64_t since = __atomic_load_n(&t->cur_since_ns, __ATOMIC_ACQUIRE);
    int cause = ps_pool_open_wait_cause(t);
    if (since && now > since && cause >= 0 && cause < PS_RUNQ) {
        uint64_t open = now - since, cap = t->cur_cap_ns;
        if (cause == PS_SLEEP && cap && open > cap)
            open = cap;                  /* over: awake, waiting for a core */
        in->raw[cause] += open;
        if (cause == PS_IO)
            in->open_io = open;
    }
}

/* The partition. A thread's wall time is exactly its CPU time, its run-queue
 * time (both from schedstat, the kernel's own accounts) and the time it was
 * blocked; the wrappers and the /proc samples only say what it was blocked
 * on. A wrapped span is wall-clock time, so it also holds the wait for a core
 * after the wake-up (already run-queue time) and any CPU spent inside the
 * call (a read served from the page cache): taken as they are, they count
 * time twice. So each sample hands out only the blocked time not yet
 * labelled, to the causes whose spans grew since the last sample:
 * - waits that always block (sleep, lock, cond, idle: a futex or a timer)
 *   first. When they exceed it, the excess is each wake-up's wait for a
 *   core, so it is taken from the causes in proportion to how many of their
 *   waits ended (a thousand 1 ms sleeps wait for a core a thousand times, one
 *   long lock wait once), never below zero. A sleep that ran its course
 *   holds none (its span ends at its length plus the timer slack), so it
 *   gives only when nothing else can;
 *   an io span long enough to have blocked counts with them, but one on a
 *   file gives first when the thread was preempted in the interval
 *   (take_preempted_io);
 * - then the short io spans, which may have been CPU: what is left, at most their time,
 *   less what a lagging CPU reading may still claim (below): CPU inside reads
 *   would otherwise take every tick's lag as io, and no more than the
 *   voluntary switches say they blocked (short_io_by_switches): what is left
 *   may be a wait no wrapper saw.
 * - then the time sleeps that ran their course ran past their caps, from
 *   what is left less the lag reserve: nearly always the wait for a core
 *   after the timer fired (then nothing is left for it), but a late timer
 *   (a virtual CPU its host descheduled, a core slow to leave a deep idle
 *   state) is blocked time the kernel counts as such (a convoy's 1 ms sleeps
 *   read 0.32 s where its threads blocked 0.44 s in them, in 2 runs of 40 on
 *   a busy host). Last among the spans that block: as a sure wait it took
 *   the estimate's errors under load (0.42 s for 0.34);
 * What no span claims stays unattributed until a sample catches the thread
 * in an unwrapped call (sample_unwrapped). The budget is cumulative, so a
 * lagging schedstat reading (the CPU of a running thread is updated at
 * scheduler ticks) is made good at the next sample instead of piling up. */
/* IO_LONG: the io spans that blocked (account.c: by the thread's voluntary
 * switches where it reads them, else by length), counted with the waits
 * that block, one wake-up each switch; the short rest of io comes last. Of
 * those filed by length only, the ones on a file may have been preempted
 * instead (take_preempted_io). */
#define IO_LONG PS_NCAUSE
#define NSLOT (PS_NCAUSE + 1)
static const int sure_causes[] = { PS_SLEEP, PS_LOCK, PS_COND, PS_IDLE, IO_LONG };
/* How far schedstat's CPU of a running thread can trail: one scheduler tick
 * (10 ms at the slowest kernel HZ, 100). The exit-time reading is exact. */
#define PS_SCHEDSTAT_LAG_NS 10000000ull
#define NSURE ((int)(sizeof sure_causes / sizeof *sure_causes))

/* Takes excess out of d[] (the sure causes' new raw time), by ended waits
 * n[] where there are any, else by time; a cause gives at most what it has. */
static void take_excess(uint64_t d[NSLOT], const uint64_t n[NSLOT], uint64_t excess)
{
    for (int round = 0; round < NSURE && excess; round++) {
        uint64_t weight = 0, count = 0;
        for (int k = 0; k < NSURE; k++) {
            int c = sure_causes[k];
            if (d[c])
                weight += n[c], count++;
        }
        if (!count)
            return;
        int by_time = weight == 0;
        if (by_time)
            for (int k = 0; k < NSURE; k++)
                weight += d[sure_causes[k]];
        uint64_t taken = 0;
        for (int k = 0; k < NSURE; k++) {
            int c = sure_causes[k];
            if (!d[c])
                continue;
            uint64_t w = by_time ? d[c] : n[c];
            uint64_t share = (uint64_t)((unsigned __int128)excess * w / weight);
            if (share > d[c])
                share = d[c];
            d[c] -= share;
            taken += share;
        }
        if (!taken) {             /* rounding: the last nanoseconds from the largest */
            int big = sure_causes[0];
            for (int k = 1; k < NSURE; k++)
                if (d[sure_causes[k]] > d[big])
                    big = sure_causes[k];
            taken = excess < d[big] ? excess : d[big];
            d[big] -= taken;
        }
        excess -= taken < excess ? taken : excess;
    }
}

/* A long read or write of a file is long either because the call blocked
 * or because the thread was preempted inside it (a read served from the page
 * cache, on a busy machine): then its length is run-queue time, not io. The
 * other sure waits (a pipe's, socket's or timerfd's io among them: those
 * calls block from their start) hold only a wake-up's wait for a core, so
 * when the thread was preempted in the interval the excess comes from the
 * long file spans first: as much as all of their time (file_ns of d's long
 * io) when there were at least as many preemptions as such spans (file_n),
 * else that share of it. Returns what was taken. */
static uint64_t take_preempted_io(uint64_t d[NSLOT], uint64_t file_ns, uint64_t file_n, uint64_t excess,
                                  uint64_t preempts)
{
    uint64_t can = file_ns < d[IO_LONG] ? file_ns : d[IO_LONG];
    if (file_n > preempts)
        can = (uint64_t)((unsigned __int128)can * preempts / file_n);
    uint64_t x = excess < can ? excess : can;
    d[IO_LONG] -= x;
    return x;
}

/* A thread waiting for a core at a sample, after a wake-up or a preemption,
 * has that wait in no schedstat figure yet (the kernel adds it when the
 * thread runs): it looks blocked, and the spans that ended or are open may
 * be labelled with it. A later reading shows it as run queue, the labels
 * exceed the blocked time, and the excess is taken back from the labels in
 * proportion, estimated ones first, exact sleeps last. */
static void settle(struct ps_thread *t, uint64_t *labelled, int64_t blocked)
{
    uint64_t have = blocked > 0 ? (uint64_t)blocked : 0;
    /* sleeps that ran their course are exact: they give back last */
    for (int pass = 0; pass < 2 && *labelled > have; pass++) {
        uint64_t deficit = *labelled - have, recent = 0;
        for (int c = 0; c < PS_RUNQ; c++)
            if ((c == PS_SLEEP) == pass)
                recent += t->recent_ns[c];
        if (!recent)
            continue;
        uint64_t want = deficit < recent ? deficit : recent;
        for (int c = 0; c < PS_RUNQ; c++) {
            if ((c == PS_SLEEP) != pass)
                continue;
            uint64_t x = (uint64_t)((unsigned __int128)want * t->recent_ns[c] / recent);
            x = x < t->blocked_ns[c] ? x : t->blocked_ns[c];
            t->blocked_ns[c] -= x;
            t->recent_ns[c] -= x;
            *labelled -= x;
        }
    }
}

/* How much of short io's want may take what is left. What is left is the
 * blocked time no sure wait claimed: a short io span that blocked, or a wait
 * no wrapper saw (glibc's malloc arena lock, a raw futex), while short spans
 * are mostly CPU (reads from the page cache). A span that blocked switched
 * the thread out: the voluntary switches of the interval, less one per
 * other wait long enough to have switched (SWITCHED), bound the short spans
 * that blocked, each taken as long as their mean (N_SHORT of them ended; an
 * open one counts as one). Not one per wait that ended: a condvar wait
 * whose futex found its word changed ends without a switch, and node's fs
 * workers, thousands of such waits a second, kept 0.025 s of io in reads
 * the observer saw blocked 0.106 s (page faults on the mmap lock); nor
 * none: pigz's writer, which waits on a condvar between its writes to a
 * file, then kept 0.023 s of io where it never blocked in one. A
 * thread that blocked in every short span keeps all of it; reads from the
 * page cache beside unwrapped waits keep a share as small as the waits are
 * few. The count is the one since the sample before (or since the thread's
 * start, for a thread we started); without it, all of WANT as before. */
static uint64_t short_io_by_switches(struct ps_thread *t, const struct ps_partition_in *in, uint64_t switched,
                                     uint64_t n_short, uint64_t want)
{
    /* The open span's time since the sample before is no question: a call
     * still going on at the sample blocked the thread for it, or ran on its
     * CPU, which the budget already left out (a thread blocked in one long
     * epoll_wait for the whole tick switched no more; it read 0.39 s of io
     * where it was blocked 0.90 s: node's DelayedTaskScheduler). */
    uint64_t tick = t->last_sample_ns && in->end > t->last_sample_ns ? in->end - t->last_sample_ns : in->open_io;
    uint64_t open = in->open_io < tick ? in->open_io : tick;
    if (open >= want)
        return want;
    want -= open;
    uint64_t v;
    if (!in->vswitches || in->vswitches(t, in->end, &v))
        return want + open;
    int known = t->vsw_seen_ns ? t->vsw_seen_ns == t->last_sample_ns : t->via_create && !t->last_sample_ns;
    uint64_t before = t->vsw_seen_ns ? t->vsw_seen : 0;
    t->vsw_seen = v;
    t->vsw_seen_ns = in->end;
    if (!known || v < before)
        return want + open;
    uint64_t k = v - before > switched ? v - before - switched : 0;
    if (!n_short)
        n_short = 1;
    return open + (k >= n_short ? want : (uint64_t)((unsigned __int128)want * k / n_short));
}

/* Samples for which a catch in an unwrapped wait keeps the estimate's
 * give-back off (about a second at the default interval). */
#define PS_UNWRAPPED_RECENT 10

/* A wait counted open under one cause that ended under another moves to
 * it, labels included, before that cause's growth is read: as idle, when
 * the pool's wait for work was learned meanwhile (ps_objwait_end); as a
 * sleep, when a timed wait ran out on an object nobody else posts
 * (ps_objwait_timed_out: HotSpot's service threads wait so, 0.25 s at a
 * time, and 0.16 s of each such wait seen open as cond was left
 * unattributed). At most as much as `to` grew, and for a sleep as much as
 * such waits ended (`most`): a wait that ended between raw_waits' two reads
 * also looks lower for one sample, under its own cause, and is seen whole
 * at the next one; it must not move. */
static void ended_as(struct ps_thread *t, const struct ps_partition_in *in, int to, uint64_t most)
{
    uint64_t grew = in->raw[to] > t->raw_seen_ns[to] ? in->raw[to] - t->raw_seen_ns[to] : 0;
    grew = grew < most ? grew : most;
    for (int c = 0; c < PS_RUNQ && grew; c++) {
        if (c == to || in->raw[c] >= t->raw_seen_ns[c])
            continue;
        uint64_t drop = t->raw_seen_ns[c] - in->raw[c], mv = drop < grew ? drop : grew;
        uint64_t x = mv < t->blocked_ns[c] ? mv : t->blocked_ns[c];
        grew -= mv;
        t->raw_seen_ns[c] -= mv;
        t->raw_seen_ns[to] += mv;
        t->blocked_ns[c] -= x;
        t->blocked_ns[to] += x;
        t->recent_ns[c] -= x < t->recent_ns[c] ? x : t->recent_ns[c];
        t->recent_ns[to] += x;
    }
}

void ps_sampler_partition(struct ps_thread *t, const struct ps_partition_in *in)
{
    uint64_t d[NSLOT] = { 0 }, n[NSLOT] = { 0 }, labelled = 0;
    /* a sleep given back to cond first, before idle may take its label */
    ended_as(t, in, PS_COND, in->unslept_ns > t->unslept_seen_ns ? in->unslept_ns - t->unslept_seen_ns : 0);
    t->unslept_seen_ns = in->unslept_ns;
    ended_as(t, in, PS_IDLE, UINT64_MAX);
    ended_as(t, in, PS_SLEEP, in->ran_out_ns > t->ran_out_seen_ns ? in->ran_out_ns - t->ran_out_seen_ns : 0);
    t->ran_out_seen_ns = in->ran_out_ns;
    for (int c = 0; c < PS_RUNQ; c++) {
        if (in->raw[c] > t->raw_seen_ns[c]) {
            d[c] = in->raw[c] - t->raw_seen_ns[c];
            t->raw_seen_ns[c] = in->raw[c];
        }
        if (in->ended[c] > t->waits_seen[c]) {
            n[c] = in->ended[c] - t->waits_seen[c];
            t->waits_seen[c] = in->ended[c];
        }
        labelled += t->blocked_ns[c];
    }
    if (in->io_long_ns > t->io_long_seen_ns) {       /* split io: long spans, short rest */
        uint64_t dl = in->io_long_ns - t->io_long_seen_ns;
        d[IO_LONG] = dl < d[PS_IO] ? dl : d[PS_IO];
        d[PS_IO] -= d[IO_LONG];
        t->io_long_seen_ns = in->io_long_ns;
    }
    if (in->io_long_n > t->io_long_seen_n) {
        n[IO_LONG] = in->io_long_n - t->io_long_seen_n;
        n[PS_IO] -= n[IO_LONG] < n[PS_IO] ? n[IO_LONG] : n[PS_IO];
        t->io_long_seen_n = in->io_long_n;
    }
    if (in->io_long_wakes > t->io_long_wakes_seen) {  /* the cut is a wake-up's */
        n[IO_LONG] += in->io_long_wakes - t->io_long_wakes_seen;
        t->io_long_wakes_seen = in->io_long_wakes;
    }
    /* A long read or write on a non-blocking fd returned at once when it
     * ran: its length is run-queue time (preempted inside: an event loop's
     * send that wakes its reader on a busy machine), which schedstat holds,
     * never blocked time. So it claims nothing, not even as short io. */
    uint64_t dnb = in->io_nb_ns > t->io_nb_seen_ns ? in->io_nb_ns - t->io_nb_seen_ns : 0;
    uint64_t nnb = in->io_nb_n > t->io_nb_seen_n ? in->io_nb_n - t->io_nb_seen_n : 0;
    t->io_nb_seen_ns = in->io_nb_ns;
    t->io_nb_seen_n = in->io_nb_n;
    d[PS_IO] -= dnb < d[PS_IO] ? dnb : d[PS_IO];
    n[PS_IO] -= nnb < n[PS_IO] ? nnb : n[PS_IO];
    uint64_t file_ns = in->io_file_ns > t->io_file_seen_ns ? in->io_file_ns - t->io_file_seen_ns : 0;
    uint64_t file_n = in->io_file_n > t->io_file_seen_n ? in->io_file_n - t->io_file_seen_n : 0;
    t->io_file_seen_ns = in->io_file_ns;
    t->io_file_seen_n = in->io_file_n;
    /* sleeps that ran their course hold no wait for a core (account.h) */
    uint64_t exact = in->exact > t->exact_seen ? in->exact - t->exact_seen : 0;
    t->exact_seen = in->exact;
    /* waits (not io) that switched the thread out: one voluntary switch each */
    uint64_t switched = in->switched > t->switched_seen ? in->switched - t->switched_seen : 0;
    t->switched_seen = in->switched;
    n[PS_SLEEP] -= exact < n[PS_SLEEP] ? exact : n[PS_SLEEP];
    uint64_t over = t->sleep_over_pending_ns;
    if (in->sleep_over_ns > t->sleep_over_seen_ns)
        over += in->sleep_over_ns - t->sleep_over_seen_ns;
    t->sleep_over_seen_ns = in->sleep_over_ns;
    int64_t blocked = in->end > t->born_ns ?
        (int64_t)(in->end - t->born_ns) - (int64_t)in->cpu - (int64_t)in->runq : 0;
    settle(t, &labelled, blocked);
    uint64_t budget = blocked > (int64_t)labelled ? (uint64_t)(blocked - (int64_t)labelled) : 0;
    /* Each ended wait's span holds one wake-up's wait for a core: the
     * interval's run-queue time per time the thread got a CPU, an estimate
     * taken off first (it may leave blocked time for an unwrapped wait that
     * the spans would otherwise have covered). */
    uint64_t drunq = in->runq > t->part_runq_ns ? in->runq - t->part_runq_ns : 0;
    uint64_t druns = in->runs > t->runs_seen ? in->runs - t->runs_seen : 0;
    uint64_t per_wake = druns ? drunq / druns : 0, wake_cut[NSLOT] = { 0 };
    t->part_runq_ns = in->runq;
    if (in->runs)
        t->runs_seen = in->runs;
    uint64_t sure = 0;
    for (int k = 0; k < NSURE; k++) {
        int c = sure_causes[k];
        uint64_t cut = n[c] * per_wake;
        wake_cut[c] = cut < d[c] ? cut : d[c];
        d[c] -= wake_cut[c];
        sure += d[c];
    }
    if (sure > budget && in->preempts_known && in->preempts && d[IO_LONG] && file_ns)
        sure -= take_preempted_io(d, file_ns, file_n, sure - budget, in->preempts);
    if (sure > budget) {
        take_excess(d, n, sure - budget);
        sure = 0;
        for (int k = 0; k < NSURE; k++)
            sure += d[sure_causes[k]];
    }
    budget = sure < budget ? budget - sure : 0;
    /* A thread not caught in an unwrapped wait lately (one open or stat
     * once must not stop it for good) has all its blocked time in its spans: what the estimate took off beyond the truth goes back,
     * to the waits that surely blocked, before short io (a non-blocking
     * read or send is CPU in the kernel: memcached's workers, node's reads
     * from the page cache) may claim what is left. */
    uint64_t cut_total = 0;
    for (int k = 0; k < NSURE; k++)
        cut_total += wake_cut[sure_causes[k]];
    if (!t->unwrapped_ticks && cut_total && budget) {
        uint64_t back = budget < cut_total ? budget : cut_total, given = 0;
        for (int k = 0; k < NSURE; k++) {
            int c = sure_causes[k];
            uint64_t x = (uint64_t)((unsigned __int128)back * wake_cut[c] / cut_total);
            d[c] += x;
            given += x;
        }
        budget -= given;
    }
    /* a late timer's time (above), as short io's below: up to the budget
     * less the lag reserve; what only the reserve held back is offered
     * again at the next sample */
    uint64_t spare = budget > in->lag ? budget - in->lag : 0;
    /* (not beside an unwrapped wait caught lately: what is left is its) */
    uint64_t late = t->unwrapped_ticks ? 0 : over < spare ? over : spare;
    d[PS_SLEEP] += late;
    t->sleep_over_pending_ns = t->unwrapped_ticks ? 0 : (over < budget ? over : budget) - late;
    budget -= late;
    spare = budget > in->lag ? budget - in->lag : 0;
    uint64_t io_want = d[PS_IO] + t->io_pending_ns;
    if (io_want && spare)
        io_want = short_io_by_switches(t, in, switched, n[PS_IO], io_want);
    d[PS_IO] = io_want < spare ? io_want : spare;
    t->io_pending_ns = (io_want < budget ? io_want : budget) - d[PS_IO];
    budget -= d[PS_IO];
    t->unattributed_ns = budget;
    d[PS_IO] += d[IO_LONG];
    for (int c = 0; c < PS_RUNQ; c++) {
        t->blocked_ns[c] += d[c];
        t->recent_ns[c] += d[c];
    }
}

/* Gives t's unattributed blocked time to cause: the sampler caught the
 * thread blocked in an unwrapped call of that kind. */
static void unattributed_to(struct ps_thread *t, int cause)
{
    t->last_unwrapped_cause = cause + 1;
    t->unwrapped_ticks = PS_UNWRAPPED_RECENT;
    t->blocked_ns[cause] += t->unattributed_ns;
    t->unattributed_ns = 0;
}

/* libgomp's workers wait on raw futexes (its own inline system calls, which
 * no wrapper sees): a lock (omp_set_lock, critical) waits for the value -1,
 * its dock and barriers for a generation count. At the dock a worker waits
 * for the next parallel region, at a barrier for the team's stragglers: no
 * work for it either way. ARGS: the rest of /proc/.../syscall after the
 * number ("0xADDR 0x80 0xffffffff ..."). */
/* The operation (without FUTEX_PRIVATE_FLAG) and the value of a futex call's
 * arguments as /proc/.../syscall gives them ("0xADDR 0xOP 0xVAL ..."). */
static unsigned long futex_args(const char *args, unsigned long *val)
{
    char *end;
    strtoul(args, &end, 16);                      /* the address */
    unsigned long op = strtoul(end, &end, 16) & 127;
    *val = strtoul(end, NULL, 16);
    return op;
}

int ps_sampler_gomp_futex_cause(const char *args)
{
    unsigned long val;
    futex_args(args, &val);
    return (unsigned)val == 0xffffffffu ? PS_LOCK : PS_IDLE;
}

int ps_sampler_futex_cause(const char *args)
{
    unsigned long val, op = futex_args(args, &val);
    if (op == 6 || op == 13)                      /* FUTEX_LOCK_PI, FUTEX_LOCK_PI2 */
        return PS_LOCK;
    return (unsigned)val == 2 ? PS_LOCK : PS_COND;
}

/* Waits that no wrapper saw (read inside fread, a raw syscall(SYS_read)):
 * blocked time that accumulates unattributed goes to the call the thread is
 * caught blocked in. A little is always pending (schedstat lags by a tick),
 * so only a real amount is looked for. */
static void sample_unwrapped(struct ps_thread *t, uint64_t dt)
{
    if (t->unattributed_ns < dt / 20 + 1000000 || __atomic_load_n(&t->cur_since_ns, __ATOMIC_ACQUIRE))
        return;
    char buf[128];
    if (read_task_file(t->tid, "syscall", buf, sizeof buf) <= 0 || buf[0] < '0' || buf[0] > '9')
        return;
    char *args;
    long nr = strtol(buf, &args, 10);
    int cause = ps_sampler_cause_of_syscall(nr);
    if (cause < 0 || __atomic_load_n(&t->cur_since_ns, __ATOMIC_ACQUIRE))
        return;
    if (nr == SYS_futex && t->pool >= 0 && ps_expand_is_gomp(t->pool))
        cause = ps_sampler_gomp_futex_cause(args);
    else if (cause != PS_SLEEP && t->pool >= 0 && t->task_begin_ns == 0 && t->tasks)
        cause = PS_IDLE;         /* between tasks: waiting for work in a way we cannot see */
    else if (nr == SYS_futex)
        cause = ps_sampler_futex_cause(args);
    unattributed_to(t, cause);
}

/* Is site where t's pool waits for work: its idle site, or a site where its
 * idle object was waited on, when that is a polled fd (a lone event loop's
 * epoll fd is learned as an object, not a site, and its first waits, for its
 * first connection, ended as io before it was)? */
static int poll_site_is_idle(const struct ps_thread *t, void *site)
{
    if (ps_pool_is_idle_site(t, site))
        return 1;
    struct ps_pool *p = ps_pool_of(t);
    uintptr_t key = p ? __atomic_load_n(&p->idle_obj, __ATOMIC_ACQUIRE) : 0;
    struct ps_obj *o = key ? ps_obj_find(key) : NULL;
    if (!o || o->kind != PS_K_POLL)
        return 0;
    for (int i = 0; i < PS_OBJ_SITES; i++)
        if (__atomic_load_n(&o->sites[i].site, __ATOMIC_RELAXED) == site)
            return 1;
    return 0;
}

/* The pool's wait for work is learned from waits that already ended, as
 * io: a worker's long polls at the call site learned as the idle one were
 * idle from the first (memcached's workers wait there for their first client
 * for as long as the program has been up). Moved in labelled time, which the
 * agent alone writes; what is not labelled yet moves at a later sample. */
static void relabel_idle_polls(struct ps_thread *t)
{
    void *site = __atomic_load_n(&t->poll_site, __ATOMIC_ACQUIRE);
    if (!site || !poll_site_is_idle(t, site))
        return;
    uint64_t seen = __atomic_load_n(&t->poll_site_ns, __ATOMIC_ACQUIRE);
    uint64_t x = seen > t->poll_moved_ns ? seen - t->poll_moved_ns : 0;
    if (x > t->blocked_ns[PS_IO])
        x = t->blocked_ns[PS_IO];
    t->blocked_ns[PS_IO] -= x;
    t->blocked_ns[PS_IDLE] += x;
    t->poll_moved_ns += x;
    /* and each of them that returned work started a task */
    __atomic_store_n(&t->tasks_before, __atomic_load_n(&t->poll_site_work, __ATOMIC_ACQUIRE), __ATOMIC_RELEASE);
}

/* An exited thread's last period, from what it recorded at exit (its CPU,
 * run-queue delay, switches): what is still unattributed goes to the cause
 * of the unwrapped wait last caught, as it cannot be caught in the act any more. */
static void close_unwrapped(struct ps_thread *t)
{
    if (t->died_ns && t->died_ns >= t->last_sample_ns) {
        struct ps_partition_in in = { .end = t->died_ns, .cpu = t->cpu_ns, .runq = t->runq_ns,
                                      .runs = t->runs_seen, .lag = 0, .vswitches = exit_vswitches };
        raw_waits(t, t->died_ns, &in);
        ps_sampler_partition(t, &in);
        relabel_idle_polls(t);
        if (t->last_unwrapped_cause && t->unattributed_ns > 1000000)
            unattributed_to(t, t->last_unwrapped_cause - 1);
    }
    __atomic_store_n(&t->unwrapped_closed, 1, __ATOMIC_RELEASE);
}

static void read_name(struct ps_thread *t)
{
    char buf[PS_NAME_LEN + 2];
    ssize_t n = read_task_file(t->tid, "comm", buf, sizeof buf);
    if (n <= 0)
        return;
    if (buf[n - 1] == '\n')
        buf[n - 1] = 0;
    if (strncmp(buf, t->name, PS_NAME_LEN)) {
        memcpy(t->name, buf, PS_NAME_LEN);
        t->name[PS_NAME_LEN - 1] = 0;
        if (t->tid != getpid()) {
            char prefix[PS_NAME_LEN];
            ps_pool_prefix(t->name, prefix);
            if (t->pool >= 0)
                ps_instance_renamed(t, prefix);
            else
                t->pool = ps_pool_join(t, prefix);
        }
    }
}

/* A thread still inside the wrapped wait it was blocked in across its last
 * reading is not read again this tick (most ticks): idle workers are most of
 * the threads of a big program, and reading each one's schedstat (three
 * system calls) every tick was most of the agent's cost (7 us per thread per
 * tick). Nothing is labelled for it meanwhile: its next reading covers the
 * whole time since, as a longer interval would, so the partition is the same
 * (a thread woken but still waiting for a core inside our wrapper is not
 * blocked, and only schedstat can say so). Every PS_STILL_EVERY-th tick it is
 * read anyway (staggered by record), so its figures lag by at most that many
 * intervals, as do the pool history's. */
#define PS_STILL_EVERY 10
static int still_blocked(const struct ps_thread *t, int final, unsigned turn)
{
    uint64_t since = __atomic_load_n(&t->cur_since_ns, __ATOMIC_ACQUIRE);
    return !final && since && since == t->still_since_ns && t->name[0] && turn % PS_STILL_EVERY;
}

static void sample_thread(struct ps_thread *t, uint64_t now, int final, int names)
{
    if (t->unwrapped_ticks)
        t->unwrapped_ticks--;
    char buf[128];
    uint64_t cpu, runq, runs;
    uint64_t since = __atomic_load_n(&t->cur_since_ns, __ATOMIC_ACQUIRE);
    if (read_task_file(t->tid, "schedstat", buf, sizeof buf) <= 0 ||
        ps_sampler_parse_schedstat(buf, &cpu, &runq, &runs))
        return;
    /* In one wrapped wait across this reading and the one before, with no
     * CPU and no run-queue time in between: blocked, not a span left open by
     * a longjmp out of the wrapper while the thread runs on. */
    int across = since && __atomic_load_n(&t->cur_since_ns, __ATOMIC_ACQUIRE) == since;
    uint64_t cpu_b = cpu > t->base_cpu_ns ? cpu - t->base_cpu_ns : 0;
    uint64_t runq_b = runq > t->base_runq_ns ? runq - t->base_runq_ns : 0;
    t->still_since_ns = across && since == t->read_since_ns && !t->needs_base && cpu_b <= t->cpu_ns &&
                        runq_b <= t->runq_ns ? since : 0;
    t->read_since_ns = across ? since : 0;
    if (t->needs_base) {         /* found in /proc: its life is measured from here */
        t->needs_base = 0;
        t->base_cpu_ns = cpu;
        t->base_runq_ns = runq;
        t->born_ns = now;
    }
    cpu = cpu > t->base_cpu_ns ? cpu - t->base_cpu_ns : 0;
    runq = runq > t->base_runq_ns ? runq - t->base_runq_ns : 0;
    ps_atomic_max(&t->cpu_ns, cpu);
    ps_atomic_max(&t->runq_ns, runq);
    struct ps_partition_in in = { .end = now, .cpu = t->cpu_ns, .runq = t->runq_ns, .runs = runs,
                                  .lag = PS_SCHEDSTAT_LAG_NS, .vswitches = live_vswitches };
    raw_waits(t, now, &in);
    if (in.io_file_n > t->io_file_seen_n && in.runq > t->part_runq_ns + PS_PREEMPT_RUNQ_NS)
        read_preempts(t, now, &in);
    ps_sampler_partition(t, &in);
    relabel_idle_polls(t);
    if (t->last_sample_ns && now > t->last_sample_ns)
        sample_unwrapped(t, now - t->last_sample_ns);
    t->last_sample_ns = now;
    ps_trace_sample(t, now);
    if (names || !t->name[0])
        read_name(t);
    if (final)
        read_switches(t);
}

/* A thread started through our pthread_create whose trampoline has not run
 * yet: its record is live with tid 0, so an unknown tid in /proc may be it. */
static int start_pending(void)
{
    int hwm = ps_thread_hwm();
    for (int i = 0; i < hwm; i++) {
        struct ps_thread *t = &ps_threads[i];
        if (t->via_create && !__atomic_load_n(&t->tid, __ATOMIC_ACQUIRE) &&
            __atomic_load_n(&t->state, __ATOMIC_ACQUIRE) == PS_T_LIVE)
            return 1;
    }
    return 0;
}

/* A thread of ours that ran its exit handler (record EXITED) stays listed in
 * /proc until it is gone: without this it was claimed again as an unknown
 * thread, its whole CPU counted twice. A tid reused by a new foreign thread
 * waits at most a second. */
static int exiting(int tid, uint64_t now)
{
    int hwm = ps_thread_hwm();
    for (int i = 0; i < hwm; i++) {
        struct ps_thread *t = &ps_threads[i];
        if (t->tid == tid && __atomic_load_n(&t->state, __ATOMIC_ACQUIRE) == PS_T_EXITED &&
            t->died_ns + 1000000000ull > now)
            return 1;
    }
    return 0;
}

/* Threads that did not come through our pthread_create: the main thread,
 * threads started before our constructor or by code that resolved
 * pthread_create for itself (jemalloc's background threads).
 * A thread we started is in /proc before its trampoline records its tid (on a
 * loaded machine for milliseconds): claiming it then gave it a second record,
 * in a nameless pool, with its CPU counted twice. So an unknown tid waits for
 * the next pass while any start is pending, and is looked up once more after
 * that check (its trampoline may have run in between). */
/* The process's thread count (/proc/self/stat, field 20), -1 unknown. */
static long threads_in_proc(void)
{
    char buf[1024];
    if (ps_file_read_small("/proc/self/stat", buf, sizeof buf) <= 0)
        return -1;
    char *p = strrchr(buf, ')');         /* the name may hold spaces and parentheses */
    for (int field = 2; p && field < 20; field++)
        p = strchr(p + 1, ' ');
    return p ? strtol(p + 1, NULL, 10) : -1;
}

/* Every thread in /proc has a record already: as many live records (and the
 * agent) as the kernel counts threads. Listing /proc/self/task is the
 * kernel's most expensive answer to the agent (a directory entry per
 * thread, every tick), and unknown threads are rare. */
static int all_known(void)
{
    long n = threads_in_proc();
    if (n < 0)
        return 0;
    long live = 1;                       /* the agent */
    int hwm = ps_thread_hwm();
    for (int i = 0; i < hwm; i++)
        live += __atomic_load_n(&ps_threads[i].state, __ATOMIC_ACQUIRE) == PS_T_LIVE;
    /* A table full of live records has no room for the others (claiming
     * said so once): looking each of them up, every tick, to find no room
     * cost 0.2 s of CPU a tick at 10,000 threads, and the interval stretched
     * to seconds for all the threads that are measured. */
    return live == n || live - 1 >= PS_MAX_THREADS;
}

static void discover(void)
{
    static int seen_fail;
    if (all_known())
        return;
    int fd = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        ps_log_once(&seen_fail, "cannot read /proc/self/task (%d): only threads we start are measured", errno);
        return;
    }
    char buf[4096];
    long n;
    while ((n = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0) {
        for (long off = 0; off < n;) {
            struct dirent64 *d = (struct dirent64 *)(buf + off);
            off += d->d_reclen;
            int tid = atoi(d->d_name);
            if (tid <= 0 || tid == ps_agent_rec.tid || tid == ps_agent_prev_tid || ps_thread_by_tid(tid))
                continue;
            if (start_pending() || ps_thread_by_tid(tid) || exiting(tid, ps_now_ns()))
                continue;
            struct ps_thread *t = ps_thread_claim(tid, NULL);
            if (t) {
                t->pool = -1;
                t->needs_base = 1;
            }
        }
    }
    close(fd);
}

/* Threads of ours that vanished without running our exit handler. */
static void reap(struct ps_thread *t)
{
    char path[48];
    ps_fmt(path, sizeof path, "/proc/self/task/%d", t->tid);
    if (access(path, F_OK) != 0 && errno == ENOENT) {
        t->died_ns = t->last_sample_ns;
        __atomic_store_n(&t->state, PS_T_EXITED, __ATOMIC_RELEASE);
    }
}

void ps_sampler_tick(uint64_t now, int final)
{
    static unsigned ticks;
    int names = final || (ticks++ % 10) == 0;
    discover();
    int hwm = ps_thread_hwm();
    for (int i = 0; i < hwm; i++) {
        struct ps_thread *t = &ps_threads[i];
        int st = __atomic_load_n(&t->state, __ATOMIC_ACQUIRE);
        if ((st == PS_T_LIVE || st == PS_T_EXITED) && !t->ignore)
            ps_lock_ledger_fold(t, final);
        if (st == PS_T_EXITED && !t->unwrapped_closed && !t->ignore)
            close_unwrapped(t);
        if (st != PS_T_LIVE || t->tid <= 0 || t->ignore)
            continue;
        if (still_blocked(t, final, ticks + (unsigned)i))
            continue;                    /* alive: inside our wrapper */
        if (!t->via_create && t->last_sample_ns && names)
            reap(t);
        if (__atomic_load_n(&t->state, __ATOMIC_ACQUIRE) == PS_T_LIVE)
            sample_thread(t, now, final, names);
    }
}
