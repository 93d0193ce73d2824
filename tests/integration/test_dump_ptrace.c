/* `poolshim dump PID` by ptrace, on programs not started under the shim: the
 * stacks, waits and lock owners of one instant, named down to each thread's
 * start, and a program that checks its own sleeps sees none cut short. */
#include <criterion/criterion.h>
#include "analyzer_kit.h"
#include "dumpkit.h"

static char *tmpdir(void)
{
    static char dir[4][64];
    static int k;
    char *d = dir[k++ & 3];
    snprintf(d, 64, "/tmp/poolshim-ptrace.XXXXXX");
    return mkdtemp(d);
}

/* Runs `poolshim dump --dir dir pid`; returns the dump it wrote (its path is
 * stdout's first line), asserting a zero exit. */
static json_t *dump_of(const char *dir, pid_t pid, struct ps_run *a)
{
    char p[32];
    snprintf(p, sizeof p, "%d", (int)pid);
    ak_poolshim(a, (char *[]){ "dump", "--dir", (char *)dir, p, NULL });
    cr_assert_eq(a->status, 0, "exit %d: %s", a->status, a->err);
    char path[600];
    snprintf(path, sizeof path, "%.*s", (int)strcspn(a->out, "\n"), a->out);
    json_t *d = json_load_file(path, 0, NULL);
    cr_assert_not_null(d, "no dump at '%s'; stdout: %s", path, a->out);
    cr_expect_str_eq(ps_str(d, "capture.method"), "ptrace");
    return d;
}

static json_t *thread_running(json_t *dump, const char *sym)
{
    json_t *t;
    size_t i;
    json_array_foreach(json_object_get(dump, "threads"), i, t)
        if (dk_stack_has(json_object_get(t, "stack"), sym))
            return t;
    return NULL;
}

/* Every thread stopped, its stack named, and walked down to where threads start. */
static void expect_named_stacks(json_t *dump, const char *who)
{
    json_t *t, *f;
    size_t i, j;
    cr_expect_gt(json_array_size(json_object_get(dump, "threads")), 1, "%s: threads", who);
    json_array_foreach(json_object_get(dump, "threads"), i, t) {
        json_t *st = json_object_get(t, "stack");
        int named = 0;
        json_array_foreach(st, j, f) named += json_is_string(json_object_get(f, "symbol"));
        long long tid = json_integer_value(json_object_get(t, "tid"));
        cr_expect_str_eq(json_string_value(json_object_get(t, "capture")), "ok", "%s: thread %lld", who, tid);
        cr_expect_gt(named, 0, "%s: thread %lld has no named frame", who, tid);
        cr_expect(dk_stack_has(st, "start_thread") || dk_stack_has(st, "__libc_start_main"),
                  "%s: thread %lld's stack does not reach its start (%zu frames)", who, tid, json_array_size(st));
    }
}

Test(dump_ptrace, deadlock_not_under_the_shim_names_the_cycle_and_the_owners, .timeout = 30)
{
    char *dir = tmpdir();
    char *argv[] = { (char *)ps_build_path("fixtures/deadlock"), "--run-ms", "5000", NULL };
    pid_t pid = ps_spawn(argv, NULL, 0, dir, NULL, dir);
    cr_assert(pid > 0);
    usleep(400000);
    struct ps_run a;
    json_t *d = dump_of(dir, pid, &a);
    json_t *ab = thread_running(d, "lock_ab_thread"), *ba = thread_running(d, "lock_ba_thread");
    cr_assert(ab && ba, "both lockers' stacks, down to their start routines");
    long long tab = json_integer_value(json_object_get(ab, "tid")), tba = json_integer_value(json_object_get(ba, "tid"));
    cr_expect(dk_stack_has(json_object_get(ab, "stack"), "start_thread"));
    cr_expect_str_eq(ps_str(ab, "start_routine"), "lock_ab_thread", "the start routine, from the stack");
    cr_expect_str_eq(ps_str(ab, "blocked_on.kind"), "mutex");
    cr_expect_eq(ps_num(ab, "blocked_on.owner"), tba, "lock_b is held by the other thread");
    cr_expect_eq(ps_num(ba, "blocked_on.owner"), tab, "lock_a is held by the other thread");
    cr_expect_str_eq(ps_str(ab, "blocked_on.name"), "lock_b");
    cr_expect_str_eq(ps_str(ba, "blocked_on.name"), "lock_a");
    json_t *cycles = json_object_get(json_object_get(d, "wait_for"), "cycles");
    cr_assert_eq(json_array_size(cycles), 1, "one deadlock cycle");
    json_t *c = json_array_get(cycles, 0);
    cr_expect_eq(json_array_size(c), 2);
    long long c0 = json_integer_value(json_array_get(c, 0)), c1 = json_integer_value(json_array_get(c, 1));
    cr_expect((c0 == tab && c1 == tba) || (c0 == tba && c1 == tab), "the cycle is the two lockers");
    cr_expect_not_null(strstr(a.out, "DEADLOCK"), "the text answer says so: %s", a.out);
    cr_expect_eq(kill(pid, 0), 0, "the program lives on");
    json_decref(d);
    ps_run_free(&a);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    dk_rmdir(dir);
}

/* A /proc file's text (they have no size to seek to). */
static void proc_read(const char *path, char *buf, size_t n)
{
    FILE *f = fopen(path, "r");
    size_t l = f ? fread(buf, 1, n - 1, f) : 0;
    if (f) fclose(f);
    buf[l] = 0;
}

static int threads_of(pid_t pid)
{
    char p[64];
    snprintf(p, sizeof p, "/proc/%d/task", (int)pid);
    DIR *d = opendir(p);
    int n = 0;
    struct dirent *de;
    while (d && (de = readdir(d))) n += de->d_name[0] != '.';
    if (d) closedir(d);
    return n;
}

/* The pid of parent's child named comm, or -1. */
static pid_t child_named(pid_t parent, const char *comm)
{
    char p[96], kids[512], c[64], *s = kids, *end;
    snprintf(p, sizeof p, "/proc/%d/task/%d/children", (int)parent, (int)parent);
    proc_read(p, kids, sizeof kids);
    pid_t found = -1;
    for (long k; found < 0 && (k = strtol(s, &end, 10)) > 0; s = end) {
        snprintf(p, sizeof p, "/proc/%ld/comm", k);
        proc_read(p, c, sizeof c);
        if (!strncmp(c, comm, strlen(comm))) found = (pid_t)k;
    }
    return found;
}

Test(dump_ptrace, python_and_pigz_not_under_the_shim_have_named_stacks, .timeout = 60)
{
    char *dir = tmpdir();
    char *py[] = { "python3", "-c",
                   "import threading, time\n"
                   "ts = [threading.Thread(target=time.sleep, args=(20,)) for _ in range(3)]\n"
                   "[t.start() for t in ts]\n"
                   "[t.join() for t in ts]\n", NULL };
    pid_t pid = ps_spawn(py, NULL, 0, dir, NULL, dir);
    cr_assert(pid > 0);
    for (int i = 0; i < 500 && threads_of(pid) < 4; i++)   /* python starts slowly on a loaded machine */
        usleep(10000);
    usleep(100000);
    struct ps_run a;
    json_t *d = dump_of(dir, pid, &a);
    expect_named_stacks(d, "python3");
    cr_expect_not_null(thread_running(d, "time_sleep"), "python's sleeping threads are in time.sleep");
    json_decref(d);
    ps_run_free(&a);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);

    char *sh[] = { "/bin/sh", "-c", "head -c 400000000 /dev/urandom | pigz -p 3 > /dev/null", NULL };
    pid = ps_spawn(sh, NULL, 0, dir, NULL, dir);
    cr_assert(pid > 0);
    pid_t pigz = -1;
    for (int i = 0; i < 100 && pigz < 0; i++) {
        usleep(20000);
        pigz = child_named(pid, "pigz");
    }
    cr_assert(pigz > 0, "pigz started");
    usleep(500000);
    d = dump_of(dir, pigz, &a);
    expect_named_stacks(d, "pigz");
    cr_expect_geq(json_array_size(json_object_get(d, "threads")), 4, "pigz -p 3: main + 3 compressors at least");
    json_decref(d);
    ps_run_free(&a);
    kill(pigz, SIGKILL);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    dk_rmdir(dir);
}

Test(dump_ptrace, lock_held_across_a_sleep_no_sleep_cut_short_and_the_sleeper_holds_it, .timeout = 60)
{
    char *dir = tmpdir();
    /* Long enough for 5 dumps on a loaded machine (each a process start, ~0.1-0.5 s). */
    char *argv[] = { (char *)ps_build_path("fixtures/sleep_holder"), "--workers", "4", "--checkers", "1",
                     "--run-ms", "4000", NULL };
    pid_t pid = ps_spawn(argv, NULL, 0, dir, NULL, dir);
    cr_assert(pid > 0);
    usleep(300000);
    int dumps = 0, holder_seen = 0, with_waiters = 0;
    json_t *dd[5];
    for (int i = 0; i < 5; i++) {
        struct ps_run a;
        dd[dumps++] = dump_of(dir, pid, &a);
        ps_run_free(&a);
        usleep(150000);
    }
    int st = dk_wait(pid, 20);
    cr_assert_eq(st, 0, "the program exits normally");
    char *out = dk_slurp(dir, "stdout");
    json_t *truth = json_loads(out, JSON_DISABLE_EOF_CHECK, NULL);
    cr_assert_not_null(truth, "truth line: %s", out);
    long long holder = (long long)ps_num(truth, "holder");
    cr_expect_gt(ps_num(truth, "sleeps"), 5);
    /* signal(7): after a stop, epoll_wait fails with EINTR even without a
     * handler; nanosleep, poll and sem_timedwait are restarted by the kernel. */
    cr_expect_eq(ps_num(truth, "cut.nanosleep"), 0, "no sleep cut short across %d dumps: %s", dumps, out);
    cr_expect_eq(ps_num(truth, "cut.poll"), 0, "no poll cut short: %s", out);
    cr_expect_eq(ps_num(truth, "cut.sem_timedwait"), 0, "no sem_timedwait cut short: %s", out);
    for (int i = 0; i < dumps; i++) {
        json_t *h = dk_thread(dd[i], (int)holder), *t;
        size_t k;
        int waiters = 0, on_holder = 0;
        json_array_foreach(json_object_get(dd[i], "threads"), k, t) {
            const char *kind = ps_str(t, "blocked_on.kind");
            if (!kind || strcmp(kind, "mutex")) continue;
            waiters++;
            on_holder += ps_num(t, "blocked_on.owner") == holder;
            cr_expect_str_eq(ps_str(t, "blocked_on.name"), "stats_lock");
        }
        /* Workers sleep 20 ms after their turn (no waiter then), and between
         * two holds one of them has the lock for a moment. */
        with_waiters += waiters > 0;
        if (waiters && on_holder == waiters && h && ps_str(h, "blocked_on.kind") &&
            !strcmp(ps_str(h, "blocked_on.kind"), "sleep"))
            holder_seen++;
        json_decref(dd[i]);
    }
    cr_expect_geq(holder_seen, with_waiters - 1, "the thread sleeping holds the lock its waiters wait for "
                  "(%d of the %d dumps with waiters)", holder_seen, with_waiters);
    cr_expect_geq(holder_seen, 1, "at least one dump catches the waiters (%d of %d)", holder_seen, dumps);
    json_decref(truth);
    free(out);
    dk_rmdir(dir);
}

Test(dump_ptrace, refused_attach_is_one_line_and_nonzero, .timeout = 30)
{
    if (geteuid() != 0 || access("/usr/bin/setpriv", X_OK))
        cr_skip_test("needs root and setpriv to run as an unprivileged user");
    char *argv[] = { "/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                     (char *)ps_build_path("poolshim"), "dump", "--dir", "/tmp", "1", NULL };
    struct ps_run a;
    cr_assert_eq(ps_run_ex(&a, argv, NULL, 0, 30), 0);
    cr_expect_neq(a.status, 0, "a refusal exits non-zero");
    cr_expect_eq(dk_count(a.err, "\n"), 1, "one line: %s", a.err);
    cr_expect_not_null(strstr(a.err, "uid 0"), "names the cause: %s", a.err);
    cr_expect_not_null(strstr(a.err, "sudo"), "names the fix: %s", a.err);
    cr_expect_str_eq(a.out, "", "nothing on stdout");
    ps_run_free(&a);
}

Test(dump_ptrace, under_the_shim_the_picture_is_merged_and_no_thread_is_signalled, .timeout = 60)
{
    char *dir = tmpdir(), *shimdir = tmpdir();
    char *argv[] = { (char *)ps_build_path("fixtures/sleep_holder"), "--workers", "4", "--checkers", "1",
                     "--run-ms", "3000", NULL };
    /* Saturation dumps off: they are the shim's in-process (signal) capture. */
    char *env[] = { "POOLSHIM_DUMP=off", NULL };
    pid_t pid = ps_spawn(argv, env, 1, dir, shimdir, dir);
    cr_assert(pid > 0);
    usleep(400000);
    json_t *d[3];
    for (int i = 0; i < 3; i++) {
        struct ps_run a;
        d[i] = dump_of(dir, pid, &a);
        ps_run_free(&a);
        usleep(200000);
    }
    cr_assert_eq(dk_wait(pid, 20), 0, "the program exits normally");
    char *out = dk_slurp(dir, "stdout");
    json_t *truth = json_loads(out, JSON_DISABLE_EOF_CHECK, NULL);
    cr_assert_not_null(truth, "truth line: %s", out);
    /* Under the shim even epoll_wait's EINTR after the stop is taken back: the
     * picture request, sent while the threads are stopped, says it was ours. */
    static const char *const calls[] = { "nanosleep", "poll", "epoll_wait", "sem_timedwait" };
    for (int i = 0; i < 4; i++) {
        char key[48];
        snprintf(key, sizeof key, "cut.%s", calls[i]);
        cr_expect_eq(ps_num(truth, key), 0, "%s cut short or EINTR: %s", calls[i], out);
    }
    long long holder = (long long)ps_num(truth, "holder");
    for (int i = 0; i < 3; i++) {
        cr_expect_not_null(ps_pool_by_routine(d[i], "holder"), "the shim's pools are in the dump");
        cr_expect_not_null(ps_pool_by_routine(d[i], "worker"));
        cr_expect_null(json_object_get(json_object_get(d[i], "capture"), "picture"), "the picture was had");
        json_t *h = dk_thread(d[i], (int)holder);
        cr_assert_not_null(h);
        cr_expect(json_is_integer(json_object_get(h, "pool")), "the holder's pool comes from the shim");
        cr_expect(json_is_number(json_object_get(h, "cpu_s")), "and its CPU time");
        cr_expect_gt(json_array_size(json_object_get(h, "stack")), 2, "and its stack from ptrace");
        json_t *t;
        size_t k;
        json_array_foreach(json_object_get(d[i], "threads"), k, t)
            cr_expect_str_neq((char *)json_string_value(json_object_get(t, "name")), "poolshim",
                              "the shim's own thread is left out");
        json_decref(d[i]);
    }
    /* The shim's pictures were replaced by the merged dumps (in dir). */
    cr_expect_eq(dk_count_dumps(shimdir), 0, "no picture left in the shim's directory");
    cr_expect_eq(dk_count_dumps(dir), 3);
    json_decref(truth);
    free(out);
    dk_rmdir(dir);
    dk_rmdir(shimdir);
}

/* Runs `poolshim ARGS...` in directory cwd (a user in the program's
 * directory), stdout and stderr into outdir; its exit status. */
static int poolshim_in(const char *cwd, const char *outdir, char *const *args)
{
    char bin[PATH_MAX], *argv[8] = { bin };
    /* absolute: the child resolves it after its chdir */
    cr_assert_not_null(realpath(ps_build_path("poolshim"), bin));
    for (int i = 0; args[i] && i < 6; i++) argv[i + 1] = args[i];
    pid_t pid = ps_spawn(argv, NULL, 0, outdir, NULL, cwd);
    cr_assert(pid > 0);
    return dk_wait(pid, 30);
}

/* Found by a new user: run from the program's own directory, the dump's
 * "./poolshim.P.dump.N.json" and the shim's picture "/tmp/D/poolshim.P.dump.N.json"
 * were one file by two names, and the picture's clean-up (names compared as
 * strings) deleted the dump just written. */
Test(dump_ptrace, under_the_shim_run_from_the_programs_directory_the_dump_it_names_stays, .timeout = 60)
{
    char *dir = tmpdir(), *adir = tmpdir();
    char *argv[] = { (char *)ps_build_path("fixtures/sleep_holder"), "--workers", "4", "--checkers", "1",
                     "--run-ms", "3000", NULL };
    char *env[] = { "POOLSHIM_DUMP=off", NULL };
    /* POOLSHIM_DIR is dir, as is the program's working directory */
    pid_t pid = ps_spawn(argv, env, 1, dir, NULL, dir);
    cr_assert(pid > 0);
    usleep(400000);
    char p[32];
    snprintf(p, sizeof p, "%d", (int)pid);
    for (int i = 0; i < 2; i++) {
        int rc = poolshim_in(dir, adir, (char *[]){ "dump", p, NULL });
        char *out = dk_slurp(adir, "stdout"), *err = dk_slurp(adir, "stderr");
        cr_assert_eq(rc, 0, "exit %d: %s", rc, err);
        char name[600], path[1300];
        snprintf(name, sizeof name, "%.*s", (int)strcspn(out, "\n"), out);
        cr_assert(name[0], "no file named; stdout: %s", out);
        snprintf(path, sizeof path, "%s%s%s", name[0] == '/' ? "" : dir, name[0] == '/' ? "" : "/", name);
        cr_assert_eq(access(path, F_OK), 0, "dump %d: '%s' (named on stdout) is gone", i, name);
        json_error_t je;
        json_t *d = json_load_file(path, 0, &je);
        cr_assert_not_null(d, "dump %d: '%s' is not JSON: %s", i, name, je.text);
        cr_expect_str_eq(ps_str(d, "capture.method"), "ptrace");
        cr_expect_not_null(ps_pool_by_routine(d, "holder"), "the shim's picture is merged in");
        json_decref(d);
        free(out);
        free(err);
        usleep(200000);
    }
    /* each picture became its dump: two files, no picture left beside them */
    cr_expect_eq(dk_count_dumps(dir), 2);
    cr_assert_eq(dk_wait(pid, 20), 0, "the program exits normally");
    dk_rmdir(dir);
    dk_rmdir(adir);
}
