/* show_cmd.c: `poolshim show DUMP`: load one dump, render the answer (or the
 * folded stacks, which come from the dump itself). */
#include "cmd.h"
#include "html.h"
#include "load.h"
#include "output.h"
#include "show.h"
#include "symbolize.h"
#include <stdio.h>

int cmd_show(int argc, char **argv, const struct an_opts *o)
{
    if (argc != 2) {
        fprintf(stderr, "poolshim: show: give exactly one dump file (poolshim.<pid>.dump.<n>.json)\n");
        return 2;
    }
    struct an_doc d;
    char msg[256];
    if (an_load(argv[1], AN_DUMP, &d, msg, sizeof msg)) return an_fail_file(argv[1], msg);
    int rc = 0;
    unsigned flags = o->all_frames ? AN_SHOW_ALL_FRAMES : 0;
    if (o->folded) {
        an_sym_enrich_dump(d.root);
        an_show_folded(stdout, d.root, flags);
    } else {
        json_t *a = an_show_answer_ex(&d, flags);
        if (o->json) rc = an_out_json(a);
        else if (o->html) rc = an_out_file(o->html, an_html_show, a);
        else an_show_text(stdout, a);
        json_decref(a);
    }
    an_doc_free(&d);
    return rc | an_out_finish();
}
