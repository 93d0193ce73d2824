/* account.c: the slow path of a wait span (account.h) that lasted long
 * enough to have switched its thread out: whether an io span blocked.
 * A read or write that took 20 us or more either blocked (a page fault on
 * the mmap lock, the disk, a pipe with nothing in it) or ran that long on
 * the CPU or waiting for one (a large read from the page cache, preempted
 * inside on a busy machine). The span's length cannot tell: node's fs
 * workers block in reads for 20-200 us, shorter than a read preempted once.
 * The thread's voluntary switches can: a call that blocked switched it out
 * of its own accord. So a thread that has made such a call reads its count
 * (getrusage, a system call of ~0.4 us) at the end of every wait that long,
 * and a long io span that the count says blocked is filed with the waits
 * that block, one that did not with those that never blocked (sampler.c:
 * the partition). Called only from ps_span_close, by the thread itself. */
#include "confine.h"
#include "account.h"
#include <sys/resource.h>

/* Voluntary switches since the last reading, or -1 when there is none to
 * compare with (the first, after a failure, in a forked child whose counts
 * began again); the involuntary ones in t->ivsw_span. The switches of
 * unwrapped waits between the two spans, and preemptions between them, are
 * counted with the later one: a read after one is taken as blocked. */
static long vswitches(struct ps_thread *t)
{
    struct rusage ru;
    if (ps_is_confined() || getrusage(RUSAGE_THREAD, &ru) != 0) {   /* cannot fail; errno untouched if it does not */
        t->vsw_read = 0;
        return -1;
    }
    uint64_t v = (uint64_t)ru.ru_nvcsw, iv = (uint64_t)ru.ru_nivcsw;
    long d = t->vsw_read && v >= t->vsw_at_span ? (long)(v - t->vsw_at_span) : -1;
    t->ivsw_span = t->vsw_read && iv >= t->ivsw_at_span ? (long)(iv - t->ivsw_at_span) : 0;
    t->vsw_at_span = v;
    t->ivsw_at_span = iv;
    t->vsw_read = 1;
    return d;
}

void ps_span_long_io(struct ps_thread *t, uint64_t dt, long vsw)
{
    if (vsw < 0 && dt < PS_IO_BLOCKED_NS)
        return;                     /* short io (sampler.c) */
    int cls = t->cur_kind == PS_K_IO ? ps_fd_io_class(t->cur_obj) : PS_FD_BLOCKS;
    if (cls == PS_FD_NONBLOCKING ? dt >= PS_IO_BLOCKED_NS : vsw == 0) {   /* never blocked */
        __atomic_store_n(&t->io_nb_ns, t->io_nb_ns + dt, __ATOMIC_RELAXED);
        __atomic_store_n(&t->io_nb_n, t->io_nb_n + 1, __ATOMIC_RELAXED);
        return;
    }
    if (cls == PS_FD_NONBLOCKING)
        return;                     /* short io (sampler.c) */
    __atomic_store_n(&t->io_long_ns, t->io_long_ns + dt, __ATOMIC_RELAXED);
    __atomic_store_n(&t->io_long_n, t->io_long_n + 1, __ATOMIC_RELAXED);
    /* Each switch ends in a wait for a core: the voluntary ones beyond the
     * first each end in a wake-up, and the involuntary ones (preempted on
     * its way in or out: node's fs workers, four on two cores) in a return
     * to the run queue. Both are run-queue time the span holds. */
    long extra = (vsw > 1 ? vsw - 1 : 0) + (vsw > 0 ? t->ivsw_span : 0);
    if (extra > 0)
        __atomic_store_n(&t->io_long_wakes, t->io_long_wakes + (uint64_t)extra, __ATOMIC_RELAXED);
    if (vsw < 0 && cls == PS_FD_FILE) {      /* long perhaps only for want of a core */
        __atomic_store_n(&t->io_file_ns, t->io_file_ns + dt, __ATOMIC_RELAXED);
        __atomic_store_n(&t->io_file_n, t->io_file_n + 1, __ATOMIC_RELAXED);
    }
    if (t->cur_kind == PS_K_POLL && ps_thread_poll_site(t, t->cur_site))
        __atomic_store_n(&t->poll_site_ns, t->poll_site_ns + dt, __ATOMIC_RELEASE);
}

void ps_span_long_end(struct ps_thread *t, int cause, uint64_t dt)
{
    long vsw = vswitches(t);
    if (cause != PS_IO)
        return;
    if (t->cur_kind != PS_K_IO)
        vsw = -1;                   /* a poll's switches say nothing of its io */
    ps_span_long_io(t, dt, vsw);
}

static int ever_posted(const struct ps_obj *o)
{
    return __atomic_load_n(&o->posts_same, __ATOMIC_RELAXED) || __atomic_load_n(&o->posts_other, __ATOMIC_RELAXED);
}

/* Moves dt of t's sleeps back to cause c, the wait's own; the sampler
 * moves the labels it gave (sampler.c, ended_as): to idle as it does for
 * any wait for work, to cond by unslept_ns. */
static void unsleep(struct ps_thread *t, struct ps_obj *o, int c, uint64_t dt)
{
    if (!__atomic_load_n(&o->rewaited, __ATOMIC_RELAXED))
        __atomic_store_n(&o->rewaited, 1, __ATOMIC_RELAXED);
    if ((c != PS_COND && c != PS_IDLE) || !dt || t->wait_ns[PS_SLEEP] < dt || t->ran_out_ns < dt)
        return;
    __atomic_store_n(&t->wait_ns[c], t->wait_ns[c] + dt, __ATOMIC_RELAXED);
    __atomic_store_n(&t->wait_ns[PS_SLEEP], t->wait_ns[PS_SLEEP] - dt, __ATOMIC_RELAXED);
    __atomic_store_n(&t->ran_out_ns, t->ran_out_ns - dt, __ATOMIC_RELAXED);
    if (c == PS_COND)
        __atomic_store_n(&t->unslept_ns, t->unslept_ns + dt, __ATOMIC_RELAXED);
    ps_obj_on_wait(o, t, t->ran_out_site, dt);
}

void ps_wait_rewaited(struct ps_thread *t, struct ps_obj *o)
{
    if (!o)
        return;
    if (!ever_posted(o)) {
        /* held: nothing has posted it yet (x265's encoders at their first
         * frame), or nothing ever will (HotSpot's sleeps in a loop wait
         * again at once too, on an event that only an interrupt posts) */
        if (t->pend_key != o->key || t->pend_cause != t->ran_out_cause) {
            t->pend_key = o->key;
            t->pend_ns = 0;
            t->pend_cause = t->ran_out_cause;
        }
        t->pend_ns += t->ran_out_dt;
        return;
    }
    unsleep(t, o, t->ran_out_cause, t->ran_out_dt);
}

void ps_wait_posted(struct ps_thread *t, struct ps_obj *o)
{
    uint64_t dt = t->pend_ns;
    t->pend_key = 0;
    t->pend_ns = 0;
    if (o && ever_posted(o))
        unsleep(t, o, t->pend_cause, dt);
}
