/* fuzz_readers.c: libFuzzer entry for the analyzer's readers and renderers.
 * Any bytes go through the same path as a file: the checked load, then every
 * answer and output format (text, JSON, HTML, folded, the pprof profile)
 * written to /dev/null or dropped; bytes that are no report or dump, as a
 * trace file (timeline.c) and its SVG timeline.
 * Built and run by tests/scripts/fuzz.sh; not part of the poolshim binary. */
#include <stdio.h>
#include <stdlib.h>
#include "html.h"
#include "load.h"
#include "pprof.h"
#include "report.h"
#include "show.h"
#include "svg.h"
#include "timeline.h"

static FILE *sink;

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    if (!sink) sink = fopen("/dev/null", "w");
    struct an_doc d = { .path = "fuzz.json" };
    char msg[256];
    if (an_load_buffer((const char *)data, size, AN_REPORT | AN_DUMP, &d, msg, sizeof msg)) {
        json_t *t = json_loadb((const char *)data, size, 0, NULL);
        struct an_timeline tl;
        if (t && !an_timeline_build(t, &tl, msg, sizeof msg)) {
            an_svg_timeline(sink, &tl, 64);
            an_timeline_free(&tl);
        }
        json_decref(t);
        return 0;
    }
    json_t *answers = json_array();
    json_array_append_new(answers, an_report_answer(&d));
    json_array_append(answers, json_array_get(answers, 0));   /* side by side with itself */
    an_report_text(sink, answers);
    an_html_report(sink, answers);
    json_dumpf(answers, sink, JSON_INDENT(2));
    json_decref(answers);
    if (d.kind == AN_DUMP) {
        json_t *a = an_show_answer(&d);
        an_show_text(sink, a);
        an_html_show(sink, a);
        json_dumpf(a, sink, JSON_INDENT(2));
        json_decref(a);
        an_show_folded(sink, d.root, 0);
    }
    struct an_pb pb;
    if (an_pprof_build(&d, AN_PPROF_CONTENTION | AN_PPROF_OFFCPU | AN_PPROF_HEAP, &pb) == 0) an_pb_free(&pb);
    an_doc_free(&d);
    return 0;
}
