/* `poolshim show` on a hand-written dump (tests/data/dump_deadlock.json:
 * threads 201 and 202 deadlocked on two mutexes, four more waiting on 201,
 * a logger waiting on a running worker 207): the answer finds the cycle, ranks
 * blockers, groups identical stacks, and the folded output counts every thread. */
#include <criterion/criterion.h>
#include <string.h>
#include <unistd.h>
#include "analyzer_kit.h"

static void show(struct ps_run *a, const char *opt)
{
    char *sample = (char *)ak_data("dump_deadlock.json");
    ak_poolshim(a, opt ? (char *[]){ "show", (char *)opt, sample, NULL } : (char *[]){ "show", sample, NULL });
    cr_assert_eq(a->status, 0, "exit %d: %s", a->status, a->err);
}

Test(analyzer_show, finds_cycle_blockers_groups_and_holder_stacks, .timeout = 30)
{
    struct ps_run a;
    show(&a, "--json");
    json_t *j = json_loads(a.out, 0, NULL);
    cr_assert_not_null(j);
    json_t *cycles = json_object_get(j, "cycles");
    cr_assert_eq(json_array_size(cycles), 1);
    json_t *c = json_array_get(cycles, 0);
    cr_expect_eq(json_array_size(c), 2);
    cr_expect_eq(json_integer_value(json_array_get(c, 0)), 201);
    cr_expect_eq(json_integer_value(json_array_get(c, 1)), 202);
    json_t *bl = json_object_get(j, "blockers");
    cr_assert_eq(json_array_size(bl), 3, "blockers: 201, 202, 207");
    /* 201 holds up 202..206 (5); 202 holds up 201 and, through it, 203..206 (5); 207 holds up 209. */
    cr_expect_eq(ps_num(json_array_get(bl, 0), "tid"), 201);
    cr_expect_eq(ps_num(json_array_get(bl, 0), "blocks"), 5);
    cr_expect_eq(ps_num(json_array_get(bl, 0), "direct"), 5);
    cr_expect_eq(ps_num(json_array_get(bl, 1), "tid"), 202);
    cr_expect_eq(ps_num(json_array_get(bl, 1), "blocks"), 5);
    cr_expect_eq(ps_num(json_array_get(bl, 1), "direct"), 1);
    cr_expect_eq(ps_num(json_array_get(bl, 2), "tid"), 207);
    cr_expect_eq(ps_num(json_array_get(bl, 2), "blocks"), 1);
    json_t *g = json_array_get(json_object_get(j, "groups"), 0);
    cr_expect_eq(ps_num(g, "count"), 4, "largest group first");
    cr_expect_eq(json_integer_value(json_array_get(json_object_get(g, "tids"), 0)), 203);
    cr_expect_str_eq(json_string_value(json_array_get(json_object_get(g, "stack"), 2)), "account_transfer+0x20 (app)");
    size_t total = 0, i;
    json_t *e;
    json_array_foreach(json_object_get(j, "groups"), i, e) total += (size_t)ps_num(e, "count");
    cr_expect_eq(total, 11, "every thread in one group");
    int found = 0;
    json_array_foreach(json_object_get(j, "locks"), i, e)
        if (!strcmp(ps_str(e, "object"), "0x5555a0001000")) {
            found = 1;
            cr_expect_eq(ps_num(e, "holder.tid"), 201);
            cr_expect_eq(ps_num(e, "waiters"), 5);
            cr_expect_str_eq(json_string_value(json_array_get(json_object_get(e, "holder_stack"), 2)),
                             "account_transfer+0x44 (app)");
        }
    cr_expect(found, "no entry for the lock 201 holds");
    json_t *site = json_array_get(json_object_get(json_object_get(j, "allocations"), "top_sites"), 0);
    cr_expect_eq(ps_num(site, "bytes"), 8388608);
    json_decref(j);
    ps_run_free(&a);
}

Test(analyzer_show, text_puts_deadlock_first_and_is_safe, .timeout = 30)
{
    struct ps_run a;
    show(&a, NULL);
    char *dl = strstr(a.out, "DEADLOCK: cycle of 2 threads: 201 -> 202 -> 201"), *who = strstr(a.out, "who blocks whom");
    cr_expect(dl && who && dl < who, "deadlock not first:\n%s", a.out);
    cr_expect_null(strchr(a.out, '\033'), "raw escape from the dump's thread name reached the terminal");
    cr_expect(ak_width(a.out) <= 100, "a line is %d columns wide", ak_width(a.out));
    ps_run_free(&a);
}

Test(analyzer_show, folded_counts_every_thread_outermost_first, .timeout = 30)
{
    struct ps_run a;
    show(&a, "--folded");
    long total = 0;
    for (char *l = a.out; *l;) {
        char *nl = strchr(l, '\n');
        cr_assert_not_null(nl);
        char *sp = nl;
        while (sp > l && sp[-1] != ' ') sp--;
        total += strtol(sp, NULL, 10);
        l = nl + 1;
    }
    cr_expect_eq(total, 11);
    cr_expect_not_null(strstr(a.out, "worker_main;blocked;start_thread;worker_main;handle_task;account_transfer;"
                                     "pthread_mutex_lock;__lll_lock_wait 5\n"), "%s", a.out);
    ps_run_free(&a);
}

/* Real dumps written by the shim (tests/data/real_*.dump.json, from the dump
 * implementation): the analyzer reads them and its cycle equals the file's. */
Test(analyzer_show, reads_real_dumps, .timeout = 30)
{
    static const char *const files[] = { "real_deadlock.dump.json", "real_request.dump.json" };
    for (size_t i = 0; i < 2; i++) {
        struct ps_run a;
        char *path = (char *)ak_data(files[i]);
        ak_poolshim(&a, (char *[]){ "show", "--json", path, NULL });
        cr_assert_eq(a.status, 0, "%s: exit %d: %s", files[i], a.status, a.err);
        json_t *j = json_loads(a.out, 0, NULL), *d = json_load_file(path, 0, NULL);
        cr_assert(j && d);
        json_t *want = json_object_get(json_object_get(d, "wait_for"), "cycles");
        cr_expect(json_equal(json_object_get(j, "cycles"), want), "%s: cycles differ from the file's", files[i]);
        size_t total = 0, k;
        json_t *g;
        json_array_foreach(json_object_get(j, "groups"), k, g) total += (size_t)ps_num(g, "count");
        cr_expect_eq(total, json_array_size(json_object_get(d, "threads")));
        json_decref(j);
        json_decref(d);
        ps_run_free(&a);
    }
}

/* Live: the deadlock fixture under the shim dumps itself; `show` names the pair
 * the fixture reports. Needs the dump implementation (skipped before it lands). */
Test(analyzer_show, names_a_live_deadlock, .timeout = 60)
{
    if (access(ps_build_path("fixtures/deadlock"), X_OK)) cr_skip_test("fixtures/deadlock not built");
    struct ps_run r, a;
    char *argv[] = { (char *)ps_build_path("fixtures/deadlock"), "--run-ms", "1000", NULL };
    cr_assert_eq(ps_run_ex(&r, argv, NULL, 1, 30), 0);
    cr_assert_not_null(r.truth, "no truth: %s", r.out);
    long ta = (long)json_integer_value(json_array_get(json_object_get(r.truth, "tids"), 0));
    long tb = (long)json_integer_value(json_array_get(json_object_get(r.truth, "tids"), 1));
    char path[600];
    snprintf(path, sizeof path, "%s/poolshim.%d.dump.0.json", r.dir, r.pid);
    ak_poolshim(&a, (char *[]){ "show", path, NULL });
    cr_assert_eq(a.status, 0, "exit %d: %s", a.status, a.err);
    char want1[128], want2[128];
    snprintf(want1, sizeof want1, "DEADLOCK: cycle of 2 threads: %ld -> %ld -> %ld", ta, tb, ta);
    snprintf(want2, sizeof want2, "DEADLOCK: cycle of 2 threads: %ld -> %ld -> %ld", tb, ta, tb);
    cr_expect(strstr(a.out, want1) || strstr(a.out, want2), "no cycle of %ld and %ld in:\n%s", ta, tb, a.out);
    cr_expect_not_null(strstr(a.out, "lock_ab_thread"), "holder stacks lack the fixture's frames");
    ps_run_free(&a);
    ps_run_free(&r);
}

/* tests/data/dump_cycles.json has no wait_for: the graph comes from each
 * thread's blocked_on.owner. 1 -> 2 -> 3 -> 1 is a cycle, 4 waits for itself,
 * 8 waits on 1, 5 -> 6 -> 7 is a chain to a running thread. */
Test(analyzer_show, cycles_and_chains_from_owners_alone, .timeout = 30)
{
    struct ps_run a;
    ak_poolshim(&a, (char *[]){ "show", "--json", (char *)ak_data("dump_cycles.json"), NULL });
    cr_assert_eq(a.status, 0, "%s", a.err);
    json_t *j = json_loads(a.out, 0, NULL);
    cr_assert_not_null(j);
    json_t *want = json_loads("[[1,2,3],[4]]", 0, NULL);
    cr_expect(json_equal(json_object_get(j, "cycles"), want), "cycles: %s",
              json_dumps(json_object_get(j, "cycles"), JSON_COMPACT));
    json_decref(want);
    /* tid, threads held up (directly or not), directly; cycle members first. */
    static const int expect[][3] = { { 1, 3, 2 }, { 2, 3, 1 }, { 3, 3, 1 }, { 7, 2, 1 }, { 6, 1, 1 } };
    json_t *bl = json_object_get(j, "blockers");
    cr_assert_eq(json_array_size(bl), 5, "%s", json_dumps(bl, JSON_COMPACT));
    for (size_t i = 0; i < 5; i++) {
        json_t *b = json_array_get(bl, i);
        cr_expect_eq(ps_num(b, "tid"), expect[i][0], "blocker %zu", i);
        cr_expect_eq(ps_num(b, "blocks"), expect[i][1], "blocker %d blocks", expect[i][0]);
        cr_expect_eq(ps_num(b, "direct"), expect[i][2], "blocker %d direct", expect[i][0]);
    }
    /* An fd given as a number reads as "fd 7". */
    size_t i;
    json_t *g;
    int fd = 0;
    json_array_foreach(json_object_get(j, "groups"), i, g)
        if (!strcmp(ps_str(json_array_get(json_object_get(g, "blocked_on"), 0), "object") ?: "", "fd 7")) fd = 1;
    cr_expect(fd, "no group blocked on fd 7");
    json_decref(j);
    ps_run_free(&a);
}

/* Line count of text that starts with prefix (after leading blanks). */
static int lines_starting(const char *text, const char *prefix)
{
    int n = 0;
    for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
        if (!strncmp(l + strspn(l, " "), prefix, strlen(prefix))) n++;
    return n;
}

Test(analyzer_show, frames_option_sets_frames_per_stack_and_counts_the_rest, .timeout = 30)
{
    char *sample = (char *)ak_data("dump_deadlock.json");
    struct ps_run a, b, c;
    ak_poolshim(&a, (char *[]){ "show", sample, NULL });
    ak_poolshim(&b, (char *[]){ "show", "--frames", "1", sample, NULL });
    ak_poolshim(&c, (char *[]){ "show", "--frames=0", sample, NULL });
    cr_assert_eq(a.status + b.status + c.status, 0, "%s%s%s", a.err, b.err, c.err);
    /* 201's holder stack has 6 frames: by default 8 are allowed, so all show. */
    cr_expect_eq(lines_starting(b.out, "#1 "), 0, "--frames 1 printed a second frame:\n%s", b.out);
    cr_expect_gt(lines_starting(b.out, "#0 "), 3);
    cr_expect_geq(lines_starting(b.out, "... 5 more frames (--frames 0 shows all)"), 2, "%s", b.out);
    cr_expect_eq(strstr(c.out, "more frames") == NULL, 1, "--frames 0 left frames out:\n%s", c.out);
    cr_expect_gt(lines_starting(c.out, "#"), lines_starting(b.out, "#"));
    cr_expect_eq(lines_starting(a.out, "#"), lines_starting(c.out, "#"), "default shows every frame of this dump");
    ps_run_free(&a);
    ps_run_free(&b);
    ps_run_free(&c);
    struct ps_run bad;
    ak_poolshim(&bad, (char *[]){ "show", "--frames", "x", sample, NULL });
    cr_expect_eq(bad.status, 2);
    cr_expect_not_null(strstr(bad.err, "--frames x: expected"), "%s", bad.err);
    ps_run_free(&bad);
}

Test(analyzer_show, width_option_wraps_and_never_cuts, .timeout = 30)
{
    /* The sample dump with a trigger detail longer than any width (cut at 80
     * columns before --width). */
    const char *detail = "threads 201 and 202 wait for each other on two mutexes, and this sentence goes on "
                         "well past the hundred columns of a terminal, so that the end of it, "
                         "the-last-words-of-the-detail, shows whether it was cut";
    json_t *d = json_load_file(ak_data("dump_deadlock.json"), 0, NULL);
    cr_assert_not_null(d);
    json_object_set_new(json_object_get(d, "trigger"), "detail", json_string(detail));
    char sample[] = "/tmp/poolshim-width.XXXXXX";
    int fd = mkstemp(sample);
    cr_assert_geq(fd, 0);
    close(fd);
    cr_assert_eq(json_dump_file(d, sample, 0), 0);
    json_decref(d);
    struct ps_run n, w, z;
    ak_poolshim(&n, (char *[]){ "show", sample, NULL });
    ak_poolshim(&w, (char *[]){ "show", "--width", "70", sample, NULL });
    ak_poolshim(&z, (char *[]){ "show", "--width=0", sample, NULL });
    cr_assert_eq(n.status + w.status + z.status, 0, "%s%s%s", n.err, w.err, z.err);
    cr_expect_leq(ak_width(n.out), 100, "default width: %s", ak_widest(n.out));
    cr_expect_leq(ak_width(w.out), 70, "--width 70: %s", ak_widest(w.out));
    cr_expect_not_null(strstr(z.out, detail), "--width 0 did not keep the detail on one line:\n%s", z.out);
    cr_expect_not_null(strstr(n.out, "the-last-words-of-the-detail,"), "the detail was cut:\n%s", n.out);
    cr_expect_gt(ak_width(z.out), 100, "--width 0 still wrapped: %s", ak_widest(z.out));
    /* Nothing cut: the words of the wide text are all in the narrow one. */
    char *words = strdup(z.out), *save = NULL;
    for (char *t = strtok_r(words, " \n", &save); t; t = strtok_r(NULL, " \n", &save))
        cr_expect_not_null(strstr(w.out, t), "--width 70 lost \"%s\"", t);
    free(words);
    ps_run_free(&n);
    ps_run_free(&w);
    ps_run_free(&z);
    struct ps_run bad;
    ak_poolshim(&bad, (char *[]){ "show", "--width", "10", sample, NULL });
    unlink(sample);
    cr_expect_eq(bad.status, 2);
    cr_expect_not_null(strstr(bad.err, "--width 10: expected 0 or an integer 40.."), "%s", bad.err);
    ps_run_free(&bad);
}
