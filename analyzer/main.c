/* main.c: the poolshim command: parses the options common to the readers
 * (--json, --folded, --html FILE, anywhere before the file names) and
 * dispatches to a subcommand; holds every command's help text, --version
 * and `help CMD`. Colour is decided here, once. */
#include "cmd.h"
#include "load.h"
#include "text.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Every command's help: the one place its synopsis, options and exit codes
 * are written (`poolshim help CMD`, `CMD --help`; the man page poolshim(1)
 * says the same, and tests check each option is in both). */
static const struct an_help {
    const char *name, *synopsis, *what, *options, *exits;
} helps[] = {
    { "run", "poolshim run [OPTIONS] [--] CMD [ARGS...]",
      "Runs CMD with libpoolshim.so preloaded and lists the reports it wrote. Each --NAME V\n"
      "sets the shim's variable POOLSHIM_NAME (libpoolshim(7) says what each accepts; the shim\n"
      "checks the value and warns in one line if it is bad).",
      NULL,   /* from run.c's own table: an_run_options() */
      "CMD's exit status; 128+N when CMD died of signal N; 127 CMD not found, 126 not\n"
      "executable; 2 bad options or no libpoolshim.so." },
    { "report", "poolshim report [--json | --html FILE] [--width W] REPORT.json...",
      "Pools, W/C, waits by cause, locks, recommended sizes and the controller's decisions of\n"
      "one or more reports (poolshim.<pid>.json; a dump's pools too), side by side.",
      "  --json          the answer as JSON on standard output, for scripts\n"
      "  --html FILE     one self-contained page written to FILE\n"
      "  --width W       wrap the text at W columns (default 100; 0: no limit, one line each)\n"
      "  -h, --help      this text\n",
      "0 done; 1 the output could not be written; 2 bad input (one line names the file and\n"
      "what is wrong) or bad options." },
    { "show", "poolshim show [--json | --folded | --html FILE] [--all-frames] [--frames N] [--width W] DUMP.json",
      "A dump's threads grouped by stack and state, deadlock cycles, who blocks whom, the\n"
      "holders' stacks, pools and allocation sites.",
      "  --json          the answer as JSON on standard output\n"
      "  --folded        folded stacks (pool;state;outer;...;inner count) for flame graphs\n"
      "  --html FILE     one self-contained page written to FILE\n"
      "  --all-frames    keep the shim's own frames in stacks (left out by default)\n"
      "  --frames N      show N frames of each stack (default 12 per thread group, 8 per lock\n"
      "                  holder, 6 per allocation site; 0: all); the text counts those left out\n"
      "  --width W       wrap the text at W columns (default 100; 0: no limit, one line each)\n"
      "  -h, --help      this text\n",
      "0 done; 1 the output could not be written; 2 bad input or bad options." },
    { "dump", "poolshim dump [--dir D] [--json] [--capture auto|ptrace|signal] [--signal N] PID",
      "Stops every thread of any live process the caller may trace for one instant (ptrace),\n"
      "copies their registers, stacks and lock words, lets them go, and writes and shows the\n"
      "dump; for a process under the shim its own picture (pools, causes, allocations) is merged.\n"
      "Given the PID of `poolshim run`, it dumps the program that run started.",
      "  --dir D         where the dump is written (default: the current directory)\n"
      "  --json          print the answer as JSON\n"
      "  --capture HOW   auto (default: ptrace, or the shim's signal if tracing is refused),\n"
      "                  ptrace, or signal (the shim's own capture, in-process)\n"
      "  --signal N      with signal capture: the dump signal, SIGRTMIN..SIGRTMAX (default:\n"
      "                  the process's POOLSHIM_DUMP_SIGNAL, else SIGRTMIN+7)\n"
      "  -h, --help      this text\n",
      "0 the dump was written; 1 no dump (tracing refused, the process does not catch the\n"
      "signal, or none appeared in time); 2 bad PID, no such process, or bad options." },
    { "export", "poolshim export pprof [-o OUT.pb.gz] [--kind all|contention|offcpu|heap] FILE.json\n"
      "  poolshim export trace [-o OUT.json] REPORT.json|TRACE.json",
      "pprof: writes a report or a dump as a gzipped pprof profile (profile.proto), which go tool\n"
      "pprof, Parca and Pyroscope read: lock contention (contentions/count, delay/nanoseconds)\n"
      "by waiter call site, off-CPU time (offcpu/nanoseconds) by cause and stack, and a dump's\n"
      "live heap (inuse_space/bytes, inuse_objects/count) by allocation stack.\n"
      "trace: writes the timeline of a run recorded with POOLSHIM_TRACE=on as Chrome trace-event\n"
      "JSON, which Perfetto (ui.perfetto.dev) and chrome://tracing open: a track per thread\n"
      "(running, runqueue, waits by cause with the object, parked), counters per pool, the\n"
      "controller's decisions and the dumps.",
      "  -o, --output OUT   where to write (default: FILE with .json replaced by .pb.gz, or for\n"
      "                     trace by .perfetto.json; - for standard output)\n"
      "  --kind K           pprof: all (default), contention, offcpu or heap (dumps only)\n"
      "  -h, --help         this text\n",
      "0 written; 1 the output could not be written; 2 bad input or bad options." },
    { "help", "poolshim help [CMD]",
      "This overview, or CMD's synopsis, options and exit status.",
      "", "0; 2 for an unknown CMD." },
};
#define NHELPS (sizeof helps / sizeof helps[0])

static void usage(FILE *f)
{
    fprintf(f, "usage:\n");
    for (size_t i = 0; i < NHELPS; i++) fprintf(f, "  %s\n", helps[i].synopsis);
    fprintf(f, "  poolshim --version\n"
               "Measure: LD_PRELOAD=libpoolshim.so CMD (or poolshim run -- CMD) writes poolshim.<pid>.json;\n"
               "read it with report, a dump with show. `poolshim help CMD` or `poolshim CMD --help`: the\n"
               "command's options. Exit status: 0 ok, 1 the command failed, 2 bad input or usage (run:\n"
               "the program's own). Manual: poolshim(1), libpoolshim(7) for the POOLSHIM_* variables.\n");
}

int an_help(FILE *f, const char *cmd)
{
    for (size_t i = 0; i < NHELPS; i++) {
        const struct an_help *h = &helps[i];
        if (strcmp(h->name, cmd)) continue;
        fprintf(f, "usage: %s\n%s\n", h->synopsis, h->what);
        if (h->options && h->options[0]) fprintf(f, "options:\n%s", h->options);
        if (!h->options) {
            fprintf(f, "options:\n");
            an_run_options(f);
            fprintf(f, "  -h, --help            this text (before CMD)\n");
        }
        fprintf(f, "exit status: %s\n", h->exits);
        return 0;
    }
    fprintf(stderr, "poolshim: help: %s: unknown command (run, report, show, dump, export)\n", cmd);
    return 2;
}

static int is_help(const char *a)
{
    return !strcmp(a, "-h") || !strcmp(a, "--help");
}

/* `CMD --help` anywhere among CMD's own arguments (for run: before CMD). */
static int wants_help(int argc, char **argv)
{
    int run = !strcmp(argv[1], "run");
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--")) return 0;
        if (is_help(argv[i])) return 1;
        if (run && strncmp(argv[i], "--", 2)) return 0;      /* CMD starts here */
        if (run && !strchr(argv[i], '=')) i++;               /* --name VALUE */
    }
    return 0;
}

int an_fail_file(const char *file, const char *msg)
{
    char buf[512];
    fprintf(stderr, "poolshim: %s: %s\n", an_safe(buf, sizeof buf, file, 300), msg);
    return 2;
}

/* --frames N / --width W: a plain non-negative integer in [lo, hi], or 0. */
static int text_opt(const char *opt, const char *v, long lo, long hi, int *out)
{
    char *end;
    long n = v && *v >= '0' && *v <= '9' ? strtol(v, &end, 10) : -1;
    if (n < 0 || *end || (n && (n < lo || n > hi))) {
        fprintf(stderr, "poolshim: %s %s: expected 0 or an integer %ld..%ld\n", opt, v ? v : "(missing)", lo, hi);
        return 2;
    }
    *out = (int)n;
    return 0;
}

/* Removes the reader options from argv, leaving the file names. */
static int parse_reader_opts(int *argc, char **argv, struct an_opts *o)
{
    int k = 1, files_only = 0;
    for (int i = 1; i < *argc; i++) {
        const char *a = argv[i];
        if (files_only || a[0] != '-' || !strcmp(a, "-")) { argv[k++] = argv[i]; continue; }
        if (!strcmp(a, "--")) files_only = 1;
        else if (!strcmp(a, "--json")) o->json = 1;
        else if (!strcmp(a, "--folded")) o->folded = 1;
        else if (!strcmp(a, "--all-frames")) o->all_frames = 1;
        else if (!strcmp(a, "--html") && i + 1 < *argc) o->html = argv[++i];
        else if (!strncmp(a, "--html=", 7)) o->html = a + 7;
        else if (!strcmp(a, "--frames") || !strncmp(a, "--frames=", 9) || !strcmp(a, "--width") ||
                 !strncmp(a, "--width=", 8)) {
            int w = a[2] == 'w', v;
            const char *eq = strchr(a, '='), *val = eq ? eq + 1 : i + 1 < *argc ? argv[++i] : NULL;
            if (text_opt(w ? "--width" : "--frames", val, w ? 40 : 1, w ? 100000 : 100000, &v)) return 2;
            if (w) an_width = v ? v : AN_WIDTH_NONE;
            else an_frames = v;
        } else {
            fprintf(stderr, "poolshim: %s: unknown option (or missing value) for %s\n", a, argv[0]);
            return 2;
        }
    }
    *argc = k;
    argv[k] = NULL;
    if (o->json + o->folded + (o->html != NULL) > 1) {
        fprintf(stderr, "poolshim: choose one of --json, --folded, --html\n");
        return 2;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *nc = getenv("NO_COLOR");
    an_color = isatty(STDOUT_FILENO) && !(nc && nc[0]);
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (is_help(cmd) || (!strcmp(cmd, "help") && argc == 2)) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "help")) return an_help(stdout, argv[2]);
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
        printf("poolshim %s\nreads report and dump format versions %d..%d\n", AN_RELEASE, AN_VERSION_MIN,
               AN_VERSION_MAX);
        return 0;
    }
    for (size_t i = 0; i < NHELPS; i++)
        if (!strcmp(cmd, helps[i].name) && wants_help(argc, argv)) return an_help(stdout, cmd);
    if (!strcmp(cmd, "run")) return cmd_run(argc - 1, argv + 1);
    if (!strcmp(cmd, "dump")) return cmd_dump(argc - 1, argv + 1);
    if (!strcmp(cmd, "export")) return cmd_export(argc - 1, argv + 1);
    struct an_opts o = { 0 };
    if (!strcmp(cmd, "report") || !strcmp(cmd, "show")) {
        int n = argc - 1, rc = parse_reader_opts(&n, argv + 1, &o);
        if (rc) return rc;
        if (o.html) an_color = 0;
        return cmd[0] == 'r' ? cmd_report(n, argv + 1, &o) : cmd_show(n, argv + 1, &o);
    }
    fprintf(stderr, "poolshim: %s: unknown command (run, report, show, dump, export; poolshim --help)\n", cmd);
    return 2;
}
