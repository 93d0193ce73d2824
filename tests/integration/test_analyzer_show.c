/* `poolshim show` on a hand-written dump (tests/data/dump_deadlock.json:
 * threads 201 and 202 deadlocked on two mutexes, four more waiting on 201,
 * a logger waiting on a running worker 207): the answer finds the cycle, ranks
 * blockers, groups identical stacks, and the folded output counts every thread. */
#include <criterion/criterion.h>
#include <string.h>
#include "harness.h"

static const char *sample(void)
{
    static char p[600];
    snprintf(p, sizeof p, "%s", ps_build_path("../tests/data/dump_deadlock.json"));
    return p;
}

static void show(struct ps_run *a, const char *opt)
{
    char *argv[] = { (char *)ps_build_path("poolshim"), "show", (char *)opt, (char *)sample(), NULL };
    if (!opt) argv[2] = (char *)sample(), argv[3] = NULL;
    cr_assert_eq(ps_run_ex(a, argv, NULL, 0, 30), 0);
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
    int width = 0, col = 0;
    for (const char *c = a.out; *c; c++) {
        col = *c == '\n' ? 0 : col + 1;
        if (col > width) width = col;
    }
    cr_expect(width <= 100, "a line is %d columns wide", width);
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
