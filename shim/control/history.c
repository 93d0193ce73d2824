/* history.c: the runs of a command at other sizes (history.h). A line:
 *   1 <TAB> key (16 hex) <TAB> threads <TAB> W/C <TAB> throughput <TAB> t|c <TAB> pool label
 * (t: tasks/s, c: cores of CPU). Appended with one write(2) on an O_APPEND
 * fd, so concurrent runs never interleave their lines nor lose earlier ones;
 * a write that fails (a full disk) is cut back off, and a line cut short by a
 * crash has no newline and is skipped; the file is created by a rename, whole. Past
 * HIST_KEEP_MAX bytes the file is replaced, atomically, by its newest
 * HIST_READ bytes and the new lines. Numbers are parsed by hand: a program's
 * locale may have set a decimal comma for strtod. */
#include "history.h"
#include "config.h"
#include "file.h"
#include "jsonw.h"
#include "log.h"
#include "poolname.h"
#include "view.h"
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define HIST_FILE "poolshim.history"
#define HIST_READ (64 * 1024)          /* the newest part of the file that is read */
#define HIST_KEEP_MAX (256 * 1024)     /* past this, the file keeps only its newest HIST_READ */
#define HIST_POINTS 64                 /* points of this command kept from the file */
#define HIST_POOL 160                  /* a pool label's bytes kept */
#define HIST_LINES 16384               /* one run's lines */

struct hpoint {
    char pool[HIST_POOL];
    struct ps_rec_point p;
};

static uint64_t key;                   /* 0: unknown (no history) */
static struct hpoint points[HIST_POINTS];
static int npoints, loaded;

uint64_t ps_history_key(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ull;        /* FNV-1a */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= '0' && c <= '9') {
            while (i + 1 < len && s[i + 1] >= '0' && s[i + 1] <= '9')
                i++;
            c = '#';
        }
        h = (h ^ c) * 1099511628211ull;
    }
    return h ? h : 1;
}

void ps_history_note_command(void)
{
    if (!ps_cfg.history)
        return;                                  /* key 0: no history */
    char buf[4096];
    long n = ps_file_read_small("/proc/self/cmdline", buf, sizeof buf);
    key = n > 0 ? ps_history_key(buf, (size_t)n) : 0;
}

/* A decimal as ps_fmt_double writes it: digits, an optional point and digits. */
static int parse_num(const char **s, const char *end, double *v)
{
    const char *p = *s;
    double x = 0, scale = 1;
    int digits = 0, point = 0;
    for (; p < end && ((*p >= '0' && *p <= '9') || (*p == '.' && !point)); p++) {
        if (*p == '.') {
            point = 1;
            continue;
        }
        x = x * 10 + (*p - '0');
        if (point)
            scale *= 10;
        digits++;
    }
    if (!digits || p >= end || *p != '\t')
        return -1;
    *v = x / scale;
    *s = p + 1;
    return 0;
}

int ps_history_parse_line(const char *line, size_t len, uint64_t *k, struct ps_rec_point *pt, char *pool,
                          size_t pool_cap)
{
    const char *p = line, *end = line + len;
    if (len < 24 || p[0] != '1' || p[1] != '\t')
        return -1;
    p += 2;
    uint64_t h = 0;
    int nd = 0;
    for (; p < end && *p != '\t' && nd < 16; p++, nd++) {
        int d = *p >= '0' && *p <= '9' ? *p - '0' : *p >= 'a' && *p <= 'f' ? *p - 'a' + 10 : -1;
        if (d < 0)
            return -1;
        h = h << 4 | (uint64_t)d;
    }
    if (nd != 16 || p >= end || *p++ != '\t')
        return -1;
    double threads, w_c, tput;
    if (parse_num(&p, end, &threads) || parse_num(&p, end, &w_c) || parse_num(&p, end, &tput))
        return -1;
    if (end - p < 3 || (p[0] != 't' && p[0] != 'c') || p[1] != '\t' || threads < 1 || threads > 1e6)
        return -1;
    pt->threads = (int)threads;
    pt->w_c = w_c;
    pt->tput = tput;
    pt->by_tasks = p[0] == 't';
    p += 2;
    size_t n = (size_t)(end - p) < pool_cap - 1 ? (size_t)(end - p) : pool_cap - 1;
    memcpy(pool, p, n);
    pool[n] = 0;
    *k = h;
    return 0;
}

static void keep(const char *pool, const struct ps_rec_point *p)
{
    for (int i = 0; i < npoints; i++)
        if (points[i].p.threads == p->threads && !strcmp(points[i].pool, pool)) {
            points[i].p = *p;                   /* a newer run at that size */
            return;
        }
    if (npoints == HIST_POINTS) {                /* the oldest goes */
        memmove(points, points + 1, (HIST_POINTS - 1) * sizeof points[0]);
        npoints--;
    }
    struct hpoint *h = &points[npoints++];
    strcpy(h->pool, pool);
    h->p = *p;
}

/* The newest HIST_READ bytes of the file, from its first whole line, into
 * buf (HIST_READ + 1 bytes); their length, or -1 when there is no file. */
static long read_tail(int fd, char *buf)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return -1;
    off_t from = st.st_size > HIST_READ ? st.st_size - HIST_READ : 0;
    long n = syscall(SYS_pread64, fd, buf, (size_t)(st.st_size - from), from);
    if (n < 0)
        return -1;
    buf[n] = 0;
    if (from > 0) {                              /* a line cut by the offset */
        char *nl = memchr(buf, '\n', (size_t)n);
        long skip = nl ? nl - buf + 1 : n;
        memmove(buf, buf + skip, (size_t)(n - skip) + 1);
        n -= skip;
    }
    return n;
}

/* the file's newest part, and room for a run's lines after it when it is
 * rewritten (agent thread, or at exit: one user) */
static char tail[HIST_READ + HIST_LINES + 1];

static int open_file(int flags)
{
    char path[640];
    if (ps_fmt(path, sizeof path, "%s/%s", ps_cfg.dir, HIST_FILE) >= sizeof path - 1)
        return -1;
    return open(path, flags | O_CLOEXEC | O_NOFOLLOW, 0644);
}

static void load(void)
{
    loaded = 1;
    if (!ps_cfg.history || !key)
        return;
    int saved = errno;
    int fd = open_file(O_RDONLY);
    long n = fd >= 0 ? read_tail(fd, tail) : -1;
    if (fd >= 0)
        close(fd);
    errno = saved;
    for (long at = 0; n > 0 && at < n;) {
        char *nl = memchr(tail + at, '\n', (size_t)(n - at));
        if (!nl)
            break;                               /* cut short: not a line */
        uint64_t k;
        struct ps_rec_point p;
        char pool[HIST_POOL];
        if (!ps_history_parse_line(tail + at, (size_t)(nl - tail - at), &k, &p, pool, sizeof pool) && k == key)
            keep(pool, &p);
        at = nl - tail + 1;
    }
}

int ps_history_points(int pi, int skip_threads, struct ps_rec_point *out, int max)
{
    if (!loaded)
        load();
    if (!npoints)
        return 0;
    char pool[HIST_POOL];
    ps_poolname_label(pi, pool, sizeof pool);     /* as line_for wrote it */
    int n = 0;
    for (int i = npoints - 1; i >= 0 && n < max; i--)
        if (points[i].p.threads != skip_threads && !strcmp(points[i].pool, pool))
            out[n++] = points[i].p;
    return n;
}

/* This run's line for pool pi, or 0 bytes where it ran at no one size or
 * was not sized by its W/C. */
static size_t line_for(int pi, char *buf, size_t cap)
{
    const struct ps_view_pool *v = ps_view_answer(pi);
    if (!v || v->churns || v->peak < 2 || v->wall_s <= 0 || v->tot.cpu_ns < 5000000ull)
        return 0;
    enum ps_class c = v->rec.cls;
    if (c != PS_CLASS_IO && c != PS_CLASS_MIXED && c != PS_CLASS_CPU && c != PS_CLASS_STARVED)
        return 0;
    char label[HIST_POOL], wc[32], tp[32], hex[17];
    ps_poolname_label(pi, label, sizeof label);
    if (strchr(label, '\n') || strchr(label, '\t'))
        return 0;
    ps_fmt_double(wc, sizeof wc, v->point.w_c, 4);
    ps_fmt_double(tp, sizeof tp, v->point.tput, 4);
    for (int i = 0; i < 16; i++)                 /* ps_fmt has no %016lx */
        hex[i] = "0123456789abcdef"[key >> (60 - 4 * i) & 15];
    hex[16] = 0;
    return ps_fmt(buf, cap, "1\t%s\t%d\t%s\t%s\t%c\t%s\n", hex, v->point.threads, wc, tp,
                  v->point.by_tasks ? 't' : 'c', label);
}

void ps_history_append(void)
{
    static char lines[HIST_LINES];
    static int failed_logged;
    if (!ps_cfg.history || !key || ps_cfg.control == PS_CONTROL_ON)
        return;
    size_t len = 0;
    char one[256];
    for (int pi = 0; pi < ps_view_last()->npools; pi++) {
        size_t k = line_for(pi, one, sizeof one);
        if (k && k < sizeof one - 1 && len + k < sizeof lines) {
            memcpy(lines + len, one, k);
            len += k;
        }
    }
    if (!len)
        return;
    int saved = errno;
    int fd = open_file(O_RDWR | O_APPEND), e = 0;
    struct stat st;
    if (fd < 0 && errno == ENOENT) {
        /* the first run: created whole or not at all (a full disk leaves no empty file) */
        e = -ps_file_write_atomic(ps_cfg.dir, HIST_FILE, lines, len);
    } else if (fd < 0) {
        e = errno;
    } else if (fstat(fd, &st) != 0) {
        e = errno;
    } else if (st.st_size > HIST_KEEP_MAX) {
        /* too long: its newest part and these lines replace it, in one rename */
        long n = read_tail(fd, tail);
        if (n >= 0) {
            memcpy(tail + n, lines, len);
            e = -ps_file_write_atomic(ps_cfg.dir, HIST_FILE, tail, (size_t)n + len);
        } else {
            e = -ps_write_all(fd, lines, len);
        }
    } else if ((e = -ps_write_all(fd, lines, len)) != 0) {
        /* a full disk may have taken part of the lines: the file as it was */
        if (ftruncate(fd, st.st_size) != 0)
            e = errno;
    }
    if (fd >= 0)
        close(fd);
    if (e)
        ps_log_once(&failed_logged, "cannot write %s/%s (errno %d): this run is left out of the history",
                    ps_cfg.dir, HIST_FILE, e);
    errno = saved;
}
