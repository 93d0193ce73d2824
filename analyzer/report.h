/* report.h: `poolshim report`: the answers drawn from reports (and from the
 * pools of dumps), as a JSON object that every output format renders:
 * --json prints it, the text and HTML renderers lay it out. */
#ifndef AN_REPORT_H
#define AN_REPORT_H
#include <stdio.h>
#include <jansson.h>
#include "load.h"

/* The wait causes, in the order they are shown. */
extern const char *const an_causes[6];

/* One file's answer: run facts, per pool summary and recommendation with its
 * evidence, time series from history, top locks, controller decisions. */
json_t *an_report_answer(const struct an_doc *doc);
/* The per-pool part alone (shared with `show`). */
json_t *an_pool_answer(const json_t *pool, const json_t *root);
/* Text: answers is an array of per-file answers; several files go side by side. */
void an_report_text(FILE *out, const json_t *answers);
#endif
