/* POOLSHIM_METRICS=FILE with the real readers from Debian: a condvar pool
 * (4 workers, 40 tasks, then idle for 8 s) writes its file while it lingers; the
 * file passes `promtool check metrics`, prometheus-node-exporter's textfile
 * collector (started here on a free loopback port) serves the same series,
 * the figures agree with the report the process writes at exit (threads and
 * tasks exact, CPU within 10 %) and with the fixture's own truth, a dump
 * asked for with `poolshim dump` is counted, and the file is gone once the
 * process has exited. */
#include "analyzer_kit.h"
#include "dumpkit.h"
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <sys/socket.h>

static int free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t n = sizeof a;
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) || getsockname(s, (struct sockaddr *)&a, &n)) {
        if (s >= 0) close(s);
        return -1;
    }
    close(s);
    return ntohs(a.sin_port);
}

/* The value of the series `metric{...pool="pool"...}` in text, NAN if absent. */
static double series(const char *text, const char *metric, const char *pool, const char *cause)
{
    char want[200], cw[64] = "";
    snprintf(want, sizeof want, "pool=\"%s\"", pool);
    if (cause) snprintf(cw, sizeof cw, "cause=\"%s\"", cause);
    for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        size_t m = strlen(metric);
        if (strncmp(l, metric, m) || l[m] != '{') continue;
        const char *close = strchr(l, '}'), *e = strchr(l, '\n');
        if (!close || (e && close > e)) continue;
        char labels[1024];
        snprintf(labels, sizeof labels, "%.*s", (int)(close - l), l);
        if (!strstr(labels, want) || (cause && !strstr(labels, cw))) continue;
        return strtod(close + 1, NULL);
    }
    return NAN;
}

/* The value of a process-wide series (label exe only), NAN if absent. */
static double series_exe(const char *text, const char *metric)
{
    char head[128];
    snprintf(head, sizeof head, "\n%s{exe=", metric);
    const char *l = text ? strstr(text, head) : NULL;
    const char *close = l ? strchr(l, '}') : NULL;
    return close ? strtod(close + 1, NULL) : NAN;
}

static char *run_capture(char *const argv[], int *status)
{
    struct ps_run r;
    cr_assert_eq(ps_run_ex(&r, argv, NULL, 0, 30), 0, "cannot run %s", argv[0]);
    *status = r.status;
    size_t n = strlen(r.out) + strlen(r.err) + 1;
    char *s = malloc(n + 1);
    snprintf(s, n + 1, "%s%s", r.out, r.err);
    ps_run_free(&r);
    return s;
}

Test(metrics, textfile_matches_the_report_and_node_exporter_serves_it, .timeout = 120)
{
    char dir[] = "/tmp/poolshim-metrics.XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char prom[600], nedir[600], env_m[700];
    snprintf(prom, sizeof prom, "%s/textfile", dir);
    snprintf(nedir, sizeof nedir, "%s/ne", dir);
    cr_assert_eq(mkdir(prom, 0755), 0);
    cr_assert_eq(mkdir(nedir, 0755), 0);
    snprintf(env_m, sizeof env_m, "POOLSHIM_METRICS=%s/poolshim-%%p.prom", prom);

    int port = free_port();
    cr_assert_gt(port, 0);
    char listen[64], textdir[700];
    snprintf(listen, sizeof listen, "--web.listen-address=127.0.0.1:%d", port);
    snprintf(textdir, sizeof textdir, "--collector.textfile.directory=%s", prom);
    char *ne_argv[] = { "prometheus-node-exporter", listen, "--collector.disable-defaults", "--collector.textfile",
                        textdir, NULL };
    pid_t ne = ps_spawn(ne_argv, NULL, 0, nedir, nedir, NULL);
    cr_assert_gt(ne, 0, "cannot start prometheus-node-exporter");

    char *argv[] = { (char *)ps_build_path("fixtures/condvar_pool"), "--linger-ms", "8000", "--threads", "4",
                     "--tasks", "40", "--cpu-ms", "5", "--io-ms", "10", NULL };
    char *env[] = { env_m, NULL };
    pid_t pid = dk_spawn(argv, dir, env);
    cr_assert_gt(pid, 0);
    char file[700];
    snprintf(file, sizeof file, "%s/poolshim-%d.prom", prom, (int)pid);

    /* Wait for the lingering state: every task started, all 4 workers idle. */
    char *text = NULL, *seen = NULL;     /* the last file read: the program removes it at exit */
    double t0 = dk_now();
    while (dk_now() - t0 < 30) {
        free(text);
        text = ps_slurp(file);
        if (text) {
            free(seen);
            seen = strdup(text);
        }
        if (series(text, "poolshim_pool_tasks_total", "condvar_worker", NULL) == 40 &&
            series(text, "poolshim_pool_busy_threads", "condvar_worker", NULL) == 0)
            break;
        usleep(20000);
    }
    cr_assert(series(text, "poolshim_pool_tasks_total", "condvar_worker", NULL) == 40,
              "no settled metrics in %s (tasks %g, busy %g in the last file read):\n%s", file,
              series(seen, "poolshim_pool_tasks_total", "condvar_worker", NULL),
              series(seen, "poolshim_pool_busy_threads", "condvar_worker", NULL), seen ? seen : "(never written)");
    free(seen);

    /* kept for promtool, which can read it after the run */
    char settled[700];
    snprintf(settled, sizeof settled, "%s/settled.prom", dir);
    FILE *sf = fopen(settled, "w");
    cr_assert_not_null(sf);
    fputs(text, sf);
    fclose(sf);

    /* While the pool lingers: node_exporter serves the same series (it may
     * need a moment to listen on a loaded machine) ... */
    char url[100];
    int st;
    snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics", port);
    char *scrape = NULL;
    for (double t1 = dk_now(); dk_now() - t1 < 20; usleep(100000)) {
        free(scrape);
        scrape = run_capture((char *[]){ "curl", "-s", "--max-time", "5", url, NULL }, &st);
        if (st == 0 && strstr(scrape, "poolshim_pool_threads")) break;
    }
    cr_expect(strstr(scrape, "poolshim_pool_threads") != NULL, "node_exporter does not serve our metrics:\n%.2000s",
              scrape);
    cr_expect(strstr(scrape, "node_textfile_scrape_error 0") != NULL, "textfile collector error:\n%.2000s", scrape);
    cr_expect_eq(series(scrape, "poolshim_pool_threads", "condvar_worker", NULL), 4, "served threads");
    cr_expect_eq(series(scrape, "poolshim_pool_tasks_total", "condvar_worker", NULL), 40, "served tasks");
    free(scrape);
    kill(ne, SIGTERM);

    /* ... and a dump asked for now adds one to poolshim_dumps_total. Not
     * necessarily 0 before it: the 40 tasks queued at once for 4 workers can
     * set off the queue trigger (over 2 x N and growing) when the producer is
     * slow to queue them on a loaded machine, as in one run of 40 here. */
    char *before_text = ps_slurp(file);
    double before = series_exe(before_text, "poolshim_dumps_total");
    cr_expect(before >= 0 && before <= 1, "dumps before the request: %g\n%s", before,
              before_text ? before_text : "(not readable)");
    free(before_text);
    char pid_s[16];
    snprintf(pid_s, sizeof pid_s, "%d", (int)pid);
    struct ps_run a;
    ak_poolshim(&a, (char *[]){ "dump", pid_s, NULL });
    cr_expect_eq(a.status, 0, "poolshim dump exit %d: %s", a.status, a.err);
    ps_run_free(&a);
    char *after = NULL;
    for (double t1 = dk_now(); dk_now() - t1 < 10; usleep(20000)) {
        free(after);
        after = ps_slurp(file);
        if (series_exe(after, "poolshim_dumps_total") == before + 1) break;
    }
    cr_expect_eq(series_exe(after, "poolshim_dumps_total"), before + 1, "dumps after one request (%g before):\n%s",
                 before, after);
    free(after);
    cr_expect_neq(dk_wait(ne, 10), -1, "node_exporter did not stop");

    /* promtool's linter: no output, exit 0 */
    char cmd[800];
    snprintf(cmd, sizeof cmd, "promtool check metrics < '%s'", settled);
    char *lint = run_capture((char *[]){ "sh", "-c", cmd, NULL }, &st);
    cr_expect_eq(st, 0, "promtool exit %d: %s", st, lint);
    cr_expect_eq(lint[0], 0, "promtool says: %s", lint);
    free(lint);

    int status = dk_wait(pid, 60);
    cr_assert_eq(status, 0, "fixture exit %d", status);
    cr_expect_neq(access(file, F_OK), 0, "%s is still there after the exit", file);

    char rep_path[700];
    snprintf(rep_path, sizeof rep_path, "%s/poolshim.%d.json", dir, (int)pid);
    json_t *rep = json_load_file(rep_path, 0, NULL);
    cr_assert_not_null(rep, "no report");
    json_t *pool = ps_pool_by_routine(rep, "condvar_worker");
    cr_assert_not_null(pool);
    char *out = dk_slurp(dir, "stdout");
    json_t *truth = json_loads(out, JSON_DISABLE_EOF_CHECK, NULL);
    free(out);
    cr_assert_not_null(truth, "no truth");

    double threads = series(text, "poolshim_pool_threads", "condvar_worker", NULL);
    double cpu = series(text, "poolshim_pool_cpu_seconds_total", "condvar_worker", NULL);
    cr_expect_eq(threads, ps_num(pool, "threads"), "threads %g, report %g", threads, ps_num(pool, "threads"));
    cr_expect_eq(threads, ps_num(truth, "threads"), "threads %g, truth %g", threads, ps_num(truth, "threads"));
    cr_expect(ps_near(cpu, ps_num(pool, "cpu_s"), 0.10), "cpu %g s, report %g s", cpu, ps_num(pool, "cpu_s"));
    cr_expect(ps_near(cpu, ps_num(truth, "cpu_s"), 0.10), "cpu %g s, truth %g s", cpu, ps_num(truth, "cpu_s"));
    double sleep = series(text, "poolshim_pool_wait_seconds_total", "condvar_worker", "sleep");
    cr_expect(ps_near(sleep, ps_num(pool, "wait_by_cause.sleep"), 0.10), "sleep %g s, report %g s", sleep,
              ps_num(pool, "wait_by_cause.sleep"));
    cr_expect_eq(series(text, "poolshim_pool_queue_depth", "condvar_worker", NULL), 0, "queue while idle");
    cr_expect_eq(series(text, "poolshim_pool_parked_threads", "condvar_worker", NULL), 0, "parked (control advise)");
    cr_expect(strstr(text, "pid=\"") == NULL, "a pid label:\n%s", text);
    json_decref(truth);
    json_decref(rep);
    free(text);
    dk_rmdir(dir);
}

/* An executable path with a quote, a backslash and a byte that is not UTF-8:
 * the label is escaped and still UTF-8, so promtool (and node_exporter, which
 * rejects a whole file for one bad line) accepts the file. */
Test(metrics, odd_exe_path_is_escaped_into_a_valid_label, .timeout = 60)
{
    char dir[] = "/tmp/poolshim-metrics.XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char odd[700], exe[800], cmd[2000], env_m[800];
    snprintf(odd, sizeof odd, "%s/we\"ird\\dir\xff", dir);
    cr_assert_eq(mkdir(odd, 0755), 0);
    snprintf(exe, sizeof exe, "%s/pool", odd);
    snprintf(cmd, sizeof cmd, "cp '%s' \"$0\"", ps_build_path("fixtures/condvar_pool"));
    int st;
    free(run_capture((char *[]){ "sh", "-c", cmd, exe, NULL }, &st));
    cr_assert_eq(st, 0, "cannot copy the fixture to %s", exe);
    snprintf(env_m, sizeof env_m, "POOLSHIM_METRICS=%s/m.prom", dir);
    char *argv[] = { exe, "--linger-ms", "1500", "--threads", "2", "--tasks", "10", NULL };
    char *env[] = { env_m, NULL };
    pid_t pid = dk_spawn(argv, dir, env);
    cr_assert_gt(pid, 0);
    char file[800];
    snprintf(file, sizeof file, "%s/m.prom", dir);
    /* The last text the file held, read until the pool's 10 tasks show or
     * the process has exited (its file then goes): a run whose count never
     * reads 10 says what it read, rather than an empty file. */
    char *text = NULL;
    int exit_st = -1;
    for (double t0 = dk_now(); dk_now() - t0 < 30; usleep(20000)) {
        char *now = ps_slurp(file);      /* "" while there is no file */
        if (now && *now) {
            free(text);
            text = now;
        } else {
            free(now);
        }
        if (series(text, "poolshim_pool_tasks_total", "condvar_worker", NULL) == 10)
            break;
        int w;
        if (waitpid(pid, &w, WNOHANG) == pid) {
            exit_st = WIFEXITED(w) ? WEXITSTATUS(w) : 128 + WTERMSIG(w);
            break;
        }
    }
    cr_assert_not_null(text, "no metrics file while the process ran (exit %d)", exit_st);
    cr_expect_eq(series(text, "poolshim_pool_tasks_total", "condvar_worker", NULL), 10, "tasks:\n%s", text);
    cr_expect(strstr(text, "exe=\"") != NULL && strstr(text, "we\\\"ird\\\\dir\xef\xbf\xbd/pool\"") != NULL,
              "label not escaped:\n%s", text);
    /* the text read, kept: the process removes its file as it exits */
    snprintf(file, sizeof file, "%s/read.prom", dir);
    FILE *f = fopen(file, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "promtool check metrics < \"$0\"");
    char *lint = run_capture((char *[]){ "sh", "-c", cmd, file, NULL }, &st);
    cr_expect_eq(st, 0, "promtool exit %d: %s", st, lint);
    cr_expect_eq(lint[0], 0, "promtool says: %s", lint);
    free(lint);
    free(text);
    if (exit_st < 0)
        exit_st = dk_wait(pid, 60);
    cr_expect_eq(exit_st, 0);
    dk_rmdir(dir);
}

/* A pool whose wait for work is never seen (spin_pool's workers spin on a
 * shared lock, no condvar): the report's `tasks` is null, so the metrics
 * have no tasks or queue series for it, not a 0. */
Test(metrics, unknown_task_count_has_no_series, .timeout = 60)
{
    char dir[] = "/tmp/poolshim-metrics.XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char env_m[700], file[700];
    snprintf(env_m, sizeof env_m, "POOLSHIM_METRICS=%s/m.prom", dir);
    snprintf(file, sizeof file, "%s/m.prom", dir);
    char *argv[] = { (char *)ps_build_path("fixtures/spin_pool"), NULL };
    pid_t pid = dk_spawn(argv, dir, (char *[]){ env_m, NULL });
    cr_assert_gt(pid, 0);
    char *text = NULL;
    for (double t0 = dk_now(); dk_now() - t0 < 20; usleep(20000)) {
        free(text);
        text = ps_slurp(file);
        if (series(text, "poolshim_pool_cpu_seconds_total", "spin_worker", NULL) > 0) break;
    }
    cr_expect(series(text, "poolshim_pool_cpu_seconds_total", "spin_worker", NULL) > 0, "no spin_worker series:\n%s", text);
    cr_expect(isnan(series(text, "poolshim_pool_tasks_total", "spin_worker", NULL)), "tasks series:\n%s", text);
    cr_expect(isnan(series(text, "poolshim_pool_queue_depth", "spin_worker", NULL)), "queue series:\n%s", text);
    cr_expect_eq(dk_wait(pid, 60), 0);
    char rep_path[800];
    snprintf(rep_path, sizeof rep_path, "%s/poolshim.%d.json", dir, (int)pid);
    json_t *rep = json_load_file(rep_path, 0, NULL);
    json_t *pool = ps_pool_by_routine(rep, "spin_worker");
    cr_assert_not_null(pool, "no spin_worker pool in the report");
    cr_expect(json_is_null(json_object_get(pool, "tasks")), "the report knows the tasks: the metrics should too");
    json_decref(rep);
    free(text);
    dk_rmdir(dir);
}
