/* config.h: every POOLSHIM_* variable, parsed once at start into ps_cfg.
 * config.c holds the only table of names, types, defaults and ranges; the
 * README's table mirrors it (tests/unit/test_config.c checks the parser). */
#ifndef PS_CONFIG_H
#define PS_CONFIG_H
#include <stddef.h>

enum ps_dump_capture { PS_CAPTURE_AUTO, PS_CAPTURE_PTRACE, PS_CAPTURE_SIGNAL };
enum ps_control { PS_CONTROL_OFF, PS_CONTROL_ADVISE, PS_CONTROL_ON };

struct ps_config {
    char dir[512];          /* POOLSHIM_DIR: absolute, where files go */
    int control;            /* POOLSHIM_CONTROL: enum ps_control */
    int dump;               /* POOLSHIM_DUMP: 1 on saturation, 0 off */
    int interval_ms;        /* POOLSHIM_INTERVAL_MS: sampler period */
    int summary;            /* POOLSHIM_SUMMARY: stderr summary at exit: 0 off, 1 on, 2 only
                               for a process that ran a thread besides main (poolshim run's default) */
    int report;             /* POOLSHIM_REPORT: write poolshim.<pid>.json */
    int dump_signal;        /* POOLSHIM_DUMP_SIGNAL: signal number for stacks/requests */
    int dump_max;           /* POOLSHIM_DUMP_MAX: dumps per process */
    int dump_min_interval_s;/* POOLSHIM_DUMP_INTERVAL_S: min seconds between dumps */
    int dump_blocked_ms;    /* POOLSHIM_DUMP_BLOCKED_MS: all workers blocked this long => dump */
    int min_threads;        /* POOLSHIM_MIN: controller floor */
    int max_threads;        /* POOLSHIM_MAX: controller ceiling (0 = 4 x cores x 16) */
    int cooldown_ms;        /* POOLSHIM_COOLDOWN_MS: between two controller changes */
    char expand[128];       /* POOLSHIM_EXPAND: start routine of a pool safe to grow */
    char pool[128];         /* POOLSHIM_POOL: only this start routine is a pool (empty: all) */
    int alloc_sample_lg;    /* POOLSHIM_ALLOC_SAMPLE: lg2 bytes between heap samples, -1 off */
    char metrics[512];      /* POOLSHIM_METRICS: Prometheus text file rewritten each interval (%p: pid), empty: none */
    int trace;              /* POOLSHIM_TRACE: 1 records the per-thread state timeline (trace.h) */
    int trace_events;       /* POOLSHIM_TRACE_EVENTS: wait slices kept per thread (ring) */
    int dump_capture;       /* POOLSHIM_DUMP_CAPTURE: enum ps_dump_capture */
    char supervisor[108];   /* POOLSHIM_SUPERVISOR: abstract socket of the supervising poolshim run
                               (set by it; empty: none), see supervise.c */
    int history;            /* POOLSHIM_HISTORY: 1 reads and appends POOLSHIM_DIR/poolshim.history */
    int malloc_libc;        /* POOLSHIM_MALLOC: 1 libc (default), 0 jemalloc (read early by
                               interpose_malloc.c; validated here) */
};

extern struct ps_config ps_cfg;
/* Set by interpose_malloc.c at the process's first allocation: the program
 * links libjemalloc before libc, so jemalloc is its allocator whatever
 * POOLSHIM_MALLOC says (glibc's heap would crash it); ps_config_load then
 * takes jemalloc, and says so once if libc was asked for. */
extern int ps_malloc_program_jemalloc;

/* Parses env (a NULL-terminated environ-like array, or NULL for the process
 * environment) into cfg; each bad value logs one line and keeps the default.
 * Returns the number of rejected variables. */
int ps_config_load(struct ps_config *cfg, char *const *env);

/* One variable: 0 if accepted into cfg, -1 (and a log line) if rejected. */
int ps_config_set(struct ps_config *cfg, const char *name, const char *value);
void ps_config_defaults(struct ps_config *cfg);
#endif
