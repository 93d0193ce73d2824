/* show.h: `poolshim show DUMP`: the answer drawn from a dump (threads grouped
 * by identical stack and state, deadlock cycles, who blocks whom, the holder's
 * stack per contended lock, pools, allocation sites) and its renderers. */
#ifndef AN_SHOW_H
#define AN_SHOW_H
#include <stdio.h>
#include <jansson.h>
#include "load.h"

/* flags: */
#define AN_SHOW_ALL_FRAMES 1u   /* keep the shim's own frames (libpoolshim.so) */

/* The answer; symbolizes the dump first (symbolize.h: doc->root gains file,
 * line, inlined calls and object names, in place). */
json_t *an_show_answer(const struct an_doc *doc);
json_t *an_show_answer_ex(const struct an_doc *doc, unsigned flags);
void an_show_text(FILE *out, const json_t *answer);
/* Brendan Gregg's folded stacks from the dump itself: "pool;state;outer;...;inner
 * count", inlined calls as frames of their own, no name twice in a row. */
void an_show_folded(FILE *out, const json_t *dump, unsigned flags);
/* One raw frame as "symbol+0xoff (module)", or the best that the frame allows. */
const char *an_frame(char *buf, size_t n, const json_t *frame);
/* A dump stack as a debugger lists it (show_frames.c): innermost first, one
 * object per function, inlined calls expanded ({text, function, file, line,
 * module, inlined?, addr?, offset?}), the shim's frames dropped unless flags
 * has AN_SHOW_ALL_FRAMES. */
json_t *an_show_frames(const json_t *stack, unsigned flags);
/* The dump's own frames of a stack (enriched: addr, module, symbol, offset,
 * file, line, inlined[]), the shim's dropped unless AN_SHOW_ALL_FRAMES. */
json_t *an_show_dump_frames(const json_t *stack, unsigned flags);
/* The texts of an_show_frames' frames ("fn at file.c:12 (module)"). */
json_t *an_show_frame_texts(const json_t *frames);
/* Is this raw frame the shim's own (libpoolshim.so)? */
int an_frame_is_shim(const json_t *frame);
#endif
