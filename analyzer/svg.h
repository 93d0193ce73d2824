/* svg.h: the few charts the HTML page needs, as inline SVG: a line chart
 * with axes, horizontal stacked bars with a legend, a wait-for graph and the
 * threads' state timeline. Every chart carries data-points="N", the number
 * of values it draws (the page never draws a chart of none).
 * All text goes through an_html_esc. */
#ifndef AN_SVG_H
#define AN_SVG_H
#include <stdio.h>
#include <jansson.h>

struct an_series {
    const char *name;
    const json_t *x, *y;   /* arrays of numbers (null entries are gaps) */
    int dashed;
};

void an_html_esc(FILE *f, const char *s);
const char *an_palette(int i);
void an_svg_lines(FILE *f, const char *title, const char *ylabel, const struct an_series *s, int ns);
/* bars: nbars labels, values[b * ncat + c]; categories named cats[]. */
void an_svg_stacked(FILE *f, const char *title, const char *unit, const char *const *labels, int nbars,
                    const char *const *cats, int ncat, const double *values);
/* graph: the "graph" object of a show answer ({nodes, edges}); edges are
 * labelled with the object's name when the answer has one. */
void an_svg_waitfor(FILE *f, const json_t *graph);
/* The threads' state timelines (timeline.h), one row each, at most max_rows:
 * each pixel column shows the state that held most of its time. Returns the
 * number of rows drawn. */
struct an_timeline;
int an_svg_timeline(FILE *f, const struct an_timeline *tl, int max_rows);
#endif
