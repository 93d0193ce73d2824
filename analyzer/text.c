/* text.c: text output helpers (see text.h). Single-threaded; an_color is
 * decided once in main from isatty(stdout) and NO_COLOR. */
#include "text.h"
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int an_color;
int an_width = AN_WIDTH_DEFAULT;
int an_frames = -1;

const char *an_c_bold(void) { return an_color ? "\033[1m" : ""; }
const char *an_c_red(void) { return an_color ? "\033[1;31m" : ""; }
const char *an_c_yellow(void) { return an_color ? "\033[33m" : ""; }
const char *an_c_dim(void) { return an_color ? "\033[2m" : ""; }
const char *an_c_off(void) { return an_color ? "\033[0m" : ""; }

const char *an_safe(char *buf, size_t n, const char *s, size_t max)
{
    if (!s) s = "-";
    size_t o = 0, len = strlen(s);
    int cut = max && len > max;
    size_t lim = cut ? max - 3 : len;
    for (size_t i = 0; i < lim && o + 1 < n; i++) {
        unsigned char c = (unsigned char)s[i];
        buf[o++] = (c < 0x20 || c == 0x7f || c >= 0x80) ? '?' : (char)c;
    }
    if (cut)
        for (int k = 0; k < 3 && o + 1 < n; k++) buf[o++] = '.';
    buf[o] = 0;
    return buf;
}

const char *an_fmt_num(char *buf, size_t n, double v)
{
    double a = fabs(v);
    if (!isfinite(v)) snprintf(buf, n, "-");
    else if (v == floor(v) && a < 1e9) snprintf(buf, n, "%.0f", v);
    else if (a >= 100) snprintf(buf, n, "%.0f", v);
    else if (a >= 10) snprintf(buf, n, "%.1f", v);
    else if (a >= 0.01 || a == 0) snprintf(buf, n, "%.2f", v);
    else snprintf(buf, n, "%.2g", v);
    return buf;
}

long an_key_fd(unsigned long long key)
{
    return key >> 63 ? (long)(key & 0xffffffffu) : -1;
}

const char *an_fmt_object(char *buf, size_t n, const char *hex)
{
    long fd = hex ? an_key_fd(strtoull(hex, NULL, 16)) : -1;
    if (fd >= 0)
        snprintf(buf, n, "fd %ld", fd);
    else
        snprintf(buf, n, "%s", hex ? hex : "-");
    return buf;
}

const char *an_fmt_bytes(char *buf, size_t n, double v)
{
    static const char *u[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    if (!isfinite(v)) return snprintf(buf, n, "-"), buf;
    int k = 0;
    while (fabs(v) >= 1024 && k < 4) v /= 1024, k++;
    snprintf(buf, n, k ? "%.1f %s" : "%.0f %s", v, u[k]);
    return buf;
}

void an_table_init(struct an_table *t, int ncols)
{
    memset(t, 0, sizeof *t);
    t->ncols = ncols > 16 ? 16 : ncols;
}

void an_table_row(struct an_table *t, const char *const *cells)
{
    if (t->nrows == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 16;
        t->cells = realloc(t->cells, sizeof(char *) * (size_t)t->cap * (size_t)t->ncols);
        if (!t->cells) abort();
    }
    for (int c = 0; c < t->ncols; c++) {
        char tmp[1024];
        t->cells[t->nrows * t->ncols + c] = strdup(an_safe(tmp, sizeof tmp, cells[c] ? cells[c] : "", 0));
    }
    t->nrows++;
}

/* Length of the next wrapped line of s within w columns; *skip: spaces after it. */
static size_t wrap_len(const char *s, size_t w, size_t *skip)
{
    size_t len = strlen(s);
    *skip = 0;
    if (len <= w) return len;
    size_t cut = w;
    while (cut > 0 && s[cut] != ' ') cut--;
    if (cut == 0) cut = w;   /* one long word: hard cut */
    size_t k = cut;
    while (s[k] == ' ') k++, (*skip)++;
    return cut;
}

void an_table_print(FILE *out, struct an_table *t, int indent, int header)
{
    int nc = t->ncols, gap = 2;
    int avail = AN_WIDTH - indent - gap * (nc - 1);
    for (int c = 0; c < nc; c++) {
        t->width[c] = 1;
        for (int r = 0; r < t->nrows; r++) {
            int l = (int)strlen(t->cells[r * nc + c]);
            if (l > t->width[c]) t->width[c] = l;
        }
    }
    /* The label column keeps its width (up to 22); value columns share the rest. */
    if (t->width[0] > 22) t->width[0] = 22;
    int rest = avail - t->width[0], total = 0;
    for (int c = 1; c < nc; c++) total += t->width[c];
    if (nc > 1 && total > rest) {
        int each = rest / (nc - 1);
        if (each < 8) each = 8;
        /* Narrow columns keep their width; the others share what is left. */
        int spare = rest, wide = 0;
        for (int c = 1; c < nc; c++)
            if (t->width[c] <= each) spare -= t->width[c]; else wide++;
        for (int c = 1; c < nc; c++)
            if (t->width[c] > each) t->width[c] = wide ? (spare / wide > 8 ? spare / wide : 8) : each;
    }
    for (int r = 0; r < t->nrows; r++) {
        const char *pos[16];
        for (int c = 0; c < nc; c++) pos[c] = t->cells[r * nc + c];
        int bold = header && r == 0;
        for (;;) {
            int any = 0;
            for (int c = 0; c < nc; c++) if (*pos[c]) any = 1;
            fprintf(out, "%*s%s", indent, "", bold ? an_c_bold() : "");
            for (int c = 0; c < nc; c++) {
                size_t skip, l = wrap_len(pos[c], (size_t)t->width[c], &skip);
                int last = c == nc - 1;
                fprintf(out, "%.*s", (int)l, pos[c]);
                if (!last) fprintf(out, "%*s", t->width[c] - (int)l + gap, "");
                pos[c] += l + skip;
            }
            fprintf(out, "%s\n", bold ? an_c_off() : "");
            int more = 0;
            for (int c = 0; c < nc; c++) if (*pos[c]) more = 1;
            if (!more || !any) break;
        }
    }
    for (int i = 0; i < t->nrows * nc; i++) free(t->cells[i]);
    free(t->cells);
    t->cells = NULL;
}

int an_errmsg(char *msg, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, n, fmt, ap);
    va_end(ap);
    return -1;
}

void an_wrap(FILE *out, const char *text, int col, int indent)
{
    char buf[8192];
    const char *s = an_safe(buf, sizeof buf, text, 0);
    for (;;) {
        int room = AN_WIDTH - col;
        if (room < 20 && col > indent) {
            /* too little room left on this line: continue on the next one
             * rather than run past AN_WIDTH */
            fprintf(out, "\n%*s", indent, "");
            col = indent;
            continue;
        }
        if (room < 20) room = 20;
        size_t len = strlen(s);
        if ((int)len <= room) {
            fprintf(out, "%s\n", s);
            return;
        }
        int cut = room;
        while (cut > 0 && s[cut] != ' ') cut--;
        if (cut == 0) cut = room;
        fprintf(out, "%.*s\n%*s", cut, s, indent, "");
        s += cut;
        while (*s == ' ') s++;
        col = indent;
    }
}

size_t an_frames_shown(size_t n, size_t dflt)
{
    size_t max = an_frames < 0 ? dflt : an_frames == 0 ? n : (size_t)an_frames;
    return n < max ? n : max;
}
