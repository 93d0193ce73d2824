/* Unit tests for shim/base/config.c: every POOLSHIM_* variable's accepted and
 * rejected values, defaults kept on rejection, one stderr line naming the
 * variable. Each Criterion test runs in its own process, so ps_log's writes to
 * fd 2 are captured with a pipe (capture.h) without disturbing other tests. */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <sys/stat.h>
#include "capture.h"
#include "config.h"

/* Sets one variable on a fresh default config; returns ps_config_set's result
 * and leaves the captured stderr in *log. */
static int set1(struct ps_config *c, const char *name, const char *value, struct ps_cap *cap)
{
    ps_config_defaults(c);
    ps_cap_begin(cap);
    int r = ps_config_set(c, name, value);
    ps_cap_end(cap);
    return r;
}

/* A rejected value: -1, exactly one line that names the variable and the
 * value, and the whole config still equal to the defaults. */
static void expect_rejected(const char *name, const char *value)
{
    struct ps_config c, d;
    struct ps_cap cap;
    cr_expect_eq(set1(&c, name, value, &cap), -1, "%s=\"%s\" accepted", name, value);
    ps_config_defaults(&d);
    cr_expect_eq(memcmp(&c, &d, sizeof c), 0, "%s=\"%s\" changed the config", name, value);
    cr_expect_eq(ps_count_lines(cap.text), 1, "%s=\"%s\": log was \"%s\"", name, value, cap.text);
    cr_expect_not_null(strstr(cap.text, name), "log does not name %s: \"%s\"", name, cap.text);
    cr_expect_not_null(strstr(cap.text, "poolshim["), "log lacks the prefix: \"%s\"", cap.text);
}

static void expect_int(const char *name, const char *value, const int *field, int want)
{
    struct ps_config c;
    struct ps_cap cap;
    size_t off = (const char *)field - (const char *)&ps_cfg;
    cr_expect_eq(set1(&c, name, value, &cap), 0, "%s=\"%s\" rejected: %s", name, value, cap.text);
    cr_expect_eq(*(int *)((char *)&c + off), want, "%s=\"%s\" gave %d", name, value,
                 *(int *)((char *)&c + off));
    cr_expect_str_empty(cap.text, "accepted value logged: %s", cap.text);
}

Test(config, defaults_match_the_readme_table)
{
    struct ps_config c;
    char cwd[512];
    ps_config_defaults(&c);
    cr_assert_not_null(getcwd(cwd, sizeof cwd));
    cr_expect_str_eq(c.dir, cwd);
    cr_expect_eq(c.control, PS_CONTROL_ADVISE);
    cr_expect_eq(c.dump, 1);
    cr_expect_eq(c.interval_ms, 100);
    cr_expect_eq(c.summary, 1);
    cr_expect_eq(c.report, 1);
    cr_expect_eq(c.dump_signal, SIGRTMIN + 7);
    cr_expect_eq(c.dump_max, 8);
    cr_expect_eq(c.dump_min_interval_s, 10);
    cr_expect_eq(c.dump_blocked_ms, 1000);
    cr_expect_eq(c.min_threads, 1);
    cr_expect_eq(c.max_threads, 0);
    cr_expect_eq(c.cooldown_ms, 500);
    cr_expect_str_empty(c.expand);
    cr_expect_str_empty(c.pool);
    cr_expect_eq(c.alloc_sample_lg, 19);
    cr_expect_eq(c.dump_capture, PS_CAPTURE_AUTO);
    cr_expect_eq(c.history, 1);
    cr_expect_str_empty(c.supervisor);
}

/* Integer variables: both range ends accepted, one past each end rejected. */
struct int_var { const char *name; const int *field; int min, max; };
static const struct int_var int_vars[] = {
    { "POOLSHIM_INTERVAL_MS", &ps_cfg.interval_ms, 10, 10000 },
    { "POOLSHIM_DUMP_MAX", &ps_cfg.dump_max, 0, 1000 },
    { "POOLSHIM_DUMP_INTERVAL_S", &ps_cfg.dump_min_interval_s, 0, 86400 },
    { "POOLSHIM_DUMP_BLOCKED_MS", &ps_cfg.dump_blocked_ms, 10, 3600000 },
    { "POOLSHIM_MIN", &ps_cfg.min_threads, 1, 100000 },
    { "POOLSHIM_MAX", &ps_cfg.max_threads, 0, 100000 },
    { "POOLSHIM_COOLDOWN_MS", &ps_cfg.cooldown_ms, 0, 600000 },
    { "POOLSHIM_ALLOC_SAMPLE", &ps_cfg.alloc_sample_lg, -1, 40 },
};

Test(config, accepts_integer_range_ends)
{
    for (size_t i = 0; i < sizeof int_vars / sizeof int_vars[0]; i++) {
        const struct int_var *v = &int_vars[i];
        char s[32];
        snprintf(s, sizeof s, "%d", v->min);
        expect_int(v->name, s, v->field, v->min);
        snprintf(s, sizeof s, "%d", v->max);
        expect_int(v->name, s, v->field, v->max);
        snprintf(s, sizeof s, "%d", (v->min + v->max) / 2);
        expect_int(v->name, s, v->field, (v->min + v->max) / 2);
    }
}

Test(config, rejects_integers_out_of_range)
{
    for (size_t i = 0; i < sizeof int_vars / sizeof int_vars[0]; i++) {
        char s[32];
        snprintf(s, sizeof s, "%d", int_vars[i].min - 1);
        expect_rejected(int_vars[i].name, s);
        snprintf(s, sizeof s, "%d", int_vars[i].max + 1);
        expect_rejected(int_vars[i].name, s);
    }
}

Test(config, rejects_values_that_overflow_long)
{
    expect_rejected("POOLSHIM_MAX", "99999999999999999999999");
    expect_rejected("POOLSHIM_MAX", "4294967297");     /* would wrap to 1 as an int */
    expect_rejected("POOLSHIM_ALLOC_SAMPLE", "-99999999999999999999999");
}

Test(config, rejects_trailing_garbage)
{
    expect_rejected("POOLSHIM_INTERVAL_MS", "100ms");
    expect_rejected("POOLSHIM_INTERVAL_MS", "100 ");
    expect_rejected("POOLSHIM_INTERVAL_MS", "100\n");
    expect_rejected("POOLSHIM_INTERVAL_MS", "1.5");
    expect_rejected("POOLSHIM_INTERVAL_MS", "0x20");
    expect_rejected("POOLSHIM_CONTROL", "on ");
    expect_rejected("POOLSHIM_CONTROL", "onn");
    expect_rejected("POOLSHIM_DUMP", "off,on");
}

Test(config, rejects_leading_space_and_sign_noise)
{
    expect_rejected("POOLSHIM_INTERVAL_MS", " 100");
    expect_rejected("POOLSHIM_INTERVAL_MS", "\t100");
    expect_rejected("POOLSHIM_INTERVAL_MS", "--100");
    expect_rejected("POOLSHIM_CONTROL", " on");
}

Test(config, rejects_empty_values)
{
    expect_rejected("POOLSHIM_INTERVAL_MS", "");
    expect_rejected("POOLSHIM_CONTROL", "");
    expect_rejected("POOLSHIM_DUMP", "");
    expect_rejected("POOLSHIM_SUMMARY", "");
    expect_rejected("POOLSHIM_REPORT", "");
    expect_rejected("POOLSHIM_DIR", "");
}

Test(config, accepts_every_choice_with_its_index)
{
    struct ps_config c;
    struct ps_cap cap;
    const char *ctl[] = { "off", "advise", "on" };
    for (int i = 0; i < 3; i++) {
        cr_expect_eq(set1(&c, "POOLSHIM_CONTROL", ctl[i], &cap), 0);
        cr_expect_eq(c.control, i, "%s", ctl[i]);
    }
    cr_expect_eq(PS_CONTROL_OFF, 0);
    cr_expect_eq(PS_CONTROL_ON, 2);
    cr_expect_eq(set1(&c, "POOLSHIM_SUMMARY", "threads", &cap), 0);
    cr_expect_eq(c.summary, 2, "POOLSHIM_SUMMARY=threads");
    const char *onoff[] = { "POOLSHIM_DUMP", "POOLSHIM_SUMMARY", "POOLSHIM_REPORT", "POOLSHIM_HISTORY" };
    for (int i = 0; i < 4; i++) {
        cr_expect_eq(set1(&c, onoff[i], "off", &cap), 0);
        int *f = !strcmp(onoff[i], "POOLSHIM_DUMP") ? &c.dump : !strcmp(onoff[i], "POOLSHIM_SUMMARY") ? &c.summary
                 : !strcmp(onoff[i], "POOLSHIM_HISTORY") ? &c.history : &c.report;
        cr_expect_eq(*f, 0, "%s=off", onoff[i]);
        cr_expect_eq(set1(&c, onoff[i], "on", &cap), 0);
        cr_expect_eq(*f, 1, "%s=on", onoff[i]);
    }
    const char *cap_ways[] = { "auto", "ptrace", "signal" };
    for (int i = 0; i < 3; i++) {
        cr_expect_eq(set1(&c, "POOLSHIM_DUMP_CAPTURE", cap_ways[i], &cap), 0);
        cr_expect_eq(c.dump_capture, i, "%s", cap_ways[i]);
    }
    cr_expect_eq(PS_CAPTURE_SIGNAL, 2);
}

Test(config, rejects_choices_it_does_not_list)
{
    expect_rejected("POOLSHIM_CONTROL", "ON");
    expect_rejected("POOLSHIM_CONTROL", "adv");
    expect_rejected("POOLSHIM_CONTROL", "1");
    expect_rejected("POOLSHIM_CONTROL", "off|on");
    expect_rejected("POOLSHIM_DUMP", "advise");
    expect_rejected("POOLSHIM_SUMMARY", "yes");
    expect_rejected("POOLSHIM_REPORT", "threads");
    expect_rejected("POOLSHIM_REPORT", "0");
    expect_rejected("POOLSHIM_DUMP_CAPTURE", "gdb");
    expect_rejected("POOLSHIM_DUMP_CAPTURE", "Ptrace");
    expect_rejected("POOLSHIM_HISTORY", "1");
}

Test(config, log_line_shows_control_bytes_and_long_values_safely)
{
    struct ps_config c;
    struct ps_cap cap;
    set1(&c, "POOLSHIM_CONTROL", "on\nPOOLSHIM fake line", &cap);
    cr_expect_eq(ps_count_lines(cap.text), 1, "%s", cap.text);
    cr_expect_not_null(strstr(cap.text, "\"on?POOLSHIM fake line\""), "%s", cap.text);
    char big[4000];
    memset(big, '7', sizeof big - 1);
    big[sizeof big - 1] = 0;
    set1(&c, "POOLSHIM_INTERVAL_MS", big, &cap);
    cr_expect_eq(ps_count_lines(cap.text), 1, "%s", cap.text);
    cr_expect_not_null(strstr(cap.text, "...\" ignored: expected an integer 10..10000"), "%s", cap.text);
}

Test(config, rejection_line_says_what_is_accepted)
{
    struct ps_config c;
    struct ps_cap cap;
    set1(&c, "POOLSHIM_CONTROL", "maybe", &cap);
    cr_expect_not_null(strstr(cap.text, "POOLSHIM_CONTROL=\"maybe\""), "%s", cap.text);
    cr_expect_not_null(strstr(cap.text, "off, advise or on"), "%s", cap.text);
    set1(&c, "POOLSHIM_INTERVAL_MS", "5", &cap);
    cr_expect_not_null(strstr(cap.text, "10..10000"), "%s", cap.text);
}

Test(config, string_variables_take_up_to_127_bytes)
{
    struct ps_config c;
    struct ps_cap cap;
    char s[200];
    memset(s, 'r', 127);
    s[127] = 0;
    cr_expect_eq(set1(&c, "POOLSHIM_EXPAND", s, &cap), 0);
    cr_expect_str_eq(c.expand, s);
    cr_expect_eq(set1(&c, "POOLSHIM_POOL", "worker_main", &cap), 0);
    cr_expect_str_eq(c.pool, "worker_main");
    cr_expect_eq(set1(&c, "POOLSHIM_POOL", "", &cap), 0);    /* empty: every routine */
    cr_expect_str_empty(c.pool);
    s[127] = 'r';
    s[128] = 0;
    expect_rejected("POOLSHIM_EXPAND", s);
    expect_rejected("POOLSHIM_POOL", s);
}

Test(config, metrics_takes_a_path_up_to_511_bytes)
{
    struct ps_config c;
    struct ps_cap cap;
    char s[600];
    ps_config_defaults(&c);
    cr_expect_str_empty(c.metrics);                         /* default: no metrics file */
    cr_expect_eq(set1(&c, "POOLSHIM_METRICS", "/var/lib/node-exporter/app-%p.prom", &cap), 0);
    cr_expect_str_eq(c.metrics, "/var/lib/node-exporter/app-%p.prom");
    memset(s, 'm', 511);
    s[511] = 0;
    cr_expect_eq(set1(&c, "POOLSHIM_METRICS", s, &cap), 0);
    s[511] = 'm';
    s[512] = 0;
    expect_rejected("POOLSHIM_METRICS", s);
}

Test(config, dir_accepts_a_writable_directory)
{
    char d[64];
    struct ps_config c;
    struct ps_cap cap;
    ps_mkscratch(d);
    cr_expect_eq(set1(&c, "POOLSHIM_DIR", d, &cap), 0, "%s", cap.text);
    cr_expect_str_eq(c.dir, d);
    ps_rmscratch(d);
}

Test(config, dir_makes_a_relative_path_absolute)
{
    char d[64], cwd[512], want[600];
    struct ps_config c;
    struct ps_cap cap;
    ps_mkscratch(d);
    cr_assert_eq(chdir("/tmp"), 0);
    cr_assert_not_null(getcwd(cwd, sizeof cwd));
    cr_expect_eq(set1(&c, "POOLSHIM_DIR", d + 5, &cap), 0, "%s", cap.text);   /* "poolshim-unit.XXX" */
    snprintf(want, sizeof want, "%s/%s", cwd, d + 5);
    cr_expect_str_eq(c.dir, want);
    ps_rmscratch(d);
}

Test(config, dir_rejects_a_missing_directory)
{
    expect_rejected("POOLSHIM_DIR", "/nonexistent/poolshim/dir");
}

Test(config, dir_rejects_a_regular_file)
{
    char d[64], f[96];
    ps_mkscratch(d);
    snprintf(f, sizeof f, "%s/file", d);
    FILE *fp = fopen(f, "w");
    cr_assert_not_null(fp);
    fclose(fp);
    chmod(f, 0777);                 /* writable and "searchable": still not a directory */
    expect_rejected("POOLSHIM_DIR", f);
    ps_rmscratch(d);
}

Test(config, dir_rejects_a_read_only_directory)
{
    char d[64];
    ps_mkscratch(d);
    cr_assert_eq(chmod(d, 0555), 0);
    ps_be_nobody();
    expect_rejected("POOLSHIM_DIR", d);
    ps_be_root_again();
    ps_rmscratch(d);
}

Test(config, rejects_unknown_poolshim_names)
{
    struct ps_config c, d;
    struct ps_cap cap;
    cr_expect_eq(set1(&c, "POOLSHIM_INTERVAL", "100", &cap), -1);
    ps_config_defaults(&d);
    cr_expect_eq(memcmp(&c, &d, sizeof c), 0);
    cr_expect_eq(ps_count_lines(cap.text), 1, "%s", cap.text);
    cr_expect_not_null(strstr(cap.text, "POOLSHIM_INTERVAL is not a poolshim variable"), "%s", cap.text);
}

Test(config, set_keeps_errno)
{
    struct ps_config c;
    struct ps_cap cap;
    ps_config_defaults(&c);
    ps_cap_begin(&cap);
    errno = EDOM;
    ps_config_set(&c, "POOLSHIM_INTERVAL_MS", "nope");
    cr_expect_eq(errno, EDOM);
    errno = ERANGE;
    ps_config_set(&c, "POOLSHIM_INTERVAL_MS", "99999999999999999999999");
    cr_expect_eq(errno, ERANGE);
    errno = EDOM;
    ps_config_set(&c, "POOLSHIM_DIR", "/nonexistent");
    cr_expect_eq(errno, EDOM);
    ps_cap_end(&cap);
}

Test(config, load_reads_only_poolshim_entries_and_counts_rejections)
{
    struct ps_config c;
    struct ps_cap cap;
    char *env[] = {
        "PATH=/usr/bin", "POOLSHIM_INTERVAL_MS=250", "POOLSHIM_CONTROL=on", "POOLSHIMX=1",
        "POOLSHIM_MAX=-3", "POOLSHIM_BOGUS=1", "POOLSHIM_BUILD=/x", "POOLSHIM_LIB=/y",
        "POOLSHIM_NOEQUALS", "POOLSHIM_POOL=work_loop", NULL,
    };
    ps_cap_begin(&cap);
    int bad = ps_config_load(&c, env);
    ps_cap_end(&cap);
    cr_expect_eq(bad, 2, "bad %d, log: %s", bad, cap.text);   /* MAX, BOGUS */
    cr_expect_eq(ps_count_lines(cap.text), 2, "%s", cap.text);
    cr_expect_not_null(strstr(cap.text, "POOLSHIM_MAX=\"-3\""), "%s", cap.text);
    cr_expect_not_null(strstr(cap.text, "POOLSHIM_BOGUS"), "%s", cap.text);
    cr_expect_null(strstr(cap.text, "POOLSHIMX"), "not our prefix, yet logged: %s", cap.text);
    cr_expect_null(strstr(cap.text, "POOLSHIM_BUILD"), "%s", cap.text);
    cr_expect_eq(c.interval_ms, 250);
    cr_expect_eq(c.control, PS_CONTROL_ON);
    cr_expect_eq(c.max_threads, 0);
    cr_expect_str_eq(c.pool, "work_loop");
}

Test(config, supervisor_name_is_taken_silently_and_too_long_a_one_is_none)
{
    struct ps_config c;
    struct ps_cap cap;
    char *env[] = { "POOLSHIM_SUPERVISOR=poolshim-run.12.ab", NULL };
    ps_cap_begin(&cap);
    cr_expect_eq(ps_config_load(&c, env), 0);
    ps_cap_end(&cap);
    cr_expect_str_eq(c.supervisor, "poolshim-run.12.ab");
    cr_expect_str_empty(cap.text, "set by poolshim run, not a user's setting: no warning");
    char long_one[200];
    memset(long_one, 'x', sizeof long_one);
    memcpy(long_one, "POOLSHIM_SUPERVISOR=", 20);
    long_one[sizeof long_one - 1] = 0;                 /* 179 bytes: more than an abstract socket name holds */
    char *env2[] = { long_one, NULL };
    ps_cap_begin(&cap);
    ps_config_load(&c, env2);
    ps_cap_end(&cap);
    cr_expect_str_empty(c.supervisor);
}

Test(config, load_rejects_overlong_names)
{
    struct ps_config c;
    struct ps_cap cap;
    char name[128];
    memset(name, 'X', sizeof name);
    memcpy(name, "POOLSHIM_", 9);
    strcpy(name + 100, "=1");
    char *env[] = { name, NULL };
    ps_cap_begin(&cap);
    int bad = ps_config_load(&c, env);
    ps_cap_end(&cap);
    cr_expect_eq(bad, 1);
    cr_expect_eq(ps_count_lines(cap.text), 1, "%s", cap.text);
    cr_expect_not_null(strstr(cap.text, "name too long"), "%s", cap.text);
}

Test(config, load_of_the_process_environment)
{
    struct ps_config c;
    struct ps_cap cap;
    cr_assert_eq(setenv("POOLSHIM_COOLDOWN_MS", "1234", 1), 0);
    ps_cap_begin(&cap);
    ps_config_load(&c, NULL);
    ps_cap_end(&cap);
    cr_expect_eq(c.cooldown_ms, 1234);
}

/* Only the real-time signals the C library leaves to programs: a standard
 * signal would take its meaning from the program (kill -TERM must still stop
 * it), and glibc keeps 32 and 33 for itself. */
Test(config, dump_signal_accepts_only_free_realtime_signals)
{
    char s[32];
    snprintf(s, sizeof s, "%d", SIGRTMIN);
    expect_int("POOLSHIM_DUMP_SIGNAL", s, &ps_cfg.dump_signal, SIGRTMIN);
    snprintf(s, sizeof s, "%d", SIGRTMAX);
    expect_int("POOLSHIM_DUMP_SIGNAL", s, &ps_cfg.dump_signal, SIGRTMAX);
    expect_int("POOLSHIM_DUMP_SIGNAL", "SIGRTMIN+3", &ps_cfg.dump_signal, SIGRTMIN + 3);
    expect_int("POOLSHIM_DUMP_SIGNAL", "RTMAX-1", &ps_cfg.dump_signal, SIGRTMAX - 1);
    expect_int("POOLSHIM_DUMP_SIGNAL", "SIGRTMIN", &ps_cfg.dump_signal, SIGRTMIN);
    static const char *const bad[] = { "15", "9", "19", "32", "33", "0", "-1", "65", "SIGTERM", "SIGRTMIN-1",
                                       "SIGRTMAX+1", "RTMIN+", "SIGRTMIN+99", "RTMAX+0", "SIGRTMIN+ 1", "" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_rejected("POOLSHIM_DUMP_SIGNAL", bad[i]);
    snprintf(s, sizeof s, "%d", SIGRTMIN - 1);
    expect_rejected("POOLSHIM_DUMP_SIGNAL", s);
}
