/* `poolshim show` names a dump's frames like a debugger: on the inline_lock
 * fixture (built -O2 -g: record_stats() inlined into stats_worker(), one
 * worker sleeping under stats_lock while the others wait, three threads on a
 * lock at journal+0x28, three on a heap lock), a requested dump shows the
 * inlined helper with the file:line the fixture reports, the locks by their
 * data symbols (the heap lock by the line that takes it), no frame of
 * libpoolshim.so unless --all-frames, every worker named down to its start
 * routine (through two levels of inlined calls where it waits for the lock),
 * libc's frames with file:line when libc's debug file is installed;
 * --folded repeats no name. A hand-made dump checks that stacks are grouped
 * by function and line, not by offset; a deadlock names both its locks. */
#include <criterion/criterion.h>
#include "analyzer_kit.h"
#include "dumpkit.h"

#define DUMP_SIG (SIGRTMIN + 7)

static const char *base(const char *p)
{
    const char *s = p ? strrchr(p, '/') : NULL;
    return s ? s + 1 : p;
}

/* Is f (a frame of the dump's format, or one of its inlined calls) function fn at line? */
static int loc_is(json_t *f, const char *fn, int line)
{
    const char *name = ps_str(f, "symbol");
    return f && name && !strcmp(name, fn) && ps_num(f, "line") == line;
}

/* Index of the frame of caller at caller_line whose only inlined call is fn
 * at line, or -1. */
static int find_pair(json_t *frames, const char *fn, int line, const char *caller, int caller_line)
{
    json_t *f;
    size_t i;
    json_array_foreach(frames, i, f) {
        json_t *in = json_object_get(f, "inlined");
        if (json_array_size(in) == 1 && loc_is(json_array_get(in, 0), fn, line) && loc_is(f, caller, caller_line))
            return (int)i;
    }
    return -1;
}

/* The same with two inlined calls, innermost fn1 inlined into fn2. */
static int find_chain(json_t *frames, const char *fn1, int line1, const char *fn2, int line2, const char *caller,
                      int caller_line)
{
    json_t *f;
    size_t i;
    json_array_foreach(frames, i, f) {
        json_t *in = json_object_get(f, "inlined");
        if (json_array_size(in) == 2 && loc_is(json_array_get(in, 0), fn1, line1) &&
            loc_is(json_array_get(in, 1), fn2, line2) && loc_is(f, caller, caller_line))
            return (int)i;
    }
    return -1;
}

/* Threads (summed over the answer's groups) at fn:line inlined in caller:caller_line. */
static int count_at(json_t *answer, const char *fn, int line, const char *caller, int caller_line)
{
    json_t *e;
    size_t i;
    int n = 0;
    json_array_foreach(json_object_get(answer, "groups"), i, e)
        if (find_pair(json_object_get(e, "frames"), fn, line, caller, caller_line) >= 0)
            n += (int)ps_num(e, "count");
    return n;
}

/* Threads waiting for stats_lock: take_stats_lock:lock_line in record_stats:take_line in stats_worker:call_line. */
static int count_waiting(json_t *answer, json_t *truth)
{
    json_t *e;
    size_t i;
    int n = 0;
    json_array_foreach(json_object_get(answer, "groups"), i, e)
        if (find_chain(json_object_get(e, "frames"), "take_stats_lock", (int)ps_num(truth, "stats_lock_line"),
                       "record_stats", (int)ps_num(truth, "stats_take_line"), "stats_worker",
                       (int)ps_num(truth, "stats_call_line")) >= 0)
            n += (int)ps_num(e, "count");
    return n;
}

/* The name the answer gives the lock at addr, or NULL. */
static const char *lock_name(json_t *answer, const char *addr)
{
    json_t *e;
    size_t i;
    json_array_foreach(json_object_get(answer, "locks"), i, e)
        if (ps_str(e, "object") && !strcmp(ps_str(e, "object"), addr))
            return ps_str(e, "name");
    return NULL;
}

static int has_shim_frame(json_t *frames)
{
    json_t *f;
    size_t i;
    json_array_foreach(frames, i, f) {
        const char *m = base(ps_str(f, "module"));
        if (m && strstr(m, "libpoolshim"))
            return 1;
    }
    return 0;
}

/* Path of libc's separate debug file by build ID if installed, else NULL. */
static const char *libc_debug_file(json_t *dump, char *buf, size_t n)
{
    json_t *m;
    size_t i;
    json_array_foreach(json_object_get(dump, "modules"), i, m) {
        const char *p = ps_str(m, "path"), *id = ps_str(m, "build_id");
        if (p && id && strlen(id) > 2 && !strncmp(base(p), "libc.so", 7)) {
            snprintf(buf, n, "/usr/lib/debug/.build-id/%.2s/%s.debug", id, id + 2);
            return access(buf, R_OK) == 0 ? buf : NULL;
        }
    }
    return NULL;
}

Test(symbols, show_names_inlined_helper_lock_symbols_and_hides_the_shim, .timeout = 60)
{
    char dir[] = "/tmp/poolshim-sym.XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char *argv[] = { (char *)ps_build_path("fixtures/inline_lock"), "--workers", "4", "--hold-ms", "300",
                     "--run-ms", "8000", "--until-dump", "1", NULL };
    char *env[] = { "POOLSHIM_DUMP=off", NULL };    /* one dump, the requested one */
    pid_t pid = dk_spawn(argv, dir, env);
    cr_assert(pid > 0);
    double t0 = dk_now();
    while (dk_live_threads(pid) < 11 && dk_now() - t0 < 10)
        usleep(20000);
    usleep(1000000);          /* holders asleep, waiters queued, contention recorded (locks[]) */
    cr_assert_eq(kill(pid, DUMP_SIG), 0);
    cr_assert(dk_wait_dumps(dir, 1, 10.0) >= 0, "no dump after the request");
    int st = dk_wait(pid, 20);
    char *err = dk_slurp(dir, "stderr"), *out = dk_slurp(dir, "stdout");
    cr_assert_eq(st, 0, "exit %d: %s", st, err);
    json_t *truth = json_loads(out, JSON_DISABLE_EOF_CHECK, NULL);
    cr_assert_not_null(truth, "no truth: %s", out);
    int lock_line = (int)ps_num(truth, "stats_lock_line"), sleep_line = (int)ps_num(truth, "stats_sleep_line");
    int call_line = (int)ps_num(truth, "stats_call_line"), take_line = (int)ps_num(truth, "stats_take_line");
    char path[600];
    snprintf(path, sizeof path, "%s/poolshim.%d.dump.0.json", dir, (int)pid);
    json_t *raw = json_load_file(path, 0, NULL);
    cr_assert_not_null(raw);

    struct ps_run a;
    ak_poolshim(&a, (char *[]){ "show", "--json", path, NULL });
    cr_assert_eq(a.status, 0, "exit %d: %s", a.status, a.err);
    json_t *j = json_loads(a.out, 0, NULL);
    cr_assert_not_null(j);

    /* The locks by their data symbols, at the addresses the program printed;
     * the heap lock by where it is taken. */
    json_t *e;
    size_t i;
    const char *ln = lock_name(j, ps_str(truth, "stats_lock"));
    cr_expect(ln && !strcmp(ln, "stats_lock"), "stats_lock named %s (locks: %s)", ln,
              json_dumps(json_object_get(j, "locks"), 0));
    cr_expect_eq(ps_num(truth, "journal_lock_offset"), 0x28);
    ln = lock_name(j, ps_str(truth, "journal_lock"));
    cr_expect(ln && !strcmp(ln, "journal+0x28"), "journal.lock named %s", ln);
    char want[128];
    snprintf(want, sizeof want, "lock taken at cache_refiller (inline_lock.c:%d)", (int)ps_num(truth, "cache_lock_line"));
    ln = lock_name(j, ps_str(truth, "cache_lock"));
    cr_expect(ln && !strcmp(ln, want), "heap lock named %s, not %s", ln, want);

    /* The inlined helper with its lines: the sleeping holder and the waiters. */
    char dbg[300];
    const char *libc_dbg = libc_debug_file(raw, dbg, sizeof dbg);
    if (!libc_dbg)
        fprintf(stderr, "symbols: libc's debug file is not installed (apt-get install libc6-dbg): "
                        "libc frames are not checked for file:line\n");
    int sleeping = 0, waiting = 0, workers_seen = 0;
    json_array_foreach(json_object_get(j, "groups"), i, e) {
        json_t *fr = json_object_get(e, "frames");
        cr_expect(!has_shim_frame(fr), "a shim frame in group %zu", i);
        int n = (int)ps_num(e, "count");
        if (find_pair(fr, "record_stats", sleep_line, "stats_worker", call_line) >= 0)
            sleeping += n;
        if (find_chain(fr, "take_stats_lock", lock_line, "record_stats", take_line, "stats_worker", call_line) >= 0)
            waiting += n;
        const char *routine = ps_str(e, "pool_routine");
        if (!routine || (strcmp(routine, "stats_worker") && strcmp(routine, "journal_flusher") &&
                         strcmp(routine, "cache_refiller")))
            continue;
        /* Named down to the start routine, and past it where libc is named. */
        workers_seen += n;
        json_t *f;
        size_t k;
        int reached = 0;
        json_array_foreach(fr, k, f) {
            const char *fn = ps_str(f, "symbol"), *mod = base(ps_str(f, "module"));
            int in_libc = mod && !strncmp(mod, "libc.so", 7);
            if (!reached || (in_libc && libc_dbg))
                cr_expect_not_null(fn, "group %zu frame %zu unnamed: %s", i, k, ps_str(f, "addr"));
            if (in_libc && libc_dbg)
                cr_expect(ps_str(f, "file") && ps_num(f, "line") > 0, "libc frame without file:line: %s", fn);
            reached |= fn && !strcmp(fn, routine);
        }
        cr_expect(reached, "group %zu of %s never reaches its start routine", i, routine);
    }
    cr_expect_eq(workers_seen, 10, "4 stats workers, 3 flushers and 3 refillers in the groups");
    /* The dump signal cuts the holder's usleep short (docs/dumps.md), so the
     * lock may change hands while the threads are captured one by one: count
     * both places, not who is where. */
    cr_expect(sleeping >= 1 && waiting >= 1 && sleeping + waiting >= 3,
              "%d workers seen sleeping in record_stats:%d, %d waiting at take_stats_lock:%d in record_stats:%d",
              sleeping, sleep_line, waiting, lock_line, take_line);
    json_array_foreach(json_object_get(j, "locks"), i, e)
        cr_expect(!strstr(json_dumps(json_object_get(e, "holder_stack"), 0), "libpoolshim"));

    /* Text: the same names, no shim frame; --all-frames shows ours. */
    struct ps_run t, all, fo, nb;
    ak_poolshim(&t, (char *[]){ "show", path, NULL });
    snprintf(want, sizeof want, "record_stats at inline_lock.c:%d (inlined)", sleep_line);
    cr_expect_not_null(strstr(t.out, want), "no '%s' in:\n%s", want, t.out);
    snprintf(want, sizeof want, "mutex stats_lock (%s)", ps_str(truth, "stats_lock"));
    cr_expect_not_null(strstr(t.out, want), "no '%s' in:\n%s", want, t.out);
    cr_expect_null(strstr(t.out, "libpoolshim"), "a shim frame in:\n%s", t.out);
    cr_expect(ak_width(t.out) <= 100, "a line is %d columns wide: %s", ak_width(t.out), ak_widest(t.out));
    ak_poolshim(&all, (char *[]){ "show", "--all-frames", path, NULL });
    cr_expect_not_null(strstr(all.out, "libpoolshim"), "--all-frames hides the shim's frames");

    /* Folded: no name twice in a row, the inlined helper a frame of its own. */
    ak_poolshim(&fo, (char *[]){ "show", "--folded", path, NULL });
    cr_expect_not_null(strstr(fo.out, ";stats_worker;record_stats;"), "%s", fo.out);
    for (char *l = fo.out; *l;) {
        char *nl = strchr(l, '\n'), prev[256] = "";
        size_t len = nl ? (size_t)(nl - l) : strlen(l);
        char line[4096];
        snprintf(line, sizeof line, "%.*s", (int)len, l);
        for (char *tok = strtok(line, "; "); tok; tok = strtok(NULL, "; ")) {
            cr_expect(strcmp(tok, prev), "'%s' twice in a row: %.*s", tok, (int)len, l);
            snprintf(prev, sizeof prev, "%s", tok);
        }
        l += len + (nl ? 1 : 0);
    }
    /* A module map without load biases (as /proc/PID/maps gives it): the
     * same names, the biases derived from the mappings' file offsets. */
    json_t *m;
    json_array_foreach(json_object_get(raw, "modules"), i, m) json_object_del(m, "base");
    char nobase[700];
    snprintf(nobase, sizeof nobase, "%s/nobase.json", dir);
    cr_assert_eq(json_dump_file(raw, nobase, 0), 0);
    ak_poolshim(&nb, (char *[]){ "show", "--json", nobase, NULL });
    json_t *jn = json_loads(nb.out, 0, NULL);
    cr_assert_not_null(jn, "%s", nb.err);
    cr_expect_eq(count_at(jn, "record_stats", sleep_line, "stats_worker", call_line), sleeping);
    cr_expect_eq(count_waiting(jn, truth), waiting);
    ln = lock_name(jn, ps_str(truth, "stats_lock"));
    cr_expect(ln && !strcmp(ln, "stats_lock"), "without biases, stats_lock named %s", ln);
    json_decref(jn);
    ps_run_free(&nb);

    /* A program rebuilt since the dump (another build ID, no debug file by
     * the recorded one): its frames get no lines rather than wrong ones, and
     * the answer says why. */
    json_array_foreach(json_object_get(raw, "modules"), i, m)
        if (!strcmp(base(ps_str(m, "path")), "inline_lock"))
            json_object_set_new(m, "build_id", json_string("00112233445566778899aabbccddeeff00112233"));
    cr_assert_eq(json_dump_file(raw, nobase, 0), 0);
    ak_poolshim(&nb, (char *[]){ "show", "--json", nobase, NULL });
    jn = json_loads(nb.out, 0, NULL);
    cr_assert_not_null(jn, "%s", nb.err);
    cr_expect_eq(count_at(jn, "record_stats", sleep_line, "stats_worker", call_line), 0);
    char *probs = json_dumps(json_object_get(json_object_get(jn, "symbols"), "problems"), 0);
    cr_expect(probs && strstr(probs, "inline_lock: build ID differs"), "problems: %s", probs);
    free(probs);
    ln = lock_name(jn, ps_str(truth, "stats_lock"));
    cr_expect(!ln || strncmp(ln, "stats_lock", 10), "a stale binary named the lock %s", ln);
    json_decref(jn);
    ps_run_free(&nb);
    ps_run_free(&t);
    ps_run_free(&all);
    ps_run_free(&fo);
    ps_run_free(&a);
    json_decref(j);
    json_decref(raw);
    json_decref(truth);
    free(err);
    free(out);
    dk_rmdir(dir);
}

/* Two threads at the same line through different instructions (and through
 * different shim paths) are one group; a different line is another. */
Test(symbols, groups_by_function_and_line_not_offset, .timeout = 30)
{
    char path[] = "/tmp/poolshim-sym-group.XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    const char *frame_fmt =
        "{\"addr\":\"%s\",\"module\":\"/app\",\"symbol\":\"work\",\"offset\":\"%s\",\"file\":\"/src/app.c\","
        "\"line\":%d,\"inlined\":[{\"symbol\":\"helper\",\"file\":\"/src/app.c\",\"line\":7}]}";
    const char *shim = "{\"addr\":\"0x7f0000001000\",\"module\":\"/lib/libpoolshim.so\",\"symbol\":\"%s\","
                       "\"offset\":\"0x10\",\"file\":null,\"line\":null,\"inlined\":[]}";
    char f1[400], f2[400], f3[400], s1[200], s2[200];
    snprintf(f1, sizeof f1, frame_fmt, "0x401010", "0x10", 20);
    snprintf(f2, sizeof f2, frame_fmt, "0x401014", "0x14", 20);
    snprintf(f3, sizeof f3, frame_fmt, "0x401030", "0x30", 21);
    snprintf(s1, sizeof s1, shim, "lock_rest");
    snprintf(s2, sizeof s2, shim, "lock_marked");
    FILE *f = fdopen(fd, "w");
    fprintf(f, "{\"version\":1,\"kind\":\"dump\",\"pid\":1,\"threads\":["
               "{\"tid\":11,\"state\":\"blocked\",\"stack\":[%s,%s]},"
               "{\"tid\":12,\"state\":\"blocked\",\"stack\":[%s,%s]},"
               "{\"tid\":13,\"state\":\"blocked\",\"stack\":[%s,%s]}],\"modules\":[]}\n",
            s1, f1, s2, f2, s1, f3);
    fclose(f);
    struct ps_run a;
    ak_poolshim(&a, (char *[]){ "show", "--json", path, NULL });
    cr_assert_eq(a.status, 0, "%s", a.err);
    json_t *j = json_loads(a.out, 0, NULL);
    cr_assert_not_null(j);
    json_t *g = json_object_get(j, "groups");
    cr_assert_eq(json_array_size(g), 2, "%s", a.out);
    cr_expect_eq(ps_num(json_array_get(g, 0), "count"), 2);
    json_t *st = json_object_get(json_array_get(g, 0), "stack");
    cr_expect_str_eq(json_string_value(json_array_get(st, 0)), "helper at app.c:7 (inlined)");
    cr_expect_str_eq(json_string_value(json_array_get(st, 1)), "work at app.c:20 (app)");
    cr_expect_eq(json_array_size(st), 2, "the shim's frames are not shown");
    json_decref(j);
    ps_run_free(&a);
    ak_poolshim(&a, (char *[]){ "show", "--json", "--all-frames", path, NULL });
    j = json_loads(a.out, 0, NULL);
    cr_assert_not_null(j);
    cr_expect_eq(json_array_size(json_object_get(j, "groups")), 3, "with the shim's frames, three places");
    json_decref(j);
    ps_run_free(&a);
    unlink(path);
}

/* A deadlock reads with both locks' names (static globals of the fixture). */
Test(symbols, deadlock_cycle_names_both_locks, .timeout = 30)
{
    struct ps_run r;
    char *argv[] = { (char *)ps_build_path("fixtures/deadlock"), "--run-ms", "1000", NULL };
    cr_assert_eq(ps_run_ex(&r, argv, NULL, 1, 20), 0);
    cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    char path[600];
    snprintf(path, sizeof path, "%s/poolshim.%d.dump.0.json", r.dir, r.pid);
    struct ps_run a;
    ak_poolshim(&a, (char *[]){ "show", "--json", path, NULL });
    cr_assert_eq(a.status, 0, "exit %d: %s", a.status, a.err);
    json_t *j = json_loads(a.out, 0, NULL), *e;
    cr_assert_not_null(j);
    cr_expect_eq(json_array_size(json_object_get(j, "cycles")), 1);
    int seen_a = 0, seen_b = 0;
    size_t i;
    json_array_foreach(json_object_get(j, "locks"), i, e) {
        const char *n = ps_str(e, "name");
        if (!ps_num(e, "in_cycle") || !n)
            continue;
        seen_a += !strcmp(n, "lock_a");
        seen_b += !strcmp(n, "lock_b");
    }
    cr_expect(seen_a == 1 && seen_b == 1, "cycle's locks: %s", json_dumps(json_object_get(j, "locks"), 0));
    json_decref(j);
    ps_run_free(&a);
    ak_poolshim(&a, (char *[]){ "show", path, NULL });
    cr_expect(strstr(a.out, "mutex lock_a (") && strstr(a.out, "mutex lock_b ("), "%s", a.out);
    ps_run_free(&a);
    ps_run_free(&r);
}

/* Module paths come from the file: a FIFO or a device there is reported, not opened for reading. */
Test(symbols, module_paths_that_are_not_files_do_not_hang, .timeout = 30)
{
    char dir[] = "/tmp/poolshim-sym-fifo.XXXXXX", fifo[64], path[96];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    snprintf(path, sizeof path, "%s/dump.json", dir);
    cr_assert_eq(mkfifo(fifo, 0600), 0);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fprintf(f, "{\"version\":1,\"kind\":\"dump\",\"pid\":1,\"threads\":[{\"tid\":1,\"state\":\"running\",\"stack\":"
               "[{\"addr\":\"0x1010\",\"module\":null,\"symbol\":null,\"offset\":null}]}],\"modules\":["
               "{\"path\":\"%s\",\"start\":\"0x1000\",\"end\":\"0x2000\",\"file_offset\":\"0x0\",\"base\":\"0x0\","
               "\"build_id\":null},{\"path\":\"/dev/zero\",\"start\":\"0x3000\",\"end\":\"0x4000\",\"file_offset\":"
               "\"0x0\",\"base\":null,\"build_id\":null}]}\n", fifo);
    fclose(f);
    struct ps_run a;
    ak_poolshim(&a, (char *[]){ "show", "--json", path, NULL });
    cr_expect_eq(a.status, 0, "exit %d: %s", a.status, a.err);
    json_t *j = json_loads(a.out, 0, NULL);
    cr_assert_not_null(j, "%s", a.out);
    char *p = json_dumps(json_object_get(json_object_get(j, "symbols"), "problems"), 0);
    cr_expect(p && strstr(p, "fifo: cannot be opened") && strstr(p, "/dev/zero: cannot be opened"), "%s", p);
    free(p);
    json_decref(j);
    ps_run_free(&a);
    dk_rmdir(dir);
}
