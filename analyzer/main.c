/* main.c: the poolshim command: parses the options common to the readers
 * (--json, --folded, --html FILE, anywhere before the file names) and
 * dispatches to a subcommand. Colour is decided here, once. */
#include "cmd.h"
#include "text.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f)
{
    fprintf(f,
        "usage: poolshim run [--dir D] [--control off|advise|on] [--interval-ms N] [--OPTION V]... -- CMD...\n"
        "       poolshim report [--json | --html FILE] REPORT.json...\n"
        "       poolshim show [--json | --folded | --html FILE] [--all-frames] DUMP.json\n"
        "       poolshim dump [--signal N] PID\n"
        "run: CMD under the shim (options become POOLSHIM_* variables, see README); report: pools,\n"
        "W/C, waits, locks and recommended sizes; show: a dump's threads, who blocks whom, memory;\n"
        "dump: ask a live shimmed process for a dump. Exit 2 on bad input.\n");
}

int an_fail_file(const char *file, const char *msg)
{
    char buf[512];
    fprintf(stderr, "poolshim: %s: %s\n", an_safe(buf, sizeof buf, file, 300), msg);
    return 2;
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
        else if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); exit(0); }
        else {
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
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "run")) return cmd_run(argc - 1, argv + 1);
    if (!strcmp(cmd, "dump")) return cmd_dump(argc - 1, argv + 1);
    struct an_opts o = { 0 };
    if (!strcmp(cmd, "report") || !strcmp(cmd, "show")) {
        int n = argc - 1, rc = parse_reader_opts(&n, argv + 1, &o);
        if (rc) return rc;
        if (o.html) an_color = 0;
        return cmd[0] == 'r' ? cmd_report(n, argv + 1, &o) : cmd_show(n, argv + 1, &o);
    }
    fprintf(stderr, "poolshim: %s: unknown command (run, report, show, dump)\n", cmd);
    return 2;
}
