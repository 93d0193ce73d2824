/* text.h: plain-text output helpers shared by the human renderers: colour
 * (only on a tty without NO_COLOR), numbers with units, strings from the
 * input made safe for a terminal, and a table whose cells wrap to fit 100
 * columns. */
#ifndef AN_TEXT_H
#define AN_TEXT_H
#include <stdio.h>
#include <jansson.h>

#define AN_WIDTH 100

extern int an_color;   /* set once by main */
const char *an_c_bold(void);
const char *an_c_red(void);
const char *an_c_yellow(void);
const char *an_c_dim(void);
const char *an_c_off(void);

/* Copies s into buf (size n) replacing control and non-UTF-8-safe bytes by '?',
 * "-" for NULL; cuts at max display bytes with "..." when longer (max 0: no cut). */
const char *an_safe(char *buf, size_t n, const char *s, size_t max);
/* Numbers: "-" for NAN. fmt_num picks digits for the size of v. */
const char *an_fmt_num(char *buf, size_t n, double v);
const char *an_fmt_bytes(char *buf, size_t n, double v);
/* Formats an error into msg (n bytes) and returns -1, for "return an_errmsg(...)". */
int an_errmsg(char *msg, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Table: rows of cells, column 0 is the label column. Cells wrap at word
 * boundaries to their column's width. */
struct an_table {
    int ncols, nrows, cap;
    char **cells;          /* nrows * ncols, owned */
    int width[16];
};
void an_table_init(struct an_table *t, int ncols);
/* Adds a row; cells are copied (NULL means empty). */
void an_table_row(struct an_table *t, const char *const *cells);
/* Sizes columns to fit total width and prints; frees the table. */
void an_table_print(FILE *out, struct an_table *t, int indent, int header);
#endif
