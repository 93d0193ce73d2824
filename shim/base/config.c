/* config.c: the table of POOLSHIM_* variables and their one parser.
 * Read once in the constructor (before any thread of ours exists); after that
 * ps_cfg is read-only, so every thread reads it without synchronisation.
 * A bad value never stops the program: one line on stderr naming the variable
 * and what it accepts, and the default stays. Unknown POOLSHIM_* names are
 * reported too, since a typo would otherwise silently do nothing. */
#include "config.h"
#include "log.h"
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

struct ps_config ps_cfg;

enum kind { K_INT, K_CHOICE, K_STR, K_PATH, K_RTSIG };

struct var {
    const char *name;
    enum kind kind;
    size_t off;
    long min, max;           /* K_INT range; K_STR max length */
    const char *choices;     /* K_CHOICE: "off|advise|on", index is the value */
    const char *help;
};

#define OFF(f) offsetof(struct ps_config, f)
static const struct var vars[] = {
    { "POOLSHIM_DIR", K_PATH, OFF(dir), 0, 0, NULL, "a writable directory (default: the start directory)" },
    { "POOLSHIM_CONTROL", K_CHOICE, OFF(control), 0, 0, "off|advise|on", "off, advise or on (default advise)" },
    { "POOLSHIM_DUMP", K_CHOICE, OFF(dump), 0, 0, "off|on", "on or off (default on)" },
    { "POOLSHIM_INTERVAL_MS", K_INT, OFF(interval_ms), 10, 10000, NULL, "an integer 10..10000 (default 100)" },
    { "POOLSHIM_SUMMARY", K_CHOICE, OFF(summary), 0, 0, "off|on|threads",
      "on, off or threads (only a process that ran a thread besides its main one; default on)" },
    { "POOLSHIM_REPORT", K_CHOICE, OFF(report), 0, 0, "off|on", "on or off (default on)" },
    { "POOLSHIM_DUMP_SIGNAL", K_RTSIG, OFF(dump_signal), 0, 0, NULL,
      "a real-time signal the C library leaves to programs, SIGRTMIN..SIGRTMAX (34..64 with glibc), "
      "as a number or SIGRTMIN+N / SIGRTMAX-N (default SIGRTMIN+7)" },
    { "POOLSHIM_DUMP_MAX", K_INT, OFF(dump_max), 0, 1000, NULL, "an integer 0..1000 (default 8)" },
    { "POOLSHIM_DUMP_INTERVAL_S", K_INT, OFF(dump_min_interval_s), 0, 86400, NULL, "an integer 0..86400 (default 10)" },
    { "POOLSHIM_DUMP_BLOCKED_MS", K_INT, OFF(dump_blocked_ms), 10, 3600000, NULL, "an integer 10..3600000 (default 1000)" },
    { "POOLSHIM_MIN", K_INT, OFF(min_threads), 1, 100000, NULL, "an integer 1..100000 (default 1)" },
    { "POOLSHIM_MAX", K_INT, OFF(max_threads), 0, 100000, NULL, "an integer 0..100000, 0 = automatic (default 0)" },
    { "POOLSHIM_COOLDOWN_MS", K_INT, OFF(cooldown_ms), 0, 600000, NULL, "an integer 0..600000 (default 500)" },
    { "POOLSHIM_EXPAND", K_STR, OFF(expand), 0, 127, NULL, "a start routine name, at most 127 bytes" },
    { "POOLSHIM_POOL", K_STR, OFF(pool), 0, 127, NULL, "a start routine name, at most 127 bytes" },
    { "POOLSHIM_MALLOC", K_CHOICE, OFF(malloc_libc), 0, 0, "jemalloc|libc", "libc or jemalloc (default libc)" },
    { "POOLSHIM_METRICS", K_STR, OFF(metrics), 0, 511, NULL, "a file path (%p: the pid), at most 511 bytes" },
    { "POOLSHIM_TRACE", K_CHOICE, OFF(trace), 0, 0, "off|on", "on or off (default off)" },
    { "POOLSHIM_TRACE_EVENTS", K_INT, OFF(trace_events), 1024, 4194304, NULL, "an integer 1024..4194304: wait slices kept per thread (default 65536)" },
    { "POOLSHIM_DUMP_CAPTURE", K_CHOICE, OFF(dump_capture), 0, 0, "auto|ptrace|signal", "auto, ptrace or signal (default auto)" },
    { "POOLSHIM_HISTORY", K_CHOICE, OFF(history), 0, 0, "off|on", "on or off (default on)" },
    { "POOLSHIM_ALLOC_SAMPLE", K_INT, OFF(alloc_sample_lg), -1, 40, NULL, "an integer -1..40: lg2 bytes between heap samples, -1 off (default 19)" },
};
#define NVARS (sizeof vars / sizeof vars[0])

void ps_config_defaults(struct ps_config *c)
{
    memset(c, 0, sizeof *c);
    if (!getcwd(c->dir, sizeof c->dir))
        strcpy(c->dir, ".");
    c->control = PS_CONTROL_ADVISE;
    c->dump = 1;
    c->interval_ms = 100;
    c->summary = 1;
    c->report = 1;
    c->dump_signal = SIGRTMIN + 7;
    c->dump_max = 8;
    c->dump_min_interval_s = 10;
    c->dump_blocked_ms = 1000;
    c->min_threads = 1;
    c->max_threads = 0;
    c->cooldown_ms = 500;
    c->alloc_sample_lg = 19;
    c->malloc_libc = 1;
    c->trace = 0;
    c->trace_events = 65536;
    c->history = 1;
}

static int parse_long(const char *s, long *out)
{
    char *end;
    /* strtol skips leading blanks and accepts "--1"-like noise; a value is a
     * plain optional '-' then digits, the same on both ends. */
    if (!((s[0] >= '0' && s[0] <= '9') || (s[0] == '-' && s[1] >= '0' && s[1] <= '9')))
        return -1;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end)
        return -1;
    *out = v;
    return 0;
}

/* A real-time signal: "40", "SIGRTMIN+6", "RTMAX-2". Only SIGRTMIN..SIGRTMAX:
 * a standard signal has a meaning for the program (TERM must still stop it),
 * and the C library keeps the real-time signals below SIGRTMIN (32, 33 in
 * glibc: thread cancellation and setxid) for itself. */
static int parse_rtsig(const char *s, long *out)
{
    long n, base = 0, sign = 1;
    if (!strncmp(s, "SIG", 3))
        s += 3;
    if (!strncmp(s, "RTMIN", 5) || !strncmp(s, "RTMAX", 5)) {
        base = s[3] == 'I' ? SIGRTMIN : SIGRTMAX;
        s += 5;
        if (!*s) {
            *out = base;
            return 0;
        }
        if (*s != (base == SIGRTMIN ? '+' : '-'))
            return -1;
        sign = base == SIGRTMIN ? 1 : -1;
        s++;
    }
    if (*s < '0' || *s > '9' || parse_long(s, &n))
        return -1;
    n = base + sign * n;
    if (n < SIGRTMIN || n > SIGRTMAX)
        return -1;
    *out = n;
    return 0;
}

static int parse_choice(const char *choices, const char *s)
{
    size_t n = strlen(s);
    int idx = 0;
    for (const char *p = choices; ; idx++) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (n && len == n && !strncmp(p, s, n))
            return idx;
        if (!bar)
            return -1;
        p = bar + 1;
    }
}

/* The value as echoed in the log: control bytes as '?' (a newline in a value
 * must not split our one line) and at most cap - 4 bytes, then "...". */
static void show_value(const char *v, char *out, size_t cap)
{
    size_t i = 0;
    for (; v[i] && i + 4 < cap; i++)
        out[i] = ((unsigned char)v[i] < 0x20 || v[i] == 0x7f) ? '?' : v[i];
    if (v[i]) {
        memcpy(out + i, "...", 3);
        i += 3;
    }
    out[i] = 0;
}

int ps_config_set(struct ps_config *c, const char *name, const char *value)
{
    int saved = errno;
    for (size_t i = 0; i < NVARS; i++) {
        const struct var *v = &vars[i];
        if (strcmp(v->name, name))
            continue;
        char *field = (char *)c + v->off;
        long n;
        int ok = 0;
        struct stat st;
        switch (v->kind) {
        case K_INT:
            if (!parse_long(value, &n) && n >= v->min && n <= v->max) {
                *(int *)field = (int)n;
                ok = 1;
            }
            break;
        case K_RTSIG:
            if (!parse_rtsig(value, &n)) {
                *(int *)field = (int)n;
                ok = 1;
            }
            break;
        case K_CHOICE:
            if ((n = parse_choice(v->choices, value)) >= 0) {
                *(int *)field = (int)n;
                ok = 1;
            }
            break;
        case K_STR:
            if (strlen(value) <= (size_t)v->max) {
                strcpy(field, value);
                ok = 1;
            }
            break;
        case K_PATH:
            if (*value && strlen(value) < sizeof c->dir && stat(value, &st) == 0 &&
                S_ISDIR(st.st_mode) && access(value, W_OK | X_OK) == 0) {
                if (value[0] == '/' || !getcwd(field, sizeof c->dir) ||
                    strlen(field) + 1 + strlen(value) >= sizeof c->dir)
                    strcpy(field, value);
                else {
                    strcat(field, "/");
                    strcat(field, value);
                }
                ok = 1;
            }
            break;
        }
        errno = saved;
        if (ok)
            return 0;
        char shown[72];
        show_value(value, shown, sizeof shown);
        ps_log("%s=\"%s\" ignored: expected %s", name, shown, v->help);
        return -1;
    }
    errno = saved;
    ps_log("%s is not a poolshim variable (ignored); see the README's table", name);
    return -1;
}

int ps_malloc_program_jemalloc;

int ps_config_load(struct ps_config *c, char *const *env)
{
    extern char **environ;
    ps_config_defaults(c);
    if (!env)
        env = environ;
    int bad = 0;
    for (; env && *env; env++) {
        const char *e = *env;
        if (strncmp(e, "POOLSHIM_", 9))
            continue;
        const char *eq = strchr(e, '=');
        if (!eq)
            continue;
        char name[64];
        size_t len = (size_t)(eq - e);
        if (len >= sizeof name) {
            ps_log("%s: name too long (ignored)", e);
            bad++;
            continue;
        }
        memcpy(name, e, len);
        name[len] = 0;
        /* POOLSHIM_BUILD etc. are for our scripts, not the shim */
        if (!strcmp(name, "POOLSHIM_BUILD") || !strcmp(name, "POOLSHIM_LIB"))
            continue;
        /* Not a user's setting: the socket `poolshim run` names for its child
         * (supervise.h); too long a name is no supervisor. */
        if (!strcmp(name, "POOLSHIM_SUPERVISOR")) {
            if (strlen(eq + 1) < sizeof c->supervisor)
                strcpy(c->supervisor, eq + 1);
            continue;
        }
        if (ps_config_set(c, name, eq + 1))
            bad++;
        else if (!strcmp(name, "POOLSHIM_MALLOC") && c->malloc_libc && ps_malloc_program_jemalloc)
            ps_log("POOLSHIM_MALLOC=libc: the program links jemalloc as its allocator, which keeps serving it");
    }
    if (ps_malloc_program_jemalloc)
        c->malloc_libc = 0;
    return bad;
}
