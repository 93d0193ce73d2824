/* show_text.c: the human text of `poolshim show` (see show.h), read from the
 * answer only. Order: trigger, deadlock cycles, who blocks whom, the holder's
 * stack per lock, thread groups, pools, allocations: what to look at first. */
#include "show.h"
#include "jget.h"
#include "report.h"
#include "text.h"
#include <math.h>
#include <string.h>

#define N(v) an_fmt_num(nb, sizeof nb, (v))
#define S(s, max) an_safe(sb, sizeof sb, (s), (max))

static void tids_line(FILE *out, const json_t *tids, size_t max)
{
    size_t i;
    json_t *t;
    json_array_foreach(tids, i, t) {
        if (i == max) {
            fprintf(out, " ... (%zu more)", json_array_size(tids) - max);
            break;
        }
        fprintf(out, " %lld", (long long)json_integer_value(t));
    }
}

/* A stack, dflt frames of it unless --frames says otherwise; what is left
 * out is counted and says how to see it. */
static void stack(FILE *out, const json_t *frames, int indent, size_t dflt)
{
    char num[32];
    size_t i, n = json_array_size(frames), max = an_frames_shown(n, dflt);
    json_t *f;
    if (!n) fprintf(out, "%*s(no stack captured)\n", indent, "");
    json_array_foreach(frames, i, f) {
        if (i == max) {
            fprintf(out, "%*s... %zu more frame%s (--frames 0 shows all)\n", indent, "", n - max,
                    n - max == 1 ? "" : "s");
            break;
        }
        snprintf(num, sizeof num, "#%-2zu ", i);
        fprintf(out, "%*s%s", indent, "", num);
        an_wrap(out, json_string_value(f), indent + (int)strlen(num), indent + (int)strlen(num) + 2);
    }
}

/* "label: text", text wrapped under the width from col on. */
static void wrapped_line(FILE *out, int indent, const char *label, const char *text)
{
    char line[8192];
    snprintf(line, sizeof line, "%s%s", label, text ? text : "-");
    fprintf(out, "%*s", indent, "");
    an_wrap(out, line, indent, indent + 2);
}

/* A lock or wait object as "stats_lock (0x5555a0001000)", a long name alone, or its address alone. */
static const char *object(char *buf, size_t n, const char *addr, const char *name)
{
    char a[48], m[120];
    if (!name) return an_safe(buf, n, addr, 40);
    an_safe(m, sizeof m, name, 0);
    an_safe(a, sizeof a, addr ? addr : "?", 20);
    /* The address too while the line stays within the width (a long name is the more useful part). */
    if (strlen(m) + strlen(a) + 3 <= 64) snprintf(buf, n, "%s (%s)", m, a);
    else snprintf(buf, n, "%s", m);
    return buf;
}

static void who(FILE *out, const json_t *t)
{
    char sb[128];
    fprintf(out, "%lld", an_int(t, "tid", -1));
    if (an_str(t, "name")) fprintf(out, " \"%s\"", S(an_str(t, "name"), 24));
    if (an_str(t, "state")) fprintf(out, " [%s]", S(an_str(t, "state"), 16));
}

void an_show_text(FILE *out, const json_t *a)
{
    char sb[512], nb[64], nb2[64], ob[200];
    size_t i, j;
    json_t *e, *x;
    const json_t *tr = an_obj(a, "trigger");
    fprintf(out, "%sdump %s%s  pid %s  %s threads  at %s s\n", an_c_bold(), S(an_str(a, "file"), 0), an_c_off(),
            N(an_num(a, "pid")), an_fmt_num(nb2, sizeof nb2, an_num(a, "threads")),
            an_fmt_num(nb2 + 32, 32, an_num(a, "time_s")));
    char trig[1200];
    int tl = snprintf(trig, sizeof trig, "trigger: %s", S(an_str(tr, "reason"), 20));
    if (json_is_integer(json_object_get(tr, "pool")))
        tl += snprintf(trig + tl, sizeof trig - (size_t)tl, " (pool %lld)", an_int(tr, "pool", -1));
    if (an_str(tr, "detail")) snprintf(trig + tl, sizeof trig - (size_t)tl, ": %s", an_str(tr, "detail"));
    wrapped_line(out, 0, "", trig);
    const json_t *cap = an_obj(a, "capture");
    if (cap && an_str(cap, "method") && !strcmp(an_str(cap, "method"), "ptrace")) {
        fprintf(out, "stacks: %s of %s threads stopped at one instant by ptrace; the program paused %s ms\n",
                N(an_num(cap, "stopped")), an_fmt_num(nb2, sizeof nb2, an_num(cap, "threads")),
                an_fmt_num(nb2 + 32, 32, an_num(cap, "pause_ms")));
    } else if (cap) {
        fprintf(out, "stacks: %s of %s threads answered", N(an_num(cap, "answered")),
                an_fmt_num(nb2, sizeof nb2, an_num(cap, "threads")));
        fprintf(out, " in %s ms", N(an_num(cap, "wall_ms")));
        fprintf(out, ", longest pause of one thread %s us\n", N(an_num(cap, "max_thread_pause_us")));
    }
    const json_t *sy = an_obj(a, "symbols");
    if (sy) {
        fprintf(out, "symbols: %s of %s frames with a function, %s with file:line\n", N(an_num(sy, "named")),
                an_fmt_num(nb2, sizeof nb2, an_num(sy, "frames")), an_fmt_num(ob, sizeof ob, an_num(sy, "with_line")));
        json_t *pr = an_arr(sy, "problems");
        json_array_foreach(pr, i, e) {
            if (i == 3) {
                fprintf(out, "  ... %zu more objects not read (--json has all)\n", json_array_size(pr) - 3);
                break;
            }
            wrapped_line(out, 2, "not read: ", json_string_value(e));
        }
    }

    json_t *cycles = an_arr(a, "cycles");
    json_array_foreach(cycles, i, e) {
        if (json_array_size(e) == 1) {
            fprintf(out, "\n%sDEADLOCK: thread %lld waits for itself (a lock it already holds)%s\n", an_c_red(),
                    (long long)json_integer_value(json_array_get(e, 0)), an_c_off());
            continue;
        }
        fprintf(out, "\n%sDEADLOCK: cycle of %zu threads:", an_c_red(), json_array_size(e));
        json_array_foreach(e, j, x) fprintf(out, "%s%lld", j ? " -> " : " ", (long long)json_integer_value(x));
        if (json_array_size(e)) fprintf(out, " -> %lld", (long long)json_integer_value(json_array_get(e, 0)));
        fprintf(out, "%s\n", an_c_off());
    }

    json_t *bl = an_arr(a, "blockers");
    fprintf(out, "\n%swho blocks whom%s", an_c_bold(), an_c_off());
    if (!json_array_size(bl)) fprintf(out, ": no thread waits for another (no lock owner known)\n");
    else fprintf(out, " (most threads held up first)\n");
    json_array_foreach(bl, i, e) {
        if (i == 12) {
            fprintf(out, "  ... %zu more blockers (--json has all)\n", json_array_size(bl) - 12);
            break;
        }
        fprintf(out, "  %s", an_int(e, "in_cycle", 0) ? an_c_red() : "");
        who(out, e);
        fprintf(out, " holds up %lld thread%s (%lld directly)%s", an_int(e, "blocks", 0),
                an_int(e, "blocks", 0) == 1 ? "" : "s", an_int(e, "direct", 0),
                an_int(e, "in_cycle", 0) ? " IN A CYCLE" : "");
        fprintf(out, "%s\n    waiters:", an_int(e, "in_cycle", 0) ? an_c_off() : "");
        tids_line(out, an_arr(e, "waiters"), 12);
        fprintf(out, "\n");
        json_t *objs = an_arr(e, "objects");
        char line[2048];
        if (json_array_size(objs)) {
            int l = snprintf(line, sizeof line, "holds:");
            json_array_foreach(objs, j, x)
                if (l < (int)sizeof line)
                    l += snprintf(line + l, sizeof line - (size_t)l, " %s",
                                  object(sb, sizeof sb, json_string_value(x),
                                         json_string_value(json_array_get(an_arr(e, "object_names"), j))));
            wrapped_line(out, 4, "", line);
        }
        json_t *ib = an_obj(e, "itself_blocked_on");
        if (ib) {
            int l = snprintf(line, sizeof line, "itself blocked on %s", S(an_str(ib, "kind"), 12));
            l += snprintf(line + l, sizeof line - (size_t)l, " %s", object(sb, sizeof sb, an_str(ib, "object"), an_str(ib, "name")));
            if (json_is_integer(json_object_get(ib, "owner")))
                snprintf(line + l, sizeof line - (size_t)l, " held by %lld", an_int(ib, "owner", 0));
            wrapped_line(out, 4, "", line);
        }
    }

    json_t *locks = an_arr(a, "locks");
    if (json_array_size(locks)) fprintf(out, "\n%swhat the holders are doing (locks, joins waited for)%s\n", an_c_bold(), an_c_off());
    json_array_foreach(locks, i, e) {
        if (i == 8) {
            fprintf(out, "  ... %zu more (--json has all)\n", json_array_size(locks) - 8);
            break;
        }
        char line[1024];
        int l = snprintf(line, sizeof line, "%s %s: %lld waiter%s", an_str(e, "kind") ? S(an_str(e, "kind"), 12) : "object",
                         an_str(e, "object") ? object(ob, sizeof ob, an_str(e, "object"), an_str(e, "name")) : "?",
                         an_int(e, "waiters", 0), an_int(e, "waiters", 0) == 1 ? "" : "s");
        if (isfinite(an_num(e, "longest_wait_s")))
            snprintf(line + l, sizeof line - (size_t)l, ", longest %s s", N(an_num(e, "longest_wait_s")));
        wrapped_line(out, 2, "", line);
        fprintf(out, "    held by ");
        who(out, an_obj(e, "holder"));
        fprintf(out, "\n");
        stack(out, an_arr(e, "holder_stack"), 6, 8);
    }

    json_t *groups = an_arr(a, "groups");
    fprintf(out, "\n%sthreads by stack and state%s (%zu groups, largest first)\n", an_c_bold(), an_c_off(),
            json_array_size(groups));
    json_array_foreach(groups, i, e) {
        if (i == 15) {
            fprintf(out, "  ... %zu more groups (--json has all)\n", json_array_size(groups) - 15);
            break;
        }
        fprintf(out, "  %s%lld x %s%s", an_c_bold(), an_int(e, "count", 0), S(an_str(e, "state"), 16), an_c_off());
        if (an_str(e, "pool_routine")) fprintf(out, "  pool %s", S(an_str(e, "pool_routine"), 0));
        else if (json_is_integer(json_object_get(e, "pool"))) fprintf(out, "  pool %lld", an_int(e, "pool", 0));
        json_t *bo = an_arr(e, "blocked_on");
        char line[4096];
        int l = 0;
        json_array_foreach(bo, j, x)
            if (l < (int)sizeof line)
                l += snprintf(line + l, sizeof line - (size_t)l, "%s%s %s%s", j ? ", " : "waiting on ",
                              S(an_str(x, "kind"), 10),
                              an_str(x, "object") ? object(ob, sizeof ob, an_str(x, "object"), an_str(x, "name")) : "",
                              json_is_true(json_object_get(x, "ended_before_stack"))
                                  ? " (that wait ended before the stack below was taken)" : "");
        fprintf(out, "\n");
        if (l) wrapped_line(out, 4, "", line);
        fprintf(out, "    tids:");
        tids_line(out, an_arr(e, "tids"), 14);
        json_t *names = an_arr(e, "names");
        if (json_array_size(names)) {
            fprintf(out, "  names:");
            json_array_foreach(names, j, x) fprintf(out, " %s", S(json_string_value(x), 20));
        }
        json_t *cap = an_arr(e, "capture");
        json_array_foreach(cap, j, x)
            if (json_is_string(x) && strcmp(json_string_value(x), "ok")) {
                fprintf(out, "  stack capture: %s", S(json_string_value(x), 20));
                break;
            }
        fprintf(out, "\n");
        stack(out, an_arr(e, "stack"), 6, 12);
    }

    json_t *pools = an_arr(a, "pools");
    if (json_array_size(pools)) fprintf(out, "\n%spools%s\n", an_c_bold(), an_c_off());
    json_array_foreach(pools, i, e) {
        const json_t *w = an_obj(e, "wait_by_cause"), *rec = an_obj(e, "recommendation");
        char line[1024], n3[64], n4[64];
        snprintf(line, sizeof line, "%lld %s: %s threads, W/C %s, queue %s, %s -> %s threads", an_int(e, "id", -1),
                 S(an_pool_fn(e), 0), N(an_num(e, "threads")), an_fmt_num(nb2, sizeof nb2, an_num(e, "w_c")),
                 an_fmt_num(n3, sizeof n3, an_num(e, "queue_estimate")),
                 an_str(e, "classification") ? an_str(e, "classification") : "-",
                 an_fmt_num(n4, sizeof n4, an_num(rec, "threads")));
        wrapped_line(out, 2, "", line);
        fprintf(out, "    cpu %s s", N(an_num(e, "cpu_s")));
        for (int c = 0; c < 6; c++)
            fprintf(out, "  %s %s", an_causes[c], N(an_num(w, an_causes[c])));
        fprintf(out, "\n");
        if (an_str(rec, "reason")) wrapped_line(out, 4, "", an_str(rec, "reason"));
    }

    const json_t *al = an_obj(a, "allocations");
    fprintf(out, "\n%sallocations%s\n", an_c_bold(), an_c_off());
    if (an_str(al, "error")) {
        wrapped_line(out, 2, "", an_str(al, "error"));
        return;
    }
    const char *k;
    json_t *v;
    int col = 2;
    fprintf(out, " ");
    json_object_foreach(an_obj(al, "stats"), k, v) {
        char item[128];
        snprintf(item, sizeof item, " %s %s", an_safe(nb2, sizeof nb2, k, 24), an_fmt_bytes(nb, sizeof nb, json_number_value(v)));
        if (col + (int)strlen(item) > AN_WIDTH) fprintf(out, "\n "), col = 2;
        fprintf(out, "%s", item);
        col += (int)strlen(item);
    }
    fprintf(out, "\n");
    if (an_str(al, "prof_file")) wrapped_line(out, 2, "heap profile: ", an_str(al, "prof_file"));
    if (isfinite(an_num(al, "sampled_live_bytes")))
        fprintf(out, "  live (estimated from samples): %s in %s objects\n", an_fmt_bytes(nb, sizeof nb, an_num(al, "sampled_live_bytes")),
                an_fmt_num(nb2, sizeof nb2, an_num(al, "sampled_live_objects")));
    if (an_str(al, "profile") && !strcmp(an_str(al, "profile"), "off"))
        fprintf(out, "  heap profiling off (POOLSHIM_ALLOC_SAMPLE=-1): no allocation sites\n");
    json_array_foreach(an_arr(al, "top_sites"), i, e) {
        if (i == 10) break;
        fprintf(out, "  %10s in %s objects\n", an_fmt_bytes(nb, sizeof nb, an_num(e, "bytes")),
                an_fmt_num(nb2, sizeof nb2, an_num(e, "objects")));
        stack(out, an_arr(e, "stack"), 6, 6);
    }
}
