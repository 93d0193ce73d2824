/* dump_write.c: collects and writes one dump (dump.h). Agent thread only.
 * Order matters: first what each thread is doing, from our records and from
 * /proc/self/task/TID/{status,syscall}, and the owners of the locks they wait
 * on (read before any signal, which would disturb them); then the stacks
 * (stacks.c: each thread pauses only for its own unwind); then the wait-for
 * graph, and only then the slow parts with no thread paused: symbols, pools, locks,
 * modules, the heap profile, and the atomic write. Working memory is mapped
 * per dump and unmapped after, so a dump never touches the host's malloc. */
#include "table.h"
#include "alloc.h"
#include "cores.h"
#include "trace.h"
#include "clock.h"
#include "config.h"
#include "dump.h"
#include "file.h"
#include "jsonw.h"
#include "log.h"
#include "modules.h"
#include "pool.h"
#include "report.h"
#include "stacks.h"
#include "symbol.h"
#include "syncobj.h"
#include "wfg.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define NS 1e-9
/* One deadline for all answers: 200 ms, plus 1 ms per thread (a thousand
 * threads woken on two busy cores take a while to all get a CPU). */
#define CAPTURE_TIMEOUT_MS(n) (200 + ((n) < 1800 ? (n) : 1800))
#define MAX_DUMP_BYTES (48u << 20)   /* past this, stacks are left out */

const char *const ps_dump_reason_name[] = { "none", "queue", "blocked", "cpu_plateau", "convoy", "deadlock",
                                            "request" };

enum tstate { T_RUNNING, T_IDLE, T_BLOCKED, T_PARKED };
static const char *const tstate_name[] = { "running", "idle", "blocked", "parked" };

struct dthread {
    int tid;
    struct ps_thread *rec;        /* NULL: a thread we have no record of */
    char pstate;                  /* kernel state letter */
    long sysno;                   /* -2 running, -1 unknown */
    uintptr_t arg[3];
    int state;                    /* enum tstate */
    int kind;                     /* blocked_on.kind (enum ps_kind), PS_K_NONE if not blocked */
    int other_sys;                /* blocked in a system call we have no kind for */
    int fd;                       /* >= 0 when the object is an fd */
    uintptr_t obj;
    uint64_t since_ns;
    uint64_t since_mark;          /* the wrapper's cur_since_ns when classified */
    int ended_before_stack;       /* that wait ended before the stack was taken */
    void *site;
    int owner;
    int from_proc;                /* blocked_on learnt from /proc, not a wrapper */
};

struct work {
    int n;
    struct dthread *th;
    struct ps_stack_req *req;
    size_t bytes;
};

static int list_tids(int *tids, int cap)
{
    int fd = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    char buf[4096];
    long n;
    int k = 0;
    while (k < cap && (n = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0)
        for (long off = 0; off < n && k < cap;) {
            struct dirent64 *d = (struct dirent64 *)(buf + off);
            off += d->d_reclen;
            int tid = atoi(d->d_name);
            if (tid > 0 && tid != ps_agent_rec.tid)
                tids[k++] = tid;
        }
    close(fd);
    return k;
}

/* State letter and whether the dump signal is blocked, from status. */
static void read_status(struct dthread *d, struct ps_stack_req *r)
{
    char path[64], buf[2048];
    ps_fmt(path, sizeof path, "/proc/self/task/%d/status", d->tid);
    if (ps_file_read_small(path, buf, sizeof buf) <= 0) {
        d->pstate = '?';
        return;
    }
    char *s = strstr(buf, "\nState:");
    if (s) {
        s += 7;
        while (*s == ' ' || *s == '\t')
            s++;
        d->pstate = *s;
    }
    char *b = strstr(buf, "\nSigBlk:");
    if (b) {
        unsigned long long mask = strtoull(b + 8, NULL, 16);
        int sig = ps_cfg.dump_signal;
        r->blocked_signal = sig >= 1 && sig <= 64 && (mask >> (sig - 1)) & 1;
    }
}

/* The thread that took the request's signal may still be leaving our handler,
 * whose mask blocks every signal (the main thread, for `poolshim dump PID`,
 * read as "blocks the signal" one dump in eight): look again for up to 20 ms. */
static void read_status_settled(struct dthread *d, struct ps_stack_req *r)
{
    read_status(d, r);
    for (int i = 0; i < 20 && r->blocked_signal && d->tid == ps_stacks_requester(); i++) {
        struct timespec ms = { 0, 1000000 };
        nanosleep(&ms, NULL);
        read_status(d, r);
    }
}

static void read_syscall(struct dthread *d)
{
    char path[64], buf[256];
    d->sysno = -1;
    ps_fmt(path, sizeof path, "/proc/self/task/%d/syscall", d->tid);
    if (ps_file_read_small(path, buf, sizeof buf) <= 0)
        return;
    if (!strncmp(buf, "running", 7)) {
        d->sysno = -2;
        return;
    }
    char *p = buf, *end;
    long nr = strtol(p, &end, 10);
    if (end == p)
        return;
    d->sysno = nr;
    for (int i = 0; i < 3; i++) {
        p = end;
        d->arg[i] = (uintptr_t)strtoull(p, &end, 16);
        if (end == p)
            break;
    }
}

static int is_fd_kind(int kind)
{
    return kind == PS_K_IO || kind == PS_K_POLL;
}

/* What a thread in no wrapper span is blocked on, from its system call. */
static void from_proc(struct dthread *d, struct work *wk)
{
    if (d->pstate != 'S' && d->pstate != 'D')
        return;
    d->from_proc = 1;
    d->fd = -1;
    switch (d->sysno) {
    case SYS_futex: {
        d->obj = d->arg[0];
        d->kind = PS_K_FUTEX;
        struct ps_obj *o = ps_obj_find(d->obj);
        if (o && (o->kind == PS_K_MUTEX || o->kind == PS_K_RWLOCK || o->kind == PS_K_FUTEX_LOCK)) {
            d->kind = o->kind;
            break;
        }
        /* A glibc mutex sleeps with FUTEX_WAIT(val 2) on its first word; its
         * owner field then names a thread of ours. */
        pthread_mutex_t m;
        if (d->arg[2] == 2 && ps_wfg_peek(d->obj, &m, sizeof m) == 0 && m.__data.__lock == 2 &&
            m.__data.__owner > 0)
            for (int i = 0; i < wk->n; i++)
                if (wk->th[i].tid == m.__data.__owner) {
                    d->kind = PS_K_MUTEX;
                    break;
                }
        break;
    }
    case SYS_read: case SYS_write: case SYS_pread64: case SYS_pwrite64: case SYS_readv: case SYS_writev:
    case SYS_recvfrom: case SYS_sendto: case SYS_recvmsg: case SYS_sendmsg: case SYS_accept:
    case SYS_accept4: case SYS_connect: case SYS_fsync: case SYS_fdatasync:
        d->kind = PS_K_IO;
        d->fd = (int)d->arg[0];
        break;
    case SYS_epoll_wait: case SYS_epoll_pwait:
        d->kind = PS_K_POLL;
        d->fd = (int)d->arg[0];
        break;
    case SYS_poll: case SYS_ppoll: case SYS_select: case SYS_pselect6:
        d->kind = PS_K_POLL;
        break;
    case SYS_nanosleep: case SYS_clock_nanosleep:
        d->kind = PS_K_SLEEP;
        break;
    case SYS_wait4: case SYS_waitid:
        d->kind = PS_K_JOIN;
        break;
    default:
        if (d->sysno >= 0) {
            d->other_sys = 1;
            d->obj = (uintptr_t)d->sysno;
        } else {
            d->from_proc = 0;
        }
    }
}

static void classify(struct dthread *d, struct work *wk, uint64_t now)
{
    struct ps_thread *t = d->rec;
    d->kind = PS_K_NONE;
    d->fd = -1;
    uint64_t since = t ? __atomic_load_n(&t->cur_since_ns, __ATOMIC_ACQUIRE) : 0;
    if (since) {
        d->kind = t->cur_kind;
        d->obj = t->cur_obj;
        d->site = t->cur_site;
        d->since_ns = now > since ? now - since : 0;
        d->since_mark = since;
        int cause = t->cur_cause;
        if (__atomic_load_n(&t->cur_since_ns, __ATOMIC_ACQUIRE) != since)
            d->kind = PS_K_NONE;          /* the wait ended while we looked */
        else
            d->state = cause == PS_IDLE ? T_IDLE : T_BLOCKED;
        if (is_fd_kind(d->kind) && (d->obj >> 63))
            d->fd = (int)(d->obj & 0xffffffff);
    }
    if (d->kind == PS_K_NONE) {
        from_proc(d, wk);
        d->state = d->kind != PS_K_NONE || d->other_sys ? T_BLOCKED : T_RUNNING;
        /* A worker between tasks waiting in a way no wrapper sees: idle. */
        if (d->state == T_BLOCKED && t && t->pool >= 0 && !t->task_begin_ns && t->tasks && d->kind != PS_K_MUTEX)
            d->state = T_IDLE;
    }
    if (t && t->throttled)
        d->state = T_PARKED;
}

static void find_owner(struct dthread *d, struct work *wk)
{
    if (d->kind == PS_K_MUTEX || d->kind == PS_K_RWLOCK) {
        d->owner = ps_wfg_lock_owner(d->kind, d->obj);
    } else if (d->kind == PS_K_JOIN && !d->from_proc) {
        for (int i = 0; i < wk->n; i++)
            if (wk->th[i].rec && (uintptr_t)wk->th[i].rec->self == d->obj &&
                __atomic_load_n(&wk->th[i].rec->state, __ATOMIC_ACQUIRE) == PS_T_LIVE)
                d->owner = wk->th[i].tid;
    }
    if (d->owner == d->tid)
        d->owner = 0;
}

/* --- symbols: a per-dump cache, threads of a pool share most frames ------- */

struct symc { uintptr_t addr; struct ps_sym s; int ok; };
#define SYMC_CAP 4096
static struct symc *symc;

static const struct symc *sym_of(uintptr_t addr)
{
    static struct symc one;
    if (!symc) {
        one.addr = addr;
        one.ok = ps_symbolize((void *)addr, &one.s) == 0;
        return &one;
    }
    uint32_t h = (uint32_t)((addr * 0x9E3779B97F4A7C15ull) >> 40) & (SYMC_CAP - 1);
    for (int i = 0; i < 16; i++) {
        struct symc *e = &symc[(h + (uint32_t)i) & (SYMC_CAP - 1)];
        if (e->addr == addr)
            return e;
        if (!e->addr) {
            e->addr = addr;
            e->ok = ps_symbolize((void *)addr, &e->s) == 0;
            return e;
        }
    }
    one.addr = addr;
    one.ok = ps_symbolize((void *)addr, &one.s) == 0;
    return &one;
}

/* "func+0x1c (libfoo.so)" / "libfoo.so+0x1234" / "0x7f.." through the cache. */
static void sym_string(const void *addr, char *buf, size_t cap, int func_only)
{
    const struct symc *c = sym_of((uintptr_t)addr);
    const char *base = c->ok ? strrchr(c->s.module, '/') : NULL;
    base = base ? base + 1 : c->ok ? c->s.module : "";
    if (!c->ok)
        ps_fmt(buf, cap, "%p", addr);
    else if (c->s.name[0] && func_only)
        ps_fmt(buf, cap, "%s", c->s.name);
    else if (c->s.name[0])
        ps_fmt(buf, cap, "%s+0x%lx (%s)", c->s.name, (unsigned long)c->s.offset, base);
    else
        ps_fmt(buf, cap, "%s+0x%lx", base, (unsigned long)c->s.module_offset);
}

static void frame_json(struct ps_jw *w, uintptr_t addr, int exact)
{
    /* A return address points after its call: look up the byte before. */
    uintptr_t look = exact ? addr : addr - 1;
    const struct symc *c = sym_of(look);
    ps_jw_obj(w, NULL);
    ps_jw_hex(w, "addr", addr);
    ps_jw_str(w, "module", c->ok && c->s.module[0] ? c->s.module : NULL);
    ps_jw_str(w, "symbol", c->ok && c->s.name[0] ? c->s.name : NULL);
    if (c->ok)
        ps_jw_hex(w, "offset", (c->s.name[0] ? c->s.offset : c->s.module_offset) + (addr - look));
    else
        ps_jw_null(w, "offset");
    ps_jw_end(w);
}

/* --- fd targets ------------------------------------------------------------ */

/* "socket:[123]" -> "tcp 127.0.0.1:80 -> 127.0.0.1:5555" from /proc/self/net/tcp{,6}. */
static int tcp_peer(unsigned long inode, char *out, size_t cap)
{
    static const char *const files[] = { "/proc/self/net/tcp", "/proc/self/net/tcp6" };
    for (int f = 0; f < 2; f++) {
        int fd = open(files[f], O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        char buf[16384];
        size_t have = 0;
        ssize_t n;
        int found = 0;
        while (!found && (n = syscall(SYS_read, fd, buf + have, sizeof buf - 1 - have)) > 0) {
            have += (size_t)n;
            buf[have] = 0;
            char *p = buf, *nl;
            while (!found && (nl = strchr(p, '\n'))) {
                *nl = 0;
                /* sl local rem st tx:rx tr:when retrnsmt uid timeout inode */
                char *tok[10];
                int k = 0;
                for (char *q = p; *q && k < 10;) {
                    while (*q == ' ')
                        q++;
                    if (!*q)
                        break;
                    tok[k++] = q;
                    while (*q && *q != ' ')
                        q++;
                }
                if (k == 10 && strtoul(tok[9], NULL, 10) == inode && f == 0) {
                    unsigned a, pa, b, pb;
                    char *e;
                    a = (unsigned)strtoul(tok[1], &e, 16);
                    pa = (unsigned)strtoul(e + 1, NULL, 16);
                    b = (unsigned)strtoul(tok[2], &e, 16);
                    pb = (unsigned)strtoul(e + 1, NULL, 16);
                    ps_fmt(out, cap, "tcp %u.%u.%u.%u:%u -> %u.%u.%u.%u:%u", a & 255, a >> 8 & 255, a >> 16 & 255,
                           a >> 24, pa, b & 255, b >> 8 & 255, b >> 16 & 255, b >> 24, pb);
                    found = 1;
                } else if (k == 10 && strtoul(tok[9], NULL, 10) == inode) {
                    char l[40], r[40];
                    ps_fmt(l, sizeof l, "%s", tok[1]);
                    ps_fmt(r, sizeof r, "%s", tok[2]);
                    ps_fmt(out, cap, "tcp6 %s -> %s", l, r);
                    found = 1;
                }
                p = nl + 1;
            }
            have = strlen(p);
            memmove(buf, p, have);
            if (have >= sizeof buf - 1)
                have = 0;
        }
        close(fd);
        if (found)
            return 0;
    }
    return -1;
}

/* Peer lookups scan /proc/self/net/tcp: a bounded number per dump. */
#define MAX_PEER_LOOKUPS 64
static int peer_lookups;

static void fd_target(int fd, char *out, size_t cap)
{
    char path[48], link[256];
    ps_fmt(path, sizeof path, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(path, link, sizeof link - 1);
    if (n <= 0) {
        out[0] = 0;
        return;
    }
    link[n] = 0;
    if (!strncmp(link, "socket:[", 8) && peer_lookups++ < MAX_PEER_LOOKUPS) {
        char peer[160];
        if (tcp_peer(strtoul(link + 8, NULL, 10), peer, sizeof peer) == 0) {
            ps_fmt(out, cap, "%s (%s)", link, peer);
            return;
        }
    }
    ps_fmt(out, cap, "%s", link);
}

/* --- JSON -------------------------------------------------------------------- */

static void blocked_on_json(struct ps_jw *w, struct dthread *d)
{
    if (d->kind == PS_K_NONE && !d->other_sys) {
        ps_jw_null(w, "blocked_on");
        return;
    }
    ps_jw_obj(w, "blocked_on");
    ps_jw_str(w, "kind", d->other_sys ? "syscall" : ps_kind_name[d->kind]);
    if (d->fd >= 0)
        ps_jw_i64(w, "object", d->fd);
    else if (d->other_sys)
        ps_jw_i64(w, "object", (int64_t)d->obj);
    else if (d->obj)
        ps_jw_hex(w, "object", d->obj);
    else
        ps_jw_null(w, "object");
    if (d->from_proc)
        ps_jw_null(w, "since_s");
    else
        ps_jw_dbl(w, "since_s", d->since_ns * NS);
    if (d->kind == PS_K_MUTEX || d->kind == PS_K_RWLOCK || d->kind == PS_K_JOIN) {
        if (d->owner > 0)
            ps_jw_i64(w, "owner", d->owner);
        else
            ps_jw_null(w, "owner");
    }
    if (d->fd >= 0) {
        char t[300];
        fd_target(d->fd, t, sizeof t);
        ps_jw_str(w, "fd_target", t[0] ? t : NULL);
    }
    if (d->site) {
        char sym[384];
        sym_string(d->site, sym, sizeof sym, 0);
        ps_jw_str(w, "site", sym);
    }
    ps_jw_str(w, "source", d->from_proc ? "proc" : "wrapper");
    if (d->ended_before_stack)
        ps_jw_bool(w, "ended_before_stack", 1);
    ps_jw_end(w);
}

static void thread_json(struct ps_jw *w, struct dthread *d, struct ps_stack_req *r)
{
    struct ps_thread *t = d->rec;
    char name[160];
    ps_jw_obj(w, NULL);
    ps_jw_i64(w, "tid", d->tid);
    if (t && t->name[0]) {
        ps_jw_str(w, "name", t->name);
    } else {
        char path[64], buf[32];
        ps_fmt(path, sizeof path, "/proc/self/task/%d/comm", d->tid);
        ssize_t n = ps_file_read_small(path, buf, sizeof buf);
        if (n > 0 && buf[n - 1] == '\n')
            buf[n - 1] = 0;
        ps_jw_str(w, "name", n > 0 ? buf : "");
    }
    if (t && t->pool >= 0)
        ps_jw_i64(w, "pool", t->pool);
    else
        ps_jw_null(w, "pool");
    if (t && t->routine) {
        sym_string(t->routine, name, sizeof name, 1);
        ps_jw_str(w, "start_routine", name);
    } else {
        ps_jw_null(w, "start_routine");
    }
    ps_jw_str(w, "state", tstate_name[d->state]);
    char ks[2] = { d->pstate ? d->pstate : '?', 0 };
    ps_jw_str(w, "kernel_state", ks);
    if (t) {
        uint64_t ns[PS_NCAUSE];
        ps_thread_waits(t, ns);
        ns[PS_RUNQ] += t->runq_ns;
        ps_jw_dbl(w, "cpu_s", t->cpu_ns * NS);
        ps_jw_obj(w, "wait_by_cause");
        for (int c = 0; c < PS_NCAUSE; c++)
            ps_jw_dbl(w, ps_cause_name[c], ns[c] * NS);
        ps_jw_end(w);
        ps_jw_u64(w, "tasks", t->tasks);
        uint64_t tb = t->task_begin_ns, now = ps_now_ns();
        if (tb && now > tb)
            ps_jw_dbl(w, "task_running_s", (now - tb) * NS);
    } else {
        ps_jw_null(w, "cpu_s");
        ps_jw_null(w, "wait_by_cause");
    }
    blocked_on_json(w, d);
    int omit = w->len > MAX_DUMP_BYTES;
    ps_jw_str(w, "capture", omit && r->status == PS_CAP_OK ? "omitted" : ps_capture_name[r->status]);
    if (r->status == PS_CAP_OK)
        ps_jw_dbl(w, "capture_us", r->handler_ns * 1e-3);
    ps_jw_arr(w, "stack");
    for (int i = 0; !omit && r->status == PS_CAP_OK && i < r->n; i++)
        frame_json(w, r->ip[i], i == 0);
    ps_jw_end(w);
    ps_jw_end(w);
}

static void wait_for_json(struct ps_jw *w, struct work *wk)
{
    static int cyc[4096];
    static struct ps_wfg_edge edges[PS_MAX_THREADS];
    ps_jw_obj(w, "wait_for");
    ps_jw_arr(w, "edges");
    int ne = 0;
    for (int i = 0; i < wk->n; i++) {
        struct dthread *d = &wk->th[i];
        if (d->owner <= 0)
            continue;
        ps_jw_obj(w, NULL);
        ps_jw_i64(w, "from", d->tid);
        ps_jw_i64(w, "to", d->owner);
        ps_jw_hex(w, "object", d->obj);
        ps_jw_str(w, "kind", ps_kind_name[d->kind]);
        ps_jw_end(w);
        edges[ne++] = (struct ps_wfg_edge){ d->tid, d->owner };
    }
    ps_jw_end(w);
    int n = ps_wfg_cycles(edges, ne, cyc, (int)(sizeof cyc / sizeof cyc[0]));
    ps_jw_arr(w, "cycles");
    for (int k = 0, at = 0; k < n; k++) {
        ps_jw_arr(w, NULL);
        for (; cyc[at]; at++)
            ps_jw_i64(w, NULL, cyc[at]);
        at++;
        ps_jw_end(w);
    }
    ps_jw_end(w);
    ps_jw_end(w);
}

static struct ps_thread *rec_of(int tid)
{
    struct ps_thread *t = ps_thread_by_tid(tid);
    return t && !t->ignore ? t : NULL;
}

int ps_dump_write(int n, int reason, int pool, const char *detail, const struct ps_dump_how *how)
{
    int stacks = how->signal_stacks, r = -ENOMEM;
    static int write_logged, mem_logged;
    uint64_t t_start = ps_now_ns();
    int pid = getpid();
    struct work wk = { 0 };
    size_t th_bytes = sizeof(struct dthread) * PS_MAX_THREADS;
    size_t rq_bytes = sizeof(struct ps_stack_req) * PS_MAX_THREADS;
    static int tids[PS_MAX_THREADS];
    wk.th = ps_table_map(th_bytes);
    wk.req = ps_table_map(rq_bytes);
    symc = ps_table_map(sizeof(struct symc) * SYMC_CAP);
    if (!wk.th || !wk.req) {
        ps_log_once(&mem_logged, "cannot map memory for a dump: skipped");
        goto out;
    }
    wk.n = list_tids(tids, PS_MAX_THREADS);
    peer_lookups = 0;
    uint64_t now = ps_now_ns();
    for (int i = 0; i < wk.n; i++) {
        struct dthread *d = &wk.th[i];
        d->tid = wk.req[i].tid = tids[i];
        d->rec = rec_of(d->tid);
        read_status_settled(d, &wk.req[i]);
        /* A thread inside a wrapper says what it waits on; ask the kernel
         * only about the others (a file read per thread saved). */
        if (!d->rec || !__atomic_load_n(&d->rec->cur_since_ns, __ATOMIC_ACQUIRE))
            read_syscall(d);
        else
            d->sysno = -1;
        if (d->pstate == '?')
            wk.req[i].blocked_signal = 0;     /* gone already: the send says ESRCH */
    }
    for (int i = 0; i < wk.n; i++)
        classify(&wk.th[i], &wk, now);
    /* Owners right after the waits, before any signal: the capture wakes
     * threads, and a holder that moves on meanwhile would leave its waiters
     * with no owner or another one. */
    for (int i = 0; i < wk.n; i++)
        find_owner(&wk.th[i], &wk);
    uint64_t t_cap = ps_now_ns();
    uint64_t capture_ns = stacks ? ps_stacks_capture(wk.req, wk.n, CAPTURE_TIMEOUT_MS(wk.n)) : 0;
    /* Threads are classified, then their stacks taken one by one: a wait
     * that ended in between (a lock holder's sleep ran out) has a stack
     * from after it, which the dump must not present as that wait's. */
    for (int i = 0; i < wk.n && stacks; i++) {
        struct dthread *d = &wk.th[i];
        d->ended_before_stack = d->since_mark && d->kind != PS_K_NONE && !d->from_proc &&
                                __atomic_load_n(&d->rec->cur_since_ns, __ATOMIC_ACQUIRE) != d->since_mark;
    }

    struct ps_jw w;
    ps_jw_init(&w);
    ps_jw_obj(&w, NULL);
    ps_jw_i64(&w, "version", 1);
    ps_jw_str(&w, "kind", "dump");
    ps_jw_i64(&w, "pid", pid);
    ps_jw_i64(&w, "n", n);
    char exe[256];
    ps_file_self_exe(exe, sizeof exe);
    ps_jw_str(&w, "exe", exe);
    ps_jw_i64(&w, "cores", ps_ncores);
    ps_jw_dbl(&w, "time_s", (t_start - ps_start_ns) * NS);
    ps_jw_obj(&w, "trigger");
    ps_jw_str(&w, "reason", ps_dump_reason_name[reason]);
    if (pool >= 0)
        ps_jw_i64(&w, "pool", pool);
    else
        ps_jw_null(&w, "pool");
    ps_jw_str(&w, "detail", detail);
    ps_jw_end(&w);
    int answered = 0, sent = 0;
    uint64_t max_pause = 0;
    for (int i = 0; i < wk.n; i++) {
        struct ps_stack_req *r = &wk.req[i];
        sent += r->status == PS_CAP_OK || r->status == PS_CAP_TIMEOUT;
        answered += r->status == PS_CAP_OK;
        if (r->status == PS_CAP_OK && r->handler_ns > max_pause)
            max_pause = r->handler_ns;
    }
    ps_jw_obj(&w, "capture");
    ps_jw_str(&w, "method", how->method);
    ps_jw_str(&w, "why", how->why);
    ps_jw_i64(&w, "signal", ps_cfg.dump_signal);
    ps_jw_i64(&w, "threads", wk.n);
    ps_jw_i64(&w, "signalled", sent);
    ps_jw_i64(&w, "answered", answered);
    ps_jw_dbl(&w, "wall_ms", capture_ns * 1e-6);
    ps_jw_dbl(&w, "max_thread_pause_us", max_pause * 1e-3);
    ps_jw_dbl(&w, "proc_read_ms", (t_cap - t_start) * 1e-6);
    ps_jw_end(&w);
    uint64_t tm[6];
    tm[0] = ps_now_ns();
    ps_jw_arr(&w, "threads");
    for (int i = 0; i < wk.n; i++)
        thread_json(&w, &wk.th[i], &wk.req[i]);
    ps_jw_end(&w);
    wait_for_json(&w, &wk);
    tm[1] = ps_now_ns();
    ps_report_pools_json(&w, 1);
    ps_report_locks_json(&w);
    tm[2] = ps_now_ns();
    ps_modules_json(&w);
    tm[3] = ps_now_ns();
    char heap[96];
    ps_fmt(heap, sizeof heap, "poolshim.%d.dump.%d.heap", pid, n);
    ps_alloc_json(&w, ps_cfg.dir, heap);
    tm[4] = ps_now_ns();
    /* Where the dump's own time went (the shim's thread; the host runs on). */
    ps_jw_obj(&w, "cost_ms");
    ps_jw_dbl(&w, "proc", (t_cap - t_start) * 1e-6);
    ps_jw_dbl(&w, "capture", capture_ns * 1e-6);
    ps_jw_dbl(&w, "threads", (tm[1] - tm[0]) * 1e-6);
    ps_jw_dbl(&w, "pools_locks", (tm[2] - tm[1]) * 1e-6);
    ps_jw_dbl(&w, "modules", (tm[3] - tm[2]) * 1e-6);
    ps_jw_dbl(&w, "allocations", (tm[4] - tm[3]) * 1e-6);
    ps_jw_end(&w);
    ps_jw_dbl(&w, "dump_ms", (ps_now_ns() - t_start) * 1e-6);
    ps_trace_report_json(&w);
    ps_jw_end(&w);

    char name[96];
    ps_fmt(name, sizeof name, "poolshim.%d.dump.%d.json", pid, n);
    if (how->name)
        ps_fmt(name, sizeof name, "%s", how->name);
    r = w.err ? -ENOMEM : ps_file_write_atomic(ps_cfg.dir, name, w.buf, w.len);
    if (r)
        ps_log_once(&write_logged, "cannot write %s/%s (errno %d): dumps are not saved", ps_cfg.dir, name, -r);
    else if (!how->name)
        ps_log("dump %s/%s (%s: %s)", ps_cfg.dir, name, ps_dump_reason_name[reason], detail);
    ps_jw_free(&w);
    ps_trace_write();        /* the timeline up to this dump, should the process not exit cleanly */
out:
    if (wk.th)
        munmap(wk.th, th_bytes);
    if (wk.req)
        munmap(wk.req, rq_bytes);
    if (symc)
        munmap(symc, sizeof(struct symc) * SYMC_CAP);
    symc = NULL;
    return r;
}
