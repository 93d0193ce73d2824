/* The shim exports the malloc family. By default it forwards to glibc and
 * samples allocations for the dumps' heap profile; POOLSHIM_MALLOC=jemalloc
 * makes jemalloc the process allocator. Either way the program must not be
 * able to tell (glibc's contract holds, the heap functions act on the heap it
 * uses, fork with allocating threads works), and a dump's live sites match
 * what the program really holds. */
#include <criterion/criterion.h>
#include "dumpkit.h"

static void contract_holds(char *const env[], const char *what)
{
    struct ps_run r;
    char *argv[] = { (char *)ps_build_path("fixtures/malloc_semantics"), NULL };
    cr_assert_eq(ps_run_ex(&r, argv, env, 1, 30), 0);
    cr_expect_eq(r.status, 0, "%s: %s", what, r.err);
    cr_expect(ps_num(r.truth, "checks") > 40 && ps_num(r.truth, "failed") == 0, "%s: %s", what, r.out);
    ps_run_free(&r);
}

Test(dump_malloc, glibc_contract_holds_under_the_shim, .timeout = 90)
{
    struct ps_run r;
    char *argv[] = { (char *)ps_build_path("fixtures/malloc_semantics"), NULL };
    /* the same program without the shim: the checks are glibc's own behaviour */
    cr_assert_eq(ps_run_ex(&r, argv, NULL, 0, 30), 0);
    cr_expect_eq(r.status, 0, "without the shim: %s", r.err);
    ps_run_free(&r);
    contract_holds(NULL, "default (glibc, sampled)");
    char *sample_all[] = { "POOLSHIM_ALLOC_SAMPLE=0", NULL };   /* every allocation sampled */
    contract_holds(sample_all, "every allocation sampled");
    char *je[] = { "POOLSHIM_MALLOC=jemalloc", NULL };
    contract_holds(je, "POOLSHIM_MALLOC=jemalloc");
}

/* A program linked with libjemalloc ahead of libc (Debian's redis-server)
 * keeps jemalloc, whose own API it uses on what malloc returns: served from
 * glibc by default, it died at once (SIGSEGV in jemalloc's
 * malloc_usable_size). POOLSHIM_MALLOC=libc cannot take it away either: a
 * warning, and jemalloc. */
Test(dump_malloc, a_program_linked_with_jemalloc_keeps_it, .timeout = 60)
{
    char *libc[] = { "POOLSHIM_MALLOC=libc", NULL };
    char *const *envs[] = { NULL, libc };
    for (int k = 0; k < 2; k++) {
        struct ps_run r;
        char *argv[] = { (char *)ps_build_path("fixtures/jemalloc_program"), NULL };
        cr_assert_eq(ps_run_ex(&r, argv, envs[k], 1, 30), 0);
        cr_expect_eq(r.status, 0, "%s: exit %d: %s", k ? "libc asked" : "default", r.status, r.err);
        cr_expect_eq(ps_num(r.truth, "ok"), 1, "%s: %s", k ? "libc asked" : "default", r.out);
        cr_expect_not_null(r.report, "no report: %s", r.err);
        if (k)
            cr_expect_not_null(strstr(r.err, "links jemalloc as its allocator"), "no warning: %s", r.err);
        ps_run_free(&r);
    }
}

static json_t *site_named(json_t *dump, const char *sym)
{
    json_t *s;
    size_t i;
    json_array_foreach(json_object_get(json_object_get(dump, "allocations"), "top_sites"), i, s)
        if (dk_stack_has(json_object_get(s, "stack"), sym))
            return s;
    return NULL;
}

/* 64 MiB live from allocate_cache in blocks of kb KiB, after 256 MiB of small
 * blocks allocated, reallocated and freed (churn_heap). The sampled estimate
 * of a site with n samples has a relative error of about 1 / sqrt(n): >= 100
 * samples here at the default mean of 512 KiB, so +-35 % is 4 sigma; a
 * profile that missed frees would show the churn (4x more). */
static void sampled_site_truth(const char *kb)
{
    struct ps_run r;
    char *argv[] = { (char *)ps_build_path("fixtures/convoy_io"), "--workers", "3", "--hold-ms", "800",
                     "--run-ms", "900", "--alloc-mb", "64", "--alloc-kb", (char *)kb, "--churn-mb", "256", NULL };
    json_t *d = dk_run_for_dump(&r, argv, NULL);
    const double mib64 = 64.0 * 1024 * 1024;
    cr_expect_str_eq(ps_str(d, "allocations.allocator"), "glibc");
    cr_expect_str_eq(ps_str(d, "allocations.profile"), "sampled");
    double held = ps_num(d, "allocations.stats.allocated");
    cr_expect(held >= mib64 && held < mib64 * 1.2, "stats.allocated %.0f for 64 MiB", held);
    double live = ps_num(d, "allocations.sampled_live_bytes");
    cr_expect(live > held * 0.65 && live < held * 1.35, "sampled_live_bytes %.0f, allocated %.0f (%s KiB)", live,
              held, kb);
    cr_expect_eq(ps_num(d, "allocations.samples_dropped"), 0);
    json_t *s = site_named(d, "allocate_cache");
    cr_assert_not_null(s, "allocate_cache not among the top sites (%s KiB)", kb);
    double b = ps_num(s, "bytes"), o = ps_num(s, "objects"), blocks = 64.0 * 1024 / atof(kb);
    cr_expect(b > mib64 * 0.65 && b < mib64 * 1.35, "allocate_cache %.0f bytes for 64 MiB (%s KiB)", b, kb);
    cr_expect(o > blocks * 0.65 && o < blocks * 1.35, "allocate_cache %.0f objects for %.0f", o, blocks);
    cr_expect(!site_named(d, "churn_heap") || ps_num(site_named(d, "churn_heap"), "bytes") < 4 << 20,
              "freed memory shows as live");
    json_t *top = json_array_get(json_object_get(json_object_get(d, "allocations"), "top_sites"), 0);
    cr_expect(dk_stack_has(json_object_get(top, "stack"), "allocate_cache"), "largest site is not allocate_cache");
    json_t *f0 = json_array_get(json_object_get(s, "stack"), 0);
    const char *mod = ps_str(f0, "module");
    cr_expect(!mod || !strstr(mod, "libpoolshim"), "the shim's own frames are not removed: %s", mod);
    json_decref(d);
    ps_run_free(&r);
}

Test(dump_malloc, sampled_sites_match_live_memory_large_blocks, .timeout = 30)
{
    sampled_site_truth("128");
}

Test(dump_malloc, sampled_sites_match_live_memory_small_blocks, .timeout = 30)
{
    sampled_site_truth("1");
}

Test(dump_malloc, sample_minus_one_keeps_stats_without_profile, .timeout = 60)
{
    static char *envs[][3] = { { "POOLSHIM_ALLOC_SAMPLE=-1", NULL },
                               { "POOLSHIM_ALLOC_SAMPLE=-1", "POOLSHIM_MALLOC=jemalloc", NULL } };
    for (int k = 0; k < 2; k++) {
        struct ps_run r;
        char *argv[] = { (char *)ps_build_path("fixtures/convoy_io"), "--workers", "3", "--hold-ms", "800",
                         "--run-ms", "900", "--alloc-mb", "8", NULL };
        json_t *d = dk_run_for_dump(&r, argv, envs[k]);
        cr_expect_str_eq(ps_str(d, "allocations.allocator"), k ? "jemalloc" : "glibc");
        cr_expect_str_eq(ps_str(d, "allocations.profile"), "off");
        cr_expect(ps_num(d, "allocations.stats.allocated") >= 8 << 20);
        cr_expect_eq(json_array_size(json_object_get(json_object_get(d, "allocations"), "top_sites")), 0);
        json_decref(d);
        ps_run_free(&r);
    }
}

Test(dump_malloc, malloc_jemalloc_profiles_with_a_heap_file, .timeout = 30)
{
    struct ps_run r;
    char *env[] = { "POOLSHIM_MALLOC=jemalloc", NULL };
    char *argv[] = { (char *)ps_build_path("fixtures/convoy_io"), "--workers", "3", "--hold-ms", "800",
                     "--run-ms", "900", "--alloc-mb", "32", NULL };
    json_t *d = dk_run_for_dump(&r, argv, env);
    cr_expect_str_eq(ps_str(d, "allocations.allocator"), "jemalloc");
    cr_expect(ps_num(d, "allocations.stats.allocated") >= 32 << 20);
    json_t *s = site_named(d, "allocate_cache");
    cr_assert_not_null(s, "allocate_cache not among the top sites");
    double b = ps_num(s, "bytes");
    cr_expect(b > 16 << 20 && b < 64 << 20, "allocate_cache %.0f bytes for 32 MiB", b);
    char heap[512];
    snprintf(heap, sizeof heap, "%s/%s", r.dir, ps_str(d, "allocations.prof_file"));
    cr_expect_eq(access(heap, R_OK), 0, "heap profile %s", heap);
    cr_expect_str_eq(ps_str(d, "trigger.reason"), "convoy", "the rest of the dump is unchanged");
    json_decref(d);
    ps_run_free(&r);
}

/* A real program: node, 64 MiB of native buffers (node's ArrayBuffer
 * allocator mallocs each 1 MiB one), a dump requested with `poolshim dump`.
 * node is non-PIE and takes malloc's address: its PLT stub is what dlsym
 * finds, and the dump must still see glibc through the shim. */
Test(dump_malloc, node_native_buffers_are_sampled_where_node_allocates_them, .timeout = 40)
{
    if (access("/usr/bin/node", X_OK) != 0)
        cr_skip_test("node is not installed");
    char dir[] = "/tmp/poolshim-node.XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    const char *js = access("tests/fixtures/node_buffers.js", R_OK) == 0 ? "tests/fixtures/node_buffers.js"
                                                                         : ps_build_path("../tests/fixtures/node_buffers.js");
    char jsabs[PATH_MAX];
    cr_assert_not_null(realpath(js, jsabs), "%s", js);
    char ready[600];
    snprintf(ready, sizeof ready, "%s/ready", dir);
    char *argv[] = { "/usr/bin/node", jsabs, "64", ready, NULL };
    pid_t pid = ps_spawn(argv, NULL, 1, dir, dir, NULL);
    cr_assert(pid > 0);
    for (int i = 0; i < 1500 && access(ready, F_OK) != 0; i++)
        usleep(10000);
    cr_assert_eq(access(ready, F_OK), 0, "node never got ready");
    /* node's threads block the dump signal: ask as a user would */
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "'%s' dump --dir '%s' %d >/dev/null 2>&1", ps_build_path("poolshim"), dir, (int)pid);
    cr_expect_eq(system(cmd), 0, "%s", cmd);
    cr_expect(dk_wait_dumps(dir, 1, 10.0) >= 0, "no dump");
    cr_expect_eq(dk_wait(pid, 20), 0, "node exited badly");
    json_t *d = dk_load_dump(dir, pid, 0);
    cr_assert_not_null(d, "no dump");
    cr_expect_null(ps_str(d, "allocations.error"), "allocations.error %s", ps_str(d, "allocations.error"));
    cr_expect_str_eq(ps_str(d, "allocations.allocator"), "glibc");
    const double mib64 = 64.0 * (1 << 20);
    cr_expect(ps_num(d, "allocations.stats.allocated") >= mib64, "allocated %.0f",
              ps_num(d, "allocations.stats.allocated"));
    /* 64 blocks of 1 MiB, each sampled with p = 0.86 at weight 1.16: the count
     * of samples is binomial, its relative error 5 %. */
    double b = 0;
    json_t *s, *f;
    size_t i, j;
    json_array_foreach(json_object_get(json_object_get(d, "allocations"), "top_sites"), i, s) {
        int in_node_allocator = 0;
        json_array_foreach(json_object_get(s, "stack"), j, f) {
            const char *sym = json_string_value(json_object_get(f, "symbol"));
            in_node_allocator |= sym && strstr(sym, "NodeArrayBufferAllocator") != NULL;
        }
        if (in_node_allocator)
            b += ps_num(s, "bytes");
    }
    cr_expect(b > mib64 * 0.65 && b < mib64 * 1.35, "node's ArrayBuffer allocator sites hold %.0f of 64 MiB", b);
    json_decref(d);
    dk_rmdir(dir);
}

/* An executable with its own malloc: the shim's wrappers never run, and the
 * dump says why it has no allocation snapshot instead of showing an empty one. */
Test(dump_malloc, a_program_with_its_own_malloc_is_named_in_the_dump, .timeout = 30)
{
    char dir[] = "/tmp/poolshim-own.XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char *argv[] = { (char *)ps_build_path("fixtures/own_malloc"), "--run-ms", "1500", NULL };
    pid_t pid = dk_spawn(argv, dir, NULL);
    cr_assert(pid > 0);
    usleep(400000);
    cr_assert_eq(kill(pid, SIGRTMIN + 7), 0);
    cr_expect(dk_wait_dumps(dir, 1, 5.0) >= 0, "no dump");
    cr_expect_eq(dk_wait(pid, 20), 0, "the program exited badly");
    json_t *d = dk_load_dump(dir, pid, 0);
    cr_assert_not_null(d, "no dump");
    const char *e = ps_str(d, "allocations.error");
    cr_expect(e && strstr(e, "its own malloc"), "allocations.error %s", e ? e : "(null)");
    json_decref(d);
    dk_rmdir(dir);
}
