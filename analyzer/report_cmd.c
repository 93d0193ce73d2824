/* report_cmd.c: `poolshim report FILE...`: loads every file first (any bad
 * file: one line, exit 2, nothing else printed), then renders the answers. */
#include "cmd.h"
#include "html.h"
#include "load.h"
#include "output.h"
#include "report.h"
#include <stdio.h>

int cmd_report(int argc, char **argv, const struct an_opts *o)
{
    if (argc < 2) {
        fprintf(stderr, "poolshim: report: give one or more report files (poolshim.<pid>.json)\n");
        return 2;
    }
    if (o->folded) {
        fprintf(stderr, "poolshim: report: --folded is for dumps: use `poolshim show --folded DUMP`\n");
        return 2;
    }
    json_t *answers = json_array();
    for (int i = 1; i < argc; i++) {
        struct an_doc d;
        char msg[256];
        if (an_load(argv[i], AN_REPORT | AN_DUMP, &d, msg, sizeof msg)) {
            json_decref(answers);
            return an_fail_file(argv[i], msg);
        }
        json_array_append_new(answers, an_report_answer(&d));
        an_doc_free(&d);
    }
    int rc;
    if (o->json) {
        json_t *top = json_pack("{s:i, s:s, s:O}", "version", 1, "kind", "report-analysis", "files", answers);
        rc = an_out_json(top);
        json_decref(top);
    } else if (o->html) {
        rc = an_out_file(o->html, an_html_report, answers);
    } else {
        an_report_text(stdout, answers);
        rc = 0;
    }
    json_decref(answers);
    return rc | an_out_finish();
}
