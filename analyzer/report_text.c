/* report_text.c: the human text of `poolshim report` (see report.h): a pool
 * summary table with one column per file, then per file its contended locks
 * and the controller's decisions. Reads only the answer built by report.c. */
#include "report.h"
#include "jget.h"
#include "text.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define N(v) an_fmt_num(nb, sizeof nb, (v))

static const char *base(const char *path)
{
    const char *s = path ? strrchr(path, '/') : NULL;
    return s ? s + 1 : path ? path : "-";
}

/* The program as its user started it, and the file that is when they differ
 * ("redis-server (redis-check-rdb)": a symlink's name, then its target). */
static const char *program_name(char *buf, size_t n, const json_t *a)
{
    char p[40], e[40];
    const char *prog = an_str(a, "program"), *exe = base(an_str(a, "exe"));
    an_safe(e, sizeof e, exe, 30);
    if (!prog || !prog[0] || !strcmp(prog, exe)) {
        snprintf(buf, n, "%s", e);
        return buf;
    }
    snprintf(buf, n, "%s (%s)", an_safe(p, sizeof p, prog, 30), e);
    return buf;
}

/* When a report was written, where it was not at exit (its "why"). */
static const char *written_when(const char *why)
{
    why = why ? why : "";
    if (!strcmp(why, "exec"))
        return "  (written before exec)";
    if (!strcmp(why, "_exit"))
        return "  (written at _exit)";
    if (!strcmp(why, "running"))
        return "  (written while it ran: it ended without exit handlers, or runs still)";
    return "";
}

static const char *pool_key(const json_t *p, char *buf, size_t n)
{
    const char *r = an_pool_fn(p);
    if (r) return r;
    snprintf(buf, n, "pool %lld", an_int(p, "id", -1));
    return buf;
}

static json_t *find_pool(const json_t *answer, const char *key)
{
    size_t i;
    json_t *p;
    char buf[64];
    json_array_foreach(an_arr(answer, "pools"), i, p)
        if (!strcmp(pool_key(p, buf, sizeof buf), key)) return p;
    return NULL;
}

/* One summary cell for row r of pool p. */
static void cell(const json_t *p, const json_t *file, int r, char *out, size_t n)
{
    char nb[64], nb2[64], nb3[64];
    const json_t *rec = an_obj(p, "recommendation"), *w = an_obj(p, "wait_by_cause");
    out[0] = 0;
    if (!p) { snprintf(out, n, "%s", r == 0 ? "(no such pool)" : ""); return; }
    switch (r) {
    case 0: snprintf(out, n, "%s", N(an_num(p, "threads"))); 
            if (isfinite(an_num(p, "threads_live")))
                snprintf(out + strlen(out), n - strlen(out), " (%s live)",
                         an_fmt_num(nb2, sizeof nb2, an_num(p, "threads_live")));
            break;
    case 1: snprintf(out, n, "%s s", N(an_num(p, "cpu_s"))); break;
    case 2: snprintf(out, n, "%s s", N(an_num(p, "wait_s"))); break;
    case 3: snprintf(out, n, "io %s  sleep %s", N(an_num(w, "io")), an_fmt_num(nb2, sizeof nb2, an_num(w, "sleep"))); break;
    case 4: snprintf(out, n, "lock %s  cond %s", N(an_num(w, "lock")), an_fmt_num(nb2, sizeof nb2, an_num(w, "cond"))); break;
    case 5: snprintf(out, n, "idle %s  runq %s", N(an_num(w, "idle")), an_fmt_num(nb2, sizeof nb2, an_num(w, "runqueue"))); break;
    case 6: snprintf(out, n, "%s", N(an_num(p, "w_c")));
            if (an_num(p, "taskless_wait_s") > 0) {   /* absent from older reports: NaN */
                size_t l = strlen(out);
                double k = an_num(p, "taskless_threads");
                snprintf(out + l, n - l, " (left out: io and sleep of %s s in %s thread%s that took no task)",
                         an_fmt_num(nb2, sizeof nb2, an_num(p, "taskless_wait_s")), N(k), k == 1 ? "" : "s");
            }
            break;
    case 7: {
        const char *why = an_str(p, "tasks_unknown_why");
        if (why)                                /* unknown: say what hid them */
            snprintf(out, n, "- (%s)", why);
        else
            snprintf(out, n, "%s (%s/s)", N(an_num(p, "tasks")), an_fmt_num(nb2, sizeof nb2, an_num(p, "tasks_per_s")));
        break;
    }
    case 8: snprintf(out, n, "%s ms / %s ms", N(an_num(p, "task_latency_ms")),
                     an_fmt_num(nb2, sizeof nb2, an_num(p, "cpu_per_task_ms"))); break;
    case 9: snprintf(out, n, "%s", N(an_num(p, "effective_parallelism"))); break;
    case 10: {
        const json_t *iw = an_obj(p, "idle_wait");
        const char *twin = iw ? an_str(iw, "twin_site") : NULL;
        if (iw && !an_str(iw, "kind") && twin)
            snprintf(out, n, "each worker's own condvar, at %s (%s seen)", twin, N(an_num(iw, "twins")));
        else if (iw && !an_str(iw, "kind") && an_str(iw, "queue_mutex"))
            snprintf(out, n, "never idle; queue mutex %s", an_str(iw, "queue_mutex"));
        else if (iw) snprintf(out, n, "%s %s", an_str(iw, "kind") ? an_str(iw, "kind") : "?",
                         an_fmt_object(nb2, sizeof nb2, an_str(iw, "object")));
        else snprintf(out, n, "none found");
        if (iw && an_str(iw, "kind") && twin) {
            size_t l = strlen(out);
            snprintf(out + l, n - l, ", one worker's of its own; the others wait on theirs at %s (%s seen)", twin,
                     N(an_num(iw, "twins")));
        } else if (iw && !twin && an_num(iw, "twins") > 0) {
            size_t l = strlen(out);
            snprintf(out + l, n - l, ", one worker's of its own (%s more seen)", N(an_num(iw, "twins")));
        } else if (iw && json_is_true(json_object_get(iw, "one_waiter"))) {
            size_t l = strlen(out);
            snprintf(out + l, n - l, ", only one worker's waits on it seen: maybe its own");
        }
        break;
    }
    case 11: snprintf(out, n, "%s", an_str(p, "classification") ? an_str(p, "classification") : "-"); break;
    case 12: {
        double rt = an_num(rec, "threads"), rp = an_num(rec, "processes");
        snprintf(out, n, "%s threads", N(rt));
        if (rp > 0) snprintf(out + strlen(out), n - strlen(out), ", or %s processes",
                             an_fmt_num(nb2, sizeof nb2, rp));
        break;
    }
    case 13: {
        const json_t *gi = an_obj(rec, "goetz_inputs"), *bi = an_obj(rec, "bottleneck_inputs");
        double b = an_num(rec, "bottleneck_threads");
        if (gi) snprintf(out, n, "goetz %s = %s cores x (1 + W/C %s)", N(an_num(rec, "goetz_threads")),
                         an_fmt_num(nb2, sizeof nb2, an_num(gi, "cores")), an_fmt_num(nb3, sizeof nb3, an_num(gi, "w_c")));
        else snprintf(out, n, "goetz %s", N(an_num(rec, "goetz_threads")));
        size_t l = strlen(out);
        if (bi) snprintf(out + l, n - l, "; bottleneck %s = (cpu + io + sleep) %s s / hold %s s",
                         an_fmt_num(nb2, sizeof nb2, b), an_fmt_num(nb3, sizeof nb3, an_num(bi, "work_s")),
                         N(an_num(bi, "hold_s")));
        else snprintf(out + l, n - l, "; bottleneck %s", isfinite(b) ? an_fmt_num(nb2, sizeof nb2, b) : "none");
        break;
    }
    case 14: snprintf(out, n, "%s", an_str(rec, "reason") ? an_str(rec, "reason") : "-"); break;
    case 15: {
        const json_t *l = json_array_get(an_arr(p, "locks"), 0);
        if (!l) { snprintf(out, n, "none"); break; }
        snprintf(out, n, "%s %s %s s at %s", an_str(l, "kind") ? an_str(l, "kind") : "lock",
                 an_str(l, "name") ? an_str(l, "name") : an_str(l, "addr") ? an_str(l, "addr") : "?",
                 N(an_num(l, "wait_s")),
                 an_str(l, "site") ? an_str(l, "site") : "?");
        break;
    }
    case 16: snprintf(out, n, "%s", N(an_num(p, "limit"))); break;
    }
}

static const char *const labels[] = { "threads", "cpu", "wait", "  io / sleep", "  lock / cond",
    "  idle / runqueue", "W/C", "tasks", "latency / cpu per task", "parallelism", "idle wait",
    "class", "recommended", "evidence", "reason", "top lock", "controller limit" };
#define NROWS (int)(sizeof labels / sizeof *labels)

static void print_locks(FILE *out, const json_t *a)
{
    char nb[64], s1[512], s2[512];
    json_t *ls = an_arr(a, "locks"), *l;
    size_t i;
    if (!ls || !json_array_size(ls)) {
        fprintf(out, "  no contended locks\n");
        return;
    }
    json_array_foreach(ls, i, l) {
        char n1[64], n2[64], n3[64], n4[64], n5[64];
        char head[512];
        char now[64] = "";
        if (an_num(l, "waiting_now") > 0)
            snprintf(now, sizeof now, ", %s still waiting", N(an_num(l, "waiting_now")));
        snprintf(head, sizeof head, "%s %s  wait %s s, %s contended of %s acquisitions%s, max %s ms, held %s s",
                 an_safe(s1, sizeof s1, an_str(l, "kind"), 10),
                 an_safe(s2, sizeof s2, an_str(l, "name") ? an_str(l, "name") : an_str(l, "addr"), 60),
                 an_fmt_num(n1, sizeof n1, an_num(l, "wait_s")), an_fmt_num(n2, sizeof n2, an_num(l, "contended")),
                 an_fmt_num(n3, sizeof n3, an_num(l, "acquisitions")), now,
                 an_fmt_num(n4, sizeof n4, an_num(l, "max_wait_ms")), an_fmt_num(n5, sizeof n5, an_num(l, "hold_s")));
        fprintf(out, "  ");
        an_wrap(out, head, 2, 6);        /* long numbers must not push it past AN_WIDTH */
        size_t j;
        json_t *s;
        char line[1024];
        json_array_foreach(an_arr(l, "sites"), j, s) {
            snprintf(line, sizeof line, "waiters at %s  (%s x, %s s)", an_str(s, "site") ? an_str(s, "site") : "-",
                     N(an_num(s, "count")), an_fmt_num(s2, sizeof s2, an_num(s, "wait_s")));
            fprintf(out, "    ");
            an_wrap(out, line, 4, 8);
        }
        if (!json_array_size(an_arr(l, "sites")) && an_str(l, "site")) {
            snprintf(line, sizeof line, "waiters at %s", an_str(l, "site"));
            fprintf(out, "    ");
            an_wrap(out, line, 4, 8);
        }
        json_array_foreach(an_arr(l, "owner_sites"), j, s) {
            snprintf(line, sizeof line, "owner took it at %s  (%s x, %s s)", an_str(s, "site") ? an_str(s, "site") : "-",
                     N(an_num(s, "count")), an_fmt_num(s2, sizeof s2, an_num(s, "wait_s")));
            fprintf(out, "    ");
            an_wrap(out, line, 4, 8);
        }
        if (!json_array_size(an_arr(l, "owner_sites"))) {
            snprintf(line, sizeof line, "owner site %s", an_str(l, "owner_site") ? an_str(l, "owner_site") : "not seen");
            fprintf(out, "    ");
            an_wrap(out, line, 4, 8);
        }
    }
}

/* The scalars of an object as "k=v  k=v", nested values as {...}/[...]. */
static void scalars_text(char *line, size_t n, const json_t *o, int omit_nested)
{
    char nb[64];
    const char *k;
    json_t *v;
    line[0] = 0;
    json_object_foreach((json_t *)o, k, v) {
        size_t l = strlen(line);
        if (l + 2 >= n) break;
        if (omit_nested && (json_is_array(v) || json_is_object(v))) continue;   /* listed below */
        const char *val;
        if (json_is_string(v)) val = json_string_value(v);
        else if (json_is_number(v)) val = an_fmt_num(nb, sizeof nb, json_number_value(v));
        else if (json_is_true(v)) val = "true";
        else if (json_is_false(v)) val = "false";
        else if (json_is_null(v)) val = "null";
        else val = json_is_array(v) ? "[...]" : "{...}";
        snprintf(line + l, n - l, "%s%s=%s", l ? "  " : "", k, val);
    }
}

static int is_decision(const json_t *e)
{
    return json_is_object(e) && json_object_get(e, "from") && json_object_get(e, "to") &&
           (json_object_get(e, "action") || json_object_get(e, "t_s"));
}

/* One decision: "  1.50 s  pool 0  2 -> 64  rollback  reason..." (inputs: --json). */
static void decision_line(FILE *out, const json_t *e)
{
    char head[160], n1[32], n2[32], n3[32], n4[32], ab[32];
    snprintf(head, sizeof head, "    %7s s  pool %s  %s -> %s  %-9s ", an_fmt_num(n1, sizeof n1, an_num(e, "t_s")),
             an_fmt_num(n2, sizeof n2, an_num(e, "pool")), an_fmt_num(n3, sizeof n3, an_num(e, "from")),
             an_fmt_num(n4, sizeof n4, an_num(e, "to")), an_safe(ab, sizeof ab, an_str(e, "action"), 20));
    fputs(head, out);
    int col = (int)strlen(head);
    /* under the reason's start while that leaves half the width for it */
    an_wrap(out, an_str(e, "reason") ? an_str(e, "reason") : "", col, col <= AN_WIDTH / 2 ? col : 8);
}

/* Appends "k=v" for the scalars of o not in known (NULL-terminated): a key
 * the controller adds later is still shown, if not yet in words. */
static void other_scalars(char *line, size_t n, const json_t *o, const char *const *known)
{
    char one[4096];
    json_t *rest = json_object();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)o, k, v) {
        int seen = 0;
        for (const char *const *q = known; *q && !seen; q++) seen = !strcmp(*q, k);
        if (!seen && !json_is_array(v) && !json_is_object(v)) json_object_set(rest, k, v);
    }
    scalars_text(one, sizeof one, rest, 1);
    json_decref(rest);
    size_t l = strlen(line);
    if (one[0]) snprintf(line + l, n - l, "%s%s", l ? "; " : "", one);
}

/* "4 threads", "1 thread". */
static const char *threads_n(char *buf, size_t n, double v)
{
    char nb[64];
    snprintf(buf, n, "%s thread%s", an_fmt_num(nb, sizeof nb, v), v == 1 ? "" : "s");
    return buf;
}

/* One controlled pool in words (the controller's `pools[]` entry). */
static void controller_pool(FILE *out, const json_t *e, const json_t *answer)
{
    static const char *const known[] = { "pool", "name", "start_routine", "threads_at_start", "size", "limit",
        "model_threads", "recommended_threads", "threads_added", "expandable", "best_tasks_per_s", "reason",
        "expand_refused", NULL };
    char line[4096], b1[64], b2[64], b3[64], b4[64], nb[64], name[256];
    double lim = an_num(e, "limit"), best = an_num(e, "best_tasks_per_s"), added = an_num(e, "threads_added");
    char limit[96], tput[96];
    if (lim > 0) snprintf(limit, sizeof limit, "parking limit %s", threads_n(b4, sizeof b4, lim));
    else snprintf(limit, sizeof limit, "no parking limit");
    if (best > 0) snprintf(tput, sizeof tput, "best measured throughput %s tasks/s", N(best));
    else snprintf(tput, sizeof tput, "no throughput measured at a settled size");
    /* at exit a pool whose threads all ended runs at none */
    double size = an_num(e, "size");
    snprintf(line, sizeof line, "pool %s %s: started with %s, runs at %s%s, %s; model %s, recommended %s; %s; %s",
             an_fmt_num(b1, sizeof b1, an_num(e, "pool")), an_pool_label(answer, an_int(e, "pool", -1), name, sizeof name),
             threads_n(b2, sizeof b2, an_num(e, "threads_at_start")), threads_n(b3, sizeof b3, size),
             size == 0 ? " (its threads had ended)" : "",
             limit, threads_n(b4, sizeof b4, an_num(e, "model_threads")),
             an_fmt_num(nb, sizeof nb, an_num(e, "recommended_threads")),
             json_is_true(json_object_get(e, "expandable")) ? "may be grown" : "cannot be grown", tput);
    if (added > 0) {
        size_t l = strlen(line);
        snprintf(line + l, sizeof line - l, "; %s started by the shim", threads_n(b1, sizeof b1, added));
    }
    other_scalars(line, sizeof line, e, known);
    fprintf(out, "    ");
    an_wrap(out, line, 4, 6);
    if (an_str(e, "reason")) {
        fprintf(out, "      ");
        an_wrap(out, an_str(e, "reason"), 6, 6);
    }
    if (an_str(e, "expand_refused")) {
        snprintf(line, sizeof line, "POOLSHIM_EXPAND refused: %s", an_str(e, "expand_refused"));
        fprintf(out, "      ");
        an_wrap(out, line, 6, 6);
    }
}

/* The controller section in words: its settings, each controlled pool, then
 * the decisions in a fixed form. Keys it does not know are still printed as
 * k=v, so a newer report shows everything. */
static void print_controller(FILE *out, const json_t *c, const json_t *answer)
{
    static const char *const known[] = { "mode", "cooldown_ms", "min", "max", "expand", "profile",
        "decisions_total", "decisions_dropped", NULL };
    static const char *const mode_words[][2] = { { "off", "off: nothing measured for control" },
        { "advise", "advise: decisions computed and logged, nothing done" }, { "on", "on: the controller acts" } };
    char line[4096], nb[64], b1[64], b2[64];
    if (!json_is_object(c)) {
        char *s = json_dumps(c, JSON_COMPACT | JSON_ENCODE_ANY);
        fprintf(out, "  ");
        an_wrap(out, s ? s : "?", 2, 4);
        free(s);
        return;
    }
    const char *mode = an_str(c, "mode"), *mw = mode ? mode : "-";
    for (size_t i = 0; mode && i < sizeof mode_words / sizeof *mode_words; i++)
        if (!strcmp(mode, mode_words[i][0])) mw = mode_words[i][1];
    double max = an_num(c, "max");
    snprintf(line, sizeof line, "mode %s; at least %s per pool, at most %s; %s ms between changes; %s",
             mw, threads_n(b1, sizeof b1, an_num(c, "min")),
             max > 0 ? threads_n(b2, sizeof b2, max) : "64 per core", N(an_num(c, "cooldown_ms")),
             an_str(c, "expand") ? "" : "POOLSHIM_EXPAND not set");
    if (an_str(c, "expand")) {
        size_t l = strlen(line);
        snprintf(line + l, sizeof line - l, "POOLSHIM_EXPAND=%s", an_str(c, "expand"));
    }
    other_scalars(line, sizeof line, c, known);
    fprintf(out, "  ");
    an_wrap(out, line, 2, 4);
    if (an_str(c, "profile")) {
        snprintf(line, sizeof line, "sizes for next time: %s", an_str(c, "profile"));
        fprintf(out, "  ");
        an_wrap(out, line, 2, 4);
    }
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)c, k, v) {
        char kb[64];
        if (json_is_object(v)) {
            scalars_text(line, sizeof line, v, 0);
            fprintf(out, "  %s: ", an_safe(kb, sizeof kb, k, 30));
            an_wrap(out, line, 4 + (int)strlen(kb), 6);
        }
        if (!json_is_array(v) || !json_array_size(v)) continue;
        size_t n = json_array_size(v), i;
        json_t *e;
        if (!strcmp(k, "decisions"))
            fprintf(out, "  decisions (%s logged, %s dropped; oldest first):\n",
                    N(an_num(c, "decisions_total")), an_fmt_num(b1, sizeof b1, an_num(c, "decisions_dropped")));
        else if (!strcmp(k, "pools"))
            fprintf(out, "  pools (%zu):\n", n);
        else
            fprintf(out, "  %s (%zu):\n", an_safe(kb, sizeof kb, k, 40), n);
        json_array_foreach(v, i, e) {
            if (i == 40 && n > 41) {
                fprintf(out, "    ... %zu more (--json has all)\n", n - 40);
                break;
            }
            if (is_decision(e)) {
                decision_line(out, e);
                continue;
            }
            if (!strcmp(k, "pools") && json_is_object(e)) {
                controller_pool(out, e, answer);
                continue;
            }
            if (json_is_object(e)) {
                scalars_text(line, sizeof line, e, 0);
            } else {
                char *s = json_dumps(e, JSON_COMPACT | JSON_ENCODE_ANY);
                snprintf(line, sizeof line, "%s", s ? s : "?");
                free(s);
            }
            fprintf(out, "    ");
            an_wrap(out, line, 4, 6);
        }
    }
}

/* What the run's dumps found: a deadlock (who waits on which lock held by
 * whom) and the dump files, so the report leads to them. */
static void print_incident(FILE *out, const json_t *a)
{
    char b1[160], b2[160];
    const json_t *dl = json_object_get(a, "deadlock"), *e;
    size_t i;
    if (json_is_object(dl)) {
        fprintf(out, "\n%sdeadlock%s\n", an_c_bold(), an_c_off());
        json_array_foreach(an_arr(dl, "cycle"), i, e) {
            const char *nm = an_str(e, "name");
            fprintf(out, "  thread %.0f waits on %s %s, held by thread %.0f\n", an_num(e, "tid"),
                    an_safe(b1, sizeof b1, an_str(e, "kind"), 20),
                    an_safe(b2, sizeof b2, nm ? nm : an_str(e, "object"), 100), an_num(e, "waits_for"));
        }
        if (an_str(dl, "dump"))
            fprintf(out, "  shown in %s (poolshim show it)\n", an_safe(b1, sizeof b1, an_str(dl, "dump"), 120));
    }
    const json_t *dumps = json_object_get(a, "dumps");
    if (json_array_size(dumps)) {
        fprintf(out, "\n%sdumps%s\n", an_c_bold(), an_c_off());
        json_array_foreach(dumps, i, e)
            fprintf(out, "  %s  %s at %.2f s: %s\n", an_safe(b1, sizeof b1, an_str(e, "file"), 80),
                    an_str(e, "trigger") ? an_str(e, "trigger") : "-", an_num(e, "t_s"),
                    an_safe(b2, sizeof b2, an_str(e, "detail"), 120));
    }
}

void an_report_text(FILE *out, const json_t *answers)
{
    size_t nf = json_array_size(answers), i, j;
    json_t *a, *p;
    char buf[512];
    if (nf > 15) nf = 15;   /* table limit; --json has all */
    for (i = 0; i < nf; i++) {
        char b1[128], b2[80], b3[32], b4[32], b5[32], b6[32];
        a = json_array_get(answers, i);
        fprintf(out, "%s%s%s%s  pid %s  %s  %s cores  %s s  control %s%s\n", an_c_bold(),
                an_safe(b1, sizeof b1, base(an_str(a, "file")), 40), an_c_off(),
                !strcmp(an_str(a, "kind") ? an_str(a, "kind") : "", "dump") ? " (dump)" : "",
                an_fmt_num(b3, sizeof b3, an_num(a, "pid")), program_name(b2, sizeof b2, a),
                an_fmt_num(b4, sizeof b4, an_num(a, "cores")), an_fmt_num(b5, sizeof b5, an_num(a, "duration_s")),
                an_safe(b6, sizeof b6, an_str(a, "control"), 10),
                written_when(an_str(a, "why")));
    }
    /* Pools in order of first appearance across files. */
    json_t *keys = json_array();
    for (i = 0; i < nf; i++)
        json_array_foreach(an_arr(json_array_get(answers, i), "pools"), j, p) {
            const char *k = pool_key(p, buf, sizeof buf);
            size_t m;
            json_t *e;
            int seen = 0;
            json_array_foreach(keys, m, e) if (!strcmp(json_string_value(e), k)) seen = 1;
            if (!seen) json_array_append_new(keys, json_string(k));
        }
    if (!json_array_size(keys)) fprintf(out, "\nno pools found (threads that share a start routine form a pool)\n");
    json_t *k;
    json_array_foreach(keys, j, k) {
        const char *key = json_string_value(k);
        fprintf(out, "\n%spool %s%s\n", an_c_bold(), an_safe(buf, sizeof buf, key, 80), an_c_off());
        struct an_table t;
        an_table_init(&t, (int)nf + 1);
        const char *cells[16];
        char cbuf[16][512];
        if (nf > 1) {
            cells[0] = "";
            for (i = 0; i < nf; i++) {
                snprintf(cbuf[i + 1], sizeof cbuf[0], "%s", base(an_str(json_array_get(answers, i), "file")));
                cells[i + 1] = cbuf[i + 1];
            }
            an_table_row(&t, cells);
        }
        for (int r = 0; r < NROWS; r++) {
            int any = 0;
            cells[0] = labels[r];
            for (i = 0; i < nf; i++) {
                json_t *fa = json_array_get(answers, i);
                json_t *pp = find_pool(fa, key);
                cell(pp, fa, r, cbuf[i + 1], sizeof cbuf[0]);
                cells[i + 1] = cbuf[i + 1];
                if (pp && !(r == 16 && !(an_num(pp, "limit") > 0))) any = 1;
            }
            if (any) an_table_row(&t, cells);
        }
        an_table_print(out, &t, 2, nf > 1);
    }
    json_decref(keys);
    for (i = 0; i < nf; i++) {
        a = json_array_get(answers, i);
        fprintf(out, "\n%scontended locks%s%s%s\n", an_c_bold(), nf > 1 ? " in " : "",
                nf > 1 ? an_safe(buf, sizeof buf, base(an_str(a, "file")), 60) : "", an_c_off());
        print_locks(out, a);
        print_incident(out, a);
        json_t *c = json_object_get(a, "controller");
        if (c) {
            fprintf(out, "\n%scontroller%s%s%s\n", an_c_bold(), nf > 1 ? " in " : "",
                    nf > 1 ? an_safe(buf, sizeof buf, base(an_str(a, "file")), 60) : "", an_c_off());
            print_controller(out, c, a);
        }
    }
}
