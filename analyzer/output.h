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
/* A new temporary file base.<pid>.<k>.tmp (name in tmp), created with
 * O_EXCL|O_NOFOLLOW so a file or symlink planted in a shared directory is
 * never written through. NULL with errno on failure. */
FILE *an_out_tmp(const char *base, char *tmp, size_t n);
/* Flushes stdout; 1 with a message if anything failed to be written. */
int an_out_finish(void);
#endif
