/* pprof_cmd.c: `poolshim export pprof FILE [-o OUT.pb.gz] [--kind K]`: loads
 * the file, symbolizes a dump as `show` does (file:line, inlined calls, lock
 * names), builds the profile (pprof.c) and writes it gzipped, as pprof files
 * are on disk. */
#include "cmd.h"
#include "load.h"
#include "pprof.h"
#include "symbolize.h"
#include <stdio.h>
#include <string.h>
#include <zlib.h>

static int write_gz(const char *out, const void *buf, size_t len)
{
    gzFile f = !strcmp(out, "-") ? gzdopen(1, "wb") : gzopen(out, "wb");
    if (!f) return -1;
    int ok = len == 0 || gzwrite(f, buf, (unsigned)len) == (int)len;
    return gzclose(f) == Z_OK && ok ? 0 : -1;
}

static const char *const kind_names[] = { "contention", "offcpu", "heap" };

int cmd_export(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "trace"))
        return cmd_export_trace(argc, argv);
    if (argc < 2 || strcmp(argv[1], "pprof")) {
        fprintf(stderr, "poolshim: export: %s: unknown format (pprof or trace; see poolshim export --help)\n",
                argc < 2 ? "no format given" : argv[1]);
        return 2;
    }
    const char *in = NULL, *out = NULL;
    unsigned kinds = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if ((!strcmp(a, "-o") || !strcmp(a, "--output")) && i + 1 < argc) {
            out = argv[++i];
        } else if (!strncmp(a, "--output=", 9)) {
            out = a + 9;
        } else if ((!strcmp(a, "--kind") && i + 1 < argc) || !strncmp(a, "--kind=", 7)) {
            const char *k = a[6] == '=' ? a + 7 : argv[++i];
            unsigned bit = 0;
            for (unsigned j = 0; j < 3; j++)
                if (!strcmp(k, kind_names[j])) bit = 1u << j;
            if (!strcmp(k, "all")) bit = AN_PPROF_CONTENTION | AN_PPROF_OFFCPU | AN_PPROF_HEAP;
            if (!bit) {
                fprintf(stderr, "poolshim: export: --kind %s: expected all, contention, offcpu or heap\n", k);
                return 2;
            }
            kinds |= bit;
        } else if (a[0] == '-' && strcmp(a, "-")) {
            fprintf(stderr, "poolshim: export: %s: unknown option (or missing value); see poolshim export --help\n", a);
            return 2;
        } else if (in) {
            fprintf(stderr, "poolshim: export: one file at a time (%s and %s)\n", in, a);
            return 2;
        } else {
            in = a;
        }
    }
    if (!in) {
        fprintf(stderr, "poolshim: export: give a report or dump file\n");
        return 2;
    }
    struct an_doc d;
    char msg[256];
    if (an_load(in, AN_REPORT | AN_DUMP, &d, msg, sizeof msg)) return an_fail_file(in, msg);
    if (!kinds) kinds = AN_PPROF_CONTENTION | AN_PPROF_OFFCPU | AN_PPROF_HEAP;
    if (d.kind == AN_REPORT) {
        if (kinds == AN_PPROF_HEAP) {
            an_doc_free(&d);
            return an_fail_file(in, "a report has no heap: export a dump's (poolshim.<pid>.dump.<n>.json)");
        }
        kinds &= ~(unsigned)AN_PPROF_HEAP;
    }
    char def[4096];
    if (!out) {
        size_t n = strlen(in);
        if (n > 5 && !strcmp(in + n - 5, ".json")) n -= 5;
        snprintf(def, sizeof def, "%.*s.pb.gz", (int)(n < 4000 ? n : 4000), in);
        out = def;
    }
    /* frames gain file:line and inlined calls, as `show` prints them */
    if (d.kind == AN_DUMP) an_sym_enrich_dump(d.root);
    struct an_pb pb;
    int built = an_pprof_build(&d, kinds, &pb) == 0, rc = built ? write_gz(out, pb.buf, pb.len) : -1;
    an_pb_free(&pb);
    an_doc_free(&d);
    if (rc) {
        fprintf(stderr, "poolshim: export: cannot write %s%s\n", out, built ? "" : ": out of memory");
        return 1;
    }
    if (strcmp(out, "-")) fprintf(stderr, "poolshim: wrote %s\n", out);
    return 0;
}
