/* output.h: writing an answer in the chosen format: JSON on stdout, or an
 * HTML page written atomically to a file (temp + rename). */
#ifndef AN_OUTPUT_H
#define AN_OUTPUT_H
#include <stdio.h>
#include <jansson.h>

/* Prints answer as indented JSON on stdout; returns 0 or 1 on write error. */
int an_out_json(const json_t *answer);
/* Calls render(f, answer) on FILE path.tmp, renames it to path. 0 or 1 (with a message). */
int an_out_file(const char *path, void (*render)(FILE *, const json_t *), const json_t *answer);
/* Flushes stdout; 1 with a message if anything failed to be written. */
int an_out_finish(void);
#endif
