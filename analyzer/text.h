/* text.h: plain-text output helpers shared by the human renderers: colour
 * (only on a tty without NO_COLOR), numbers with units, strings from the
 * input made safe for a terminal, and a table whose cells wrap to fit 100
 * columns. */
#ifndef AN_TEXT_H
#define AN_TEXT_H
#include <stdio.h>
#include <jansson.h>

/* Text width (`--width W`, default AN_WIDTH_DEFAULT; 0 asks for no limit,
 * held as AN_WIDTH_NONE) and the frames shown per stack (`--frames N`; -1:
 * each section's own default, 0: all). Set once by main, like an_color. */
#define AN_WIDTH_DEFAULT 100
#define AN_WIDTH_NONE 1000000
#define AN_WIDTH an_width
extern int an_width;
extern int an_frames;

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
/* A waited-on object as a person reads it: "fd N" for the key a file
 * descriptor is recorded under (shim/record/syncobj.h PS_FD_KEY: bit 63),
 * else the address as given ("-" for NULL). */
const char *an_fmt_object(char *buf, size_t n, const char *hex);
/* The file descriptor such a key names, or -1 for an address. */
long an_key_fd(unsigned long long key);
/* Formats an error into msg (n bytes) and returns -1, for "return an_errmsg(...)". */
int an_errmsg(char *msg, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Prints text from column col on, wrapping at word boundaries to AN_WIDTH
 * with continuation lines indented by indent; nothing is cut. Ends the line. */
void an_wrap(FILE *out, const char *text, int col, int indent);
/* The frames to show of a stack with n frames whose section shows dflt by
 * default: an_frames when set (0: all), else dflt. */
size_t an_frames_shown(size_t n, size_t dflt);

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
