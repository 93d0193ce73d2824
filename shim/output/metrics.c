/* metrics.c: the Prometheus text file of POOLSHIM_METRICS (see metrics.h).
 * Owns the file's path (FILE with %p expanded, again after a fork, so a
 * child writes its own file), the pools' label values and a text buffer of
 * mapped memory (no malloc, no stdio: the host's allocator may be in any
 * state). Runs on the agent thread, so nothing here is on a hot path; the
 * figures are the pools' latest history samples (pool.c's snapshot, the
 * same totals as the report's `history`), never recomputed here.
 * Series are labelled by `exe` and `pool`, never by pid: a pid label makes
 * the number of series grow with every restart. The file is replaced
 * atomically without fsync (a reader never sees half of it, and an fsync per
 * interval would cost the disk more than losing the last copy in a crash). */
#include "table.h"
#include "metrics.h"
#include "config.h"
#include "controller.h"
#include "dump.h"
#include "file.h"
#include "jsonw.h"
#include "log.h"
#include "pool.h"
#include "poolname.h"
#include "view.h"
#include <math.h>
#include <string.h>
#include <unistd.h>

#define NS 1e-9
/* 256 pools x 16 series x ~250 bytes: the whole file fits; pages are
 * touched only as far as it is written. */
#define BUF_BYTES (1u << 20)
#define LABEL_LEN 200

static struct {
    char *buf;
    size_t len;
    int overflow;
} out;
static char dir[512], name[256];   /* the file, split for ps_file_replace */
static int path_pid;               /* the pid dir/name were expanded for */
static int written_pid;            /* the pid that last wrote the file: only it removes it */
static char exe_label[LABEL_LEN];
static char pool_label[PS_MAX_POOLS][LABEL_LEN];
static int failed_logged, overflow_logged;

static void put(const char *s, size_t n)
{
    if (out.len + n > BUF_BYTES) {
        out.overflow = 1;
        return;
    }
    memcpy(out.buf + out.len, s, n);
    out.len += n;
}

static void puts_(const char *s)
{
    put(s, strlen(s));
}

/* A label value: backslash, double quote and newline escaped (the format's
 * rule); other control bytes and bytes that are not UTF-8 (a path or a thread
 * name cut mid-character) become U+FFFD, or the reader rejects the whole file. */
static void put_label(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        int n = *p >= 0x80 ? ps_utf8_len(p) : 1;
        if (*p == '\\') puts_("\\\\");
        else if (*p == '"') puts_("\\\"");
        else if (*p == '\n') puts_("\\n");
        else if (*p < 0x20 || *p == 0x7f || !n) puts_("\xef\xbf\xbd");
        else {
            put((const char *)p, (size_t)n);
            p += n - 1;
        }
    }
}

static void put_num(double v)
{
    char b[40];
    if (!isfinite(v)) {
        puts_(isnan(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf");
        return;
    }
    ps_fmt_double(b, sizeof b, v, 6);
    puts_(b);
}

static void family(const char *metric, const char *type, const char *help)
{
    puts_("# HELP ");
    puts_(metric);
    puts_(" ");
    puts_(help);
    puts_("\n# TYPE ");
    puts_(metric);
    puts_(" ");
    puts_(type);
    puts_("\n");
}

/* metric{exe="…"[,pool="…"][,cause="…"]} value */
static void series(const char *metric, int pi, const char *cause, double v)
{
    puts_(metric);
    puts_("{exe=\"");
    put_label(exe_label);
    if (pi >= 0) {
        puts_("\",pool=\"");
        put_label(pool_label[pi]);
    }
    if (cause) {
        puts_("\",cause=\"");
        put_label(cause);
    }
    puts_("\"} ");
    put_num(v);
    puts_("\n");
}

/* FILE with %p as the pid and %% as %, split into directory and name; a
 * relative FILE is in POOLSHIM_DIR (the program may change its directory). */
static int expand_path(int pid)
{
    char full[sizeof dir + sizeof name], num[16];
    size_t n = 0;
    ps_fmt(num, sizeof num, "%d", pid);
    if (ps_cfg.metrics[0] != '/')
        n = ps_fmt(full, sizeof full, "%s/", ps_cfg.dir);
    for (const char *s = ps_cfg.metrics; *s && n + sizeof num < sizeof full; s++) {
        if (s[0] == '%' && (s[1] == 'p' || s[1] == '%')) {
            const char *ins = *++s == 'p' ? num : "%";
            size_t k = strlen(ins);
            memcpy(full + n, ins, k);
            n += k;
        } else {
            full[n++] = *s;
        }
    }
    full[n] = 0;
    char *slash = strrchr(full, '/');    /* there is one: the path is absolute */
    const char *f = slash + 1;
    *slash = 0;
    const char *d = full[0] ? full : "/";
    if (!*f || strlen(f) >= sizeof name || strlen(d) >= sizeof dir)
        return -1;
    strcpy(dir, d);
    strcpy(name, f);
    return 0;
}

/* The pool's label: what its threads run (entry, else start routine), as in
 * the report; a second pool running the same function gets its name prefix
 * (or its id) added, since two series may not share their labels. */
static int label_taken(int pi)
{
    for (int k = 0; k < pi; k++)
        if (!strcmp(pool_label[k], pool_label[pi]))
            return 1;
    return 0;
}

static void name_pool(int pi)
{
    char fn[160];
    const struct ps_pool *v = &ps_pools[pi];
    if ((v->entry || v->routine) && ps_poolname_function(pi)[0])
        ps_fmt(fn, sizeof fn, "%s", ps_poolname_function(pi));
    else
        ps_fmt(fn, sizeof fn, "%s*", v->prefix);
    ps_fmt(pool_label[pi], LABEL_LEN, "%s", fn);
    if (label_taken(pi) && v->prefix[0])
        ps_fmt(pool_label[pi], LABEL_LEN, "%s[%s]", fn, v->prefix);
    if (label_taken(pi))
        ps_fmt(pool_label[pi], LABEL_LEN, "%s#%d", fn, pi);
}

static const struct { const char *metric, *type, *help; } fams[] = {
    { "poolshim_pool_threads", "gauge", "Live threads of the pool." },
    { "poolshim_pool_busy_threads", "gauge", "Threads of the pool running a task (neither waiting for work nor parked)." },
    { "poolshim_pool_parked_threads", "gauge", "Threads of the pool parked by the controller." },
    { "poolshim_pool_limit_threads", "gauge", "The controller's concurrency limit for the pool (0: none)." },
    { "poolshim_pool_queue_depth", "gauge", "Estimated tasks queued (submissions less starts, 0 when all workers wait for work; no series while the pool's wait for work is unknown)." },
    { "poolshim_pool_w_c", "gauge", "W/C of the pool so far: (io + sleep) wait over CPU time (NaN while it waited over less than 5 ms of CPU: noise)." },
    { "poolshim_pool_tasks_total", "counter", "Tasks the pool's workers started (no series while the pool's wait for work is unknown)." },
    { "poolshim_pool_cpu_seconds_total", "counter", "CPU time of the pool's threads." },
    { "poolshim_pool_wait_seconds_total", "counter", "Off-CPU time of the pool's threads by cause (io, sleep, lock, cond, idle, runqueue)." },
};
enum { F_THREADS, F_BUSY, F_PARKED, F_LIMIT, F_QUEUE, F_WC, F_TASKS, F_CPU, F_WAIT, NFAMS };

static void pools_text(void)
{
    const struct ps_view *view = ps_view_last();
    static int named;                  /* pools labelled so far (the table only grows) */
    int has[PS_MAX_POOLS], tasks_known[PS_MAX_POOLS];
    for (int pi = 0; pi < PS_MAX_POOLS; pi++) {
        has[pi] = pi < view->npools;
        /* the report's rule: without a known wait for work (or queue mutex)
         * the task count and the queue are unknown, and unknown is no series */
        tasks_known[pi] = has[pi] && view->pool[pi].tasks_whole;
        if (has[pi] && pi >= named) {
            name_pool(pi);
            named = pi + 1;
        }
    }
    for (int f = 0; f < NFAMS; f++) {
        family(fams[f].metric, fams[f].type, fams[f].help);
        for (int pi = 0; pi < PS_MAX_POOLS; pi++) {
            if (!has[pi])
                continue;
            const struct ps_pool_sample *s = &view->pool[pi].last;
            const uint64_t wait_ns[PS_NCAUSE] = { [PS_IO] = s->io_ns, [PS_SLEEP] = s->sleep_ns,
                [PS_LOCK] = s->lock_ns, [PS_COND] = s->cond_ns, [PS_IDLE] = s->idle_ns, [PS_RUNQ] = s->runq_ns };
            switch (f) {
            case F_THREADS: series(fams[f].metric, pi, NULL, s->threads); break;
            case F_BUSY: series(fams[f].metric, pi, NULL, s->busy); break;
            /* the sampler counts a live thread as busy, idle or parked */
            case F_PARKED: series(fams[f].metric, pi, NULL, s->threads - s->busy - s->idle); break;
            case F_LIMIT: series(fams[f].metric, pi, NULL, s->limit); break;
            case F_QUEUE:
                if (tasks_known[pi])
                    series(fams[f].metric, pi, NULL, (double)s->queue);
                break;
            case F_WC:
                series(fams[f].metric, pi, NULL, ps_recommend_w_c_shown((double)s->task_wait_ns * 1e-9,
                                                                        (double)s->cpu_ns * 1e-9));
                break;
            case F_TASKS:
                if (tasks_known[pi])
                    series(fams[f].metric, pi, NULL, (double)s->tasks);
                break;
            case F_CPU: series(fams[f].metric, pi, NULL, s->cpu_ns * NS); break;
            case F_WAIT:
                for (int c = 0; c < PS_NCAUSE; c++)
                    series(fams[f].metric, pi, ps_cause_name[c], wait_ns[c] * NS);
                break;
            }
        }
    }
}

void ps_metrics_tick(int final)
{
    if (!ps_cfg.metrics[0])
        return;
    int pid = getpid();
    if (final) {
        if (written_pid == pid) {
            char path[sizeof dir + sizeof name + 1];
            ps_fmt(path, sizeof path, "%s/%s", dir, name);
            unlink(path);
        }
        written_pid = 0;
        return;
    }
    if (path_pid != pid) {               /* first tick, or a forked child's */
        path_pid = pid;
        if (expand_path(pid)) {
            ps_log_once(&failed_logged, "POOLSHIM_METRICS: cannot use \"%s\" (no file name, or too long): no metrics",
                        ps_cfg.metrics);
            dir[0] = 0;
        }
        ps_file_self_exe(exe_label, sizeof exe_label);
    }
    if (!dir[0])
        return;
    if (!out.buf) {
        void *p = ps_table_map(BUF_BYTES);
        if (!p) {
            ps_log_once(&failed_logged, "POOLSHIM_METRICS: no memory for the metrics text: no metrics");
            dir[0] = 0;
            return;
        }
        out.buf = p;
    }
    out.len = 0;
    out.overflow = 0;
    pools_text();
    family("poolshim_dumps_total", "counter", "Dumps this process wrote.");
    series("poolshim_dumps_total", -1, NULL, ps_dump_count());
    family("poolshim_controller_decisions_total", "counter", "Decisions the controller logged (POOLSHIM_CONTROL advise or on).");
    series("poolshim_controller_decisions_total", -1, NULL, ps_controller_decisions_total());
    if (out.overflow) {
        ps_log_once(&overflow_logged, "POOLSHIM_METRICS: more than %u bytes of metrics: file not rewritten", BUF_BYTES);
        return;
    }
    int r = ps_file_replace(dir, name, out.buf, out.len);
    if (r)
        ps_log_once(&failed_logged, "POOLSHIM_METRICS: cannot write %s/%s (errno %d): no metrics", dir, name, -r);
    else
        written_pid = pid;
}
