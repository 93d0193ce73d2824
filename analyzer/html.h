/* html.h: the --html page: one self-contained file (inline CSS and SVG, no
 * script, no external resource) drawn from an answer. */
#ifndef AN_HTML_H
#define AN_HTML_H
#include <stdio.h>
#include <jansson.h>

/* answers: array of report answers (report.h). */
void an_html_report(FILE *f, const json_t *answers);
/* answer: a show answer (show.h). */
void an_html_show(FILE *f, const json_t *answer);
#endif
