/* ptrace.c: stopping a whole process for one instant and copying what a dump
 * needs (ptrace.h, step 1). Only `poolshim dump` runs this, never the shim: a
 * process cannot trace its own threads.
 *
 * The rules it keeps:
 * - PTRACE_SEIZE, never PTRACE_ATTACH: ATTACH sends SIGSTOP, which the
 *   program's parent sees (waitpid WUNTRACED, SIGCHLD). A seized thread runs
 *   on until PTRACE_INTERRUPT; the kernel stops it where it is and, since no
 *   handler of the program runs, restarts its interrupted call on resume.
 * - Threads come and go: the task list is read again after every round of
 *   seizing, and once more with every thread stopped, until no new one shows.
 * - Between the first interrupt and the last detach this process only makes
 *   ptrace and process_vm_readv calls and allocates from its own heap: nothing
 *   there waits for the program to move. A thread that does not stop (it is
 *   in uninterruptible sleep) is given up at a deadline and marked `timeout`.
 * - A signal that arrives while a thread is stopped (signal-delivery-stop) is
 *   handed back to it by PTRACE_DETACH, so the program still gets it. */
#include "ptrace.h"
#include "text.h"
#include <dirent.h>
#include <sched.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

const char *const pt_status_name[] = { "error", "ok", "exited", "timeout" };

/* How long stopped threads wait for the last ones to stop. A running thread
 * stops within microseconds of the interrupt once it has a CPU; this covers a
 * loaded machine's scheduling delay (each interrupted thread must be run once
 * to stop: ~80 us apiece on two loaded cores), not a thread in uninterruptible
 * sleep. */
#define STOP_DEADLINE_MS(n) (250 + ((n) < 17500 ? (n) / 10 : 1750))
/* A thread that missed the deadline is detached if it stops within this. */
#define STRAGGLER_MS 1000
/* Stack copied from SP up: the frames a dump shows live in the first few KiB;
 * the mapping's end bounds it for thread stacks (glibc puts its descriptor at
 * the top). */
#define STACK_MAX (256u << 10)
#define STACK_NO_MAP (64u << 10)      /* SP in no known mapping (a stack made after maps was read) */
#define RED_ZONE 128                  /* x86-64 leaf functions may keep data below SP */
#define PAGE 4096u
#define MAX_ROUNDS 64                 /* task listings before giving up on a thread storm */

#define PT_ERESTARTSYS 512            /* the kernel's restart codes (include/linux/errno.h) */
#define PT_ERESTART_RESTARTBLOCK 516

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

/* A whole (small, /proc) file, NUL-terminated; NULL with errno on failure. */
static char *slurp(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return NULL;
    size_t cap = 8192, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (n + 1 >= cap) {
            char *nb = realloc(buf, cap *= 2);
            if (!nb) { free(buf); buf = NULL; break; }
            buf = nb;
        }
        ssize_t r = read(fd, buf + n, cap - n - 1);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) { int e = errno; free(buf); buf = NULL; errno = e; break; }
        if (r == 0) break;
        n += (size_t)r;
    }
    close(fd);
    if (buf) {
        buf[n] = 0;
        if (len) *len = n;
    }
    return buf;
}

/* The number after "Key:" in a /proc status text, or dflt. */
static long long status_field(const char *status, const char *key, int base, long long dflt)
{
    char k[40];
    snprintf(k, sizeof k, "\n%s:", key);
    const char *p = status ? strstr(status, k) : NULL;
    return p ? strtoll(p + strlen(k), NULL, base) : dflt;
}

/* --- refusals: one line naming the cause and the fix -------------------- */

static int have_cap_sys_ptrace(void)
{
    char *s = slurp("/proc/self/status", NULL);
    unsigned long long eff = (unsigned long long)status_field(s, "CapEff", 16, 0);
    free(s);
    return (eff >> 19) & 1;                     /* CAP_SYS_PTRACE */
}

static int yama_scope(void)
{
    char *s = slurp("/proc/sys/kernel/yama/ptrace_scope", NULL);
    int v = s ? atoi(s) : 0;
    free(s);
    return v;
}

static int explain_eperm(int pid, char *msg, size_t n)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    char *st = slurp(path, NULL);
    char *me = slurp("/proc/self/status", NULL);
    long long tracer = status_field(st, "TracerPid", 10, 0);
    long long uid = status_field(st, "Uid", 10, -1);
    long long myseccomp = status_field(me, "Seccomp", 10, 0);
    free(st);
    free(me);
    int cap = have_cap_sys_ptrace(), yama = yama_scope();
    uid_t my = geteuid();
    if (tracer > 0) {
        char comm[64] = "?";
        snprintf(path, sizeof path, "/proc/%lld/comm", tracer);
        char *c = slurp(path, NULL);
        if (c) { snprintf(comm, sizeof comm, "%.*s", (int)strcspn(c, "\n"), c); free(c); }
        return an_errmsg(msg, n, "already traced by process %lld (%s), and a process has one tracer at a time: "
                    "detach that debugger or tracer, then retry", tracer, comm);
    }
    if (yama == 3)
        return an_errmsg(msg, n, "kernel.yama.ptrace_scope is 3: no process may be traced until a reboot; "
                    "start the program under `poolshim run` for in-process dumps");
    if (uid >= 0 && (uid_t)uid != my && !cap)
        return an_errmsg(msg, n, "belongs to uid %lld and you are uid %u: run poolshim dump as that user, "
                    "or as root (sudo)", uid, (unsigned)my);
    if (yama == 2 && !cap)
        return an_errmsg(msg, n, "kernel.yama.ptrace_scope is 2: only CAP_SYS_PTRACE may trace: run poolshim dump "
                    "as root (sudo)");
    if (yama == 1 && !cap)
        return an_errmsg(msg, n, "kernel.yama.ptrace_scope is 1: only an ancestor may trace it: run poolshim dump "
                    "with sudo, start the program under `poolshim run`, or set kernel.yama.ptrace_scope=0");
    if (myseccomp == 2)
        return an_errmsg(msg, n, "ptrace is refused by a seccomp filter on poolshim (a container's default "
                    "profile?): run the container with --cap-add=SYS_PTRACE or a profile that allows "
                    "ptrace and process_vm_readv");
    if (my == 0 && !cap)
        return an_errmsg(msg, n, "root without CAP_SYS_PTRACE (a container?): add the capability "
                    "(docker run --cap-add=SYS_PTRACE, or securityContext.capabilities.add: SYS_PTRACE)");
    if (!cap)
        return an_errmsg(msg, n, "not dumpable (a setuid/setgid program, or it called prctl(PR_SET_DUMPABLE, 0)): "
                    "run poolshim dump as root (sudo)");
    return an_errmsg(msg, n, "the kernel refused to trace it (EPERM) although poolshim has CAP_SYS_PTRACE: "
                "a security module (SELinux, AppArmor) may forbid ptrace here");
}

/* --- threads --------------------------------------------------------------- */

static int cmp_tid(const void *a, const void *b)
{
    const struct pt_thread *x = a, *y = b;
    return (x->tid > y->tid) - (x->tid < y->tid);
}

/* Thread tid among the first n (sorted) of c->th, or NULL. */
static struct pt_thread *find_in(struct pt_capture *c, int n, int tid)
{
    struct pt_thread key = { .tid = tid };
    return n ? bsearch(&key, c->th, (size_t)n, sizeof *c->th, cmp_tid) : NULL;   /* th is NULL at first */
}

static struct pt_thread *find(struct pt_capture *c, int tid) { return find_in(c, c->n, tid); }

/* The state letter of /proc/PID/task/TID/stat (after the command's ')'), or '?'. */
static char task_state(int pid, int tid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task/%d/stat", pid, tid);
    char *s = slurp(path, NULL), *r = s ? strrchr(s, ')') : NULL;
    char st = r && r[1] == ' ' ? r[2] : '?';
    free(s);
    return st;
}

/* Seizes every listed thread not seized yet; returns how many were new, or
 * -1 (errno) if the process itself cannot be seized. */
static int seize_new(struct pt_capture *c)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", c->pid);
    DIR *d = opendir(path);
    if (!d) return -1;
    int added = 0, first = c->n == 0, err = 0, sorted = c->n;
    struct dirent *e;
    while ((e = readdir(d))) {
        int tid = atoi(e->d_name);
        if (tid <= 0 || find_in(c, sorted, tid)) continue;
        if (ptrace(PTRACE_SEIZE, tid, 0, 0) != 0) {
            int why = errno;
            if (why == ESRCH) continue;              /* exited since the listing */
            if (task_state(c->pid, tid) == 'Z') continue;   /* a main thread that exited before the others */
            if (first && tid == c->pid) { err = why; break; }
            continue;                                /* one thread we may not trace: left out */
        }
        if (c->n == c->cap) {
            int nc = c->cap ? c->cap * 2 : 64;
            struct pt_thread *nt = realloc(c->th, sizeof *nt * (size_t)nc);
            if (!nt) { ptrace(PTRACE_DETACH, tid, 0, 0); err = ENOMEM; break; }
            c->th = nt;
            c->cap = nc;
        }
        memset(&c->th[c->n], 0, sizeof c->th[c->n]);
        c->th[c->n].tid = tid;
        c->th[c->n].sysno = -1;
        c->n++;
        added++;
    }
    closedir(d);
    qsort(c->th, (size_t)c->n, sizeof *c->th, cmp_tid);
    if (err) { errno = err; return -1; }
    return added;
}

/* --- what waitpid(-1) collects that is not this capture's ------------------ */

#define REAPED_CAP 16
static struct { int pid, status; } reaped[REAPED_CAP];
static int nreaped;
static int *lost;                  /* threads still seized after pt_detach_stragglers */
static int nlost, lost_cap;

static void note_reaped(int pid, int status)
{
    if (nreaped < REAPED_CAP) {
        reaped[nreaped].pid = pid;
        reaped[nreaped++].status = status;
    }
}

int pt_take_reaped(int pid, int *status)
{
    for (int i = 0; i < nreaped; i++)
        if (reaped[i].pid == pid) {
            *status = reaped[i].status;
            reaped[i] = reaped[--nreaped];
            return 1;
        }
    return 0;
}

/* A stop of a thread no capture holds any more (one given up on): let it go,
 * with the signal it stopped for, if any. */
static void release_unknown(pid_t t, int st)
{
    if (!WIFSTOPPED(st)) {
        note_reaped(t, st);
        return;
    }
    ptrace(PTRACE_DETACH, t, 0, (void *)(uintptr_t)((st >> 16) == PTRACE_EVENT_STOP ? 0 : WSTOPSIG(st)));
    for (int i = 0; i < nlost; i++)
        if (lost[i] == t) lost[i--] = lost[--nlost];
}

int pt_detach_lost(void)
{
    for (int i = 0; i < nlost; i++) {
        int st;
        pid_t r = waitpid(lost[i], &st, __WALL | WNOHANG);
        if (r == 0) continue;                        /* still running (or in D state) */
        if (r == lost[i]) release_unknown(r, st);
        if (r < 0 || !WIFSTOPPED(st)) lost[i] = lost[--nlost];   /* gone */
        i = -1;                                      /* the list changed: look again from the start */
        if (!nlost) break;
    }
    return nlost;
}

/* Between two looks at the stops: short next to a thread's stop (tens of us),
 * long next to the cost of being woken once per stopping thread. */
#define POLL_US 100

/* Collects the stop (or the end) of every interrupted thread until the
 * deadline. It polls with WNOHANG rather than blocking in waitpid: a blocked
 * tracer is woken by each thread that stops, and running SCHED_FIFO it would
 * take the CPU from the next thread on its way to its stop, a thousand times
 * over for a thousand threads. */
static void wait_stops(struct pt_capture *c, int want, int deadline_ms)
{
    double end = now_ms() + deadline_ms;
    int got = 0;
    while (got < want) {
        int st;
        pid_t t = waitpid(-1, &st, __WALL | WNOHANG);
        if (t < 0 && errno == EINTR) continue;
        if (t < 0) break;                            /* ECHILD: nothing left to wait for */
        if (t == 0) {
            if (now_ms() >= end) break;
            struct timespec ts = { 0, POLL_US * 1000 };
            nanosleep(&ts, NULL);
            continue;
        }
        struct pt_thread *p = find(c, t);
        if (!p) { release_unknown(t, st); continue; }
        if (!WIFSTOPPED(st)) note_reaped(t, st);     /* the program's end: its parent may be us */
        if (p->status != PT_NONE) continue;
        if (WIFSTOPPED(st)) {
            p->status = PT_STOPPED;
            /* A stop that is not our interrupt (nor a group stop) is a signal
             * on its way to the thread: give it back at detach. */
            if ((st >> 16) != PTRACE_EVENT_STOP) p->resume_sig = WSTOPSIG(st);
        } else {
            p->status = PT_EXITED;
        }
        got++;
    }
}

int pt_in_syscall(const struct pt_thread *t)
{
    return t->status == PT_STOPPED && t->sysno >= 0;
}

/* --- memory ---------------------------------------------------------------- */

static const struct pt_map *map_of(const struct pt_capture *c, uint64_t addr)
{
    int lo = 0, hi = c->nmaps - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (addr < c->maps[mid].start) hi = mid - 1;
        else if (addr >= c->maps[mid].end) lo = mid + 1;
        else return &c->maps[mid];
    }
    return NULL;
}

/* Reads [addr, addr+len) of tid's memory into buf, page by page in one call,
 * so an unmapped page ends the copy there; returns the bytes read. */
static size_t read_mem(int tid, uint64_t addr, void *buf, size_t len)
{
    enum { MAXIOV = 80 };
    struct iovec local = { buf, len }, remote[MAXIOV];
    int k = 0;
    uint64_t a = addr, end = addr + len;
    while (a < end && k < MAXIOV) {
        uint64_t next = (a / PAGE + 1) * PAGE;
        if (next > end) next = end;
        remote[k].iov_base = (void *)(uintptr_t)a;
        remote[k].iov_len = (size_t)(next - a);
        k++;
        a = next;
    }
    local.iov_len = (size_t)(a - addr);
    ssize_t r = process_vm_readv(tid, &local, 1, remote, (unsigned long)k, 0);
    return r > 0 ? (size_t)r : 0;
}

static void copy_thread(struct pt_capture *c, struct pt_thread *t)
{
    struct iovec iov = { &t->regs, sizeof t->regs };
    if (ptrace(PTRACE_GETREGSET, t->tid, (void *)(uintptr_t)NT_PRSTATUS, &iov) != 0) {
        if (errno == ESRCH) t->status = PT_EXITED;   /* killed while stopped */
        return;
    }
    /* At an interrupt stop PTRACE_GET_SYSCALL_INFO says "none": the call the
     * thread was blocked in is orig_rax, with a restart code in rax. */
    t->regs_ok = 1;
    long long rax = (long long)t->regs.rax;
    if ((long long)t->regs.orig_rax >= 0 && rax <= -PT_ERESTARTSYS && rax >= -PT_ERESTART_RESTARTBLOCK) {
        t->sysno = (long)t->regs.orig_rax;
        uint64_t a[6] = { t->regs.rdi, t->regs.rsi, t->regs.rdx, t->regs.r10, t->regs.r8, t->regs.r9 };
        memcpy(t->arg, a, sizeof a);
    }
    uint64_t sp = t->regs.rsp, lo = sp > RED_ZONE ? sp - RED_ZONE : 0, hi;
    const struct pt_map *m = map_of(c, sp);
    if (m) {
        if (lo < m->start) lo = m->start;
        hi = m->end - sp > STACK_MAX ? sp + STACK_MAX : m->end;
    } else {
        hi = sp + STACK_NO_MAP;
    }
    t->stack = malloc((size_t)(hi - lo));
    if (t->stack) {
        t->stack_lo = lo;
        t->stack_len = read_mem(t->tid, lo, t->stack, (size_t)(hi - lo));
        c->stack_bytes += t->stack_len;
    }
    /* restart_syscall may be a timed futex wait resumed: its arguments are the futex's. */
    if ((t->sysno == SYS_futex || t->sysno == SYS_restart_syscall) && t->arg[0] >= PT_OBJ_BEFORE) {
        t->obj_lo = t->arg[0] - PT_OBJ_BEFORE;
        t->obj_len = read_mem(t->tid, t->obj_lo, t->obj, sizeof t->obj);
    }
}

static void parse_maps(struct pt_capture *c)
{
    int cap = 0;
    for (char *line = c->maps_lines, *nl; line && *line; line = nl ? nl + 1 : NULL) {
        nl = strchr(line, '\n');
        if (nl) *nl = 0;
        unsigned long long s, e, off;
        char perms[5];
        int pos = 0;
        if (sscanf(line, "%llx-%llx %4s %llx %*s %*s%n", &s, &e, perms, &off, &pos) < 4) continue;
        if (c->nmaps == cap) {
            cap = cap ? cap * 2 : 256;
            struct pt_map *nm = realloc(c->maps, sizeof *nm * (size_t)cap);
            if (!nm) break;
            c->maps = nm;
        }
        char *p = line + pos;
        while (*p == ' ') p++;
        struct pt_map *m = &c->maps[c->nmaps++];
        m->start = s;
        m->end = e;
        m->offset = off;
        memcpy(m->perms, perms, 5);
        m->path = p;
    }
}

/* --- the capture ------------------------------------------------------------ */

static void detach_all(struct pt_capture *c)
{
    for (int i = 0; i < c->n; i++) {
        struct pt_thread *t = &c->th[i];
        if (t->status == PT_STOPPED)
            ptrace(PTRACE_DETACH, t->tid, 0, (void *)(uintptr_t)t->resume_sig);
    }
}

void pt_detach_stragglers(struct pt_capture *c)
{
    int want = 0;
    for (int i = 0; i < c->n; i++) want += c->th[i].status == PT_TIMEOUT;
    if (!want) return;
    for (int i = 0; i < c->n; i++)
        if (c->th[i].status == PT_TIMEOUT) c->th[i].status = PT_NONE;
    wait_stops(c, want, STRAGGLER_MS);
    for (int i = 0; i < c->n; i++) {
        struct pt_thread *t = &c->th[i];
        if (t->status == PT_STOPPED) ptrace(PTRACE_DETACH, t->tid, 0, (void *)(uintptr_t)t->resume_sig);
        /* Still running: the kernel detaches it when this process exits; a
         * tracer that lives on lets it go with pt_detach_lost. */
        else if (t->status == PT_NONE) {
            if (nlost == lost_cap) {
                int nc = lost_cap ? lost_cap * 2 : 16, *nl = realloc(lost, sizeof *nl * (size_t)nc);
                if (nl) { lost = nl; lost_cap = nc; }
            }
            if (nlost < lost_cap) lost[nlost++] = t->tid;
        }
        t->status = PT_TIMEOUT;
    }
}

int pt_capture(int pid, struct pt_capture *c, char *msg, size_t n, void (*before_resume)(void *), void *arg)
{
    memset(c, 0, sizeof *c);
    c->pid = pid;
    clock_gettime(CLOCK_MONOTONIC, &c->began);
    if (pid == getpid()) return an_errmsg(msg, n, "is poolshim itself: a process cannot trace its own threads");
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/maps", pid);
    c->maps_text = slurp(path, &c->maps_len);
    if (!c->maps_text) {
        int e = errno;
        snprintf(path, sizeof path, "/proc/%d", pid);
        if (access(path, F_OK)) return an_errmsg(msg, n, "no such process");
        if (e == EACCES || e == EPERM) return explain_eperm(pid, msg, n);
        return an_errmsg(msg, n, "cannot read /proc/%d/maps: %s", pid, strerror(e));
    }
    /* libdwfl gets the text whole; the table points into a copy cut in lines. */
    c->maps_lines = malloc(c->maps_len + 1);
    if (!c->maps_lines) return an_errmsg(msg, n, "out of memory");
    memcpy(c->maps_lines, c->maps_text, c->maps_len + 1);
    parse_maps(c);

    /* Seize until a listing shows no thread we do not hold yet. The program
     * runs meanwhile: seizing does not stop anything. */
    double t0 = now_ms();
    int added;
    do {
        added = seize_new(c);
        if (added < 0) {
            int e = errno;
            pt_capture_free(c);
            if (e == ESRCH) return an_errmsg(msg, n, "no such process");
            if (e == EPERM) return explain_eperm(pid, msg, n);
            return an_errmsg(msg, n, "cannot trace it: %s", strerror(e));
        }
    } while (added > 0 && ++c->rounds < MAX_ROUNDS);
    if (!c->n) {
        pt_capture_free(c);
        return an_errmsg(msg, n, "no such process (it exited)");
    }
    double t1 = now_ms();
    c->seize_ms = t1 - t0;

    /* The instant: interrupt all, wait for all, and once they are stopped
     * look for threads born meanwhile (only a running thread can make one).
     * A resumed thread that wants a CPU would preempt us before the next
     * detach and stretch the others' pause: while the program is stopped we
     * run SCHED_FIFO when allowed (root), which nothing of the program's
     * ordinary threads can preempt; without the right we run as we are. */
    struct sched_param rt = { .sched_priority = 1 }, old_param;
    int old_policy = sched_getscheduler(0);
    sched_getparam(0, &old_param);
    c->realtime = old_policy == SCHED_OTHER && sched_setscheduler(0, SCHED_FIFO, &rt) == 0;
    for (int round = 0; round < MAX_ROUNDS; round++) {
        int want = 0;
        for (int i = 0; i < c->n; i++) {
            struct pt_thread *t = &c->th[i];
            if (t->status != PT_NONE || t->interrupted) continue;
            t->interrupted = 1;
            if (ptrace(PTRACE_INTERRUPT, t->tid, 0, 0) == 0) want++;
            else t->status = PT_EXITED;
        }
        if (want) wait_stops(c, want, STOP_DEADLINE_MS(c->n));
        int missing = 0;
        for (int i = 0; i < c->n; i++) missing += c->th[i].status == PT_NONE;
        if (missing) break;                            /* the deadline passed: no waiting for more */
        if (seize_new(c) <= 0) break;
    }
    for (int i = 0; i < c->n; i++) {
        struct pt_thread *t = &c->th[i];
        if (t->status == PT_NONE) t->status = PT_TIMEOUT;
    }
    double t2 = now_ms();
    c->stop_ms = t2 - t1;
    for (int i = 0; i < c->n; i++)
        if (c->th[i].status == PT_STOPPED) copy_thread(c, &c->th[i]);
    double t3 = now_ms();
    c->copy_ms = t3 - t2;
    if (before_resume) before_resume(arg);
    detach_all(c);
    c->pause_ms = now_ms() - t1;
    if (c->realtime) sched_setscheduler(0, old_policy, &old_param);
    /* Outside the pause: what the threads that did not stop are doing. */
    for (int i = 0; i < c->n; i++)
        if (c->th[i].status == PT_TIMEOUT) c->th[i].kstate = task_state(pid, c->th[i].tid);
    return 0;
}

void pt_capture_free(struct pt_capture *c)
{
    for (int i = 0; i < c->n; i++) free(c->th[i].stack);
    free(c->th);
    free(c->maps);
    free(c->maps_text);
    free(c->maps_lines);
    memset(c, 0, sizeof *c);
}
