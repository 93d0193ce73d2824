/* ptrace_dump.c: a ptrace capture turned into a dump in the shim's format
 * (docs/format.md; ptrace.h, step 3), written as poolshim.<pid>.dump.<n>.json
 * and answered in text through `poolshim show`'s own code.
 *
 * What each stopped thread waits on comes from the system call it was in
 * (its registers) and, for a futex, from the bytes around the futex word
 * copied at the same instant: a glibc mutex (the word is 2, the waiter slept
 * on 2, and __owner at +8 names a thread of the process), a priority-
 * inheritance mutex (the word holds the owner), pthread_join (the word is the
 * joined thread's tid field), an rwlock with a writer (__cur_writer, 24 bytes
 * past the lock's start, 8 or 12 bytes before the word readers and writers
 * sleep on). Anything else on a futex stays a bare `futex`. Owners come from
 * the same instant as the waits, so a cycle seen here is a deadlock.
 *
 * For a process under the shim, the shim's own picture of the same moment
 * (pools, per-thread causes, locks, allocations) is merged in: its threads
 * keep their records and get the ptrace stacks and waits. */
#include "cmd.h"
#include "graph.h"
#include "jget.h"
#include "load.h"
#include "output.h"
#include "ptrace.h"
#include "show.h"
/* The symbolizer (file:line, inlined calls, data names), where it is built. */
#if __has_include("symbolize.h")
#include "symbolize.h"
#define PT_HAVE_SYMBOLIZER 1
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static void set(json_t *o, const char *k, json_t *v) { json_object_set_new(o, k, v); }

static void hex(json_t *o, const char *k, uint64_t v)
{
    char b[24];
    snprintf(b, sizeof b, "0x%llx", (unsigned long long)v);
    set(o, k, json_string(b));
}

static double ms_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (t.tv_sec - t0->tv_sec) * 1e3 + (t.tv_nsec - t0->tv_nsec) * 1e-6;
}

/* The blocking system calls a dump names, by kind; the object is the fd in
 * the first argument when fd_arg. Any other call is kind "syscall". */
static const struct { long nr; const char *kind; int fd_arg; } sys_kinds[] = {
    { SYS_read, "io", 1 }, { SYS_write, "io", 1 }, { SYS_pread64, "io", 1 }, { SYS_pwrite64, "io", 1 },
    { SYS_readv, "io", 1 }, { SYS_writev, "io", 1 }, { SYS_recvfrom, "io", 1 }, { SYS_sendto, "io", 1 },
    { SYS_recvmsg, "io", 1 }, { SYS_sendmsg, "io", 1 }, { SYS_accept, "io", 1 }, { SYS_accept4, "io", 1 },
    { SYS_connect, "io", 1 }, { SYS_fsync, "io", 1 }, { SYS_fdatasync, "io", 1 },
    { SYS_epoll_wait, "poll", 1 }, { SYS_epoll_pwait, "poll", 1 }, { SYS_poll, "poll", 0 },
    { SYS_ppoll, "poll", 0 }, { SYS_select, "poll", 0 }, { SYS_pselect6, "poll", 0 },
    { SYS_nanosleep, "sleep", 0 }, { SYS_clock_nanosleep, "sleep", 0 },
    { SYS_wait4, "join", 0 }, { SYS_waitid, "join", 0 },
};

static int32_t obj_i32(const struct pt_thread *t, uint64_t addr)
{
    int32_t v = 0;
    if (addr >= t->obj_lo && addr + 4 <= t->obj_lo + t->obj_len) memcpy(&v, t->obj + (addr - t->obj_lo), 4);
    else v = INT32_MIN;      /* not copied: matches no tid */
    return v;
}

static int is_tid(const struct pt_capture *c, int64_t tid)
{
    for (int i = 0; i < c->n; i++) if (c->th[i].tid == tid) return 1;
    return 0;
}

/* blocked_on of a futex wait: kind, object, owner (0 when none). */
static void futex_wait(const struct pt_capture *c, const struct pt_thread *t, const char **kind,
                       uint64_t *obj, int *owner)
{
    uint64_t w = t->arg[0];
    int op = (int)(t->arg[1] & FUTEX_CMD_MASK);
    int32_t val = (int32_t)t->arg[2], word = obj_i32(t, w);
    *kind = "futex";
    *obj = w;
    *owner = 0;
    if (op == FUTEX_LOCK_PI || op == FUTEX_LOCK_PI2) {
        if (is_tid(c, word & FUTEX_TID_MASK)) { *kind = "mutex"; *owner = word & FUTEX_TID_MASK; }
        return;
    }
    if (op != FUTEX_WAIT && op != FUTEX_WAIT_BITSET) return;
    int32_t m_owner = obj_i32(t, w + 8);
    if (val == 2 && word == 2 && m_owner != t->tid && is_tid(c, m_owner)) {
        *kind = "mutex";
        *owner = m_owner;
        return;
    }
    if (val > 0 && word == val && is_tid(c, val)) {      /* pthread_join sleeps on the thread's tid */
        *kind = "join";
        *owner = val;
        return;
    }
    for (int before = 8; before <= 12; before += 4) {
        int32_t writer = obj_i32(t, w - (uint64_t)before + 24);
        if ((val & 2) && writer != t->tid && is_tid(c, writer)) {
            *kind = "rwlock";
            *obj = w - (uint64_t)before;
            *owner = writer;
            return;
        }
    }
}

static void fd_target(int pid, int fd, char *out, size_t n)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd/%d", pid, fd);
    ssize_t l = readlink(path, out, n - 1);
    out[l > 0 ? l : 0] = 0;
}

/* A sleep, poll or timed futex wait that a stop (ours, a debugger's) already
 * interrupted once is resumed by the kernel as restart_syscall: the call is
 * then told by the libc function it sits in. Its argument registers still
 * hold the first call's (the syscall instruction leaves them alone). */
static long restarted_call(const json_t *stack)
{
    const char *f0 = an_str(json_array_get(stack, 0), "symbol");
    if (!f0) return SYS_restart_syscall;
    if (strstr(f0, "sleep")) return SYS_clock_nanosleep;
    if (strstr(f0, "poll")) return SYS_poll;
    if (strstr(f0, "futex") || strstr(f0, "lll_") || strstr(f0, "sem_") || strstr(f0, "cond")) return SYS_futex;
    return SYS_restart_syscall;
}

static json_t *blocked_on(const struct pt_capture *c, const struct pt_thread *t, struct pt_unwind *u,
                          const json_t *stack)
{
    if (!pt_in_syscall(t)) return json_null();
    json_t *b = json_object();
    const char *kind = "syscall";
    uint64_t obj = 0;
    int owner = 0, fd = -1, has_owner = 0, bare = 1;   /* bare: a call with no kind */
    long sysno = t->sysno == SYS_restart_syscall ? restarted_call(stack) : t->sysno;
    if (sysno == SYS_futex) {
        futex_wait(c, t, &kind, &obj, &owner);
        has_owner = strcmp(kind, "futex") != 0;
        bare = 0;
    } else {
        for (size_t k = 0; k < sizeof sys_kinds / sizeof *sys_kinds; k++)
            if (sys_kinds[k].nr == sysno) {
                kind = sys_kinds[k].kind;
                bare = 0;
                if (sys_kinds[k].fd_arg) fd = (int)t->arg[0];
            }
    }
    set(b, "kind", json_string(kind));
    if (fd >= 0) set(b, "object", json_integer(fd));
    else if (bare) set(b, "object", json_integer(sysno));
    else if (obj) hex(b, "object", obj);
    else set(b, "object", json_null());
    set(b, "since_s", json_null());
    if (has_owner) set(b, "owner", owner > 0 ? json_integer(owner) : json_null());
    const char *name = obj ? pt_unwind_data_name(u, obj) : NULL;
    if (name) set(b, "name", json_string(name));
    if (fd >= 0) {
        char target[300];
        fd_target(c->pid, fd, target, sizeof target);
        set(b, "fd_target", target[0] ? json_string(target) : json_null());
    }
    set(b, "source", json_string("ptrace"));
    return b;
}

static void read_comm(int pid, int tid, char *out, size_t n)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task/%d/comm", pid, tid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t l = fd >= 0 ? read(fd, out, n - 1) : -1;
    if (fd >= 0) close(fd);
    out[l > 0 ? l : 0] = 0;
    out[strcspn(out, "\n")] = 0;
}

/* The function glibc's start_thread called: the thread's start routine. */
static json_t *start_routine(const json_t *stack)
{
    size_t k;
    json_t *f;
    json_array_foreach(stack, k, f) {
        const char *sym = an_str(f, "symbol");
        if (k && sym && !strcmp(sym, "start_thread")) {
            const char *r = an_str(json_array_get(stack, k - 1), "symbol");
            return r ? json_string(r) : json_null();
        }
    }
    return json_null();
}

static json_t *thread_json(const struct pt_capture *c, int i, struct pt_unwind *u)
{
    const struct pt_thread *t = &c->th[i];
    json_t *o = json_object();
    char name[64];
    read_comm(c->pid, t->tid, name, sizeof name);
    set(o, "tid", json_integer(t->tid));
    set(o, "name", json_string(name));
    set(o, "pool", json_null());
    set(o, "state", json_string(pt_in_syscall(t) ? "blocked" : t->status == PT_STOPPED ? "running" : "unknown"));
    char ks[2] = { t->kstate, 0 };
    set(o, "kernel_state", t->kstate ? json_string(ks) : json_null());
    set(o, "cpu_s", json_null());
    set(o, "wait_by_cause", json_null());
    json_t *stack = pt_unwind_stack(u, i);
    set(o, "start_routine", start_routine(stack));
    set(o, "blocked_on", blocked_on(c, t, u, stack));
    set(o, "capture", json_string(pt_status_name[t->status == PT_STOPPED && !t->regs_ok ? PT_NONE : t->status]));
    set(o, "stack", stack);
    return o;
}

/* Edges from every owner; cycles found by the analyzer's own graph code. */
static json_t *wait_for(json_t *threads)
{
    json_t *edges = json_array(), *t;
    size_t i;
    json_array_foreach(threads, i, t) {
        json_t *b = an_obj(t, "blocked_on");
        if (!json_is_integer(json_object_get(b, "owner"))) continue;
        json_t *e = json_object();
        set(e, "from", json_incref(json_object_get(t, "tid")));
        set(e, "to", json_incref(json_object_get(b, "owner")));
        set(e, "object", json_incref(json_object_get(b, "object")));
        set(e, "kind", json_incref(json_object_get(b, "kind")));
        json_array_append_new(edges, e);
    }
    json_t *probe = json_pack("{s:O}", "threads", threads), *wf = json_object();
    struct an_graph g;
    set(wf, "edges", edges);
    set(wf, "cycles", an_graph_build(&g, probe) == 0 ? json_incref(g.cycles) : json_array());
    if (g.tid) an_graph_free(&g);
    json_decref(probe);
    return wf;
}

/* Seconds since the process started, from its start time in /proc. */
static json_t *age_s(int pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t l = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
    if (fd >= 0) close(fd);
    if (l <= 0) return json_null();
    buf[l] = 0;
    char *p = strrchr(buf, ')');
    for (int field = 2; p && field < 22; field++) p = strchr(p + 1, ' ');
    struct timespec boot;
    clock_gettime(CLOCK_BOOTTIME, &boot);
    if (!p) return json_null();
    double start = strtod(p + 1, NULL) / (double)sysconf(_SC_CLK_TCK);
    return an_jnum(boot.tv_sec + boot.tv_nsec * 1e-9 - start);
}

/* Writes text to dir/poolshim.<pid>.dump.<n>.json, n the first free number
 * (or exactly *n when fixed, replacing that file); the name goes to out. */
static int write_dump(const char *dir, int pid, int *n, int fixed, const char *text, char *out, size_t outlen)
{
    char tmp[PATH_MAX], base[PATH_MAX];
    snprintf(base, sizeof base, "%s/.poolshim.%d.dump", dir, pid);
    FILE *f = an_out_tmp(base, tmp, sizeof tmp);
    if (!f) return -1;
    int bad = fputs(text, f) < 0;
    bad |= fflush(f) != 0 || fsync(fileno(f)) != 0;
    bad |= fclose(f) != 0;
    if (bad) { unlink(tmp); return -1; }
    for (int k = fixed ? *n : 0; k < 100000; k++) {
        snprintf(out, outlen, "%s/poolshim.%d.dump.%d.json", dir, pid, k);
        /* link() never replaces: the shim numbers its own dumps from 0 too. */
        if (fixed ? rename(tmp, out) == 0 : link(tmp, out) == 0) {
            if (!fixed) unlink(tmp);
            *n = k;
            return 0;
        }
        if (fixed || errno != EEXIST) break;
    }
    int e = errno;
    unlink(tmp);
    errno = e;
    return -1;
}

/* Which file a name reaches: two names (./x and /tmp/d/x, a symlinked or
 * bind-mounted directory) are one file exactly when these are equal. */
struct file_id {
    int ok;
    dev_t dev;
    ino_t ino;
};

static struct file_id file_id(const char *path)
{
    struct stat st;
    struct file_id id = { 0 };
    if (lstat(path, &st) == 0) id = (struct file_id){ 1, st.st_dev, st.st_ino };
    return id;
}

/* The shim's threads keep their records; stacks and waits are the instant's. */
static void merge_threads(json_t *mine, const json_t *picture)
{
    size_t i, j;
    json_t *t, *p;
    json_array_foreach(mine, i, t) {
        json_array_foreach(an_arr(picture, "threads"), j, p) {
            if (an_int(p, "tid", -1) != an_int(t, "tid", -2)) continue;
            static const char *const keep[] = { "name", "pool", "start_routine", "cpu_s", "wait_by_cause",
                                                "tasks", "task_running_s" };
            for (size_t k = 0; k < sizeof keep / sizeof *keep; k++) {
                json_t *v = json_object_get(p, keep[k]);
                if (v) json_object_set(t, keep[k], v);
            }
            /* idle and parked are the shim's knowledge; blocked/running the instant's. */
            const char *ps = an_str(p, "state");
            if (ps && (!strcmp(ps, "idle") || !strcmp(ps, "parked"))) json_object_set(t, "state", json_object_get(p, "state"));
            json_t *pb = an_obj(p, "blocked_on"), *mb = an_obj(t, "blocked_on");
            if (pb && mb && json_equal(json_object_get(pb, "object"), json_object_get(mb, "object")))
                json_object_set(mb, "since_s", json_object_get(pb, "since_s"));
            break;
        }
    }
}

int pt_dump_file(struct pt_capture *cap, const struct pt_picture *pic, const char *dir, char *out, size_t outlen,
                 char **text_out, char *msg, size_t msglen)
{
    int pid = cap->pid;
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    *text_out = NULL;
    struct pt_unwind *u = pt_unwind_open(cap, msg, msglen);
    if (!u) {
        pt_detach_stragglers(cap);
        pt_capture_free(cap);
        return -1;
    }
    /* Every thread runs again: the shim may write its picture now. */
    char picture_path[PATH_MAX] = "", picture_why[300] = "";
    json_t *picture = pic ? pic->get(pid, pic->arg, picture_path, sizeof picture_path, picture_why,
                                     sizeof picture_why) : NULL;
    if (pic && pic->required && !picture) {
        snprintf(msg, msglen, "%s", picture_why);
        pt_unwind_close(u);
        pt_detach_stragglers(cap);
        pt_capture_free(cap);
        return -1;
    }
    json_t *threads = json_array();
    int listed = 0, stopped = 0, exited = 0, timeout = 0;
    for (int i = 0; i < cap->n; i++) {
        const struct pt_thread *t = &cap->th[i];
        if (pic) {
            /* The shim's own thread is not the program's: left out, as in the shim's dumps. */
            char name[64];
            read_comm(pid, t->tid, name, sizeof name);
            if (!strcmp(name, "poolshim")) continue;
        }
        listed++;
        stopped += t->status == PT_STOPPED;
        exited += t->status == PT_EXITED;
        timeout += t->status == PT_TIMEOUT;
        json_array_append_new(threads, thread_json(cap, i, u));
    }
    double unwind_ms = ms_since(&t1);
    pt_detach_stragglers(cap);

    json_t *d = picture ? json_deep_copy(picture) : json_object();
    set(d, "version", json_integer(1));
    set(d, "kind", json_string("dump"));
    set(d, "pid", json_integer(pid));
    char exe[PATH_MAX], path[64];
    snprintf(path, sizeof path, "/proc/%d/exe", pid);
    ssize_t el = readlink(path, exe, sizeof exe - 1);
    exe[el > 0 ? el : 0] = 0;
    if (!picture) {
        set(d, "exe", json_string(exe));
        set(d, "cores", json_integer(sysconf(_SC_NPROCESSORS_ONLN)));
        set(d, "time_s", age_s(pid));
        set(d, "trigger", json_pack("{s:s, s:n, s:s}", "reason", "request", "pool", "detail",
                                    "poolshim dump PID (ptrace, from outside the process)"));
    }
    json_t *c = json_object();
    set(c, "method", json_string("ptrace"));
    if (pic && !picture) set(c, "picture", json_string(picture_why));
    set(c, "why", json_string(picture && pic->why ? pic->why
                              : picture ? "poolshim dump PID on a process under the shim: all threads stopped "
                                          "at one instant by ptrace for stacks and waits; pools, causes and "
                                          "allocations from the shim's own picture, which signals no program thread"
                              : pic ? "a process under the shim whose picture could not be had (see picture): "
                                      "stacks and waits by ptrace only"
                                    : "poolshim dump PID on a process not under the shim: all threads stopped "
                                      "at one instant by ptrace (PTRACE_SEIZE + PTRACE_INTERRUPT), copied, "
                                      "resumed, then unwound offline"));
    set(c, "threads", json_integer(listed));
    set(c, "stopped", json_integer(stopped));
    set(c, "exited", json_integer(exited));
    set(c, "timeout", json_integer(timeout));
    set(c, "rounds", json_integer(cap->rounds + 1));
    set(c, "seize_ms", an_jnum(cap->seize_ms));
    set(c, "stop_ms", an_jnum(cap->stop_ms));
    set(c, "copy_ms", an_jnum(cap->copy_ms));
    set(c, "pause_ms", an_jnum(cap->pause_ms));
    set(c, "stack_bytes", json_integer((json_int_t)cap->stack_bytes));
    set(c, "realtime", json_boolean(cap->realtime));
    set(c, "unwind_ms", an_jnum(unwind_ms));
    set(d, "capture", c);
    if (picture) merge_threads(threads, picture);
    set(d, "threads", threads);
    set(d, "wait_for", wait_for(threads));
    if (!picture) {
        set(d, "pools", json_array());
        set(d, "locks", json_array());
        set(d, "waits", json_array());
        set(d, "allocations", json_pack("{s:s}", "error", "not under the shim: no allocation data"));
    }
    set(d, "modules", pt_unwind_modules(u));
    pt_unwind_close(u);
    set(d, "dump_ms", an_jnum(ms_since(&cap->began)));
    pt_capture_free(cap);
#ifdef PT_HAVE_SYMBOLIZER
    an_sym_enrich_dump(d);
#endif

    /* The picture's file as it is now, before our dump may replace it. */
    struct file_id picture_file = picture && picture_path[0] ? file_id(picture_path) : (struct file_id){ 0 };
    int n = picture ? (int)an_int(picture, "n", 0) : 0;
    char *text = json_dumps(d, JSON_COMPACT | JSON_REAL_PRECISION(9));
    json_decref(d);
    if (!text || write_dump(dir, pid, &n, picture != NULL, text, out, outlen)) {
        snprintf(msg, msglen, "cannot write the dump in %s: %s", dir, strerror(errno));
        free(text);
        json_decref(picture);
        return -1;
    }
    /* The shim's picture was written for this request only: ours replaces it.
     * In the shim's own directory the rename above already did, and the
     * picture's name, however spelled ("./" from the user's directory, the
     * absolute one from /proc/PID/cwd), now reaches our dump: removed only if
     * it still reaches the very file the shim wrote (names compared as strings
     * deleted the dump just written). */
    struct file_id now = picture_file.ok ? file_id(picture_path) : (struct file_id){ 0 };
    if (now.ok && now.dev == picture_file.dev && now.ino == picture_file.ino) unlink(picture_path);
    json_decref(picture);
    *text_out = text;
    return 0;
}

int pt_dump(int pid, const char *dir, const struct pt_picture *pic, int json_out, char *refusal, size_t refusal_len)
{
    struct pt_capture cap;
    char msg[512];
    if (pt_capture(pid, &cap, msg, sizeof msg, pic ? pic->request : NULL, pic ? pic->arg : NULL)) {
        if (refusal) {
            snprintf(refusal, refusal_len, "%s", msg);
            return -1;
        }
        fprintf(stderr, "poolshim: dump: %d: %s\n", pid, msg);
        return 1;
    }
    char out[PATH_MAX + 64], *text;
    if (pt_dump_file(&cap, pic, dir, out, sizeof out, &text, msg, sizeof msg)) {
        fprintf(stderr, "poolshim: dump: %d: %s\n", pid, msg);
        return 1;
    }
    struct an_doc doc;
    int rc = an_load_buffer(text, strlen(text), AN_DUMP, &doc, msg, sizeof msg);
    free(text);
    if (!json_out) printf("%s\n", out);       /* --json: the answer's "file" says it */
    if (rc) {
        fprintf(stderr, "poolshim: dump: %s: %s\n", out, msg);
        return 1;
    }
    doc.path = out;
    json_t *a = an_show_answer(&doc);
    if (json_out) rc = an_out_json(a);
    else an_show_text(stdout, a);
    json_decref(a);
    an_doc_free(&doc);
    return rc | an_out_finish();
}
