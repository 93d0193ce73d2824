/* show.h: `poolshim show DUMP`: the answer drawn from a dump (threads grouped
 * by identical stack and state, deadlock cycles, who blocks whom, the holder's
 * stack per contended lock, pools, allocation sites) and its renderers. */
#ifndef AN_SHOW_H
#define AN_SHOW_H
#include <stdio.h>
#include <jansson.h>
#include "load.h"

json_t *an_show_answer(const struct an_doc *doc);
void an_show_text(FILE *out, const json_t *answer);
/* Brendan Gregg's folded stacks from the dump itself: "pool;state;outer;...;inner count". */
void an_show_folded(FILE *out, const json_t *dump);
/* One frame as "symbol+0xoff (module)", or the best that the frame allows. */
const char *an_frame(char *buf, size_t n, const json_t *frame);
#endif
